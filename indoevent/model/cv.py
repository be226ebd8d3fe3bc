"""``indoevent train --cv``: k-fold cross-validation by gold article, for honest estimates from a handful.

Leave-one-article-out by default (``cv.k``: k folds; ``data.splits``: the folds written there, by
story). Each fold trains on its train articles (plus CoNLL ``split: train`` data), early-stops on
its dev article(s) and is scored on its test article(s) through the one prediction path, exactly
as :func:`~indoevent.model.train.train` scores its test set. The report folder holds per-fold and
summary scores, the pooled score over every test article and the test predictions; no model.

    cross_validate(cfg) -> Path                # models/<run-name>-cv/
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..document import Span
from .config import RunConfig
from .data import Corpus, DataError, frozen_splits, load_corpus
from .metrics import cv_table, score_articles, score_spans, summarize
from .run_folder import owning, prepare_work
from .runs import RunWriteError, is_main, model_card, run_info, say, write_failure, write_json, write_run
from .splits import Fold, kfold
from .trainer import fit, predictor_for


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
    with owning(final):
        t0 = time.perf_counter()

        # data: folds by article, checked before anything is written
        corpus = load_corpus(cfg.data)
        folds = _folds(corpus, cfg.cv.k, cfg.data.split_seed, cfg.data.splits)
        work = prepare_work(final, resume, overwrite, cfg, "train --cv")

        # one model per fold, scored on its test articles (None: another GPU process's fold)
        results = []
        for fold in folds:
            r = _fold(cfg, corpus, fold, len(folds), work, resume, callbacks)
            if r is not None:
                results.append(r)
        if not is_main():
            return final

        # scores over folds: mean and spread, and pooled over every test article
        metrics = {"cv": _cv_scores(results, len(folds))}

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


def _fold(cfg: RunConfig, corpus: Corpus, fold: Fold, n: int, work: Path, resume: bool,
          callbacks: Sequence[Any]) -> dict | None:
    """Train, early-stop and test one fold. Its result is also written to ``fold-<i>/result.json``,
    which ``resume`` reads back instead of training again; None in the processes that do not write."""
    by_id = corpus.by_id()
    prefix = f"fold {fold.index + 1}/{n}: "
    fdir = work / f"fold-{fold.index}"
    done = fdir / "result.json"
    if resume and done.exists():
        r = json.loads(done.read_text(encoding="utf-8"))
        say(f"{prefix}done before, skipped")
        return r
    say(f"{prefix}train {len(fold.train)}, dev {', '.join(fold.dev)}, test {', '.join(fold.test)}")
    f0 = time.perf_counter()
    res = fit(cfg, [by_id[i] for i in fold.train] + corpus.extra["train"], [by_id[i] for i in fold.dev],
              fdir / "checkpoints", resume, callbacks, prefix, weights=corpus.weights)
    if not is_main():
        return None
    test_a = [by_id[i] for i in fold.test]
    m, preds = score_articles(predictor_for(res.model, res.tokenizer, cfg).predict_many, test_a)
    r = {"fold": fold.index, "train": list(fold.train), "dev": list(fold.dev), "test": list(fold.test),
         "best": res.best, "test_metrics": m, "seconds": round(time.perf_counter() - f0, 2),
         "predictions": [{"doc_id": a.doc_id, "gold": [s.to_dict() for s in a.spans],
                          "pred": [s.to_dict() for s in p.spans]} for a, p in zip(test_a, preds, strict=True)]}
    fdir.mkdir(parents=True, exist_ok=True)
    try:
        write_json(done, r)
    except OSError as e:
        raise RunWriteError(f"cannot write {done} ({write_failure(e) or e.strerror or e})") from e
    shutil.rmtree(fdir / "checkpoints", ignore_errors=True)
    say(f"{prefix}test F1 {m['all']['micro']['f1'] or 0:.3f} (entities {m['entities']['micro']['f1'] or 0:.3f}, "
        f"triggers {m['triggers']['micro']['f1'] or 0:.3f})")
    return r  # the fold's model goes with `res` before the next fold loads one


def _cv_scores(results: list[dict], n_folds: int) -> dict:
    """Scores over folds: the summary (mean and spread per label), pooled over every test article, per fold."""
    preds = [p for r in results for p in r["predictions"]]
    return {"k": n_folds, "summary": summarize([r["test_metrics"] for r in results]),
            "pooled": score_spans([_spans(p["gold"]) for p in preds], [_spans(p["pred"]) for p in preds]),
            "folds": [{k: r[k] for k in ("fold", "train", "dev", "test", "best", "test_metrics", "seconds")}
                      for r in results]}


def _spans(items: Sequence[dict]) -> list[Span]:
    return [Span.from_dict(d) for d in items]


def _folds(corpus: Corpus, k: int | None, seed: int, splits: str | None = None) -> list:
    """The folds of ``--cv`` (by story from data.splits, else by article), or a DataError saying
    which cv.k the gold articles allow."""
    if splits:
        frozen = frozen_splits(corpus, splits)
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


def _cv_card(cfg: RunConfig, metrics: dict, info: dict) -> str:
    card = model_card(cfg, metrics, info)
    head, _, rest = card.partition("## Intended use")
    note = ("## What this folder is\n\nA cross-validation report, not a model: it estimates how a model trained "
            "with `training_config.yaml` scores on unseen articles. Train the model itself with "
            "`indoevent train --config ...` (without --cv). Test predictions per fold (gold and predicted spans "
            "of each test article): `predictions.jsonl`.\n\n")
    rest = rest[rest.index("## Training data"):]
    return head + note + rest
