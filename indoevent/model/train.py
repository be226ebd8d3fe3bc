"""``indoevent train``: fine-tune a token classifier (IndoBERT by default) on actors and event triggers.

The recipe is that of the Hugging Face token-classification examples, with what they miss
for long news articles: every article is cut into the overlapping windows inference uses
(nothing is truncated); the dev score that stops training is the strict character-span F1 of
the spans :class:`~indoevent.model.predict.Predictor` (the one prediction path, that of
``indoevent extract``) finds in the raw dev text, never a sub-word accuracy, so a gold span that
cuts a word counts as missed; and ``--cv`` gives honest leave-one-article-out estimates when
there are only a handful of gold articles.

Both entry points read top to bottom: data, checks, model, scores, one run folder
(:func:`indoevent.model.runs.write_run`).

    train(config) -> Path                      # one run: models/<run-name>/
    train(config, cv=True) -> Path             # cross-validation: models/<run-name>-cv/

torch and transformers are imported inside functions: ``import indoevent`` stays light.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..atomic import lock_beside, try_lock, unlock
from ..document import Span
from ..schema import bio_tags
from ..text.iob import TaggedWords
from .checkpoint import ModelLoadError
from .config import ConfigError, RunConfig, dump_yaml, from_dict, load_config
from .data import Collator, Corpus, DataError, Features, encode_articles, load_corpus, split_ids
from .metrics import cv_table, flat, score_articles, score_spans, seqeval_f1, summarize
from .predict import Predictor
from .runs import (SCHEMA_VERSION, RunExistsError, RunWriteError, is_hub_id, model_card, partial_dir, run_info,
                   write_failure, write_json, write_run)
from .runtime import TorchForward, cpu_bf16_trains_faster, native_bf16
from .splits import FrozenSplits, kfold, load_splits
from .tiny import ensure_tiny_bert

__all__ = ["train", "cross_validate", "load_model", "make_trainer", "ModelLoadError"]


def _is_main() -> bool:
    """True in the process that writes (the only one, or rank 0 under torchrun / accelerate launch)."""
    return int(os.environ.get("RANK", "0")) == 0


def _say(*args, **kwargs) -> None:
    """print, once per run rather than once per GPU process."""
    if _is_main():
        print(*args, **kwargs)


# --- model ------------------------------------------------------------------------------------
def _position_limit(model: Any, tokenizer: Any) -> int:
    """Longest input the model accepts: its position table (RoBERTa-style models reserve the
    first two positions) and the tokenizer's own limit when it has a finite one."""
    cfg = model.config
    limit = getattr(cfg, "max_position_embeddings", None) or 10**9
    if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"):
        limit -= 2
    if tokenizer.model_max_length and tokenizer.model_max_length < 10**6:
        limit = min(limit, tokenizer.model_max_length)
    return limit


def load_model(model_cfg: Any, max_length: int, tags: Sequence[str] | None = None) -> tuple[Any, Any]:
    """The backbone as ``AutoModelForTokenClassification`` with the project's labels, and its tokenizer.

    Raises :class:`ModelLoadError` naming the model and how to point the config at a local
    copy when it cannot be fetched, and :class:`ConfigError` when ``max_length`` is longer
    than the model accepts.
    """
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tags = list(tags or bio_tags())
    name = model_cfg.name_or_path
    _ensure_base(model_cfg)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, revision=model_cfg.revision)
        model = AutoModelForTokenClassification.from_pretrained(
            name, revision=model_cfg.revision, num_labels=len(tags),
            id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)})
    except Exception as e:  # noqa: BLE001 - re-raised below unless it is a loading problem
        if not isinstance(e, OSError) and not any(w in type(e).__name__ for w in ("Connect", "Timeout", "HTTP")):
            raise
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        if Path(name).exists():
            where = "a local folder without a complete checkpoint (config.json, weights, tokenizer)"
        elif not is_hub_id(name):
            where = "a local folder that does not exist"
        else:
            where = ("not in the local cache, and the hub is off (HF_HUB_OFFLINE=1)" if offline else
                     "not in the local cache, and the hub could not be reached")
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(
            f"cannot load the model {name!r} ({where}): {reason}\n"
            f"To train offline, copy the model to a folder on this machine (on a connected one: "
            f"`hf download {name} --local-dir DIR`), point the config at it with "
            f"`model.name_or_path: DIR` (or `--model.name_or_path=DIR`), and set HF_HUB_OFFLINE=1.") from e
    if not getattr(tokenizer, "is_fast", True):
        raise ModelLoadError(f"{name}: its tokenizer has no fast (Rust) version, which windows need for word ids")
    limit = _position_limit(model, tokenizer)
    if max_length > limit:
        raise ConfigError(f"data.max_length={max_length} is longer than {name} accepts ({limit} positions)")
    if "uncased" in name.lower():
        # Lowercasing belongs to the tokenizer's own config, in training and inference alike; an
        # uncased model whose tokenizer keeps case sees words it was never trained on.
        a = tokenizer("Jakarta", add_special_tokens=False)["input_ids"]
        b = tokenizer("jakarta", add_special_tokens=False)["input_ids"]
        if a != b:
            _say(f"warning: {name} is uncased but its tokenizer does not lowercase; set do_lower_case in its "
                  "tokenizer_config.json", file=sys.stderr)
    # The saved tokenizer's limit is the window the model was trained with: finite, so that a plain
    # pipeline never feeds it more positions than it has.
    tokenizer.model_max_length = max_length
    _no_long_sequence_warning(tokenizer)
    return model, tokenizer


