"""Training configuration: a YAML file read into typed dataclasses, with ``--key=value`` overrides.

Every field carries a help text (``indoevent train --help`` lists them all). A file or an
override that names an unknown key, or gives a value of the wrong type, fails with an error
naming the file and the key: a typo must never silently fall back to a default.

Relative paths (data files, model folders, output) are relative to the working directory,
as in the Hugging Face examples: run ``indoevent train`` from the repository root. A run
folder's ``training_config.yaml`` holds them absolute (``runs.self_contained``).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from ..annotation.lsexport import check_choice
from .config_sections import ConllSource, DistillConfig, PretrainConfig, conll_problems, section_problems
from .config_sections import help_field as _f
from .runtime import DEFAULT_MAX_LENGTH, DEFAULT_OVERLAP


class ConfigError(ValueError):
    """A configuration file or override that cannot be used; the message names the file and key."""


@dataclass
class ModelConfig:
    """The backbone to fine-tune."""

    name_or_path: str = _f("indobenchmark/indobert-base-p1",
                           "hub model id or local folder (config.json, weights, tokenizer); offline, point it at a "
                           "local copy and set HF_HUB_OFFLINE=1")
    revision: str | None = _f(None, "hub revision (branch, tag or commit) to pin the backbone to")
    tiny_corpus: str | list[str] | None = _f(None, "build a tiny random-init BERT at name_or_path from the .txt files "
                                                   "of this folder (or these folders) if it is missing (offline configs "
                                                   "and tests; see indoevent/model/tiny.py)")


@dataclass
class DataConfig:
    """Where the annotated articles come from and how they are cut into windows."""

    export: str | list[str] | None = _f("annotations/seeds.json",
                                        "gold Label Studio JSON export (or a list of them, e.g. several projects'), "
                                        "converted with indoevent's converter; split by article into train/dev/test "
                                        "(and folds under --cv); null for CoNLL data only")
    annotation: str = _f("latest", "which annotation of a task: latest, first or annotator=ID")
    strict: bool = _f(True, "fail on any conversion problem (misaligned span, schema problem, unannotated task) "
                            "instead of training without it")
    conll: list[ConllSource] = _f(factory=list, help="extra CoNLL column files, e.g. IndoNLU NERP or NERGrit, "
                                                     "with a label mapping")
    max_length: int = _f(DEFAULT_MAX_LENGTH, "sub-words per window, special tokens included (the same windows at inference)")
    overlap: int = _f(DEFAULT_OVERLAP, "sub-words shared by consecutive windows of a long article")
    dev: float | int | list[str] = _f(0.2, "gold articles for early stopping: a fraction (0.2), a count (1) or a "
                                           "list of article ids")
    test: float | int | list[str] = _f(0, "gold articles held out for a final test score: fraction, count or "
                                          "ids; 0 for none")
    split_seed: int = _f(0, "seed of the article shuffle behind fraction and count splits (and of k-fold CV)")
    splits: str | None = _f(None, "a frozen splits file (annotations/corpus/splits.json): its train/dev/test ids "
                                  "replace dev and test, and its story folds make the --cv folds")


@dataclass
class TrainConfig:
    """Optimisation (Hugging Face Trainer, AdamW with linear warmup and decay)."""

    epochs: float = _f(20.0, "maximum training epochs (early stopping usually ends training sooner)")
    max_steps: int = _f(-1, "stop after this many optimiser steps (overrides epochs); -1 for none")
    batch_size: int = _f(16, "windows per device per step")
    eval_batch_size: int = _f(32, "windows per device when predicting dev and test articles")
    gradient_accumulation_steps: int = _f(1, "steps to accumulate before each optimiser update "
                                             "(effective batch = batch_size x this x number of GPUs)")
    learning_rate: float = _f(5e-5, "peak AdamW learning rate")
    weight_decay: float = _f(0.01, "AdamW weight decay")
    warmup_ratio: float = _f(0.1, "share of all steps spent warming the learning rate up from 0")
    lr_scheduler: str = _f("linear", "learning-rate schedule after warmup (linear, cosine, constant_with_warmup...)")
    max_grad_norm: float = _f(1.0, "gradient clipping norm")
    eval_steps: int = _f(0, "evaluate (and checkpoint) every this many steps; 0 for once per epoch")
    early_stopping_patience: int = _f(5, "stop after this many evaluations without a better dev score; 0 for none")
    best_metric: str = _f("f1", "dev score that picks the best checkpoint: f1 (micro, all spans), entities_f1, "
                                "triggers_f1 or macro_f1 (over labels); strict character-span F1: a span counts "
                                "only if its start, end and label equal a gold span's")
    seed: int = _f(42, "seed of weights initialisation, dropout and data order")
    precision: str = _f("auto", "auto (bf16 on GPUs that support it, else fp16 on GPU; on CPU bf16 where it "
                                "has native bf16 and a short check finds it faster, else fp32), fp32, bf16 or "
                                "fp16; fp16 needs a GPU, bf16 a GPU or a CPU with native bf16 (AVX-512 BF16, AMX)")
    logging_steps: int = _f(10, "log loss and learning rate every this many steps")
    save_total_limit: int = _f(2, "checkpoints kept for --resume (the best one is always kept)")
    dataloader_workers: int = _f(0, "background processes collating batches (0: in the training process)")
    keep_checkpoints: bool = _f(False, "keep the checkpoint folder after a successful run (it is deleted by "
                                       "default: the run directory does not need it)")
    runtime_gate: bool = _f(True, "at the end, export ONNX fp32 and int8 and measure int8 (and bf16 on CPUs with "
                                  "native bf16) against fp32 on the dev articles (RUN/runtime_gate.json): the "
                                  "CPU runtime `auto` picks reads it")


@dataclass
class CVConfig:
    """Cross-validation by article (``indoevent train --cv``)."""

    k: int | None = _f(None, "number of folds; null for leave-one-article-out")


@dataclass
class SelfTrainConfig:
    """Self-training on unlabelled news (``indoevent self-train``)."""

    rounds: int = _f(1, "times the model pseudo-labels the unlabelled articles and is trained again on gold + silver")
    threshold: float = _f(0.9, "keep a predicted span as silver if its mean word probability is at least this; "
                               "every other word of a pseudo-labelled article may take any tag")


@dataclass
class RunConfig:
    """One training run."""

    run_name: str = _f("", "name of the run folder under models/ (default: the config file's name)")
    model: ModelConfig = _f(factory=ModelConfig, help="the backbone")
    data: DataConfig = _f(factory=DataConfig, help="training data and windows")
    train: TrainConfig = _f(factory=TrainConfig, help="optimisation")
    cv: CVConfig = _f(factory=CVConfig, help="cross-validation")
    self_train: SelfTrainConfig = _f(factory=SelfTrainConfig, help="self-training")
    pretrain: PretrainConfig = _f(factory=PretrainConfig, help="masked-LM on unlabelled news (indoevent pretrain)")
    distill: DistillConfig = _f(factory=DistillConfig, help="a smaller student of a trained run (indoevent distill)")


SECTIONS = ("model", "data", "train", "cv", "self_train", "pretrain", "distill")


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` (as YAML parsed it) against the annotation ``tp``; convert where lossless."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _coerce_union(value, tp, where)
    if _is_dataclass_type(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping of {tp.__name__} fields, got {value!r}")
        return _build(tp, value, where)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        kt, vt = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {_coerce(k, kt, f"{where} key"): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    return _coerce_scalar(value, tp, where)


def _coerce_union(value: Any, tp: Any, where: str) -> Any:
    """The first member of the union ``tp`` that takes ``value``."""
    args = typing.get_args(tp)
    if value is None:
        if type(None) in args:
            return None
        raise ConfigError(f"{where}: must not be null")
    # Try the exact Python type first: 1 stays an int in `float | int | list`.
    for arg in sorted((a for a in args if a is not type(None)),
                      key=lambda a: 0 if isinstance(a, type) and type(value) is a else 1):
        try:
            return _coerce(value, arg, where)
        except ConfigError:
            pass
    raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def _coerce_scalar(value: Any, tp: Any, where: str) -> Any:
    """A bool, int, float or str; a number may come as a string (YAML 1.1 reads 5e-5 so)."""
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads 5e-5 (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(number):  # YAML's .nan and .inf: no setting here means "not a number"
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise ConfigError(f"{where}: unsupported type {tp}")  # pragma: no cover - a bug in this module


def _build(cls: type, values: dict, where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in values if k not in names]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; "
                          f"known: {', '.join(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in values.items()}
    return cls(**kwargs)


def fields_help(cls: type = RunConfig, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """``(dotted key, type, default, help)`` for every leaf field, for ``--help`` and the README.

    >>> [k for k, *_ in fields_help()][:3]
    ['run_name', 'model.name_or_path', 'model.revision']
    """
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if _is_dataclass_type(tp):
            out += fields_help(tp, f"{prefix}{f.name}.")
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            raise TypeError(f"{cls.__name__}.{f.name} has no default")
        default = [dataclasses.asdict(d) if dataclasses.is_dataclass(d) and not isinstance(d, type) else d
                   for d in default] \
            if isinstance(default, list) else default
        out.append((f"{prefix}{f.name}", _type_name(tp), default, f.metadata.get("help", "")))
    return out


def parse_override(item: str) -> tuple[str, Any]:
    """``"train.epochs=3"`` -> ``("train.epochs", 3)``; the value is read as YAML.

    >>> parse_override("data.dev=[000_ecb91a2b1942d157]")
    ('data.dev', ['000_ecb91a2b1942d157'])
    """
    key, sep, raw = item.lstrip("-").partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. train.epochs=3")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"override {item!r}: value is not valid YAML: {e}") from None
    return key, value


def apply_overrides(raw: dict, overrides: Sequence[str] | dict[str, Any]) -> dict:
    """Set dotted keys in the raw (YAML-level) config mapping; returns a new mapping."""
    import copy

    raw = copy.deepcopy(raw)
    pairs = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
    valid = {k for k, *_ in fields_help()}
    for key, value in pairs:
        if key not in valid:
            close = [v for v in sorted(valid) if v.split(".")[-1] == key.split(".")[-1]]
            hint = f"; did you mean {' or '.join(close)}?" if close else "; see indoevent train --help"
            raise ConfigError(f"override {key}: unknown key{hint}")
        node = raw
        *parents, leaf = key.split(".")
        for p in parents:
            if node.get(p) is None:
                node[p] = {}
            if not isinstance(node[p], dict):
                raise ConfigError(f"override {key}: {p} is {node[p]!r} in the config, not a mapping of its keys")
            node = node[p]
        node[leaf] = value
    return raw


def from_dict(raw: dict, source: str = "<config>") -> RunConfig:
    """Build a :class:`RunConfig` from a mapping, checking every key and type."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of run_name, {', '.join(SECTIONS)}; "
                          f"got {_yaml_kind(raw)}")
    try:
        cfg = _build(RunConfig, raw, "")
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    validate(cfg, source)
    return cfg


