"""Run directories: where a training run is built, how it is published, what it records.

A run is built in a hidden sibling ``.<name>.partial/`` (checkpoints for ``--resume`` in
its ``checkpoints/``, the finished files in ``final/``) and published by one rename to
``<name>/``: a crash never leaves a folder that looks like a complete run.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__, atomic
from ..atomic import OutputExistsError, sha256
from ..schema import bio_tags
from .config import RunConfig, dump_yaml
from .metrics import cv_table, table

SCHEMA_VERSION = 1  # of the run directory (config.json's "indoevent" attribute)


class RunExistsError(OutputExistsError):
    """The target run folder (or an interrupted run's checkpoints) is already there."""


class RunWriteError(OSError):
    """A run's files could not be written (a full disk, most often); nothing half-written is kept."""


# How a full disk shows up: an OSError from Python, "basic_ios::clear" or "file write failed" from
# torch.save's C++ streams, "os error 28" (StorageFull) from safetensors' Rust writer.
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}
_DISK_WORDS = ("No space left", "basic_ios::clear", "file write failed", "os error 28", "StorageFull")


def write_failure(e: BaseException) -> str | None:
    """Why ``e`` means a file could not be written (as a short phrase), or None if it is another error.

    >>> write_failure(OSError(errno.ENOSPC, "No space left on device"))
    'no space left on device'
    >>> write_failure(RuntimeError("[enforce fail] basic_ios::clear: iostream error"))
    'the disk is full or not writable'
    >>> write_failure(ValueError("bad label")) is None
    True
    """
    if isinstance(e, OSError) and e.errno in _DISK_ERRNOS:
        return os.strerror(e.errno).lower()
    if any(w in str(e) for w in _DISK_WORDS):
        return "the disk is full or not writable"
    return None


def is_main() -> bool:
    """True in the process that writes (the only one, or rank 0 under torchrun / accelerate launch)."""
    return int(os.environ.get("RANK", "0")) == 0


def say(*args, **kwargs) -> None:
    """print, once per run rather than once per GPU process."""
    if is_main():
        print(*args, **kwargs)


def partial_dir(final: str | Path) -> Path:
    """Where a run is built before it is published.

    >>> partial_dir("models/tiny").as_posix()
    'models/.tiny.partial'
    """
    final = Path(final)
    return final.parent / f".{final.name}.partial"


def write_json(path: Path, data: Any) -> None:
    """Write JSON through a temporary file, so a reader never sees half a file."""
    atomic.write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def publish(built: Path, final: Path, overwrite: bool = False) -> Path:
    """Move a finished run folder into place (replacing an old run only with ``overwrite``)."""
    if final.exists() and not overwrite:
        raise RunExistsError(f"{final} already exists: pass --overwrite to replace it, or --output-dir")
    return atomic.publish(built, final, overwrite=True)


def write_run(work: Path, final: Path, cfg: Any, metrics: dict, info: dict, card: str, overwrite: bool = False,
              save_model: Callable[[Path], None] | None = None, files: dict[str, str] | None = None,
              keep_checkpoints: bool = False) -> Path:
    """Write a finished run and publish it: ``work/final/`` gets the model (``save_model``), the
    resolved config, ``metrics.json``, ``run_info.json``, ``files`` and the model card, then moves
    to ``final`` in one rename and ``work`` (the ``.partial`` folder) goes. A write that fails
    (a full disk) raises :class:`RunWriteError` naming ``final`` and leaves no half-written folder.
    """
    built = work / "final"
    try:
        shutil.rmtree(built, ignore_errors=True)
        built.mkdir(parents=True)
        if save_model is not None:
            save_model(built)
        (built / "training_config.yaml").write_text(dump_yaml(self_contained(cfg)), encoding="utf-8")
        write_json(built / "metrics.json", metrics)
        write_json(built / "run_info.json", info)
        for name, text in (files or {}).items():
            (built / name).write_text(text, encoding="utf-8")
        (built / "README.md").write_text(card, encoding="utf-8")
    except Exception as e:  # noqa: BLE001 - re-raised unless the disk refused the write
        reason = write_failure(e)
        if reason is None:
            raise
        shutil.rmtree(built, ignore_errors=True)
        raise RunWriteError(f"cannot write the run {final} ({reason}): nothing was published; free some space "
                            "and rerun with --resume") from e
    publish(built, final, overwrite)
    if keep_checkpoints and (work / "checkpoints").exists():
        os.replace(work / "checkpoints", final / "checkpoints")
    shutil.rmtree(work, ignore_errors=True)
    return final


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _absolute_all(paths: str | list[str] | None) -> str | list[str] | None:
    """One path or a list of them made absolute; None stays None."""
    if isinstance(paths, list):
        return [_absolute(x) for x in paths]
    return paths and _absolute(paths)


