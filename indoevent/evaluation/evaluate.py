"""Evaluate a run on annotated articles, through the one prediction path.

The run's :class:`~indoevent.events.extractor.Extractor` (the very code ``indoevent extract``
runs) reads each gold article's raw text; its character spans are scored against the gold
character spans. A gold span that extraction cannot produce (one that cuts a word) is missed.
``metrics.json`` also holds seqeval's word-level F1 (``seqeval``), the number published Indonesian
NER tables report (``model.metrics.seqeval_f1``).

Usage::

    from indoevent.evaluation import evaluate
    report = evaluate("models/tiny", ["annotations/seeds.json"])
    print(report.table())
    report.write("reports/tiny")          # metrics.json and report.html
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..annotation.conll import read_conll
from ..annotation.lsexport import read_export
from ..atomic import building, folder_of
from ..document import Document, Relation, Span
from ..events.extractor import Extraction, Extractor
from ..model.metrics import score_articles, seqeval_f1
from ..text.iob import tags_to_word_spans
from .analysis import analyse, article_counts
from .html import render_report
from .render import headline_table

DEFAULT_RESAMPLES = 1000


class EvaluationError(ValueError):
    """Bad evaluation input (unknown article id, unreadable data); the message names it."""


@dataclass
class ArticleResult:
    """One gold article next to what the model extracted from its text."""

    doc: Document
    extraction: Extraction

    @property
    def doc_id(self) -> str:
        return self.doc.doc_id


@dataclass
class Report:
    """An evaluation: ``metrics`` (JSON-ready, everything ``metrics.json`` holds) and the articles."""

    run: str
    metrics: dict
    articles: list[ArticleResult] = field(default_factory=list)
    # score name -> (articles, 3) array of (tp, gold, predicted) per article, in ``articles``' order:
    # what a paired comparison of two runs on the same articles resamples (not written to metrics.json).
    counts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def table(self) -> str:
        """The headline as Markdown: strict span P/R/F1 per label, micro and macro, with 95% intervals."""
        return headline_table(self.metrics)

    def write(self, out: str | Path) -> Path:
        """Write ``OUT/metrics.json`` and ``OUT/report.html`` as one folder (built beside, then
        moved into place: a failure leaves the old folder or none) and return ``OUT``."""
        out = Path(out)
        with building(out) as tmp:
            (tmp / "metrics.json").write_text(json.dumps(self.metrics, indent=2, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
            (tmp / "report.html").write_text(render_report(self), encoding="utf-8")
        return out


REPORT_FILES = ("metrics.json", "report.html")


def is_metrics(path: Path) -> bool:
    """Whether ``path`` is a metrics.json of :func:`evaluate` (recognised by its fields)."""
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(m, dict) and {"run", "model_version", "articles", "trained_on"} <= m.keys()


def is_report(path: Path) -> bool:
    """What ``indoevent evaluate --out`` may replace: a metrics.json of its own, or a folder of
    metrics.json and report.html only."""
    if path.is_dir():
        return folder_of(REPORT_FILES)(path) and (not (path / "metrics.json").exists() or is_metrics(path / "metrics.json"))
    return is_metrics(path)


# --- gold ---------------------------------------------------------------------------------------
def conll_documents(path: str | Path, label_map: dict[str, str | None] | None = None) -> list[Document]:
    """The sentences of a CoNLL file as gold documents (text: tokens joined by spaces)."""
    docs = []
    for a in read_conll(path, label_map or {})[0]:
        spans = [Span(a.starts[i], a.ends[j - 1], lab, a.text[a.starts[i]:a.ends[j - 1]], id=f"s{k}")
                 for k, (i, j, lab) in enumerate(tags_to_word_spans(a.tags))]
        docs.append(Document(a.doc_id, a.text, spans))
    return docs


def load_gold(paths: Iterable[str | Path], annotation: str = "latest",
              label_map: dict[str, str | None] | None = None) -> tuple[list[Document], list[str]]:
    """Gold documents from Label Studio exports (``.json``) and CoNLL files (anything else),
    with warnings (problems the export reader found; they are not dropped silently)."""
    docs: list[Document] = []
    warnings: list[str] = []
    for p in map(Path, paths):
        if p.suffix.lower() == ".json":
            r = read_export(p, annotation)
            docs += r.documents
            if r.problems:
                warnings.append(f"{p}: {len(r.problems)} problem(s) in the gold (see indoevent validate), "
                                f"first: {r.problems[0]}")
            if r.skipped:
                warnings.append(f"{p}: skipped tasks: { {k: len(v) for k, v in r.skipped.items()} }")
        else:
            docs += conll_documents(p, label_map)
    ids = [d.doc_id for d in docs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise EvaluationError(f"article id(s) given twice in the data: {', '.join(dup[:5])}")
    return docs, warnings


def training_documents(run: str | Path, given: Sequence[Document]) -> tuple[set[str], list[Document]]:
    """The run's training article ids (``run_info.json``) and those articles' gold documents,
    read from the given data and from the export the run's ``training_config.yaml`` names."""
    run = Path(run)
    info = run / "run_info.json"
    if not info.is_file():
        return set(), []
    trained = set(json.loads(info.read_text(encoding="utf-8")).get("split", {}).get("train", []))
    found = {d.doc_id: d for d in given if d.doc_id in trained}
    cfg = run / "training_config.yaml"
    if cfg.is_file() and len(found) < len(trained):
        import yaml

        data = (yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}).get("data") or {}
        export = data.get("export")
        if export and Path(export).is_file():
            for d in read_export(export, data.get("annotation") or "latest").documents:
                if d.doc_id in trained:
                    found.setdefault(d.doc_id, d)
    return trained, list(found.values())


