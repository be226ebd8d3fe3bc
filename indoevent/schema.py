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
# label's colour at 30% opacity over the white page, so the colours were chosen for what that
# shows: every event colour differs from every other, from each entity colour and from white by a
# CIEDE2000 distance of at least 10 at that opacity (tests/test_validate.py measures it; the old
# palette had REQUEST vs PROTEST at 5.8 and MOBILIZE vs white at 5.4).
HIGHLIGHT_OPACITY = 0.3
COLORS: dict[str, str] = {
    "PER": "#e6194b", "ORG": "#3cb44b", "GPE": "#4363d8", "LOC": "#f58231", "DATE": "#911eb4",
    "AGREE": "#00ff00", "CONSULT": "#00d2ff", "SUPPORT": "#d2ff00", "CONCEDE": "#f0ffa5",
    "COOPERATE": "#005a4b", "AID": "#00ffd2", "RETREAT": "#a5fff0", "REQUEST": "#d2a5ff",
    "ACCUSE": "#5a5a0f", "REJECT": "#ff9696", "THREATEN": "#4b1e00", "PROTEST": "#ffb400",
    "SANCTION": "#001e3c", "MOBILIZE": "#78c3ff", "COERCE": "#2d002d", "ASSAULT": "#ff2d00",
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
