"""What the notebooks and ``make demo`` show: tables (Markdown), figures (matplotlib) and highlighted
text (HTML) of gold data, evaluations and extractions. The notebooks only call these.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from ..annotation.agreement import agreement_table, compare, load_annotation
from ..annotation.lsexport import read_export
from ..atomic import replacing
from ..document import Document, Span
from ..events.actors import AliasTable
from ..events.dates import article_date
from ..events.extractor import Extraction, Extractor
from ..events.mentions import article_of, gold_records, read_index
from ..events.merge import MergeResult, merge
from ..events.merge_files import write_merge
from ..jsonl import read_jsonl
from ..model.config import load_config
from ..model.train import train
from ..schema import COLORS, ENTITY_LABELS, EVENT_LABELS, ROLES
from ..text.sentences import split_sentences
from ..text.tokenize import tokenize
from ..view import build_view, page_html
from ..view.pasted import extraction_view
from ..view.spans import highlight as mark_spans
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


# --- the analyst's view (notebooks 03 and 04) ---------------------------------------------------
def view_frame(page: str, height: int = 720) -> str:
    """HTML: a page of ``indoevent view`` in an iframe (its script runs there, apart from the notebook's)."""
    return f'<iframe srcdoc="{escape(page)}" style="width:100%;height:{height}px;border:1px solid #ccc"></iframe>'


def save_view(extraction: Extraction, version: str, day: str, out: str | Path) -> str:
    """Write the view of one extracted article (dated ``day``) to ``out``; return the page."""
    page = page_html(extraction_view(extraction, version, day), f"indoevent: {extraction.id}")
    with replacing(out, "w", encoding="utf-8") as f:
        f.write(page)
    return page


@dataclass
class CorpusEvents:
    """The corpus merged: frames (with texts), merge output, the view, and what was left out."""

    frames: Path
    merged: Path
    view: Path
    result: MergeResult
    texts: dict[str, str]
    undated: list[str]


def corpus_events(out: str | Path, model: str | Path | None = None, root: str | Path | None = None) -> CorpusEvents:
    """The articles of ``annotations/corpus.json``, their frames (gold; or extracted by ``model``)
    merged into events, and their view, under ``out``. Articles are dated by the corpus' and the
    seeds' index; one without a readable date is left out (listed in ``undated``), as merge asks."""
    root, out = repo_root(root), Path(out)
    docs = read_export(root / "annotations" / "corpus.json").documents
    dates = read_index(root / "seeds" / "index.json") | read_index(root / "annotations" / "corpus" / "index.json")
    if model:
        ex = Extractor.from_pretrained(model)
        found = ex.extract_pairs((d.doc_id, d.text) for d in docs)
        records = [{**x.to_dict(), "model_version": ex.version, "date": dates.get(x.id or "")} for x in found]
    else:
        records = gold_records(docs, dates)
    for rec, doc in zip(records, docs, strict=True):
        rec["text"] = doc.text
    kept = [r for r in records if r.get("date") and article_date(r["date"]) is not None]
    out.mkdir(parents=True, exist_ok=True)
    with replacing(out / "frames.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
    result = merge([article_of(r, f"{out / 'frames.jsonl'}:{i}") for i, r in enumerate(kept, 1)], AliasTable.load())
    write_merge(result, out / "merged")
    view = build_view(out / "frames.jsonl", out / "view.html", merged=out / "merged", overwrite=True,
                      title="indoevent: the corpus' events").path
    return CorpusEvents(out / "frames.jsonl", out / "merged", view, result, {r["id"]: r["text"] for r in kept},
                        [r["id"] for r in records if r not in kept])


def timeline_figure(events: Sequence[dict]) -> Any:
    """Events per day by PLOVER type, stacked, in the schema's colours (events dated to the day)."""
    from matplotlib.figure import Figure

    days = sorted({e["date"] for e in events if len(e["date"]) == 10})
    count = Counter((e["date"], e["type"]) for e in events if len(e["date"]) == 10)
    fig = Figure(figsize=(max(6, 0.35 * len(days) + 2), 3.4), layout="tight")
    ax = fig.subplots()
    bottom = [0] * len(days)
    for t in EVENT_LABELS:
        vals = [count.get((d, t), 0) for d in days]
        if any(vals):
            ax.bar(days, vals, bottom=bottom, color=COLORS[t], edgecolor="#333", linewidth=0.3, label=t)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.tick_params(axis="x", rotation=70, labelsize=7)
    ax.set_ylabel("events")
    ax.set_title("events per day by type")
    ax.legend(fontsize=6, ncol=2, loc="upper left")
    return fig


def actors_table(events: Sequence[dict], n: int = 15) -> str:
    """Markdown: the ``n`` participants in most events, as actor and as recipient, with their most frequent type."""
    as_actor: Counter = Counter()
    as_recipient: Counter = Counter()
    types: dict[str, Counter] = {}
    for e in events:
        for role, tally in (("actors", as_actor), ("recipients", as_recipient)):
            for a in {(x["code"] or "", x["name"]) for x in e[role]}:
                tally[a] += 1
                types.setdefault(a[0] or a[1], Counter())[e["type"]] += 1
    lines = ["| code | name | events as actor | as recipient | most frequent type |", "|---|---|---|---|---|"]
    for a, _ in (as_actor + as_recipient).most_common(n):
        lines.append(f"| {a[0]} | {a[1]} | {as_actor[a]} | {as_recipient[a]} | "
                     f"{types[a[0] or a[1]].most_common(1)[0][0]} |")
    return "\n".join(lines)


def event_mentions(result: MergeResult, event: str, texts: dict[str, str]) -> str:
    """HTML: one event's mentions, each with its article, why it joined, and its sentence (trigger highlighted)."""
    rows = []
    for m in (m for m in result.mentions if m["event"] == event):
        text, t = texts[m["article"]], m["trigger"]
        a, b = next(((a, b) for a, b in split_sentences(text) if a <= t["start"] < b), (t["start"], t["end"]))
        sentence, _ = mark_spans(text[a:b], [Span(t["start"] - a, t["end"] - a, m["type"])])
        rows.append(f"<tr><td>{escape(m['article'])}</td><td>{escape(m['date'])}</td><td>{escape(m['reason'])}</td>"
                    f"<td>{sentence}</td></tr>")
    return (f"<style>{CSS}</style><table class='errlist'><tr><th>article</th><th>date</th><th>why it joined</th>"
            f"<th>sentence</th></tr>{''.join(rows)}</table>")


if __name__ == "__main__":  # python -m indoevent.evaluation.views RESULTS.jsonl  (make demo)
    import sys

    print(frames_from_results(sys.argv[1]))
