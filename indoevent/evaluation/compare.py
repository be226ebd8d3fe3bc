"""Compare runs side by side: strict span scores with 95% bootstrap intervals, per-label F1.

Each argument is one of:

* an evaluation folder (``indoevent evaluate RUN --out DIR``): its ``metrics.json``;
* a cross-validation folder (``indoevent train --cv``): its pooled test predictions, resampled by article;
* a run folder: evaluated on ``data`` when given, else its own ``metrics.json`` test (or dev) score,
  which has no interval.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..jsonl import read_jsonl
from ..schema import ENTITY_LABELS, EVENT_LABELS
from ..scores import prf
from ..text.iob import tags_to_word_spans
from .analysis import GROUP_LABELS, bootstrap
from .evaluate import DEFAULT_RESAMPLES, EvaluationError, evaluate
from .html import CSS, _md_table, _png

GROUPS = ("entities", "triggers", "all")


@dataclass
class Entry:
    """One column of a comparison: micro scores per group and F1 per label, each with an interval or None."""

    name: str
    source: str  # evaluation, cv, run
    articles: int
    micro: dict[str, dict] = field(default_factory=dict)      # group -> {precision, recall, f1}
    intervals: dict[str, dict] = field(default_factory=dict)  # "spans.GROUP" / "label.X" -> {precision: [lo, hi]...}
    labels: dict[str, float] = field(default_factory=dict)    # label -> F1


def _from_evaluation(name: str, m: dict) -> Entry:
    return Entry(name, "evaluation", len(m["articles"]),
                 {g: {k: m["spans"][g]["micro"][k] for k in ("precision", "recall", "f1")} for g in GROUPS},
                 m.get("intervals", {}), {lab: v["f1"] for lab, v in m["spans"]["all"]["labels"].items()})


def _spans(items: list) -> set[tuple]:
    """A fold's gold or predicted spans as ``(start, end, label)``: character spans (dicts), or word
    tags as cross-validation folders written before the one prediction path held them."""
    if items and isinstance(items[0], str):
        return set(tags_to_word_spans(items))
    return {(s["start"], s["end"], s["label"]) for s in items}


def cv_counts(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """Score name (``spans.GROUP``, ``label.X``) -> ``(articles, 3)`` array of ``(tp, gold, predicted)``
    for the rows of a cross-validation folder's ``predictions.jsonl`` (one article a row, its gold
    and predicted spans), in the rows' order; labels that occur nowhere are left out."""
    names = [f"spans.{g}" for g in GROUPS] + [f"label.{lab}" for lab in ENTITY_LABELS + EVENT_LABELS]
    counts = {n: np.zeros((len(rows), 3)) for n in names}
    for a, r in enumerate(rows):
        g, p = _spans(r["gold"]), _spans(r["pred"])
        for group in GROUPS:
            keep = set(GROUP_LABELS[group])
            gg, pp = {x for x in g if x[2] in keep}, {x for x in p if x[2] in keep}
            counts[f"spans.{group}"][a] = (len(gg & pp), len(gg), len(pp))
        for lab in ENTITY_LABELS + EVENT_LABELS:
            gg, pp = {x for x in g if x[2] == lab}, {x for x in p if x[2] == lab}
            counts[f"label.{lab}"][a] = (len(gg & pp), len(gg), len(pp))
    return {n: c for n, c in counts.items() if c[:, 1:].sum() > 0}


def _from_cv(name: str, folder: Path, resamples: int, seed: int) -> Entry:
    """Pooled test predictions of every fold, counted per article."""
    rows = [r for _, r in read_jsonl(folder / "predictions.jsonl")]
    counts = cv_counts(rows)
    totals = {n: prf(*c.sum(axis=0), digits=4) for n, c in counts.items()}
    return Entry(name, "cv", len(rows), {g: totals.get(f"spans.{g}", prf(0, 0, 0, digits=4)) for g in GROUPS},
                 bootstrap(counts, resamples, seed),
                 {n.split(".", 1)[1]: v["f1"] for n, v in totals.items() if n.startswith("label.")})


def _from_run(name: str, folder: Path, data: Sequence[str | Path] | None, resamples: int, seed: int) -> Entry:
    if data:
        return _from_evaluation(name, evaluate(folder, data, resamples=resamples, seed=seed).metrics)
    m = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    split = "test" if m.get("test") else "dev"
    if not m.get(split):
        raise EvaluationError(f"{folder}: its metrics.json has no test or dev score; pass --data to evaluate it")
    s = m[split]
    return Entry(f"{name} ({split})", "run", 0, {g: {k: s[g]["micro"][k] for k in ("precision", "recall", "f1")}
                                                  for g in GROUPS}, {},
                 {lab: v["f1"] for lab, v in s["all"]["labels"].items()})