# --- evaluate -----------------------------------------------------------------------------------
def evaluate(run: str | Path, data: Sequence[str | Path] | Sequence[Document], *, annotation: str = "latest",
             label_map: dict[str, str | None] | None = None, articles: Sequence[str] | None = None,
             extractor: Extractor | None = None, batch_size: int | None = None, resamples: int = DEFAULT_RESAMPLES,
             seed: int = 0, progress: bool = False) -> Report:
    """Extract every gold article's text with the run and score the spans and frames.

    ``data``: export/CoNLL paths or :class:`~indoevent.document.Document` objects; ``articles``:
    only these ids. ``resamples``: bootstrap resamples over articles for the 95% intervals.
    """
    warnings: list[str] = []
    if data and isinstance(data[0], Document):  # all Documents, or all paths
        docs = [d for d in data if isinstance(d, Document)]
    else:
        docs, warnings = load_gold([d for d in data if not isinstance(d, Document)], annotation, label_map)
    if articles:
        unknown = set(articles) - {d.doc_id for d in docs}
        if unknown:
            raise EvaluationError(f"unknown article id(s): {', '.join(sorted(unknown))}")
        docs = [d for d in docs if d.doc_id in set(articles)]
    if not docs:
        raise EvaluationError("no gold article to evaluate on")
    extractor = extractor or Extractor.from_pretrained(run, batch_size=batch_size)

    def extract_many(texts: list[str], ids: list[str]) -> Iterable[Extraction]:
        found = extractor.extract_many(texts, ids=ids)
        if not progress:
            return found
        from tqdm.auto import tqdm

        return tqdm(found, total=len(texts), desc="evaluate", unit="article")

    spans, extractions = score_articles(extract_many, docs)
    results = [ArticleResult(d, x) for d, x in zip(docs, extractions, strict=True)]
    trained, train_docs = training_documents(run, docs) if Path(run).is_dir() else (set(), [])
    seen_in_training = sorted(d.doc_id for d in docs if d.doc_id in trained)
    if seen_in_training:
        warnings.append(f"{len(seen_in_training)} of {len(docs)} article(s) were in this model's training data "
                        f"({', '.join(seen_in_training[:5])}{' ...' if len(seen_in_training) > 5 else ''}): "
                        "their scores are optimistic")
    counts = article_counts(results, extractor.linker)
    metrics = {
        "run": str(run), "model_version": extractor.version, "articles": [d.doc_id for d in docs],
        "trained_on": seen_in_training, "warnings": warnings,
        "spans": spans, "seqeval": seqeval_f1(docs, extractions),
        **analyse(results, counts, [s for d in train_docs for s in d.spans], resamples, seed),
    }
    return Report(str(run), metrics, results, counts)


def gold_relations(doc: Document) -> list[Relation]:
    """The gold argument relations of a document (those whose ends are spans of it)."""
    ids = {s.id for s in doc.spans}
    return [r for r in doc.relations if r.trigger_id in ids and r.entity_id in ids]