def _ensure_base(model_cfg: Any) -> None:
    """Build the tiny test backbone if the config asks for it and it is missing."""
    if model_cfg.tiny_corpus:
        ensure_tiny_bert(model_cfg.name_or_path, model_cfg.tiny_corpus)


def _no_long_sequence_warning(tokenizer: Any) -> None:
    # Whole articles are tokenised once and then cut into windows: the tokenizer's warning that a
    # sequence is longer than the model's limit ("will result in indexing errors") does not apply.
    tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True


def resolve_precision(precision: str) -> str:
    """``auto`` -> bf16 on GPUs that support it, fp16 on older GPUs; on CPU bf16 where the CPU
    has native bf16 and a short check shows it faster (:func:`~.runtime.cpu_bf16_trains_faster`), else fp32."""
    import torch

    cuda = torch.cuda.is_available()
    if precision == "auto":
        if not cuda:
            return "bf16" if cpu_bf16_trains_faster() else "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "bf16" and not cuda and native_bf16():
        return precision
    if precision in ("bf16", "fp16") and not cuda:
        raise ConfigError(f"train.precision={precision} needs a GPU (bf16: or a CPU with native bf16, "
                          "avx512_bf16 or amx_bf16): elsewhere it is slower than fp32; use precision: fp32 or auto")
    return precision


# --- scores: the spans `indoevent extract` would output ----------------------------------------
def predictor_for(model: Any, tokenizer: Any, cfg: RunConfig) -> Predictor:
    """The one prediction path over a model in memory (the trainer's, on its device) with the run's windows."""
    return Predictor(TorchForward(model, str(model.device)), tokenizer, model.config.id2label,
                     cfg.data.max_length, cfg.data.overlap, name=cfg.run_name, batch_size=cfg.train.eval_batch_size)


# --- the training loop ------------------------------------------------------------------------
def last_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint (``trainer_state.json`` is written last) in ``folder``."""
    if not folder.is_dir():
        return None
    done = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").exists()
            and p.name.split("-")[-1].isdigit()]
    return max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)


def _progress_callbacks(prefix: str):
    from transformers import ProgressCallback

    class Progress(ProgressCallback):
        """The Trainer's progress bar, with the loss on the bar instead of a dict per log line,
        and one readable line per evaluation."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and self.training_bar is not None and logs and "loss" in logs:
                self.training_bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

        def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
            pass  # no second bar for the dev set: the epoch line below reports it

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            super().on_evaluate(args, state, control, **kwargs)
            if not state.is_world_process_zero or not metrics:
                return
            losses = [h["loss"] for h in state.log_history if "loss" in h]
            train_loss = f"train loss {losses[-1]:.4f} | " if losses else ""
            line = (f"{prefix}epoch {state.epoch:.2f} step {state.global_step}: {train_loss}"
                    f"dev loss {metrics.get('eval_loss', float('nan')):.4f} "
                    f"F1 {metrics.get('eval_f1', 0):.3f} (entities {metrics.get('eval_entities_f1', 0):.3f}, "
                    f"triggers {metrics.get('eval_triggers_f1', 0):.3f}, macro {metrics.get('eval_macro_f1', 0):.3f})")
            if self.training_bar is not None:
                self.training_bar.write(line)
            else:
                print(line)

    return Progress


