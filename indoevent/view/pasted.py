"""The view of one pasted article (``indoevent serve``'s ``/ui``): extracted through the one
prediction path (:class:`~indoevent.events.extractor.Extractor`), merged like a corpus, shown by
the same page."""

from __future__ import annotations

from datetime import date as Date
from typing import Any

from ..events.actors import AliasTable
from ..events.dates import article_date
from ..events.mentions import article_of
from ..events.merge import merge
from .data import ViewError, articles_of, merged_view
from .page import view_data

MAX_CHARS = 200_000  # a news article is a few thousand; a book pasted by mistake is refused


def pasted_view(extractor: Any, text: object, article_id: str = "pasted", day: str | None = None) -> dict:
    """The page's data (:func:`.page.view_data`) for ``text``, dated ``day`` (ISO; today if none).
    Raises :class:`~.data.ViewError` for an empty or too long text or an unreadable date."""
    if not isinstance(text, str) or not text.strip():
        raise ViewError("no text: paste an article")
    if len(text) > MAX_CHARS:
        raise ViewError(f"text of {len(text)} characters: paste one article (at most {MAX_CHARS})")
    day = day or Date.today().isoformat()
    if article_date(day) is None:  # before the model runs
        raise ViewError(f"date {day!r}: give an ISO date, e.g. 2025-09-03")
    extraction = extractor.extract(text, id=article_id.strip() or "pasted")
    return extraction_view(extraction, extractor.version, day)


def extraction_view(extraction: Any, version: str, day: str) -> dict:
    """The page's data for one :class:`~indoevent.events.extractor.Extraction` dated ``day`` (ISO):
    the article, its frames, and its frames merged as a corpus of one would be."""
    if article_date(day) is None:
        raise ViewError(f"date {day!r}: give an ISO date, e.g. 2025-09-03")
    rec = {**extraction.to_dict(with_text=True), "date": day, "source": "pasted", "model_version": version}
    articles = articles_of([("pasted", rec)], {})
    result = merge([article_of(rec, "pasted")], AliasTable.load())
    events, mentions = merged_view(result.events, [(f"mention {i}", m) for i, m in enumerate(result.mentions)], articles)
    data = view_data(articles, events, mentions, f"indoevent: {rec['id']}")
    data["model_version"] = version
    return data
