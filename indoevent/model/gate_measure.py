"""Measuring the runtime gate (:mod:`.gate`): int8 and bf16 against fp32 on a run's dev articles.

Called at the end of ``train`` (``train.runtime_gate``) and by ``indoevent export-onnx --quantize
int8``; never at first use. Every runtime predicts through the one prediction path
(:class:`~.predict.Predictor`); the gold is the run's own data (``training_config.yaml``), its dev
articles the ones ``run_info.json``'s split names, as the studio's comparisons find them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import load_config
from .data import load_corpus
from .gate import FORMAT, GATE_FILE, Figures, Gate, log, onnx_hashes, span_agreement, write_no_gate
from .metrics import score_spans
from .onnx_export import ONNX_DIR, export_onnx, is_fresh, sources
from .predict import Predictor
from .runs import write_json
from .runtime import native_bf16


def measure_gate(run: str | Path, articles: Sequence[Any], bf16: bool | None = None) -> dict:
    """Export ``run`` to ONNX fp32 and int8 where not up to date, predict ``articles`` (the run's dev
    articles: ``text``, ``doc_id``, gold ``spans``) with fp32, int8 and (``bf16``; default: where the
    CPU has native bf16) torch bf16, and write ``RUN/runtime_gate.json``; returns what it wrote."""
    run = Path(run)
    if not articles:
        write_no_gate(run, "the run has no dev articles to measure int8 and bf16 on")
        return {}
    if not (is_fresh(run) and (run / ONNX_DIR / "model.int8.onnx").is_file()):
        export_onnx(run, quantize="int8")
    t0 = time.perf_counter()
    texts, ids = [a.text for a in articles], [a.doc_id for a in articles]
    gold = [a.spans for a in articles]

    def spans(**load: Any) -> list:
        p = Predictor.from_pretrained(run, **load)
        return [x.spans for x in p.predict_many(texts, ids=ids)]

    def f1(pred: list) -> float:
        return round(100 * (score_spans(gold, pred)["all"]["micro"]["f1"] or 0.0), 2)

    ref = spans(runtime="onnx")
    runs = {"int8": ("onnxruntime-int8-cpu", {"quantize": "int8"})}
    if native_bf16() if bf16 is None else bf16:
        runs["bf16"] = ("torch-bf16-cpu", {"runtime": "torch", "precision": "bf16", "device": "cpu"})
    figures: dict[str, dict[str, Any]] = {}
    for kind, (label, load) in runs.items():
        got = spans(**load)
        figures[kind] = {"runtime": label, "span_agreement": round(span_agreement(ref, got), 5), "f1": f1(got),
                         "f1_drop": round(f1(ref) - f1(got), 2)}
    rec = {"format": FORMAT, "articles": len(articles), "dev_ids": ids,
           "reference": {"runtime": "onnxruntime-fp32-cpu", "f1": f1(ref)}, "figures": figures,
           "sources_sha256": sources(run), "onnx_sha256": onnx_hashes(run),
           "seconds": round(time.perf_counter() - t0, 2)}
    write_json(run / GATE_FILE, rec)
    log.info("%s: runtime gate measured: %s", run,
             Gate({k: Figures(**v) for k, v in figures.items()}, len(articles)).describe())
    return rec


def dev_articles(run: str | Path) -> tuple[list[Any], str | None]:
    """The run's dev articles with their gold (``run_info.json``'s split, read from the data its
    ``training_config.yaml`` names), or why there are none to measure on."""
    run = Path(run)
    try:
        info = json.loads((run / "run_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], "no run_info.json saying which articles were dev"
    dev = list((info.get("split") or {}).get("dev") or [])
    if not dev:
        return [], "the run has no dev articles to measure int8 and bf16 on"
    try:
        by_id = load_corpus(load_config(run / "training_config.yaml").data).by_id()
    except Exception as e:  # noqa: BLE001 - any unreadable config or data: say so, measure nothing
        return [], f"cannot read the run's gold data ({type(e).__name__}: {e})"
    missing = [d for d in dev if d not in by_id]
    if missing:
        return [], f"{len(missing)} of the run's {len(dev)} dev article(s) are not in its data now"
    return [by_id[d] for d in dev], None