def self_contained(cfg: RunConfig) -> RunConfig:
    """``cfg`` with its local paths (a backbone folder, ``tiny_corpus``, the export, the splits and
    CoNLL files) made absolute, as the run folder's ``training_config.yaml`` holds them: relative
    paths are read from the working directory, and ``serve --model RUN`` retrains with this
    config from wherever it was started. A hub id stays as it is.

    >>> from indoevent.model.config import from_dict
    >>> c = self_contained(from_dict({"run_name": "t", "model": {"name_or_path": "xlm-roberta-base"},
    ...                               "data": {"export": "a.json"}}))
    >>> c.model.name_or_path, c.data.export == os.path.abspath("a.json")
    ('xlm-roberta-base', True)
    """
    m, d = cfg.model, cfg.data
    base = m.name_or_path if is_hub_id(m.name_or_path) else _absolute(m.name_or_path)
    model = dataclasses.replace(m, name_or_path=base, tiny_corpus=_absolute_all(m.tiny_corpus))
    conll = [dataclasses.replace(c, path=_absolute(c.path) if c.path else c.path,
                                 hf=_absolute(c.hf) if c.hf and os.path.isdir(c.hf) else c.hf) for c in d.conll]
    data = dataclasses.replace(d, export=_absolute_all(d.export), splits=d.splits and _absolute(d.splits), conll=conll)
    return dataclasses.replace(cfg, model=model, data=data)


def git_info() -> dict:
    """Commit of the indoevent source tree, and whether it had uncommitted changes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("indoevent", "torch", "transformers", "accelerate", "tokenizers", "datasets", "safetensors",
                 "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def device_info() -> dict:
    import torch

    info = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info |= {"type": "cuda", "gpus": torch.cuda.device_count(), "name": torch.cuda.get_device_name(0)}
    else:
        info |= {"type": "cpu", "gpus": 0, "name": platform.processor() or platform.machine()}
    return info


def run_info(cfg: Any, data_files: list[str], timings: dict, extra: dict | None = None) -> dict:
    """What ``run_info.json`` holds: enough to reproduce or audit a run."""
    return {
        "run_name": cfg.run_name,
        "git": git_info(),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "data_files": {f: sha256(f) for f in data_files},
        "libraries": library_versions(),
        "seed": cfg.train.seed,
        "split_seed": cfg.data.split_seed,
        "device": device_info(),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        **(extra or {}),
    }


def is_hub_id(name: str) -> bool:
    """A hub model id (``owner/name`` or a legacy bare name), not a path on this machine.

    >>> is_hub_id("indobenchmark/indobert-base-p1"), is_hub_id("models/_base/tiny-bert")
    (True, False)
    """
    return not Path(name).exists() and name.count("/") <= 1 and not name.startswith((".", "/", "~"))


def model_card(cfg: Any, metrics: dict, info: dict) -> str:
    """The run's ``README.md``: what the model is, how to use it, its scores and its limits."""
    base = cfg.model.name_or_path
    front = ["---", "library_name: transformers", "pipeline_tag: token-classification", "language: id",
             "tags: [indoevent, token-classification, ner, event-extraction, plover]"]
    if is_hub_id(base):
        front.append(f"base_model: {base}")
    front.append("---")
    lines = front + _card_use(cfg, base) + _card_training(cfg, info) + _card_evaluation(metrics) + _CARD_LIMITS
    return "\n".join(lines)


