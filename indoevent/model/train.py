"""``indoevent train``: fine-tune a token classifier (IndoBERT by default) on actors and event triggers.

The recipe is that of the Hugging Face token-classification examples, with what they miss
for long news articles: every article is cut into the overlapping windows inference uses
(nothing is truncated); the dev score that stops training is the strict character-span F1 of
the spans :class:`~indoevent.model.predict.Predictor` (the one prediction path, that of
``indoevent extract``) finds in the raw dev text, never a sub-word accuracy, so a gold span that
cuts a word counts as missed; and ``--cv`` gives honest leave-one-article-out estimates when
there are only a handful of gold articles.

:func:`train` reads top to bottom: data, model, scores, one run folder. Its steps live in
modules named for what they hold:

    data.py         load_corpus, split_corpus      the articles, split by article
    run_folder.py   owning, prepare_work           the locked .partial folder, cleaned on a refusal
    trainer.py      fit, predictor_for             one model: backbone.py's load_model, the Trainer
    runs.py         run_info, model_card, write_run   what the run records, published in one rename
    cv.py           cross_validate                 --cv: one model per fold, a report folder

    train(config) -> Path                      # one run: models/<run-name>/
    train(config, cv=True) -> Path             # cross-validation: models/<run-name>-cv/

torch and transformers are imported inside functions: ``import indoevent`` stays light.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..text.iob import TaggedWords
from .checkpoint import ModelLoadError
from .config import RunConfig, from_dict, load_config
from .cv import cross_validate
from .data import load_corpus, split_corpus
from .gate_measure import measure_gate
from .metrics import score_articles, seqeval_f1
from .run_folder import owning, prepare_work, save_model
from .runs import is_main, model_card, run_info, say, write_run
from .trainer import FitResult, fit, predictor_for

__all__ = ["train", "ModelLoadError"]


def train(config: RunConfig | str | Path | dict, output_dir: str | Path | None = None, *, resume: bool = False,
          cv: bool = False, overwrite: bool = False, score_test: bool = False,
          callbacks: Sequence[Any] = ()) -> Path:
    """Fine-tune as ``config`` says and write the run directory; returns its path.

    ``output_dir`` defaults to ``models/<run_name>`` (``models/<run_name>-cv`` with ``cv``).
    ``resume`` continues an interrupted run from its last checkpoint; ``overwrite`` replaces
    an existing run directory; ``score_test`` also scores the test articles (for a final table only:
    choices are made on dev, so by default the test split stays unscored and ``metrics.json`` says
    ``"test": null``); ``callbacks`` are extra ``TrainerCallback``s. Raises
    :class:`ModelLoadError` when the backbone cannot be loaded (the message says how to train offline).
    """
    cfg = _as_config(config)
    if cv:
        return cross_validate(cfg, output_dir, resume=resume, overwrite=overwrite, callbacks=callbacks)
    final = Path(output_dir) if output_dir else Path("models") / cfg.run_name
    with owning(final):  # a refused run leaves nothing behind; the lock goes at the end
        t0 = time.perf_counter()

        # data: articles split by article, checked before anything is written
        corpus = load_corpus(cfg.data)
        split = split_corpus(corpus, cfg.data)
        say(f"{cfg.run_name}: {len(split['train'])} training, {len(split['dev'])} dev, {len(split['test'])} test "
            f"article(s); backbone {cfg.model.name_or_path}")
        if not split["dev"]:
            say("no dev articles: no early stopping, the model of the last step is kept")
        work = prepare_work(final, resume, overwrite, cfg, "train")
        t1 = time.perf_counter()

        # model: fine-tuned, early-stopped on the dev span F1
        result = fit(cfg, split["train"], split["dev"], work / "checkpoints", resume, callbacks, weights=corpus.weights)
        t2 = time.perf_counter()
        if not is_main():
            return final

        # scores: the dev and test articles predicted as `indoevent extract` predicts them
        metrics = _scores(cfg, result, split, score_test)
        t3 = time.perf_counter()

        # the run folder
        info = run_info(cfg, corpus.files, {"load_data": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2,
                                            "total": time.perf_counter() - t0},
                        {"split": {k: [a.doc_id for a in v] for k, v in split.items()}, "precision": result.precision,
                         "resumed_from": result.resumed_from, "world_size": result.trainer.args.world_size,
                         "steps": result.best["global_step"],
                         "data": {"sources": corpus.report, "windows": result.data_report}})
        write_run(work, final, cfg, metrics, info, model_card(cfg, metrics, info), overwrite,
                  save_model=lambda out: _save_and_gate(result, cfg, out, split["dev"]),
                  keep_checkpoints=cfg.train.keep_checkpoints)
        _print_summary(final, metrics, time.perf_counter() - t0)
    return final


def _save_and_gate(result: FitResult, cfg: RunConfig, out: Path, dev: list[TaggedWords]) -> None:
    """Save the model into the run being built, then (``train.runtime_gate``) measure the runtime
    gate on the dev articles (:mod:`.gate`): published with the run, so nothing is measured at first use."""
    save_model(result.model, result.tokenizer, cfg, out)
    if not cfg.train.runtime_gate:
        return
    t0 = time.perf_counter()
    try:
        rec = measure_gate(out, dev)
    except ImportError as e:  # onnx or onnxruntime not installed: the run is fine without a gate
        say(f"no runtime gate ({e}): `auto` runs fp32 on CPU")
        return
    if not rec:
        say("no dev articles: no runtime gate, `auto` runs fp32 on CPU")
        return
    figures = "; ".join(f"{k} span agreement {100 * f['span_agreement']:.2f}%, F1 drop {f['f1_drop']:+.2f}"
                        for k, f in rec["figures"].items())
    say(f"runtime gate on {len(dev)} dev article(s) ({time.perf_counter() - t0:.1f} s): {figures}")


def _as_config(config: RunConfig | str | Path | dict) -> RunConfig:
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, dict):
        return from_dict(config)
    return load_config(config)


def _scores(cfg: RunConfig, result: FitResult, split: dict[str, list[TaggedWords]],
            score_test: bool = False) -> dict[str, Any]:
    """The metrics of a run: how training went, the dev (and with ``score_test`` the test) character-span
    scores, and for CoNLL data seqeval's word-level F1 (the number of the published NERP and NERGrit
    tables) beside them."""
    predictor = predictor_for(result.model, result.tokenizer, cfg)
    metrics: dict[str, Any] = {"best": result.best, "history": result.history}
    scored = {name: score_articles(predictor.predict_many, split[name]) if split[name] else None
              for name in (("dev", "test") if score_test else ("dev",))}
    scored.setdefault("test", None)
    metrics.update({name: s[0] if s else None for name, s in scored.items()})
    if cfg.data.conll:
        metrics["seqeval"] = {name: seqeval_f1(split[name], s[1]) if s else None for name, s in scored.items()}
    return metrics


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