def _trainer_class() -> type:
    from transformers import Trainer

    class IndoeventTrainer(Trainer):
        """The Hugging Face Trainer, scoring the dev articles through the prediction path and counting
        the model's parameters once rather than at every step."""

        _n_params: int | None = None
        dev_articles: Sequence[TaggedWords] = ()
        run_config: RunConfig | None = None

        def evaluation_loop(self, *args, **kwargs):
            # The Trainer gives the dev loss over the training windows; the scores come from predicting
            # the dev articles' raw text exactly as extraction does. Added here, before `evaluate` logs
            # them and calls the callbacks, so metric_for_best_model, early stopping and the progress
            # line all see them. Every process scores (the same weights, the same articles), so all
            # take the same early-stopping decision; only rank 0 logs and writes.
            out = super().evaluation_loop(*args, **kwargs)
            if self.dev_articles:
                prefix = kwargs.get("metric_key_prefix", "eval")
                m, _ = score_articles(predictor_for(self.model, self.processing_class, self.run_config).predict_many,
                                      self.dev_articles)
                out.metrics.update({f"{prefix}_{k}": v for k, v in flat(m).items()})
            return out

        def floating_point_ops(self, inputs: dict) -> int:
            # For its total_flos statistic transformers walks every parameter at every step (0.7 ms
            # for a BERT-base here, 0.15 ms for the tiny one): the count never changes.
            if self._n_params is None:
                self._n_params = self.model.num_parameters(exclude_embeddings=True)
            return 6 * inputs["input_ids"].numel() * self._n_params

    return IndoeventTrainer


def make_trainer(cfg: RunConfig, model: Any, tokenizer: Any, train_f: Features, dev_f: Features | None,
                 checkpoints: Path, callbacks: Sequence[Any] = (), prefix: str = "") -> tuple[Any, str]:
    """The ``Trainer`` of a run (also used as is by ``benchmarks/training.py``) and its precision.

    Evaluation (the dev loss over windows, the span scores over the dev articles' raw text),
    checkpoints and early stopping happen once per epoch (or every ``train.eval_steps``) when
    there are dev articles.
    """
    import torch
    from transformers import EarlyStoppingCallback, ProgressCallback, TrainingArguments

    t = cfg.train
    precision = resolve_precision(t.precision)
    cuda = torch.cuda.is_available()
    strategy = "no" if dev_f is None else ("steps" if t.eval_steps else "epoch")
    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,  # a float in [0, 1) is a share of all steps in transformers 5
        lr_scheduler_type=t.lr_scheduler,
        max_grad_norm=t.max_grad_norm,
        optim="adamw_torch_fused",  # one kernel per step; 4x faster than the for-each AdamW even on CPU
        bf16=precision == "bf16",
        use_cpu=not cuda and precision == "bf16",  # the Trainer takes bf16 on CPU only when told it is on CPU
        fp16=precision == "fp16",
        eval_strategy=strategy,
        eval_steps=t.eval_steps or None,
        # Checkpoints at every evaluation (or epoch), so the best one can be restored and --resume has one.
        save_strategy=strategy if strategy != "no" else ("steps" if t.eval_steps else "epoch"),
        save_steps=t.eval_steps or None,
        save_total_limit=t.save_total_limit,
        load_best_model_at_end=dev_f is not None,
        metric_for_best_model=t.best_metric if dev_f is not None else None,
        greater_is_better=True if dev_f is not None else None,
        restore_callback_states_from_checkpoint=True,  # early stopping's patience survives --resume
        logging_steps=t.logging_steps,
        logging_first_step=False,
        report_to="none",
        seed=t.seed,
        dataloader_num_workers=t.dataloader_workers,
        dataloader_pin_memory=cuda,
        ddp_find_unused_parameters=False,  # every weight of a token classifier gets a gradient
        # Each GPU averages its own tokens' loss and DDP averages the gradients. With True, transformers
        # 5.23 multiplies the loss by the number of GPUs and reports dev and train losses that much too
        # high (measured: exactly 2x with 2 processes).
        average_tokens_across_devices=False,
        disable_tqdm=False,
        label_names=["labels"],
    )
    cbs = list(callbacks)
    if dev_f is not None and t.early_stopping_patience > 0:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience))
    trainer = _trainer_class()(
        model=model, args=args,
        data_collator=Collator(tokenizer.pad_token_id, 8 if precision != "fp32" else None),
        train_dataset=train_f, eval_dataset=dev_f, processing_class=tokenizer, callbacks=cbs)
    trainer.dev_articles = dev_f.articles if dev_f is not None else ()
    trainer.run_config = cfg
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(_progress_callbacks(prefix)())
    return trainer, precision


