"""Fitting one model: the Hugging Face Trainer as a run uses it, and the loop around it.

:func:`fit` loads the backbone, cuts the articles into windows, trains (resuming from the newest
complete checkpoint with ``resume``) and returns the best model by the dev span F1. The Trainer
subclass scores the dev articles through the one prediction path (:func:`predictor_for`, that
of ``indoevent extract``), never a sub-word accuracy; its progress bar carries the loss and
prints one line per evaluation. Used by one run (:mod:`.train`) and by every fold of
cross-validation (:mod:`.cv`); :func:`make_trainer` also by ``benchmarks/training.py``.

torch and transformers are imported inside functions: ``import indoevent`` stays light.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..text.iob import TaggedWords
from .backbone import ensure_base, load_model
from .config import ConfigError, RunConfig
from .data import Collator, DataError, Features, encode_articles
from .metrics import flat, score_articles
from .partial import one_hot_mask, partial_nll
from .predict import Predictor
from .runs import RunWriteError, is_main, say, write_failure
from .runtime import TorchForward, cpu_bf16_trains_faster, native_bf16


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


def predictor_for(model: Any, tokenizer: Any, cfg: RunConfig) -> Predictor:
    """The one prediction path over a model in memory (the trainer's, on its device) with the run's windows."""
    return Predictor(TorchForward(model, str(model.device)), tokenizer, model.config.id2label,
                     cfg.data.max_length, cfg.data.overlap, name=cfg.run_name, batch_size=cfg.train.eval_batch_size)


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
    from transformers import PreTrainedModel, Trainer

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

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            # Partial labels and source weights (partial.py): the loss over each word's allowed tags, times
            # its source's weight, computed here from the logits; a batch with neither (no partial or
            # weighted source) keeps the model's own cross-entropy.
            if "label_mask" not in inputs and "loss_weight" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            inputs = dict(inputs)
            weights = inputs.pop("loss_weight", None)
            labels = inputs.pop("labels", None)
            mask = inputs.pop("label_mask", None)
            outputs = model(**inputs)
            if mask is None:  # weighted sources with full labels: each word's own tag
                mask = one_hot_mask(labels, outputs.logits.shape[-1])
            loss = partial_nll(outputs.logits, mask, weights)
            return (loss, outputs) if return_outputs else loss

        def floating_point_ops(self, inputs: dict) -> int:
            # For its total_flos statistic transformers walks every parameter at every step (0.7 ms
            # for a BERT-base here, 0.15 ms for the tiny one): the count never changes.
            if self._n_params is None:
                model = self.model
                assert isinstance(model, PreTrainedModel), "load_model gives a transformers model"
                self._n_params = model.num_parameters(exclude_embeddings=True)
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
    from transformers import EarlyStoppingCallback, ProgressCallback

    t = cfg.train
    precision = resolve_precision(t.precision)
    cuda = torch.cuda.is_available()
    args = _training_arguments(cfg, checkpoints, precision, cuda, has_dev=dev_f is not None)
    cbs = list(callbacks)
    if dev_f is not None and t.early_stopping_patience > 0:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience))
    trainer = _trainer_class()(
        model=model, args=args,
        data_collator=Collator(tokenizer.pad_token_id, 8 if precision != "fp32" else None, model.config.num_labels),
        train_dataset=train_f, eval_dataset=dev_f, processing_class=tokenizer, callbacks=cbs)
    trainer.dev_articles = dev_f.articles if dev_f is not None else ()
    trainer.run_config = cfg
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(_progress_callbacks(prefix)())
    return trainer, precision


def _training_arguments(cfg: RunConfig, checkpoints: Path, precision: str, cuda: bool, has_dev: bool) -> Any:
    """The ``TrainingArguments`` of a run: the config's recipe, evaluation and checkpoints once per
    epoch (or every ``train.eval_steps``), the best checkpoint by the dev span F1 when there is dev."""
    from transformers import TrainingArguments

    t = cfg.train
    strategy = "no" if not has_dev else ("steps" if t.eval_steps else "epoch")
    return TrainingArguments(
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
        # save_steps counts for the "steps" strategy only (eval_steps set); else transformers' default 500.
        save_steps=t.eval_steps or 500,
        save_total_limit=t.save_total_limit,
        load_best_model_at_end=has_dev,
        metric_for_best_model=t.best_metric if has_dev else None,
        greater_is_better=True if has_dev else None,
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
        # The Collator builds exactly what the loss reads; left True, the Trainer strips every row key that
        # model.forward does not name (label_bits, weight) before the Collator sees it, and partial labels and
        # source weights silently never reach compute_loss (measured: batches held input_ids, mask, labels only).
        remove_unused_columns=False,
    )


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
        resume: bool = False, callbacks: Sequence[Any] = (), prefix: str = "",
        weights: Mapping[str, float] | None = None) -> FitResult:
    """Train on ``train_articles`` (``weights``: loss weight by article id, 1.0 if absent: :attr:`Corpus.weights`),
    evaluating (and early-stopping) on ``dev_articles`` if any.

    Checkpoints go to ``checkpoints``; with ``resume`` training continues from the newest
    complete one there. Returns the best model (by dev score) or the last one without dev.
    """
    from transformers import set_seed

    t = cfg.train
    # Build the tiny base before seeding: building it draws random numbers, and the first run on a
    # fresh clone would otherwise start from other head weights than every later run with that seed.
    ensure_base(cfg.model)
    set_seed(t.seed)  # before the classifier head is initialised
    model, tokenizer = load_model(cfg.model, cfg.data.max_length)
    train_f, dev_f, report = _encode(cfg, tokenizer, train_articles, dev_articles, weights)
    trainer, precision = make_trainer(cfg, model, tokenizer, train_f, dev_f, checkpoints, callbacks, prefix)
    start = _resume_point(checkpoints, prefix) if resume else None
    _train_from(trainer, start, checkpoints)

    history = [{k: v for k, v in h.items() if k in ("epoch", "step", "loss", "learning_rate") or k.startswith("eval_")}
               for h in trainer.state.log_history if "loss" in h or "eval_loss" in h]
    best = {"metric": t.best_metric if dev_f is not None else None, "value": trainer.state.best_metric,
            "step": trainer.state.best_global_step, "global_step": trainer.state.global_step,
            "epoch": trainer.state.epoch}
    return FitResult(trainer, trainer.model, tokenizer, dev_f, history, best, report,
                     str(start.name) if start else None, precision)


def _encode(cfg: RunConfig, tokenizer: Any, train_articles: Sequence[TaggedWords], dev_articles: Sequence[TaggedWords],
            weights: Mapping[str, float] | None = None) -> tuple[Features, Features | None, dict]:
    """The training (weighted by article id) and dev windows, and their report; a labelled word that no
    sub-word carries is a warning (an error with ``data.strict``), no training window at all an error."""
    train_f = encode_articles(tokenizer, train_articles, cfg.data.max_length, cfg.data.overlap, weights=weights)
    dev_f = encode_articles(tokenizer, dev_articles, cfg.data.max_length, cfg.data.overlap) if dev_articles else None
    report = {"train": train_f.report, "dev": dev_f.report if dev_f else None}
    for name, rep in report.items():
        if rep and rep["labelled_words_without_subwords"]:
            lost = rep["labelled_words_without_subwords"]
            msg = (f"{name}: {len(lost)} labelled word(s) became no sub-word with this tokenizer and cannot be "
                   f"learned, e.g. {lost[0]['doc_id']} word {lost[0]['word']} {lost[0]['text']!r} ({lost[0]['tag']})")
            if cfg.data.strict:
                raise DataError(msg + " (data.strict)")
            say(f"warning: {msg}", file=sys.stderr)
    if not train_f.rows:
        raise DataError("no training windows: the training articles are empty")
    return train_f, dev_f, report


def _resume_point(checkpoints: Path, prefix: str = "") -> Path | None:
    """The checkpoint ``--resume`` continues from (None: none there, start from scratch)."""
    start = last_checkpoint(checkpoints)
    if start is None:
        say(f"{prefix}no checkpoint in {checkpoints}: starting from scratch")
    else:
        say(f"{prefix}resuming from {start}")
    return start


def _train_from(trainer: Any, start: Path | None, checkpoints: Path) -> None:
    """``trainer.train``, without transformers' bar at every checkpoint save; a checkpoint the disk
    refused becomes a :class:`RunWriteError` that says to free space and resume, its half gone."""
    from transformers.utils import logging as hf_logging

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


def _drop_incomplete_checkpoints(checkpoints: Path) -> list[str]:
    """Remove checkpoint folders without ``trainer_state.json`` (written last): what a failed save leaves."""
    if not is_main() or not checkpoints.is_dir():
        return []
    bad = [p for p in checkpoints.iterdir() if p.is_dir() and "checkpoint-" in p.name
           and not (p / "trainer_state.json").exists()]
    for p in bad:
        shutil.rmtree(p, ignore_errors=True)
    return sorted(p.name for p in bad)
