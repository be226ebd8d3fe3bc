"""``indoevent train``: fine-tune a token classifier (IndoBERT by default) on actors and event triggers.

The recipe is that of the Hugging Face token-classification examples, with what they miss
for long news articles: every article is cut into the overlapping windows inference uses
(nothing is truncated), the dev score that stops training is the strict span F1 at word
level after merging windows (never a sub-word accuracy), and ``--cv`` gives honest
leave-one-article-out estimates when there are only a handful of gold articles.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .config import ConfigError, RunConfig, dump_yaml, from_dict, load_config
from ..text.iob import TaggedWords
from .data import Collator, DataError, Features, encode_articles, load_corpus, merge_predictions, split_ids
from ..schema import bio_tags
from .metrics import flat, score, summarize
from .runs import (SCHEMA_VERSION, RunExistsError, is_hub_id, model_card, partial_dir, publish, run_info,
                   write_json)

__all__ = ["train", "cross_validate", "load_model", "make_trainer", "ModelLoadError"]


class ModelLoadError(RuntimeError):
    """The backbone could not be loaded (no network, wrong name, missing files)."""


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
    if model_cfg.tiny_corpus:
        from .tiny import ensure_tiny_bert

        ensure_tiny_bert(name, model_cfg.tiny_corpus)
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


def _no_long_sequence_warning(tokenizer: Any) -> None:
    # Whole articles are tokenised once and then cut into windows: the tokenizer's warning that a
    # sequence is longer than the model's limit ("will result in indexing errors") does not apply.
    tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True


def resolve_precision(precision: str) -> str:
    """``auto`` -> bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU."""
    import torch

    cuda = torch.cuda.is_available()
    if precision == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision in ("bf16", "fp16") and not cuda:
        raise ConfigError(f"train.precision={precision} needs a GPU: on CPU it is slower than fp32 "
                          "(no native half-precision matmul); use precision: fp32 or auto")
    return precision


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
        """The Hugging Face Trainer, counting the model's parameters once rather than at every step."""

        _n_params: int | None = None

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

    Evaluation, checkpoints and early stopping happen once per epoch (or every
    ``train.eval_steps``) when there are dev articles.
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
    tags = bio_tags()

    def preprocess_logits(logits, labels):
        # Keep label ids, not (windows x positions x 43) floats, across the whole dev set.
        return logits.argmax(-1)

    def compute_metrics(pred) -> dict:
        word_tags = merge_predictions(dev_f, pred.predictions, len(tags))
        return flat(score([a.tags for a in dev_f.articles], word_tags))

    cbs = list(callbacks)
    if dev_f is not None and t.early_stopping_patience > 0:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience))
    trainer = _trainer_class()(
        model=model, args=args,
        data_collator=Collator(tokenizer.pad_token_id, 8 if precision != "fp32" else None),
        train_dataset=train_f, eval_dataset=dev_f, processing_class=tokenizer,
        compute_metrics=compute_metrics if dev_f is not None else None,
        preprocess_logits_for_metrics=preprocess_logits if dev_f is not None else None,
        callbacks=cbs)
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


def predict(trainer: Any, features: Features) -> list[list[str]]:
    """Word tags of every article in ``features``: all windows predicted, merged as inference does."""
    keep = trainer.compute_metrics
    trainer.compute_metrics = None  # the dev-set scorer does not apply to other articles
    try:
        out = trainer.predict(features)
    finally:
        trainer.compute_metrics = keep
    preds = out.predictions
    if preds.ndim == 3:  # no preprocess_logits_for_metrics (a run without dev set): logits
        preds = preds.argmax(-1)
    return merge_predictions(features, preds, len(bio_tags()))


# --- one run ----------------------------------------------------------------------------------
def _as_config(config: RunConfig | str | Path | dict) -> RunConfig:
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, dict):
        return from_dict(config)
    return load_config(config)


