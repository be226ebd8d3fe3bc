"""The label set of annotation schema v1, defined once for the whole project.

Everything else (the Label Studio XML check, the BIO tag list, the model's
``id2label``, the validator) derives from these tuples. See ``../shared/SCHEMA.md``
and ``annotations/guidelines.md``.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

# Label Studio control names.
TEXT_NAME = "text"
ENTITY_CONTROL = "entity"
EVENT_CONTROL = "event"

ENTITY_LABELS: tuple[str, ...] = ("PER", "ORG", "GPE", "LOC", "DATE")

# PLOVER event types used as trigger labels.
EVENT_LABELS: tuple[str, ...] = (
    "AGREE", "CONSULT", "SUPPORT", "CONCEDE", "COOPERATE", "AID", "RETREAT", "REQUEST",
    "ACCUSE", "REJECT", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE", "ASSAULT",
)

ROLES: tuple[str, ...] = ("actor", "recipient", "place", "time")

# Which entity labels may fill a role (relation from trigger to entity).
ROLE_TARGETS: dict[str, frozenset[str]] = {
    "actor": frozenset({"PER", "ORG", "GPE"}),
    "recipient": frozenset({"PER", "ORG", "GPE"}),
    "place": frozenset({"GPE", "LOC"}),
    "time": frozenset({"DATE"}),
}

CONTROL_OF: dict[str, str] = {
    **{label: ENTITY_CONTROL for label in ENTITY_LABELS},
    **{label: EVENT_CONTROL for label in EVENT_LABELS},
}

# One colour per label, used in the Label Studio config. Label Studio highlights a span with its
# label's colour at 30% opacity over the white page, so the event colours were chosen (searched
# for) by what that shows: any two event labels >= 11.5 CIEDE2000 apart and >= 14 degrees apart
# in hue (no two in one hue family), each >= 10 from white and of chroma >= 9.5 (a dark colour
# stays a tint, never a grey), and >= 7 from each entity colour (another control, another group).
# tests/test_validate.py measures it; the palette before had CONSULT, AID and RETREAT all cyan.
# 12 between events with 8 against entities has no solution with 16 labels at this opacity.
HIGHLIGHT_OPACITY = 0.3
COLORS: dict[str, str] = {
    "PER": "#e6194b", "ORG": "#3cb44b", "GPE": "#4363d8", "LOC": "#f58231", "DATE": "#911eb4",
    "AGREE": "#00ff96", "CONSULT": "#6b3000", "SUPPORT": "#51ff00", "CONCEDE": "#005b48", "COOPERATE": "#30acf3",
    "AID": "#fcf106", "RETREAT": "#0000ff", "REQUEST": "#82000f", "ACCUSE": "#330167", "REJECT": "#ffa7ca",
    "THREATEN": "#00205a", "PROTEST": "#eb03e6", "SANCTION": "#ff4700", "MOBILIZE": "#f6cf7f", "COERCE": "#04f4fe",
    "ASSAULT": "#befcc8",
}


def bio_tags() -> list[str]:
    """All IOB2 tags in a fixed order: ``O``, then ``B-``/``I-`` per entity label, then per event label.

    >>> bio_tags()[:3]
    ['O', 'B-PER', 'I-PER']
    """
    tags = ["O"]
    for label in ENTITY_LABELS + EVENT_LABELS:
        tags += [f"B-{label}", f"I-{label}"]
    return tags


def is_trigger(label: str) -> bool:
    """True for a PLOVER event label (``"CONSULT"``), False for an entity label (``"PER"``)."""
    return label in EVENT_LABELS
