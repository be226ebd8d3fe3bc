"""What the notebooks and ``make demo`` show: tables (Markdown), figures (matplotlib) and highlighted
text (HTML) of gold data, evaluations and extractions. The notebooks only call these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..annotation.agreement import agreement_table, compare, load_annotation
from ..document import Document, Span
from ..events.extractor import Extraction
from ..jsonl import read_jsonl
from ..model.config import load_config
from ..model.train import train
from ..schema import COLORS, ENTITY_LABELS, EVENT_LABELS, ROLES
from ..text.tokenize import tokenize
from .analysis import length_bucket
from .html import CSS, highlight

TINY_CONFIG = Path("training") / "configs" / "tiny.yaml"


def repo_root(start: str | Path | None = None) -> Path:
    """The checkout holding ``training/configs/tiny.yaml``: the current folder or one above it
    (notebooks run in ``notebooks/``)."""
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / TINY_CONFIG).is_file():
            return d
    raise FileNotFoundError(f"no {TINY_CONFIG} in {here} or above: run from the indoevent checkout")


def model_or_tiny(model: str | Path | None = None, root: str | Path | None = None, epochs: int | None = None) -> Path:
    """``model`` if given; else the tiny model trained on four seed articles (the fifth held out as
    test), trained now with ``training/configs/tiny.yaml`` (``epochs``: its 40 unless given) unless
    ``models/tiny-notebook`` exists."""
    if model:
        return Path(model)
    root = repo_root(root)
    out = root / "models" / "tiny-notebook"
    if (out / "config.json").is_file():
        return out
    overrides = _tiny_overrides(root) | ({"train.epochs": epochs} if epochs else {})
    return train(load_config(root / TINY_CONFIG, overrides), out)


def _tiny_overrides(root: Path) -> dict[str, Any]:
    return {"model.name_or_path": str(root / "models" / "_base" / "tiny-bert"), "model.tiny_corpus": str(root / "seeds"),
            "data.export": str(root / "annotations" / "seeds.json"), "data.dev": 0,
            "data.test": ["004_81279350a79d8947"]}


# --- gold data ----------------------------------------------------------------------------------
def labels_per_article(docs: Sequence[Document]) -> str:
    """Markdown: span counts per label (columns) per article (rows)."""
    labels = [lab for lab in ENTITY_LABELS + EVENT_LABELS if any(s.label == lab for d in docs for s in d.spans)]
    lines = ["| article | " + " | ".join(labels) + " | relations |", "|---|" + "---|" * (len(labels) + 1)]
    for d in docs:
        c = Counter(s.label for s in d.spans)
        lines.append(f"| {d.doc_id} | " + " | ".join(str(c.get(lab, 0)) for lab in labels) + f" | {len(d.relations)} |")
    return "\n".join(lines)


def label_figure(docs: Sequence[Document]) -> Any:
    """Spans per label over all articles, in the schema's colours."""
    from matplotlib.figure import Figure

    c = Counter(s.label for d in docs for s in d.spans)
    labels = [lab for lab in ENTITY_LABELS + EVENT_LABELS if c.get(lab)]
    fig = Figure(figsize=(8, 3), layout="tight")
    ax = fig.subplots()
    ax.bar(labels, [c[lab] for lab in labels], color=[COLORS[lab] for lab in labels], edgecolor="#333")
    ax.tick_params(axis="x", rotation=60, labelsize=8)
    ax.set_ylabel("spans")
    ax.set_title("gold spans per label")
    return fig


def span_length_figure(docs: Sequence[Document]) -> Any:
    """How many words gold spans have, entities and triggers apart."""
    from matplotlib.figure import Figure

    order = ["1", "2", "3", "4+"]
    fig = Figure(figsize=(6, 3), layout="tight")
    ax = fig.subplots()
    for k, (name, trig) in enumerate((("entities", False), ("triggers", True))):
        c = Counter(length_bucket(len(tokenize(d.text[s.start:s.end]))) for d in docs for s in d.spans
                    if s.is_trigger == trig)
        ax.bar([i + (k - 0.5) * 0.4 for i in range(len(order))], [c.get(b, 0) for b in order], 0.4, label=name)
    ax.set_xticks(range(len(order)), order)
    ax.set_xlabel("words in the span")
    ax.set_ylabel("spans")
    ax.legend()
    return fig


def trigger_words(docs: Sequence[Document], top: int = 6) -> str:
    """Markdown: the most frequent trigger words per event type."""
    by_type: dict[str, Counter] = {}
    for d in docs:
        for s in d.triggers:
            by_type.setdefault(s.label, Counter())[d.text[s.start:s.end].lower()] += 1
    lines = ["| event type | triggers | most frequent words |", "|---|---|---|"]
    for lab in EVENT_LABELS:
        if lab in by_type:
            words = ", ".join(f"{w} ({n})" for w, n in by_type[lab].most_common(top))
            lines.append(f"| {lab} | {sum(by_type[lab].values())} | {words} |")
    return "\n".join(lines)


