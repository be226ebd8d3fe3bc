"""The one span type of the project: half-open ``[start, end)`` code-point offsets."""

from __future__ import annotations

from dataclasses import dataclass, field

from .schema import is_trigger


@dataclass(frozen=True, order=True)
class Span:
    """A labelled stretch of an article: ``text[start:end]`` (Python string offsets).

    >>> teks = "Putin bertemu Kim di Beijing"
    >>> s = Span(0, 5, "PER", "Putin")
    >>> teks[s.start:s.end] == s.text
    True
    """

    start: int
    end: int
    label: str
    text: str = field(default="", compare=False)
    score: float | None = field(default=None, compare=False)
    id: str | None = field(default=None, compare=False)

    @property
    def is_trigger(self) -> bool:
        return is_trigger(self.label)

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict:
        d = {"start": self.start, "end": self.end, "label": self.label, "text": self.text}
        if self.score is not None:
            d["score"] = round(self.score, 4)
        if self.id is not None:
            d["id"] = self.id
        return d

    @classmethod
    def from_dict(cls, d: object) -> Span:
        """The span of a :meth:`to_dict` dict (``text``, ``score`` and ``id`` may be missing); a
        ValueError if it has no integer ``start`` and ``end``.

        >>> Span.from_dict({"start": 0, "end": 5, "label": "PER", "text": "Putin", "score": 0.98, "id": "e1"})
        Span(start=0, end=5, label='PER', text='Putin', score=0.98, id='e1')
        """
        if not isinstance(d, dict) or not isinstance(d.get("start"), int) or not isinstance(d.get("end"), int):
            raise ValueError(f"a span needs integer start and end, got {str(d)[:60]}")
        return cls(d["start"], d["end"], str(d.get("label", "")), str(d.get("text", "")), d.get("score"), d.get("id"))


def span_id(s: Span) -> str:
    """The id a relation names ``s`` by. Spans that take part in relations have ids (the model
    numbers its spans ``e1``, ``t1`` ...; gold spans carry Label Studio's region ids); a span
    without one gives ``""``, which names no span."""
    return s.id if s.id is not None else ""


@dataclass(frozen=True)
class Relation:
    """An event argument: from a trigger span id to an entity span id, with a role."""

    trigger_id: str
    entity_id: str
    role: str


@dataclass
class Document:
    """One annotated article: its text, spans (entities and triggers) and relations."""

    doc_id: str
    text: str
    spans: list[Span]
    relations: list[Relation] = field(default_factory=list)
    task_id: int | None = None
    meta: dict = field(default_factory=dict)

    @property
    def entities(self) -> list[Span]:
        return [s for s in self.spans if not s.is_trigger]

    @property
    def triggers(self) -> list[Span]:
        return [s for s in self.spans if s.is_trigger]