@dataclass
class FitResult:
    """A trained model and what happened while training it."""

    trainer: Any
    model: Any
    tokenizer: Any
    dev: Features | None
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=dict)
    data_report: dict = field(default_factory=dict)
    resumed_from: str | None = None
    precision: str = "fp32"


def fit(cfg: RunConfig, train_articles: Sequence[TaggedWords], dev_articles: Sequence[TaggedWords], checkpoints: Path,
        resume: bool = False, callbacks: Sequence[Any] = (), prefix: str = "") -> FitResult:
    """Train on ``train_articles``, evaluating (and early-stopping) on ``dev_articles`` if any.

    Checkpoints go to ``checkpoints``; with ``resume`` training continues from the newest
    complete one there. Returns the best model (by dev score) or the last one without dev.
    """
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    t = cfg.train
    # Build the tiny base before seeding: building it draws random numbers, and the first run on a
    # fresh clone would otherwise start from other head weights than every later run with that seed.
    _ensure_base(cfg.model)
    set_seed(t.seed)  # before the classifier head is initialised
    model, tokenizer = load_model(cfg.model, cfg.data.max_length)
    train_f = encode_articles(tokenizer, train_articles, cfg.data.max_length, cfg.data.overlap)
    dev_f = encode_articles(tokenizer, dev_articles, cfg.data.max_length, cfg.data.overlap) if dev_articles else None
    report = {"train": train_f.report, "dev": dev_f.report if dev_f else None}
    for name, rep in report.items():
        if rep and rep["labelled_words_without_subwords"]:
            lost = rep["labelled_words_without_subwords"]
            msg = (f"{name}: {len(lost)} labelled word(s) became no sub-word with this tokenizer and cannot be "
                   f"learned, e.g. {lost[0]['doc_id']} word {lost[0]['word']} {lost[0]['text']!r} ({lost[0]['tag']})")
            if cfg.data.strict:
                raise DataError(msg + " (data.strict)")
            _say(f"warning: {msg}", file=sys.stderr)
    if not train_f.rows:
        raise DataError("no training windows: the training articles are empty")
    trainer, precision = make_trainer(cfg, model, tokenizer, train_f, dev_f, checkpoints, callbacks, prefix)

    start = None
    if resume:
        start = last_checkpoint(checkpoints)
        if start is None:
            _say(f"{prefix}no checkpoint in {checkpoints}: starting from scratch")
        else:
            _say(f"{prefix}resuming from {start}")
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Writing model shards" bar at every checkpoint
    try:
        trainer.train(resume_from_checkpoint=str(start) if start else None)
    except Exception as e:  # noqa: BLE001 - re-raised as is unless a checkpoint could not be written
        reason = write_failure(e)
        if reason is None:
            raise
        dropped = _drop_incomplete_checkpoints(checkpoints)
        raise RunWriteError(f"cannot write a checkpoint in {checkpoints} ({reason})"
                            + (f"; removed the half-written {', '.join(dropped)}" if dropped else "")
                            + ": free some space and rerun with --resume") from e
    finally:
        if bars:
            hf_logging.enable_progress_bar()

    history = [{k: v for k, v in h.items() if k in ("epoch", "step", "loss", "learning_rate") or k.startswith("eval_")}
               for h in trainer.state.log_history if "loss" in h or "eval_loss" in h]
    best = {"metric": t.best_metric if dev_f is not None else None, "value": trainer.state.best_metric,
            "step": trainer.state.best_global_step, "global_step": trainer.state.global_step,
            "epoch": trainer.state.epoch}
    return FitResult(trainer, trainer.model, tokenizer, dev_f, history, best, report,
                     str(start.name) if start else None, precision)