def _prepare_work(final: Path, resume: bool, overwrite: bool, cfg: RunConfig) -> Path:
    """The ``.<name>.partial`` folder of a run: checked, created, with the resolved config in it."""
    if final.exists() and not overwrite:
        raise RunExistsError(f"{final} already exists: pass --overwrite to replace it, or choose another "
                             "--output-dir or run_name")
    work = partial_dir(final)
    saved = work / "training_config.yaml"
    if work.exists() and not resume:
        if any(work.rglob("checkpoint-*")) and not overwrite:
            raise RunExistsError(f"{work} holds checkpoints of an interrupted run: pass --resume to continue it, "
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
        work.mkdir(parents=True, exist_ok=True)
        saved.write_text(dump_yaml(cfg), encoding="utf-8")
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
    t0 = time.perf_counter()
    final = Path(output_dir) if output_dir else Path("models") / cfg.run_name
    work = _prepare_work(final, resume, overwrite, cfg)

    corpus = load_corpus(cfg.data)
    by_id = corpus.by_id()
    if corpus.gold:
        tr, dv, te = split_ids(list(by_id), cfg.data.dev, cfg.data.test, cfg.data.split_seed)
    else:
        tr, dv, te = (), (), ()
    train_a = [by_id[i] for i in tr] + corpus.extra["train"]
    dev_a = [by_id[i] for i in dv] + corpus.extra["dev"]
    test_a = [by_id[i] for i in te] + corpus.extra["test"]
    split = {"train": [a.doc_id for a in train_a], "dev": [a.doc_id for a in dev_a],
             "test": [a.doc_id for a in test_a]}
    _say(f"{cfg.run_name}: {len(train_a)} training, {len(dev_a)} dev, {len(test_a)} test article(s); "
          f"backbone {cfg.model.name_or_path}")
    if not dev_a:
        _say("no dev articles: no early stopping, the model of the last step is kept")
    t1 = time.perf_counter()

    result = fit(cfg, train_a, dev_a, work / "checkpoints", resume, callbacks)
    t2 = time.perf_counter()

    metrics: dict[str, Any] = {"best": result.best, "history": result.history}
    test_f = encode_articles(result.tokenizer, test_a, cfg.data.max_length, cfg.data.overlap) if test_a else None
    dev_tags = predict(result.trainer, result.dev) if result.dev else None
    test_tags = predict(result.trainer, test_f) if test_f else None
    metrics["dev"] = score([a.tags for a in dev_a], dev_tags) if dev_tags is not None else None
    metrics["test"] = score([a.tags for a in test_a], test_tags) if test_tags is not None else None
    t3 = time.perf_counter()
    if not _is_main():
        return final

    built = work / "final"
    shutil.rmtree(built, ignore_errors=True)
    built.mkdir(parents=True)
    _save_model(result, cfg, built)
    (built / "training_config.yaml").write_text(dump_yaml(cfg), encoding="utf-8")
    write_json(built / "metrics.json", metrics)
    info = run_info(cfg, corpus.files, {"load_data": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2,
                                        "total": time.perf_counter() - t0},
                    {"split": split, "precision": result.precision, "resumed_from": result.resumed_from,
                     "world_size": result.trainer.args.world_size, "steps": result.best["global_step"],
                     "data": {"sources": corpus.report, "windows": result.data_report}})
    write_json(built / "run_info.json", info)
    (built / "README.md").write_text(model_card(cfg, metrics, info), encoding="utf-8")
    publish(built, final, overwrite)
    if cfg.train.keep_checkpoints and (work / "checkpoints").exists():
        os.replace(work / "checkpoints", final / "checkpoints")
    shutil.rmtree(work, ignore_errors=True)
    _print_summary(final, metrics, time.perf_counter() - t0)
    return final


def _print_summary(final: Path, metrics: dict, seconds: float) -> None:
    for name in ("dev", "test"):
        m = metrics.get(name)
        if m:
            print(f"{name}: F1 {m['all']['micro']['f1'] or 0:.3f} (entities {m['entities']['micro']['f1'] or 0:.3f}, "
                  f"triggers {m['triggers']['micro']['f1'] or 0:.3f})")
    print(f"wrote {final} in {seconds:.1f} s")


# --- cross-validation -------------------------------------------------------------------------
def cross_validate(cfg: RunConfig, output_dir: str | Path | None = None, *, resume: bool = False,
                   overwrite: bool = False, callbacks: Sequence[Any] = ()) -> Path:
    """k-fold cross-validation by gold article (leave-one-article-out by default).

    Each fold trains on its train articles (plus CoNLL ``split: train`` data), early-stops on
    its dev article(s) and is scored on its test article(s). The run folder holds the per-fold
    and summary scores (mean and standard deviation per label), the pooled score over all
    test folds and the test predictions; it holds no model (train one without ``--cv``).
    Finished folds survive an interruption: ``resume`` skips them.
    """
    from .splits import kfold

    t0 = time.perf_counter()
    final = Path(output_dir) if output_dir else Path("models") / f"{cfg.run_name}-cv"
    work = _prepare_work(final, resume, overwrite, cfg)
    corpus = load_corpus(cfg.data)
    if len(corpus.gold) < 3:
        raise DataError(f"--cv needs at least 3 gold articles (data.export), got {len(corpus.gold)}")
    by_id = corpus.by_id()
    folds = kfold(list(by_id), cfg.cv.k, seed=cfg.data.split_seed, dev=True)
    results = []
    for fold in folds:
        fdir = work / f"fold-{fold.index}"
        done = fdir / "result.json"
        if resume and done.exists():
            results.append(json.loads(done.read_text(encoding="utf-8")))
            _say(f"fold {fold.index + 1}/{len(folds)}: done before, skipped")
            continue
        prefix = f"fold {fold.index + 1}/{len(folds)}: "
        _say(f"{prefix}train {len(fold.train)}, dev {', '.join(fold.dev)}, test {', '.join(fold.test)}")
        f0 = time.perf_counter()
        res = fit(cfg, [by_id[i] for i in fold.train] + corpus.extra["train"], [by_id[i] for i in fold.dev],
                  fdir / "checkpoints", resume, callbacks, prefix)
        test_a = [by_id[i] for i in fold.test]
        test_f = encode_articles(res.tokenizer, test_a, cfg.data.max_length, cfg.data.overlap)
        pred = predict(res.trainer, test_f)
        m = score([a.tags for a in test_a], pred)
        r = {"fold": fold.index, "train": list(fold.train), "dev": list(fold.dev), "test": list(fold.test),
             "best": res.best, "test_metrics": m, "seconds": round(time.perf_counter() - f0, 2),
             "predictions": [{"doc_id": a.doc_id, "tokens": a.tokens, "gold": a.tags, "pred": p}
                             for a, p in zip(test_a, pred)]}
        if _is_main():
            fdir.mkdir(parents=True, exist_ok=True)
            write_json(done, r)
            shutil.rmtree(fdir / "checkpoints", ignore_errors=True)
        _say(f"{prefix}test F1 {m['all']['micro']['f1'] or 0:.3f} (entities {m['entities']['micro']['f1'] or 0:.3f}, "
              f"triggers {m['triggers']['micro']['f1'] or 0:.3f})")
        results.append(r)
        del res  # free the fold's model before the next one
    if not _is_main():
        return final

    gold = [p["gold"] for r in results for p in r["predictions"]]
    pred = [p["pred"] for r in results for p in r["predictions"]]
    metrics = {"cv": {"k": len(folds), "summary": summarize([r["test_metrics"] for r in results]),
                      "pooled": score(gold, pred),
                      "folds": [{k: r[k] for k in ("fold", "train", "dev", "test", "best", "test_metrics", "seconds")}
                                for r in results]}}
    built = work / "final"
    shutil.rmtree(built, ignore_errors=True)
    built.mkdir(parents=True)
    (built / "training_config.yaml").write_text(dump_yaml(cfg), encoding="utf-8")
    write_json(built / "metrics.json", metrics)
    with open(built / "predictions.jsonl", "w", encoding="utf-8") as f:
        for r in results:
            for p in r["predictions"]:
                f.write(json.dumps({"fold": r["fold"], **p}, ensure_ascii=False) + "\n")
    info = run_info(cfg, corpus.files, {"total": time.perf_counter() - t0, **{f"fold_{r['fold']}": r["seconds"]
                                                                             for r in results}},
                    {"cv": {"k": len(folds), "folds": [{k: r[k] for k in ("fold", "train", "dev", "test")}
                                                       for r in results]},
                     "data": {"sources": corpus.report}})
    write_json(built / "run_info.json", info)
    (built / "README.md").write_text(_cv_card(cfg, metrics, info), encoding="utf-8")
    publish(built, final, overwrite)
    shutil.rmtree(work, ignore_errors=True)
    from .metrics import cv_table

    print(cv_table(metrics["cv"]["summary"]))
    print(f"wrote {final} in {time.perf_counter() - t0:.1f} s")
    return final


def _cv_card(cfg: RunConfig, metrics: dict, info: dict) -> str:
    card = model_card(cfg, metrics, info)
    head, _, rest = card.partition("## Intended use")
    note = ("## What this folder is\n\nA cross-validation report, not a model: it estimates how a model trained "
            "with `training_config.yaml` scores on unseen articles. Train the model itself with "
            "`indoevent train --config ...` (without --cv). Test predictions per fold: `predictions.jsonl`.\n\n")
    rest = rest[rest.index("## Training data"):]
    return head + note + rest
