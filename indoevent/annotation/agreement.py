"""Agreement between two annotations of the same articles: exact-span F1 per label and
argument agreement, treating the first annotation as the reference (F1 is symmetric).

Used to check the gold against an independent second annotation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..document import Document
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
        p = tp / (tp + fb) if tp + fb else 0.0
        r = tp / (tp + fa) if tp + fa else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _relation_keys(doc: Document) -> set[tuple]:
    by_id = {s.id: s for s in doc.spans}
    out = set()
    for r in doc.relations:
        t, e = by_id.get(r.trigger_id), by_id.get(r.entity_id)
        if t and e:
            out.add(((t.start, t.end, t.label), (e.start, e.end), r.role))
    return out


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
        sa = {(s.start, s.end, s.label) for s in da.spans}
        sb = {(s.start, s.end, s.label) for s in db.spans}
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
    return spans, args, diffs


def agreement_table(spans: Agreement, args: Agreement) -> str:
    """A readable table of precision/recall/F1 (B against A) per label and role."""
    rows = [f"{'':<12} {'both':>5} {'onlyA':>6} {'onlyB':>6} {'F1':>6}"]
    for title, agg in (("spans", spans), ("arguments", args)):
        keys = sorted(set(agg.tp) | set(agg.only_a) | set(agg.only_b))
        for k in keys:
            rows.append(f"{k:<12} {agg.tp[k]:>5} {agg.only_a[k]:>6} {agg.only_b[k]:>6} {agg.prf(k)[2]:>6.3f}")
        rows.append(f"{'all ' + title:<12} {sum(agg.tp.values()):>5} {sum(agg.only_a.values()):>6} "
                    f"{sum(agg.only_b.values()):>6} {agg.prf()[2]:>6.3f}")
    return "\n".join(rows)


def load_annotation(path) -> list[Document]:
    """Documents from a Label Studio export (.json) or a folder of inline-markup ``.ann`` files."""
    path = Path(path)
    if path.is_dir():
        return [parse(p.read_text(encoding="utf-8"), p.stem, name=str(p)) for p in sorted(path.glob("*.ann"))]
    return read_export(path).documents