def _yaml_kind(value: Any) -> str:
    """How YAML would call a parsed value: ``a list``, ``a string``...

    >>> _yaml_kind([1, 2])
    'a list'
    """
    kinds = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false"}
    return kinds.get(type(value), type(value).__name__)


def load_config(path: str | Path, overrides: Sequence[str] | dict[str, Any] = ()) -> RunConfig:
    """Read a YAML config, apply overrides (``["train.epochs=3"]``) and check it."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of run_name, {', '.join(SECTIONS)}; got "
                          f"{_yaml_kind(raw)} (see training/configs/tiny.yaml)")
    raw = apply_overrides(raw or {}, overrides or [])
    if not raw.get("run_name"):
        raw["run_name"] = path.stem
    return from_dict(raw, str(path))


def validate(cfg: RunConfig, source: str = "<config>") -> None:
    """Checks across fields that types alone cannot express."""
    problems = []
    d, t = cfg.data, cfg.train
    if d.max_length < 8:
        problems.append(f"data.max_length must be at least 8, got {d.max_length}")
    if not 0 <= d.overlap <= d.max_length // 2:
        # More overlap than half a window costs more than twice the tokens for little context.
        problems.append(f"data.overlap must be between 0 and max_length / 2 ({d.max_length // 2}), got {d.overlap}")
    if d.export is None and not any(c.split == "train" for c in d.conll):
        problems.append("no training data: set data.export or a data.conll entry with split: train")
    problems += [p for i, c in enumerate(d.conll) for p in conll_problems(c, f"data.conll[{i}]")]
    for name in ("dev", "test"):
        v = getattr(d, name)
        if isinstance(v, float) and not 0 <= v < 1:
            problems.append(f"data.{name} as a fraction must be in [0, 1), got {v}")
        if isinstance(v, int) and v < 0:
            problems.append(f"data.{name} as a count must be >= 0, got {v}")
    if t.best_metric not in ("f1", "entities_f1", "triggers_f1", "macro_f1"):
        problems.append(f"train.best_metric must be f1, entities_f1, triggers_f1 or macro_f1, got {t.best_metric!r}")
    if t.precision not in ("auto", "fp32", "bf16", "fp16"):
        problems.append(f"train.precision must be auto, fp32, bf16 or fp16, got {t.precision!r}")
    for name in ("batch_size", "eval_batch_size", "gradient_accumulation_steps", "logging_steps"):
        if getattr(t, name) < 1:
            problems.append(f"train.{name} must be >= 1")
    if t.epochs <= 0 and t.max_steps <= 0:
        problems.append("set train.epochs > 0 or train.max_steps > 0")
    # Values that must be positive (a negative learning rate climbs the loss) or at least 0.
    for name in ("learning_rate", "max_grad_norm"):
        if getattr(t, name) <= 0:
            problems.append(f"train.{name} must be > 0, got {getattr(t, name)}")
    for name in ("epochs", "weight_decay", "eval_steps", "early_stopping_patience", "dataloader_workers"):
        if getattr(t, name) < 0:
            problems.append(f"train.{name} must be >= 0, got {getattr(t, name)}")
    if t.max_steps < -1:
        problems.append(f"train.max_steps must be -1 (none) or a step count, got {t.max_steps}")
    try:
        check_choice(d.annotation)
    except ValueError as e:
        problems.append(f"data.annotation: {e}")
    if not 0 <= t.warmup_ratio < 1:
        problems.append(f"train.warmup_ratio must be in [0, 1), got {t.warmup_ratio}")
    if t.save_total_limit < 1:
        problems.append("train.save_total_limit must be >= 1 (--resume needs a checkpoint)")
    if cfg.self_train.rounds < 1 or not 0 <= cfg.self_train.threshold <= 1:
        problems.append(f"self_train.rounds must be >= 1 and self_train.threshold in [0, 1], got "
                        f"{cfg.self_train.rounds} and {cfg.self_train.threshold}")
    if cfg.cv.k is not None and cfg.cv.k < 3:
        problems.append(f"cv.k must be >= 3 (test, dev and train parts) or null, got {cfg.cv.k}")
    if not cfg.run_name or "/" in cfg.run_name or cfg.run_name.startswith("."):
        problems.append(f"run_name must be a plain folder name, got {cfg.run_name!r}")
    problems += section_problems(cfg.pretrain, cfg.distill)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))


def to_dict(cfg: RunConfig) -> dict:
    """The config as plain data (what ``training_config.yaml`` holds)."""
    return dataclasses.asdict(cfg)


def dump_yaml(cfg: RunConfig) -> str:
    """The resolved config as YAML that :func:`load_config` reads back to an equal config."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, allow_unicode=True)


def help_text() -> str:
    """All config keys with their types, defaults and help, for ``indoevent train --help``."""
    lines = []
    for key, tp, default, text in fields_help():
        lines.append(f"  {key} ({tp}, default {default!r})\n      {text}")
    return "\n".join(lines)