def _card_use(cfg: Any, base: str) -> list[str]:
    """The title, what the model tags, and how to run it."""
    d = cfg.data
    return [
        "",
        f"# {cfg.run_name}",
        "",
        f"A token classifier for Indonesian news, fine-tuned from `{base}` with indoevent {__version__}. It tags "
        f"each word with one of {len(bio_tags())} IOB2 tags: entity spans (PER ORG GPE LOC DATE) and event triggers (16 PLOVER "
        "event types, e.g. CONSULT, AGREE, ASSAULT). Event frames (who did what to whom, where, when) are built "
        "from these spans by `indoevent extract`.",
        "",
        "## Intended use",
        "",
        "Batch extraction of actors and PLOVER events from Indonesian news articles, as a first pass that "
        "annotators correct in Label Studio, or as input to event datasets after evaluation on your own sample. "
        f"Articles longer than {d.max_length} sub-words are cut into windows overlapping by {d.overlap} "
        "sub-words, exactly as in training; use the same windows at inference:",
        "",
        "```bash",
        "indoevent extract articles/ --model models/" + cfg.run_name + " --out events.jsonl",
        "```",
        "",
        "or, from Python (words must be pre-split the same way for identical results; the plain pipeline "
        "splits on its own):",
        "",
        "```python",
        "from transformers import pipeline",
        f'tagger = pipeline("token-classification", model="models/{cfg.run_name}", aggregation_strategy="first")',
        'tagger("Presiden Prabowo Subianto bertemu Xi Jinping di Beijing pada Rabu (3/9/2025).")',
        "```",
        "",
    ]


def _card_training(cfg: Any, info: dict) -> list[str]:
    """The data, the split and the recipe."""
    d = cfg.data
    lines = ["## Training data", ""]
    if d.export:
        lines.append(f"- gold Label Studio export `{d.export}` (schema v1)")
    for c in d.conll:
        lines.append(f"- CoNLL file `{c.path or c.hf}` ({c.split}), label mapping {c.label_map or 'none'}")
    split = info.get("split", {})
    if split:
        lines += ["", "Articles: " + ", ".join(f"{k} {len(v)}" for k, v in split.items()) + " (split by article)."]
    t = cfg.train
    lines += ["", f"Seed {t.seed}; learning rate {t.learning_rate}; batch {t.batch_size} x "
                  f"{t.gradient_accumulation_steps} accumulation; up to {t.epochs:g} epochs with early stopping on dev "
                  f"{t.best_metric}. The resolved configuration is in `training_config.yaml`; commit, data hashes "
                  "and library versions in `run_info.json`.", ""]
    return lines


def _card_evaluation(metrics: dict) -> list[str]:
    """How it was scored, and the scores: cross-validation, test, dev."""
    lines = ["## Evaluation", "",
             "Strict character-span scores: a predicted span counts only if its start, end and label equal a gold "
             "span's. Articles are predicted from their raw text exactly as `indoevent extract` predicts them "
             "(same words, windows and span cleaning), so a gold span that cuts a word counts as missed. "
             "Entities and triggers are scored separately.", ""]
    if "cv" in metrics:
        cv = metrics["cv"]
        lines += [f"Cross-validation, {len(cv['folds'])} folds by article (test on one part, early stopping on "
                  "the next, training on the rest): mean ± standard deviation over folds (folds counted).", "",
                  cv_table(cv["summary"]), "",
                  "Pooled over all test folds:", "", table(cv["pooled"]), ""]
    for split_name in ("test", "dev"):
        if metrics.get(split_name):
            note = " (used for early stopping: optimistic)" if split_name == "dev" else ""
            lines += [f"### {split_name}{note}", "", table(metrics[split_name]), ""]
    return lines


_CARD_LIMITS = [
    "## Limits",
    "",
    "- Trained on few articles: scores on a handful of test articles vary widely (see the standard "
    "deviations); rare labels have little or no support. Evaluate on your own sample before relying on it.",
    "- Domain: Indonesian online news (politics, diplomacy, conflict). Other registers (social media, "
    "regional languages, transcripts) are untested.",
    "- Spans only: event arguments (actor, recipient, place, time) are linked by `indoevent extract`, "
    "not by this model. Triggers follow PLOVER as defined in the project's annotation schema v1.",
    "- Outputs are machine annotations of news text about people: review before publishing them.",
    "",
]
