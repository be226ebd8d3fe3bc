"""The evaluation report as one self-contained HTML file: no network, no scripts from elsewhere.

Plots are matplotlib figures inlined as base64 PNG. Articles come worst first, each in a
``<details>`` (one open at a time, a few lines of inline script), gold and predicted spans side
by side in the schema's colours, drawn by the view's one renderer (:mod:`indoevent.view.spans`,
nested and crossing spans included); every highlighted span is a ``<mark class="span">`` whose
class names its error kind, so a browser test can count them against ``metrics.json``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from html import escape
from typing import Any

from ..document import Span
from ..schema import COLORS
from ..view.spans import highlight as mark_spans
from ..view.spans import legend as swatches
from ..view.spans import span_css
from .render import errors_table, frames_table, headline_table

KIND_NAMES = {"correct": "correct", "label": "wrong label", "boundary": "boundary", "boundary+label": "boundary and label",
              "spurious": "spurious", "missed": "missed"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1400px;padding:1em 2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
td:first-child,th:first-child,td.l{text-align:left}.note{background:#fff7d6;border-left:4px solid #e0b000;padding:.4em .8em}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}.pair>div{white-space:pre-wrap;line-height:1.7;font-size:.9em;
border:1px solid #eee;padding:.5em;max-height:40em;overflow:auto}
mark.err{outline:2px solid #d00;outline-offset:0}mark.missed,mark.spurious{outline-style:dashed}
mark.label,mark.boundary-label{outline-color:#70f}mark.boundary{outline-color:#f80}
details{border:1px solid #ccc;border-radius:4px;margin:.4em 0;padding:.2em .6em}summary{cursor:pointer;font-weight:600}
.legend span{display:inline-block;margin:0 .6em .2em 0}.errlist td{text-align:left;vertical-align:top}
img{max-width:100%}.errlist th{text-align:left}
""" + span_css()