def _drop_incomplete_checkpoints(checkpoints: Path) -> list[str]:
    """Remove checkpoint folders without ``trainer_state.json`` (written last): what a failed save leaves."""
    if not _is_main() or not checkpoints.is_dir():
        return []
    bad = [p for p in checkpoints.iterdir() if p.is_dir() and "checkpoint-" in p.name
           and not (p / "trainer_state.json").exists()]
    for p in bad:
        shutil.rmtree(p, ignore_errors=True)
    return sorted(p.name for p in bad)


# --- one run ----------------------------------------------------------------------------------
def _as_config(config: RunConfig | str | Path | dict) -> RunConfig:
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, dict):
        return from_dict(config)
    return load_config(config)


_LOCKS: dict[Path, Any] = {}  # run folder -> its held lock, held until the run ends (or the process)


def _lock(final: Path) -> None:
    """Hold ``.<name>.lock`` next to the run folder, so that a second ``train`` on it stops at once
    instead of mixing its checkpoints into the first one's ``.partial`` folder. The holder's pid
    is written into it for the second one's message (on Unix; Windows keeps a locked file closed
    to others, and the message says pid ?)."""
    key = final.resolve()
    if key in _LOCKS:  # this process already holds it (train called again in one Python session)
        return
    path = lock_beside(final)
    try:
        held = try_lock(path)
    except OSError as e:
        raise RunWriteError(f"cannot write {path} ({write_failure(e) or e.strerror or e})") from e
    if held is None:
        try:
            pid = path.read_text(encoding="utf-8").strip() or "?"
        except OSError:
            pid = "?"
        raise RunExistsError(f"{final} is being written by another indoevent train (pid {pid}, lock {path}): "
                             "wait for it to finish, or choose another --output-dir")
    with suppress(OSError):
        path.write_text(str(os.getpid()), encoding="utf-8")
    _LOCKS[key] = held


def _unlock(final: Path) -> None:
    """Release and remove the lock of :func:`_lock`, if this process holds it."""
    held = _LOCKS.pop(final.resolve(), None)
    if held is not None:
        unlock(held)


# A run refused for these reasons has nothing worth resuming: its new .partial folder goes.
_REFUSALS = (ConfigError, DataError, ModelLoadError, RunExistsError)


@contextmanager
def _owning(final: Path) -> Iterator[None]:
    """Around a run: on a refusal (bad config, data or model) remove the ``.partial`` folder this
    call created, and always remove the run's lock file at the end, so nothing is left beside it."""
    work = partial_dir(final)
    existed = work.exists()
    try:
        yield
    except _REFUSALS:
        if _is_main() and not existed:
            shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        _unlock(final)


def _prepare_work(final: Path, resume: bool, overwrite: bool, cfg: RunConfig) -> Path:
    """The ``.<name>.partial`` folder of a run: checked, created, with the resolved config in it.
    Called once the data is read and checked, so a bad config or corpus creates nothing."""
    if _is_main():
        _lock(final)
    if final.exists() and not overwrite:
        raise RunExistsError(f"{final} already exists: pass --overwrite to replace it, or choose another "
                             "--output-dir or run_name")
    work = partial_dir(final)
    saved = work / "training_config.yaml"
    if work.exists() and not resume:
        left = ("checkpoints" if any(work.rglob("checkpoint-*")) else
                "finished folds" if any(work.glob("fold-*/result.json")) else None)
        if left and not overwrite:
            raise RunExistsError(f"{work} holds {left} of an interrupted run: pass --resume to continue it, "
                                 "or --overwrite to start again")
        if _is_main():
            shutil.rmtree(work)
    if resume and saved.exists():
        import yaml

        before, now = yaml.safe_load(saved.read_text(encoding="utf-8")), yaml.safe_load(dump_yaml(cfg))
        diff = [f"{s}.{k}" for s in now if isinstance(now[s], dict)
                for k in now[s] if before.get(s, {}).get(k) != now[s][k]]
        if diff:
            _say(f"warning: resuming with a config that differs from the interrupted run's in {', '.join(diff)}",
                 file=sys.stderr)
    if _is_main():  # other GPU processes only read it
        try:
            work.mkdir(parents=True, exist_ok=True)
            saved.write_text(dump_yaml(cfg), encoding="utf-8")
        except OSError as e:
            raise RunWriteError(f"cannot write {saved} ({write_failure(e) or e.strerror or e})") from e
    return work


