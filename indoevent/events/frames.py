"""Event frames: one event's PLOVER type, its trigger and its argument spans by role.

A frame is what ``indoevent extract`` writes per event (:meth:`Frame.to_dict`) and what
``indoevent merge`` reads back (:meth:`Frame.from_dict`). Frames come from relations, gold
(:func:`frames_from_relations`) or found by a linker (:mod:`.linking`, :mod:`.learned_linker`;
scored by :mod:`.linker_eval`). Pure Python: no torch import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..document import Relation, Span
from ..schema import ROLES


@dataclass(frozen=True)
class Frame:
    """One event: its PLOVER type, the trigger span and the argument spans by role."""

    type: str
    trigger: Span
    arguments: dict[str, tuple[Span, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"type": self.type, "trigger": self.trigger.to_dict(),
                "arguments": {role: [s.to_dict() for s in spans] for role, spans in self.arguments.items()}}

    @classmethod
    def from_dict(cls, d: object) -> Frame:
        """The frame of a :meth:`to_dict` dict; a ValueError saying which part is wrong."""
        if not isinstance(d, dict) or not isinstance(d.get("type"), str):
            raise ValueError(f"a frame needs a 'type' (a PLOVER label), got {str(d)[:60]}")
        args = d.get("arguments", {})
        if not isinstance(args, dict) or not all(isinstance(v, list) for v in args.values()):
            raise ValueError("'arguments' must map roles to lists of spans")
        try:
            trigger = Span.from_dict(d.get("trigger"))
        except ValueError as e:
            raise ValueError(f"trigger: {e}") from None
        arguments = {}
        for role, spans in args.items():
            try:
                arguments[role] = tuple(Span.from_dict(s) for s in spans)
            except ValueError as e:
                raise ValueError(f"{role}: {e}") from None
        return cls(d["type"], trigger, arguments)


def frames_from_relations(triggers: Sequence[Span], entities: Sequence[Span],
                          relations: Iterable[Relation]) -> list[Frame]:
    """Group relations by trigger into frames (one per trigger, in text order; roles in
    :data:`~indoevent.schema.ROLES` order, argument spans in text order)."""
    by_id = {s.id: s for s in entities}
    args: dict[str | None, dict[str, list[Span]]] = {t.id: {} for t in triggers}
    for r in relations:
        if r.trigger_id in args and r.entity_id in by_id:
            args[r.trigger_id].setdefault(r.role, []).append(by_id[r.entity_id])
    frames = []
    for t in sorted(triggers):
        roles = args[t.id]
        frames.append(Frame(t.label, t, {role: tuple(sorted(roles[role])) for role in ROLES if role in roles}))
    return frames
