"""Schema checks on one document: span edges, overlaps, labels and relations.

Pure functions over :class:`~indoevent.document.Document`; the export validator and
the gold-authoring check both use them, so the rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from ..document import Document, Span
from ..schema import CONTROL_OF, ROLE_TARGETS, ROLES, is_trigger
from ..text.iob import CLOSING, is_punct


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an export, located by task id, document and offsets."""

    where: str  # "task 12 (000_ecb9...)"
    message: str
    start: int | None = None
    end: int | None = None

    def __str__(self) -> str:
        at = f" at [{self.start}, {self.end})" if self.start is not None else ""
        return f"{self.where}{at}: {self.message}"


def excerpt(text: str, width: int = 40) -> str:
    """``text`` quoted, its middle elided when longer than ``width`` characters, so that a span
    with a wrong end offset is reported in a line, not in a thousand characters.

    >>> excerpt("Presiden Prabowo Subianto")
    "'Presiden Prabowo Subianto'"
    >>> excerpt("Presiden Prabowo Subianto bertemu Xi Jinping di Beijing pada Rabu")
    "'Presiden Prabowo Subi … ing pada Rabu' (65 characters)"
    """
    if len(text) <= width:
        return repr(text)
    head, tail = text[: width // 2 + 1], text[-(width // 2 - 7):]
    return f"{(head.rstrip() + ' … ' + tail.lstrip())!r} ({len(text)} characters)"


def edge_problem(text: str) -> str | None:
    """Why a span's surface text has a bad edge, or None if it is clean.

    >>> edge_problem("Rabu (3/9/2025)") is None
    True
    >>> edge_problem("Putin,")
    "ends with punctuation ','"
    """
    if not text:
        return "is empty"
    if text[0].isspace() or text[-1].isspace():
        return "starts or ends with whitespace"
    if is_punct(text[0]):
        return f"starts with punctuation {text[0]!r}"
    last = text[-1]
    if is_punct(last):
        if last in CLOSING and CLOSING[last] in text[:-1]:
            return None
        # An abbreviation keeps its final period: "S.H.", "U.S."
        if last == "." and "." in text.split()[-1][:-1]:
            return None
        return f"ends with punctuation {last!r}"
    return None


def check_document(doc: Document, where: str) -> list[Problem]:
    """All schema problems of one document (offsets already resolved)."""
    problems: list[Problem] = []
    n = len(doc.text)
    by_id: dict[str, Span] = {}
    for s in doc.spans:
        if s.label not in CONTROL_OF:
            problems.append(Problem(where, f"unknown label {s.label!r}", s.start, s.end))
        if not (0 <= s.start < s.end <= n):
            problems.append(Problem(where, f"offsets outside the text (length {n})", s.start, s.end))
            continue
        actual = doc.text[s.start : s.end]
        if s.text and actual != s.text:
            problems.append(Problem(where, f"text at offsets is {excerpt(actual)} but value.text is "
                                           f"{excerpt(s.text)}", s.start, s.end))
        why = edge_problem(actual)
        if why:
            problems.append(Problem(where, f"{s.label} span {excerpt(actual)} {why}", s.start, s.end))
        if s.id is not None:
            if s.id in by_id:
                problems.append(Problem(where, f"span id {s.id!r} used twice", s.start, s.end))
            by_id[s.id] = s
    # Spans of one control never overlap, and entities and triggers may not overlap either:
    # so no two spans overlap at all. Sorting makes this one pass.
    ordered = sorted((s for s in doc.spans if 0 <= s.start < s.end <= n), key=lambda s: (s.start, s.end))
    for a, b in pairwise(ordered):
        if a.overlaps(b):
            problems.append(Problem(where, f"{a.label} {excerpt(doc.text[a.start:a.end])} [{a.start}, {a.end}) "
                                           f"overlaps {b.label} {excerpt(doc.text[b.start:b.end])}", b.start, b.end))
    seen = set()
    for r in doc.relations:
        src, dst = by_id.get(r.trigger_id), by_id.get(r.entity_id)
        if r.role not in ROLES:
            problems.append(Problem(where, f"unknown relation label {r.role!r} ({r.trigger_id} -> {r.entity_id})"))
        if src is None or dst is None:
            missing = r.trigger_id if src is None else r.entity_id
            problems.append(Problem(where, f"relation {r.role} {r.trigger_id} -> {r.entity_id} points to missing span id {missing!r}"))
            continue
        if not is_trigger(src.label):
            problems.append(Problem(where, f"relation {r.role} starts at {src.label} {excerpt(src.text)}, not at an event trigger", src.start, src.end))
        if r.role in ROLE_TARGETS and dst.label not in ROLE_TARGETS[r.role]:
            allowed = "/".join(sorted(ROLE_TARGETS[r.role]))
            problems.append(Problem(where, f"role {r.role} of {src.label} {excerpt(src.text)} points to {dst.label} {excerpt(dst.text)}; allowed: {allowed}", dst.start, dst.end))
        key = (r.trigger_id, r.entity_id, r.role)
        if key in seen:
            problems.append(Problem(where, f"relation {r.role} {r.trigger_id} -> {r.entity_id} given twice"))
        seen.add(key)
    return problems
