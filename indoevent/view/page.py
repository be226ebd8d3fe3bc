"""The view as one self-contained HTML file: inline CSS, inline script, the data embedded once
as JSON. No network, no CDN: it opens from disk.

The data sits in ``<script type="application/json">``, which the browser never runs; a ``</``
inside it (an article quoting ``</script>``) is written ``<\\/`` so it cannot end the element
early. The script (``assets/view.js``) inserts only text or HTML that :mod:`.spans` escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from pathlib import Path

from ..atomic import check_output, replacing
from ..schema import COLORS, EVENT_LABELS, ROLES
from .data import Articles, merged_view, read_merged, read_results, read_texts
from .spans import legend, span_css

MARKER = "<!-- indoevent view -->"  # the second line of every page: what --overwrite may replace


def _asset(name: str) -> str:
    return (files(__package__) / "assets" / name).read_text(encoding="utf-8")


def embed_json(data: object) -> str:
    """JSON that cannot end the ``<script>`` element holding it.

    >>> embed_json({"text": "</script><!--"})
    '{"text": "<\\\\/script>\\\\u003c!--"}'
    """
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "\\u003c!--")


def view_data(articles: Articles, events: list[dict] | None = None, mentions: list[dict] | None = None,
              title: str = "indoevent view") -> dict:
    """Everything the page shows, JSON-able: articles, merged events, mentions and their counts."""
    events, mentions = events or [], mentions or []
    views = articles.views
    counts = {"articles": len(views), "frames": sum(len(a["frames"]) for a in views),
              "entities": sum(a["n_entities"] for a in views), "triggers": sum(a["n_triggers"] for a in views),
              "events": len(events), "mentions": len(mentions),
              "unmerged": sum(m["event"] is None for m in mentions)}
    return {"title": title, "counts": counts, "colors": COLORS, "types": list(EVENT_LABELS), "roles": list(ROLES),
            "articles": views, "events": events, "mentions": mentions}


BODY = """<h1>{title}</h1>
<p class="counts"><span id="n-articles">0</span> article(s), <span id="n-frames">0</span> frame(s)
(<span id="n-entities">0</span> entities, <span id="n-triggers">0</span> triggers);
<span id="n-events">0</span> merged event(s) from <span id="n-mentions">0</span> mention(s),
<span id="n-unmerged">0</span> not merged.</p>
<nav><a href="#events-h" onclick="document.getElementById('events-h').scrollIntoView();return false">events</a>
<a href="#timeline-h" onclick="document.getElementById('timeline-h').scrollIntoView();return false">timeline</a>
<a href="#network-h" onclick="document.getElementById('network-h').scrollIntoView();return false">actors</a>
<a href="#articles-h" onclick="document.getElementById('articles-h').scrollIntoView();return false">articles</a></nav>
{ui}
<h2 id="events-h">Events (<span id="n-shown">0</span> shown)</h2>
<div class="filters">
<label>type<select id="f-type"></select></label>
<label>actor or recipient (code or name)<input id="f-actor" placeholder="IDN, Prabowo"></label>
<label>country (of a participant or the place)<input id="f-country" size="8" placeholder="IDN"></label>
<label>from<input id="f-from" type="date"></label><label>to<input id="f-to" type="date"></label>
<button type="button" id="f-clear">clear filters</button></div>
<p class="muted">Filters and sorting live in the address (#type=CONSULT&amp;country=IDN): copy it to share the view.
Click an event for its mentions, a mention's article to read it there.</p>
<table id="events"><thead><tr><th class="sort" data-key="id">event</th><th class="sort" data-key="type">type</th>
<th class="sort" data-key="date">date</th><th class="sort" data-key="actors">actors</th>
<th class="sort" data-key="recipients">recipients</th><th class="sort" data-key="place">place</th>
<th class="sort" data-key="mentions">mentions</th><th class="sort" data-key="sources">sources</th></tr></thead>
<tbody id="events-body"></tbody></table><div class="pager" id="events-pager"></div>
<h2 id="timeline-h">Timeline: events per day by type (the filtered events)</h2><div id="timeline"></div>
<h2 id="network-h">Actors: who acts on whom (edge width: events; colour: the most frequent type)</h2><div id="network"></div>
<h2 id="articles-h">Articles</h2>
<div class="filters"><label>article id<input id="f-q" placeholder="part of an id"></label></div>
<p class="legend">{legend}</p>
<p class="muted">Hover over a frame's row to see its words; click to keep them lit.</p>
<div id="articles-list"></div><div class="pager" id="articles-pager"></div>
"""

UI_FORM = """<form id="ui-form" action="ui/view"><h2>Paste an article</h2>
<label>id <input id="ui-id" value="pasted"></label> <label>date <input id="ui-date" type="date"></label>
<textarea id="ui-text" placeholder="Presiden Prabowo Subianto bertemu ..."></textarea>
<button type="submit">extract</button><span id="ui-status" class="muted"></span></form>"""


def page_html(data: dict | None, title: str = "indoevent view", ui: bool = False) -> str:
    """The page: ``data`` (from :func:`view_data`) embedded, or none for the ``serve`` page that
    fetches it (``ui``: with the form that posts an article)."""
    embedded = "" if data is None else f'<script type="application/json" id="view-data">{embed_json(data)}</script>\n'
    body = BODY.format(title=escape(title), legend=legend(), ui=UI_FORM if ui else "")
    return (f'<!DOCTYPE html>\n{MARKER}\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>\n'
            f"<style>{_asset('view.css')}{span_css()}</style></head><body>\n{body}{embedded}"
            f"<script>{_asset('view.js')}</script>\n</body></html>\n")


def is_view(path: Path) -> bool:
    """Whether ``path`` is a page this module wrote (the only file ``--overwrite`` replaces)."""
    try:
        with open(path, "rb") as f:
            return MARKER.encode() in f.read(200)
    except OSError:
        return False


@dataclass
class ViewReport:
    """What :func:`build_view` wrote: the page, its size and what it shows."""

    path: Path
    bytes: int
    counts: dict


def build_view(results: str | Path, out: str | Path, texts: Sequence[str | Path] = (),
               merged: str | Path | None = None, overwrite: bool = False, title: str | None = None) -> ViewReport:
    """Write the view of an ``indoevent extract`` results file (texts from the records or from
    ``texts``, the inputs of ``extract``) and of a ``merge --out`` folder to ``out``, atomically.
    Raises :class:`~.data.ViewError` (path:line and why) or :class:`~indoevent.atomic.OutputExistsError`."""
    out = Path(out)
    inputs = [results, *texts, *([Path(merged) / "events.jsonl", Path(merged) / "mentions.jsonl"] if merged else [])]
    check_output(out, inputs, overwrite, is_view, "a view of `indoevent view`")
    articles = read_results(results, read_texts(texts) if texts else None)
    events, mentions = read_merged(merged, articles) if merged else ([], [])
    data = view_data(articles, events, mentions, title or f"indoevent view: {Path(results).name}")
    html = page_html(data, data["title"]).encode("utf-8")
    with replacing(out, "wb") as f:
        f.write(html)
    return ViewReport(out, len(html), data["counts"])


__all__ = ["build_view", "embed_json", "is_view", "merged_view", "page_html", "view_data", "ViewReport"]