def _save_model(result: FitResult, cfg: RunConfig, out: Path) -> None:
    model, tokenizer = result.model, result.tokenizer
    model.config.indoevent = {"schema_version": SCHEMA_VERSION, "max_length": cfg.data.max_length,
                              "overlap": cfg.data.overlap, "base_model": cfg.model.name_or_path,
                              "run_name": cfg.run_name}
    model.save_pretrained(out)  # safetensors: the transformers 5 default
    tokenizer.save_pretrained(out)
    # safetensors writes its file owner-only; give it the permissions of every other file of the run.
    umask = os.umask(0)
    os.umask(umask)
    for f in out.glob("*.safetensors"):
        os.chmod(f, 0o666 & ~umask)


def _split(corpus: Corpus, cfg: RunConfig) -> dict[str, list[TaggedWords]]:
    """Gold articles split by article (data.dev, data.test), plus CoNLL sentences by their own split."""
    by_id = corpus.by_id()
    if cfg.data.splits and corpus.gold:
        frozen = _frozen(corpus, cfg.data.splits)
        ids = (frozen.train, frozen.dev, frozen.test)
    else:
        ids = split_ids(list(by_id), cfg.data.dev, cfg.data.test, cfg.data.split_seed) if corpus.gold else ((), (), ())
    return {name: [by_id[i] for i in part] + corpus.extra[name] for name, part in zip(("train", "dev", "test"), ids)}


def train(config: RunConfig | str | Path | dict, output_dir: str | Path | None = None, *, resume: bool = False,
          cv: bool = False, overwrite: bool = False, callbacks: Sequence[Any] = ()) -> Path:
    """Fine-tune as ``config`` says and write the run directory; returns its path.

    ``output_dir`` defaults to ``models/<run_name>`` (``models/<run_name>-cv`` with ``cv``).
    ``resume`` continues an interrupted run from its last checkpoint; ``overwrite`` replaces
    an existing run directory; ``callbacks`` are extra ``TrainerCallback``s.
    """
    cfg = _as_config(config)
    if cv:
        return cross_validate(cfg, output_dir, resume=resume, overwrite=overwrite, callbacks=callbacks)
    final = Path(output_dir) if output_dir else Path("models") / cfg.run_name
    with _owning(final):
        return _train(cfg, final, resume, overwrite, callbacks)


def _train(cfg: RunConfig, final: Path, resume: bool, overwrite: bool, callbacks: Sequence[Any]) -> Path:
    t0 = time.perf_counter()

    # data: articles split by article, checked before anything is written
    corpus = load_corpus(cfg.data)
    split = _split(corpus, cfg)
    _say(f"{cfg.run_name}: {len(split['train'])} training, {len(split['dev'])} dev, {len(split['test'])} test "
         f"article(s); backbone {cfg.model.name_or_path}")
    if not split["dev"]:
        _say("no dev articles: no early stopping, the model of the last step is kept")
    work = _prepare_work(final, resume, overwrite, cfg)
    t1 = time.perf_counter()

    # model: fine-tuned, early-stopped on the dev span F1
    result = fit(cfg, split["train"], split["dev"], work / "checkpoints", resume, callbacks)
    t2 = time.perf_counter()
    if not _is_main():
        return final

    # scores: the dev and test articles predicted as `indoevent extract` predicts them
    predictor = predictor_for(result.model, result.tokenizer, cfg)
    metrics: dict[str, Any] = {"best": result.best, "history": result.history}
    scored = {name: score_articles(predictor.predict_many, split[name]) if split[name] else None
              for name in ("dev", "test")}
    metrics.update({name: s[0] if s else None for name, s in scored.items()})
    if cfg.data.conll:  # the word-level number of the published NERP and NERGrit tables, beside ours
        metrics["seqeval"] = {name: seqeval_f1(split[name], s[1]) if s else None for name, s in scored.items()}
    t3 = time.perf_counter()

    # the run folder
    info = run_info(cfg, corpus.files, {"load_data": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2,
                                        "total": time.perf_counter() - t0},
                    {"split": {k: [a.doc_id for a in v] for k, v in split.items()}, "precision": result.precision,
                     "resumed_from": result.resumed_from, "world_size": result.trainer.args.world_size,
                     "steps": result.best["global_step"],
                     "data": {"sources": corpus.report, "windows": result.data_report}})
    write_run(work, final, cfg, metrics, info, model_card(cfg, metrics, info), overwrite,
              save_model=lambda out: _save_model(result, cfg, out), keep_checkpoints=cfg.train.keep_checkpoints)
    _print_summary(final, metrics, time.perf_counter() - t0)
    return final


