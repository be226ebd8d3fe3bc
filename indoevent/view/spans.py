"""Highlighted spans as HTML: the one renderer of the view, the evaluation report and the notebooks.

Spans may nest or cross (gold has a few; a frame's argument may sit inside another span). Every
span is drawn, none dropped: the text is cut at every span edge, marks are nested, and where two
spans cross the inner mark is closed and reopened as a continuation (``class="span-cont"``), so
the HTML stays well formed. All pieces of span ``i`` carry ``data-s="i"``; only the first piece has
``class="span ..."`` and the title, so counting ``<mark class="span `` counts spans. Colours come
from the classes ``L-<label>`` and the label is drawn after a span's last piece by CSS
(:func:`span_css`; a piece that goes on has the class ``x``), so a mark's text is the span's words
and the markup stays small: 2,000 articles must fit one file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape

from ..document import Span
from ..schema import COLORS, HIGHLIGHT_OPACITY

# Spans are drawn as Label Studio draws them: the label's colour at its highlight opacity.
ALPHA = f"{round(HIGHLIGHT_OPACITY * 255):02x}"


def span_css() -> str:
    """The CSS of highlighted spans: one class per label, in :data:`~indoevent.schema.COLORS`.

    >>> ".L-PER{background:#e6194b4c}" in span_css()
    True
    """
    rules = "".join(f".L-{lab}{{background:{c}{ALPHA}}}mark.L-{lab}:not(.x)::after{{content:'{lab}'}}"
                    for lab, c in COLORS.items())
    return (rules + "mark.span,mark.span-cont{border-radius:3px;padding:0 1px;color:#000}"
            "mark.span::after,mark.span-cont::after{font-size:.65em;font-weight:bold;margin-left:1px;"
            "vertical-align:sub}mark mark{padding:.15em 1px}")


def legend() -> str:
    """One swatch per label, in the spans' colours."""
    return "".join(f'<span class="swatch"><mark class="L-{lab} x">&nbsp;{lab}&nbsp;</mark></span>' for lab in COLORS)


def drawable(text: str, spans: Sequence[Span]) -> list[int]:
    """Indexes of the spans that can be drawn on ``text``: non-empty and inside it.

    >>> drawable("Putin tiba", [Span(0, 5, "PER"), Span(6, 6, "DATE"), Span(6, 40, "LOC")])
    [0]
    """
    return [i for i, s in enumerate(spans) if 0 <= s.start < s.end <= len(text)]


def highlight(text: str, spans: Sequence[Span], classes: Sequence[str] | None = None,
              titles: Sequence[str] | None = None) -> tuple[str, int]:
    """``text`` (escaped) with each span in a coloured ``<mark>``; nested and crossing spans are all
    drawn (see the module). ``classes``/``titles``: an extra class and a title per span. Returns
    the HTML and how many spans were drawn.

    >>> highlight("Putin & Kim", [Span(0, 11, "CONSULT"), Span(0, 5, "PER")])[0]
    '<mark class="span L-CONSULT" data-s="0"><mark class="span L-PER" data-s="1">Putin</mark> &amp; Kim</mark>'
    """
    ok = drawable(text, spans)
    starts: dict[int, list[int]] = defaultdict(list)
    for i in ok:
        starts[spans[i].start].append(i)
    cuts = sorted({0, len(text), *(spans[i].start for i in ok), *(spans[i].end for i in ok)})

    def tag(i: int, first: bool, outer: list[int]) -> str:
        extra = f" {classes[i]}" if classes and classes[i] else ""
        # This piece is closed early (and goes on after) when a mark around it ends first.
        goes_on = " x" if any(spans[j].end < spans[i].end for j in outer) else ""
        title = f' title="{escape(titles[i])}"' if first and titles and titles[i] else ""
        return f'<mark class="{"span" if first else "span-cont"} L-{spans[i].label}{extra}{goes_on}" data-s="{i}"{title}>'

    out: list[str] = []
    stack: list[int] = []  # open marks, outermost first
    for k, pos in enumerate(cuts):
        survivors: list[int] = []
        ending = [d for d, i in enumerate(stack) if spans[i].end == pos]
        if ending:
            # Close from the innermost mark out to the outermost span ending here; the spans
            # closed on the way that go on (they cross it) are reopened as continuations.
            depth = ending[0]
            out.append("</mark>" * (len(stack) - depth))
            survivors = [i for i in stack[depth:] if spans[i].end != pos]
            del stack[depth:]
        new = starts.get(pos, [])
        for i in sorted(survivors + new, key=lambda i: (-spans[i].end, i)):
            out.append(tag(i, i in new, stack))
            stack.append(i)
        if k + 1 < len(cuts):
            out.append(escape(text[pos:cuts[k + 1]]))
    return "".join(out), len(ok)
