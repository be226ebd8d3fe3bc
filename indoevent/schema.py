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

# One colour per label, used in the Label Studio config (distinct, readable).
COLORS: dict[str, str] = {
    "PER": "#e6194b", "ORG": "#3cb44b", "GPE": "#4363d8", "LOC": "#f58231", "DATE": "#911eb4",
    "AGREE": "#42d4f4", "CONSULT": "#f032e6", "SUPPORT": "#bfef45", "CONCEDE": "#fabed4",
    "COOPERATE": "#469990", "AID": "#dcbeff", "RETREAT": "#9a6324", "REQUEST": "#fffac8",
    "ACCUSE": "#800000", "REJECT": "#aaffc3", "THREATEN": "#808000", "PROTEST": "#ffd8b1",
    "SANCTION": "#000075", "MOBILIZE": "#a9a9a9", "COERCE": "#ff6f61", "ASSAULT": "#2f4f4f",
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