def _print_summary(final: Path, metrics: dict, seconds: float) -> None:
    for name in ("dev", "test"):
        m = metrics.get(name)
        if m:
            print(f"{name}: F1 {m['all']['micro']['f1'] or 0:.3f} (entities {m['entities']['micro']['f1'] or 0:.3f}, "
                  f"triggers {m['triggers']['micro']['f1'] or 0:.3f})")
        w = metrics.get("seqeval", {}).get(name)
        if w:
            print(f"{name}: seqeval word-level F1 (conlleval, as the IndoNLU tables) {w['all'] or 0:.3f} "
                  f"(entities {w['entities'] or 0:.3f})")
    print(f"wrote {final} in {seconds:.1f} s")


# --- cross-validation -------------------------------------------------------------------------
def _frozen(corpus: Corpus, path: str) -> FrozenSplits:
    """data.splits, checked against the gold: every gold article is in exactly one split."""
    try:
        frozen = load_splits(path)
    except ValueError as e:
        raise DataError(f"data.splits: {e}") from e
    gold = {a.doc_id for a in corpus.gold}
    listed = set(frozen.train) | set(frozen.dev) | set(frozen.test)
    if gold != listed:
        raise DataError(f"data.splits {path} does not match data.export: in no split: "
                        f"{', '.join(sorted(gold - listed)) or 'none'}; not in the export: "
                        f"{', '.join(sorted(listed - gold)) or 'none'}")
    return frozen


def _folds(corpus: Corpus, k: int | None, seed: int, splits: str | None = None) -> list:
    """The folds of ``--cv`` (by story from data.splits, else by article), or a DataError saying
    which cv.k the gold articles allow."""
    if splits:
        frozen = _frozen(corpus, splits)
        try:
            return frozen.folds()
        except ValueError as e:
            raise DataError(f"data.splits: {e}") from e
    n = len(corpus.gold)
    if n < 3:
        raise DataError(f"--cv needs at least 3 gold articles (data.export), got {n}")
    if k is not None and not 3 <= k <= n:
        raise DataError(f"cv.k={k}, but data.export holds {n} gold articles: choose cv.k between 3 and {n}, "
                        "or leave it unset for one fold per article")
    return kfold([a.doc_id for a in corpus.gold], k, seed=seed, dev=True)


def _spans(items: Sequence[dict]) -> list[Span]:
    return [Span.from_dict(d) for d in items]


def cross_validate(cfg: RunConfig, output_dir: str | Path | None = None, *, resume: bool = False,
                   overwrite: bool = False, callbacks: Sequence[Any] = ()) -> Path:
    """k-fold cross-validation by gold article (leave-one-article-out by default).

    Each fold trains on its train articles (plus CoNLL ``split: train`` data), early-stops on
    its dev article(s) and is scored on its test article(s). The run folder holds the per-fold
    and summary scores (mean and standard deviation per label), the pooled score over all
    test folds and the test predictions (gold and predicted spans per article); it holds no
    model (train one without ``--cv``). Finished folds survive an interruption: ``resume``
    skips them.
    """
    final = Path(output_dir) if output_dir else Path("models") / f"{cfg.run_name}-cv"
    with _owning(final):
        return _cross_validate(cfg, final, resume, overwrite, callbacks)