def argument_counts(docs: Sequence[Document]) -> str:
    """Markdown: gold arguments per role and event type."""
    t_label = {s.id: s.label for d in docs for s in d.triggers}
    c = Counter((t_label.get(r.trigger_id, "?"), r.role) for d in docs for r in d.relations)
    types = [lab for lab in EVENT_LABELS if any(k[0] == lab for k in c)]
    lines = ["| event type | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES)]
    for lab in types:
        lines.append(f"| {lab} | " + " | ".join(str(c.get((lab, r), 0)) for r in ROLES) + " |")
    return "\n".join(lines)


def agreement(gold: str | Path, second: str | Path) -> str:
    """Span and argument agreement of a second annotation with the gold, on the articles both have."""
    b = load_annotation(second)
    ids = {d.doc_id for d in b}
    a = [d for d in load_annotation(gold) if d.doc_id in ids]
    spans, args, _ = compare(a, b)
    return f"{len(b)} article(s) annotated twice\n\n" + agreement_table(spans, args)


def highlighted(text: str, spans: Iterable[Span], title: str = "") -> str:
    """HTML: ``text`` with its spans in the schema's colours (for ``IPython.display.HTML``)."""
    body, _ = highlight(text, [(s, "correct") for s in spans], title or "spans")
    return (f"<style>{CSS}</style><div style='white-space:pre-wrap;line-height:1.7'>"
            f"{'<b>' + title + '</b><br>' if title else ''}{body}</div>")


def side_by_side(doc: Document, predicted: Iterable[Span]) -> str:
    """HTML: gold and predicted spans of one article next to each other."""
    g, _ = highlight(doc.text, [(s, "correct") for s in doc.spans], "gold")
    p, _ = highlight(doc.text, [(s, "correct") for s in predicted], "predicted")
    return (f"<style>{CSS}</style><div class='pair'><div><b>gold</b>\n{g}</div>"
            f"<div><b>predicted</b>\n{p}</div></div>")


# --- evaluation ---------------------------------------------------------------------------------
def worst_articles(metrics: dict, n: int = 5) -> str:
    """Markdown: the articles with the lowest span F1 and their errors by class."""
    lines = ["| article | F1 | gold | predicted | errors by class |", "|---|---|---|---|---|"]
    for a in metrics["per_article"][:n]:
        kinds = Counter(e["kind"] for e in a["errors"])
        lines.append(f"| {a['id']} | {a['f1']:.3f} | {a['gold']} | {a['predicted']} | "
                     + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + " |")
    return "\n".join(lines)


def error_class_figure(metrics: dict) -> Any:
    """nervaluate's error classes per scheme, entities and triggers, as stacked bars."""
    from matplotlib.figure import Figure

    classes = ("correct", "incorrect", "partial", "missed", "spurious")
    colours = ("#4caf50", "#9c27b0", "#ff9800", "#f44336", "#607d8b")
    fig = Figure(figsize=(9, 3.2), layout="tight")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, group in zip(axes, ("entities", "triggers"), strict=True):
        over = metrics["nervaluate"][group]["overall"]
        schemes = list(over)
        bottom = [0] * len(schemes)
        for cls, col in zip(classes, colours, strict=True):
            vals = [over[s][cls] for s in schemes]
            ax.bar(schemes, vals, bottom=bottom, color=col, label=cls)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set_title(group)
    axes[0].set_ylabel("spans")
    axes[1].legend(fontsize=8, loc="lower right")
    return fig


# --- extraction ---------------------------------------------------------------------------------
def frames_table(articles: Iterable[Extraction | dict], limit: int | None = None) -> str:
    """Markdown: one row per event frame: article, type, trigger, actor, recipient, place, time.
    ``articles``: extractions, or their records (dicts)."""
    lines = ["| article | type | trigger | actor | recipient | place | time |", "|---|---|---|---|---|---|---|"]
    n = 0
    for x in articles:
        x = Extraction.from_dict(x) if isinstance(x, dict) else x
        for f in x.events:
            if limit is None or n < limit:
                args = ("; ".join(a.text for a in f.arguments.get(role, ())) for role in ROLES)
                lines.append(f"| {x.id} | {f.type} | {f.trigger.text} | " + " | ".join(args) + " |")
            n += 1
    if limit is not None and n > limit:
        lines.append(f"| ... {n - limit} more | | | | | | |")
    return "\n".join(lines)


def frames_from_results(path: str | Path, limit: int | None = 15) -> str:
    """:func:`frames_table` of an ``indoevent extract`` results file (JSONL)."""
    rows = [Extraction.from_dict(r) for _, r in read_jsonl(path)]
    total = sum(len(r.events) for r in rows)
    return f"{total} event frame(s) in {len(rows)} article(s) of {path}\n\n" + frames_table(rows, limit)


def spans_figure(x: Extraction) -> Any:
    """Spans found in one article per label, in the schema's colours."""
    from matplotlib.figure import Figure

    c = Counter(s.label for s in x.spans)
    labels = [lab for lab in ENTITY_LABELS + EVENT_LABELS if c.get(lab)]
    fig = Figure(figsize=(6, 2.8), layout="tight")
    ax = fig.subplots()
    ax.bar(labels, [c[lab] for lab in labels], color=[COLORS[lab] for lab in labels], edgecolor="#333")
    ax.tick_params(axis="x", rotation=60, labelsize=8)
    ax.set_title("spans found per label")
    return fig


if __name__ == "__main__":  # python -m indoevent.evaluation.views RESULTS.jsonl  (make demo)
    import sys

    print(frames_from_results(sys.argv[1]))
