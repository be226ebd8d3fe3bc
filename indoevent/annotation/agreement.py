"""Agreement between two annotations of the same articles: exact-span F1 per label and
argument agreement, treating the first annotation as the reference (F1 is symmetric).

Used to check the gold against an independent second annotation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..document import Document
from ..schema import ENTITY_LABELS, EVENT_LABELS
from ..scores import prf
from .inline import parse
from .lsexport import read_export


@dataclass
class Agreement:
    """Counts of matched and unmatched items per key (a label or a role)."""

    tp: Counter = field(default_factory=Counter)
    only_a: Counter = field(default_factory=Counter)
    only_b: Counter = field(default_factory=Counter)

    def prf(self, key: str | None = None) -> tuple[float, float, float]:
        tp = self.tp[key] if key else sum(self.tp.values())
        fa = self.only_a[key] if key else sum(self.only_a.values())
        fb = self.only_b[key] if key else sum(self.only_b.values())
        s = prf(tp, tp + fa, tp + fb)
        return s["precision"], s["recall"], s["f1"]

    def only(self, keys: Iterable[str]) -> Agreement:
        """The counts of ``keys`` only (a group of labels, for its total row)."""
        keep = set(keys)
        return Agreement(*(Counter({k: v for k, v in c.items() if k in keep}) for c in (self.tp, self.only_a, self.only_b)))


def _usable_spans(doc: Document) -> dict[str | None, tuple[int, int, str]]:
    """Span id -> (start, end, label), leaving out spans outside the text (the loader warned of them).
    Relations name spans by id; a span without one keys as None."""
    return {s.id: (s.start, s.end, s.label) for s in doc.spans if 0 <= s.start < s.end <= len(doc.text)}


def _relation_keys(doc: Document) -> set[tuple]:
    """``(trigger span, entity span, role)`` of each relation whose two spans are usable."""
    spans = _usable_spans(doc)
    return {(spans[r.trigger_id], spans[r.entity_id][:2], r.role) for r in doc.relations
            if r.trigger_id in spans and r.entity_id in spans}


def _argument(doc: Document, key: tuple) -> str:
    """An argument for the difference list: trigger, role and entity, with text and offsets."""
    (ts, te, label), (es, ee), role = key
    return f"{doc.doc_id} {label} [{ts}, {te}) {doc.text[ts:te]!r} {role} [{es}, {ee}) {doc.text[es:ee]!r}"


def compare(a: list[Document], b: list[Document]) -> tuple[Agreement, Agreement, list[str]]:
    """Span agreement per label, argument agreement per role, and a list of differences.

    >>> from indoevent.annotation.inline import parse
    >>> a = [parse("⟦e1:PER Putin⟧ tiba di ⟦e2:GPE Beijing⟧", "d")]
    >>> b = [parse("⟦e1:PER Putin⟧ tiba di ⟦e2:LOC Beijing⟧", "d")]
    >>> spans, _, diffs = compare(a, b)
    >>> round(spans.prf()[2], 2), diffs[0]
    (0.5, "d [14, 21) 'Beijing': GPE in A, LOC in B")
    """
    spans, args, diffs = Agreement(), Agreement(), []
    docs_b = {d.doc_id: d for d in b}
    for da in a:
        db = docs_b.get(da.doc_id)
        if db is None:
            diffs.append(f"{da.doc_id}: only in A")
            continue
        sa, sb = set(_usable_spans(da).values()), set(_usable_spans(db).values())
        for key in sa & sb:
            spans.tp[key[2]] += 1
        for key in sa - sb:
            spans.only_a[key[2]] += 1
        for key in sb - sa:
            spans.only_b[key[2]] += 1
        where_b = {(s, e): lab for s, e, lab in sb - sa}
        for s, e, lab in sorted(sa - sb):
            other = where_b.pop((s, e), None)
            text = da.text[s:e]
            diffs.append(f"{da.doc_id} [{s}, {e}) {text!r}: {lab} in A, " + (f"{other} in B" if other else "not in B"))
        for (s, e), lab in sorted(where_b.items()):
            diffs.append(f"{da.doc_id} [{s}, {e}) {da.text[s:e]!r}: not in A, {lab} in B")
        ra, rb = _relation_keys(da), _relation_keys(db)
        for key in ra & rb:
            args.tp[key[2]] += 1
        for key in ra - rb:
            args.only_a[key[2]] += 1
        for key in rb - ra:
            args.only_b[key[2]] += 1
        diffs += [f"{_argument(da, k)}: only in A" for k in sorted(ra - rb)]
        diffs += [f"{_argument(db, k)}: only in B" for k in sorted(rb - ra)]
    return spans, args, diffs


def _row(title: str, agg: Agreement) -> str:
    tp, a, b = (sum(c.values()) for c in (agg.tp, agg.only_a, agg.only_b))
    return f"{title:<12} {tp:>5} {a:>6} {b:>6} {agg.prf()[2]:>6.3f}"


def agreement_table(spans: Agreement, args: Agreement) -> str:
    """A readable table of counts and F1 (B against A): per label, then the totals of entities,
    triggers and all spans; per role, then the total of arguments."""
    rows = [f"{'':<12} {'both':>5} {'onlyA':>6} {'onlyB':>6} {'F1':>6}"]
    for agg, totals in ((spans, (("entities", ENTITY_LABELS), ("triggers", EVENT_LABELS), ("all spans", None))),
                        (args, (("arguments", None),))):
        for k in sorted(set(agg.tp) | set(agg.only_a) | set(agg.only_b)):
            rows.append(_row(k, agg.only([k])))
        rows += [_row(title, agg if labels is None else agg.only(labels)) for title, labels in totals]
    return "\n".join(rows)


def load_annotation(path, warn: Callable[[str], None] = lambda message: None) -> list[Document]:
    """Documents from a Label Studio export (.json) or a folder of inline-markup ``.ann`` files;
    ``warn`` is told each problem of the export (a span outside the text, a relation to a missing
    span: :func:`compare` leaves them out)."""
    path = Path(path)
    if path.is_dir():
        return [parse(p.read_text(encoding="utf-8"), p.stem, name=str(p)) for p in sorted(path.glob("*.ann"))]
    result = read_export(path)
    for p in result.problems:
        warn(f"{path}: {p}")
    return result.documents
