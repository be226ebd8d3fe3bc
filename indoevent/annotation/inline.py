"""Inline span markup: a readable, diff-friendly way to write annotated text.

The gold annotation of the seeds is authored in this form (``annotations/gold/*.ann``)
and compiled into a Label Studio export; tests write their fixtures with it.

Markup: ``⟦ID:LABEL surface text⟧`` marks a span; a trigger may list its
arguments after ``>`` as ``role=ID,ID``. Removing the markup must give the
article text back exactly.

>>> doc = parse("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1 recipient=e2⟧ ⟦e2:PER Kim⟧", "x")
>>> doc.text
'Putin bertemu Kim'
>>> [(s.label, s.text) for s in doc.spans]
[('PER', 'Putin'), ('CONSULT', 'bertemu'), ('PER', 'Kim')]
"""

from __future__ import annotations

import re

from ..document import Document, Relation, Span
from ..schema import CONTROL_OF, ROLES

OPEN, CLOSE = "⟦", "⟧"
_HEAD = re.compile(r"(?:(?P<id>[A-Za-z]\w*):)?(?P<label>[A-Z]+) ")


class MarkupError(ValueError):
    """A problem in inline markup, with the line and column where it was found."""


def _where(markup: str, pos: int, name: str) -> str:
    line = markup.count("\n", 0, pos) + 1
    col = pos - (markup.rfind("\n", 0, pos) + 1) + 1
    return f"{name}:{line}:{col}"


def parse(markup: str, doc_id: str, name: str | None = None) -> Document:
    """Parse inline markup into a :class:`Document` with spans and relations."""
    name = name or doc_id
    out: list[str] = []
    spans: list[Span] = []
    pending: list[tuple[str, str, str, int]] = []  # (trigger id, role, entity id, markup pos)
    n_auto = 0
    pos = 0
    offset = 0  # length of text emitted so far
    while True:
        i = markup.find(OPEN, pos)
        stray = markup.find(CLOSE, pos, i if i >= 0 else len(markup))
        if stray >= 0:
            raise MarkupError(f"{_where(markup, stray, name)}: '{CLOSE}' without '{OPEN}'")
        if i < 0:
            out.append(markup[pos:])
            break
        out.append(markup[pos:i])
        offset += i - pos
        j = markup.find(CLOSE, i + 1)
        nested = markup.find(OPEN, i + 1, j if j >= 0 else len(markup))
        if j < 0 or nested >= 0:
            raise MarkupError(f"{_where(markup, i, name)}: span is not closed before the next one opens")
        body = markup[i + 1 : j]
        m = _HEAD.match(body)
        if not m:
            raise MarkupError(f"{_where(markup, i, name)}: expected '{OPEN}ID:LABEL text{CLOSE}', got {body[:40]!r}")
        label = m.group("label")
        if label not in CONTROL_OF:
            raise MarkupError(f"{_where(markup, i, name)}: unknown label {label!r}")
        rest = body[m.end() :]
        surface, _, args = rest.partition(" > ")
        if not surface:
            raise MarkupError(f"{_where(markup, i, name)}: empty span")
        span_id = m.group("id")
        if span_id is None:
            n_auto += 1
            span_id = f"s{n_auto}"
        if any(s.id == span_id for s in spans):
            raise MarkupError(f"{_where(markup, i, name)}: span id {span_id!r} used twice")
        spans.append(Span(offset, offset + len(surface), label, surface, id=span_id))
        for part in args.split():
            role, eq, ids = part.partition("=")
            if not eq or role not in ROLES:
                raise MarkupError(f"{_where(markup, i, name)}: bad argument {part!r} (roles: {', '.join(ROLES)})")
            pending += [(span_id, role, eid, i) for eid in ids.split(",") if eid]
        out.append(surface)
        offset += len(surface)
        pos = j + 1
    span_ids = {s.id for s in spans}
    relations = []
    for trig, role, eid, at in pending:
        if eid not in span_ids:
            raise MarkupError(f"{_where(markup, at, name)}: argument {role}={eid} names no span")
        relations.append(Relation(trig, eid, role))
    return Document(doc_id=doc_id, text="".join(out), spans=spans, relations=relations)


def render(doc: Document) -> str:
    """Write a document back as inline markup (the inverse of :func:`parse`)."""
    args: dict[str, list[str]] = {}
    for r in doc.relations:
        args.setdefault(r.trigger_id, []).append(f"{r.role}={r.entity_id}")
    parts, pos = [], 0
    for s in sorted(doc.spans):
        parts.append(doc.text[pos : s.start])
        tail = f" > {' '.join(args[s.id])}" if s.id in args else ""
        parts.append(f"{OPEN}{s.id}:{s.label} {doc.text[s.start:s.end]}{tail}{CLOSE}")
        pos = s.end
    parts.append(doc.text[pos:])
    return "".join(parts)