# One article open at a time: opening one closes the others (the only script in the page).
SCRIPT = """
document.querySelectorAll('details.article').forEach(function (d) {
  d.addEventListener('toggle', function () {
    if (!d.open) return;
    document.querySelectorAll('details.article').forEach(function (o) { if (o !== d) o.open = false; });
  });
});
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _md_table(md: str) -> str:
    """A Markdown table (as :mod:`render` writes them) as HTML; other lines become paragraphs."""
    rows, out = [], []
    for line in md.splitlines():
        if line.startswith("|"):
            if set(line) <= set("|-"):
                continue
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif line.strip():
            out.append(f'<p class="note">{escape(line)}</p>')
    if rows:
        head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{escape(c).replace('**', '')}</td>" for c in r) + "</tr>" for r in rows[1:])
        out.insert(0, f"<table><tr>{head}</tr>{body}</table>")
    return "\n".join(out)


def highlight(text: str, spans: Sequence[tuple[Span, str]], side: str) -> tuple[str, int]:
    """``text`` with each span in a coloured ``<mark>`` whose classes name its error kind (the
    view's renderer: overlapping spans, rare in gold, are all drawn). Returns the HTML and how
    many spans were drawn."""
    kinds = [kind for _, kind in spans]
    classes = [kind.replace("+", "-") + ("" if kind == "correct" else " err") for kind in kinds]
    titles = [f"{side} {s.label} [{s.start}, {s.end}): {KIND_NAMES[kind]}" for s, kind in spans]
    return mark_spans(text, [s for s, _ in spans], classes, titles)


def _article(a: dict, result: Any) -> tuple[str, int]:
    doc, x = result.doc, result.extraction
    kinds_gold: dict[tuple, str] = {}
    kinds_pred: dict[tuple, str] = {}
    for e in a["errors"]:
        if e["gold"]:
            kinds_gold[(e["gold"]["start"], e["gold"]["end"], e["gold"]["label"])] = e["kind"]
        if e["pred"]:
            kinds_pred[(e["pred"]["start"], e["pred"]["end"], e["pred"]["label"])] = e["kind"]
    gold = [(s, kinds_gold.get((s.start, s.end, s.label), "correct")) for s in doc.spans]
    pred = [(s, kinds_pred.get((s.start, s.end, s.label), "correct")) for s in x.spans]
    g_html, ng = highlight(doc.text, gold, "gold")
    p_html, np_ = highlight(doc.text, pred, "predicted")
    n_err = len(a["errors"])
    summary = (f"{escape(a['id'])}: F1 {a['f1']:.3f} (P {a['precision']:.3f}, R {a['recall']:.3f}); "
               f"{a['gold']} gold, {a['predicted']} predicted, {n_err} error(s)")
    html = (f'<details class="article" id="art-{escape(a["id"])}"><summary>{summary}</summary>'
            f'<div class="pair"><div><b>gold</b>\n{g_html}</div><div><b>predicted</b>\n{p_html}</div></div></details>')
    return html, ng + np_


def _offsets(s: dict | None) -> str:
    return "" if not s else escape(f"{s['label']} [{s['start']}, {s['end']}) {s['text']!r}")


def _error_rows(per_article: Sequence[dict]) -> str:
    rows = []
    for a in per_article:
        for e in a["errors"]:
            kind = KIND_NAMES[e["kind"]] + (f" ({e['boundary']})" if e["boundary"] else "")
            rows.append(f"<tr><td>{escape(a['id'])}</td><td>{escape(kind)}</td><td>{_offsets(e['gold'])}</td>"
                        f"<td>{_offsets(e['pred'])}</td><td>{escape(e['sentence'].strip())}</td></tr>")
    head = "<tr><th>article</th><th>class</th><th>gold (offsets)</th><th>predicted (offsets)</th><th>sentence</th></tr>"
    return f'<table class="errlist">{head}{"".join(rows)}</table>'


def f1_chart(m: dict) -> str:
    """Per-label strict F1 with 95% bootstrap intervals, as an inline PNG."""
    return _png(f1_figure(m))


def confusion_heatmap(m: dict) -> str:
    """The word-level label confusion as an inline PNG."""
    return _png(confusion_figure(m))


def f1_figure(m: dict) -> Any:
    """Per-label strict F1 with 95% bootstrap intervals (a matplotlib figure)."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no backend to choose

    labels = [lab for g in ("entities", "triggers") for lab in m["spans"][g]["labels"]]
    f1 = [m["spans"][g]["labels"][lab]["f1"] for g in ("entities", "triggers") for lab in m["spans"][g]["labels"]]
    iv = [m.get("intervals", {}).get(f"label.{lab}", {}).get("f1") or [v, v] for lab, v in zip(labels, f1, strict=True)]
    fig = Figure(figsize=(max(6, 0.45 * len(labels) + 2), 3.2), layout="tight")
    ax = fig.subplots()
    lo = [max(v - a, 0) for v, (a, _) in zip(f1, iv, strict=True)]
    hi = [max(b - v, 0) for v, (_, b) in zip(f1, iv, strict=True)]
    has_iv = bool(m.get("intervals"))
    ax.bar(range(len(labels)), f1, color=[COLORS.get(lab, "#888") for lab in labels], edgecolor="#333",
           yerr=[lo, hi] if has_iv else None, capsize=3)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("strict F1")
    ax.set_title("per-label F1, 95% bootstrap interval over articles" if has_iv else "per-label F1 (no interval)")
    return fig


def confusion_figure(m: dict) -> Any:
    """The word-level label confusion (O included), counts written in the cells (a matplotlib figure)."""
    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: no global state, no backend to choose

    labels, mat = m["confusion"]["labels"], np.asarray(m["confusion"]["matrix"], dtype=float)
    fig = Figure(figsize=(0.5 * len(labels) + 2.5, 0.45 * len(labels) + 2), layout="tight")
    ax = fig.subplots()
    ax.imshow(np.log1p(mat), cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title("words: gold label vs predicted label")
    top = mat.max() or 1
    for i in range(len(labels)):
        for j in range(len(labels)):
            if mat[i, j]:
                ax.text(j, i, str(int(mat[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if np.log1p(mat[i, j]) > 0.6 * np.log1p(top) else "black")
    return fig


def _buckets(m: dict) -> str:
    parts = []
    for axis, title in (("length", "span length (words)"), ("seen_in_training", "mention text seen in training")):
        rows = "".join(f"<tr><td>{escape(b)}</td><td>{v['precision']:.3f}</td><td>{v['recall']:.3f}</td>"
                       f"<td>{v['f1']:.3f}</td><td>{v['gold']}</td><td>{v['predicted']}</td></tr>"
                       for b, v in m["buckets"][axis].items())
        parts.append(f"<h3>{title}</h3><table><tr><th>bucket</th><th>precision</th><th>recall</th><th>F1</th>"
                     f"<th>gold</th><th>predicted</th></tr>{rows}</table>")
    return "".join(parts)


def _error_summary(m: dict) -> str:
    rows = []
    for group in ("entities", "triggers"):
        e = m["errors"][group]
        kinds = ", ".join(f"{KIND_NAMES[k]} {v}" for k, v in sorted(e["by_kind"].items())) or "none"
        bounds = ", ".join(f"{k} {v}" for k, v in sorted(e["boundary"].items())) or "none"
        rows.append(f"<tr><td>{group}</td><td class='l'>{escape(kinds)}</td><td class='l'>{escape(bounds)}</td></tr>")
    return ("<table><tr><th>group</th><th>errors by class</th><th>boundary errors by how the edge is off</th></tr>"
            + "".join(rows) + "</table>")


def legend() -> str:
    kinds = ("outline: <b style='color:#d00'>red</b> missed/spurious (dashed), <b style='color:#70f'>violet</b> "
             "wrong label, <b style='color:#f80'>orange</b> boundary; no outline: correct")
    return f'<div class="legend">{swatches()}<br>{kinds}</div>'


def render_report(report: Any) -> str:
    """The whole page for a :class:`~indoevent.evaluation.evaluate.Report`."""
    m = report.metrics
    by_id = {r.doc_id: r for r in report.articles}
    articles, n_marks = [], 0
    for a in m["per_article"]:
        html, n = _article(a, by_id[a["id"]])
        articles.append(html)
        n_marks += n
    warn = "".join(f'<p class="note">{escape(w)}</p>' for w in m.get("warnings", []))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>indoevent evaluation: {escape(report.run)}</title>
<style>{CSS}</style></head><body>
<h1>Evaluation of {escape(report.run)}</h1>
<p>{len(m['articles'])} article(s); model version <code>{escape(str(m.get('model_version')))}</code>.
Spans come from the extraction path (<code>indoevent extract</code>) and are scored on exact character offsets and label.</p>
{warn}<p class="note">{escape(m['bootstrap']['note'])}</p>
<h2>Strict span scores</h2>{_md_table(headline_table({**m, 'bootstrap': None}))}
{f1_chart(m)}
<h2>Error classes (nervaluate: strict, exact, partial, type)</h2>{_md_table(errors_table(m))}
{_error_summary(m)}
<h2>Word-level confusion</h2>{confusion_heatmap(m)}
<h2>Buckets</h2>{_buckets(m)}
<h2>Event frames</h2>{_md_table(frames_table(m))}
<p>triggers: identification = offsets right, classification = offsets and event type. Arguments: identification =
trigger (offsets and type) and argument offsets right; classification = the role too; on the model's triggers, on the gold
triggers with the model's entities, and on gold triggers and gold entities (the argument linker alone).</p>
<h2>Articles, worst first ({n_marks} highlighted spans)</h2>{legend()}
{''.join(articles)}
<h2>Errors</h2>{_error_rows(m['per_article'])}
<script>{SCRIPT}</script>
</body></html>
"""
