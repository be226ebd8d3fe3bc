"""``indoevent validate``: check a Label Studio export against schema v1 and count its labels."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..schema import CONTROL_OF, ENTITY_LABELS, EVENT_LABELS, ROLES
from .lsexport import ReadResult, read_export


def label_table(result: ReadResult) -> str:
    """A per-label table: spans and articles per label, then relations per role."""
    spans = Counter(s.label for d in result.documents for s in d.spans)
    docs = Counter(label for d in result.documents for label in {s.label for s in d.spans})
    roles = Counter(r.role for d in result.documents for r in d.relations)
    lines = [f"{'label':<10} {'control':<7} {'spans':>6} {'articles':>8}"]
    for label in ENTITY_LABELS + EVENT_LABELS:
        lines.append(f"{label:<10} {CONTROL_OF[label]:<7} {spans[label]:>6} {docs[label]:>8}")
    lines.append(f"{'relation':<18} {'count':>6}")
    for role in ROLES:
        lines.append(f"{role:<18} {roles[role]:>6}")
    return "\n".join(lines)


def validate(export: str | Path, choose: str = "latest") -> ReadResult:
    """Read and check an export; problems are in the result (an unreadable file raises ExportError)."""
    return read_export(export, choose)
