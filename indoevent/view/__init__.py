"""The analyst's view: articles with their spans highlighted, their frames, merged events, a
timeline and an actor network, in one self-contained HTML file (:func:`build_view`).

A layer of its own between ``events`` and ``evaluation | studio``: the highlighted-span renderer
(:mod:`.spans`) lives here so that the evaluation report, the notebooks, ``indoevent view`` and
``indoevent serve``'s ``/ui`` page all draw spans the same way.
"""

from __future__ import annotations

from .data import Articles, ViewError, articles_of, merged_view, read_merged, read_results, read_texts
from .page import ViewReport, build_view, is_view, page_html, view_data
from .spans import highlight, span_css

__all__ = ["Articles", "ViewError", "ViewReport", "articles_of", "build_view", "highlight", "is_view", "merged_view",
           "page_html", "read_merged", "read_results", "read_texts", "span_css", "view_data"]