def load_entry(path: str | Path, data: Sequence[str | Path] | None = None, resamples: int = DEFAULT_RESAMPLES,
               seed: int = 0) -> Entry:
    """Read one argument of ``indoevent compare`` (see the module docstring)."""
    folder = Path(path)
    name = folder.name
    metrics = folder / "metrics.json"
    if not metrics.is_file() and not (folder / "config.json").is_file():
        raise EvaluationError(f"{folder}: neither an evaluation, a cross-validation nor a run folder (no metrics.json)")
    try:
        m = json.loads(metrics.read_text(encoding="utf-8")) if metrics.is_file() else {}
    except (UnicodeDecodeError, ValueError) as e:
        raise EvaluationError(f"{metrics}: not JSON ({e})") from None
    if "spans" in m and "articles" in m:
        return _from_evaluation(name, m)
    if "cv" in m and (folder / "predictions.jsonl").is_file():
        return _from_cv(name, folder, resamples, seed)
    if (folder / "config.json").is_file():
        return _from_run(name, folder, data, resamples, seed)
    raise EvaluationError(f"{folder}: metrics.json is not from evaluate, train or train --cv")


def _cell(e: Entry, group: str, key: str = "f1") -> str:
    v = e.micro[group][key]
    iv = e.intervals.get(f"spans.{group}", {}).get(key)
    return "-" if v is None else f"{v:.3f}" + (f" [{iv[0]:.2f}, {iv[1]:.2f}]" if iv else "")


def compare_table(entries: Sequence[Entry]) -> str:
    """Markdown: one row per run, micro F1 per group (95% intervals), and P and R over all spans."""
    lines = ["| run | source | articles | entities F1 | triggers F1 | all F1 | all P | all R |",
             "|---|---|---|---|---|---|---|---|"]
    for e in entries:
        lines.append(f"| {e.name} | {e.source} | {e.articles or '-'} | {_cell(e, 'entities')} | {_cell(e, 'triggers')} "
                     f"| {_cell(e, 'all')} | {_cell(e, 'all', 'precision')} | {_cell(e, 'all', 'recall')} |")
    if any(0 < e.articles < 30 for e in entries):
        lines += ["", "Intervals: 95% bootstrap over articles; with few articles they are wide, and runs whose "
                      "intervals overlap are not shown to differ."]
    return "\n".join(lines)


def compare_chart(entries: Sequence[Entry]) -> str:
    """:func:`compare_figure` as an inline PNG."""
    return _png(compare_figure(entries))


def compare_figure(entries: Sequence[Entry]):
    """Per-label F1 of every run as grouped bars with their intervals (a matplotlib figure)."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no backend to choose

    labels = [lab for lab in ENTITY_LABELS + EVENT_LABELS if any(lab in e.labels for e in entries)]
    width = 0.8 / max(len(entries), 1)
    fig = Figure(figsize=(max(7, 0.55 * len(labels) * max(1, len(entries) / 2) + 2), 3.6), layout="tight")
    ax = fig.subplots()
    for k, e in enumerate(entries):
        f1 = [e.labels.get(lab, 0.0) or 0.0 for lab in labels]
        iv = [e.intervals.get(f"label.{lab}", {}).get("f1") or [v, v] for lab, v in zip(labels, f1, strict=True)]
        err = [[max(v - a, 0) for v, (a, _) in zip(f1, iv, strict=True)],
               [max(b - v, 0) for v, (_, b) in zip(f1, iv, strict=True)]]
        ax.bar([i + (k - (len(entries) - 1) / 2) * width for i in range(len(labels))], f1, width, yerr=err,
               capsize=2, label=e.name)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("strict F1")
    ax.set_title("per-label F1 with 95% bootstrap intervals")
    ax.legend(fontsize=8)
    return fig


# Left in every page compare_html writes, so that `compare --out X --overwrite` knows X is its own.
COMPARE_MARK = '<meta name="generator" content="indoevent compare">'


def is_compare_page(path: Path) -> bool:
    """Whether ``path`` is a page :func:`compare_html` wrote (by its marker)."""
    try:
        with open(path, "rb") as f:
            return COMPARE_MARK.encode() in f.read(4096)
    except OSError:
        return False


def compare_html(entries: Sequence[Entry]) -> str:
    """A self-contained HTML page: the table and the chart."""
    from html import escape

    names = ", ".join(escape(e.name) for e in entries)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{COMPARE_MARK}<title>indoevent: {names}</title>'
            f"<style>{CSS}</style></head><body><h1>Comparison: {names}</h1>"
            f"{_md_table(compare_table(entries))}{compare_chart(entries)}</body></html>\n")