def _cross_validate(cfg: RunConfig, final: Path, resume: bool, overwrite: bool, callbacks: Sequence[Any]) -> Path:
    t0 = time.perf_counter()

    # data: folds by article, checked before anything is written
    corpus = load_corpus(cfg.data)
    by_id = corpus.by_id()
    folds = _folds(corpus, cfg.cv.k, cfg.data.split_seed, cfg.data.splits)
    work = _prepare_work(final, resume, overwrite, cfg)

    # one model per fold, scored on its test articles
    results = []
    for fold in folds:
        prefix = f"fold {fold.index + 1}/{len(folds)}: "
        fdir = work / f"fold-{fold.index}"
        done = fdir / "result.json"
        if resume and done.exists():
            results.append(json.loads(done.read_text(encoding="utf-8")))
            _say(f"{prefix}done before, skipped")
            continue
        _say(f"{prefix}train {len(fold.train)}, dev {', '.join(fold.dev)}, test {', '.join(fold.test)}")
        f0 = time.perf_counter()
        res = fit(cfg, [by_id[i] for i in fold.train] + corpus.extra["train"], [by_id[i] for i in fold.dev],
                  fdir / "checkpoints", resume, callbacks, prefix)
        if not _is_main():
            continue
        test_a = [by_id[i] for i in fold.test]
        m, preds = score_articles(predictor_for(res.model, res.tokenizer, cfg).predict_many, test_a)
        r = {"fold": fold.index, "train": list(fold.train), "dev": list(fold.dev), "test": list(fold.test),
             "best": res.best, "test_metrics": m, "seconds": round(time.perf_counter() - f0, 2),
             "predictions": [{"doc_id": a.doc_id, "gold": [s.to_dict() for s in a.spans],
                              "pred": [s.to_dict() for s in p.spans]} for a, p in zip(test_a, preds)]}
        fdir.mkdir(parents=True, exist_ok=True)
        try:
            write_json(done, r)
        except OSError as e:
            raise RunWriteError(f"cannot write {done} ({write_failure(e) or e.strerror or e})") from e
        shutil.rmtree(fdir / "checkpoints", ignore_errors=True)
        _say(f"{prefix}test F1 {m['all']['micro']['f1'] or 0:.3f} (entities {m['entities']['micro']['f1'] or 0:.3f}, "
             f"triggers {m['triggers']['micro']['f1'] or 0:.3f})")
        results.append(r)
        del res  # free the fold's model before the next one
    if not _is_main():
        return final

    # scores over folds: mean and spread, and pooled over every test article
    preds = [p for r in results for p in r["predictions"]]
    metrics = {"cv": {"k": len(folds), "summary": summarize([r["test_metrics"] for r in results]),
                      "pooled": score_spans([_spans(p["gold"]) for p in preds], [_spans(p["pred"]) for p in preds]),
                      "folds": [{k: r[k] for k in ("fold", "train", "dev", "test", "best", "test_metrics", "seconds")}
                                for r in results]}}

    # the report folder
    info = run_info(cfg, corpus.files, {"total": time.perf_counter() - t0,
                                        **{f"fold_{r['fold']}": r["seconds"] for r in results}},
                    {"cv": {"k": len(folds), "folds": [{k: r[k] for k in ("fold", "train", "dev", "test")}
                                                       for r in results]},
                     "data": {"sources": corpus.report}})
    lines = "".join(json.dumps({"fold": r["fold"], **p}, ensure_ascii=False) + "\n"
                    for r in results for p in r["predictions"])
    write_run(work, final, cfg, metrics, info, _cv_card(cfg, metrics, info), overwrite,
              files={"predictions.jsonl": lines})
    print(cv_table(metrics["cv"]["summary"]))
    print(f"wrote {final} in {time.perf_counter() - t0:.1f} s")
    return final


def _cv_card(cfg: RunConfig, metrics: dict, info: dict) -> str:
    card = model_card(cfg, metrics, info)
    head, _, rest = card.partition("## Intended use")
    note = ("## What this folder is\n\nA cross-validation report, not a model: it estimates how a model trained "
            "with `training_config.yaml` scores on unseen articles. Train the model itself with "
            "`indoevent train --config ...` (without --cv). Test predictions per fold (gold and predicted spans "
            "of each test article): `predictions.jsonl`.\n\n")
    rest = rest[rest.index("## Training data"):]
    return head + note + rest
