"""Gold event clusters: which trigger mentions, across articles and within one, are the same real event.

One YAML file per multi-article story (``annotations/corpus/events/STORY.yaml``), written so a diff
stays readable: a mention is ``ARTICLE:TRIGGER text``, the article's number and the trigger's id in
its gold markup (``005:t1`` is trigger ``t1`` of ``annotations/corpus/gold/005_*.ann``), followed by
the trigger's words, which must match the gold::

    story: demo-dpr-agustus-2025
    articles: [005_f3fafee168c0f91e, 006_be72a8a4b067da83]
    events:
      - id: penangkapan-25-agustus
        what: Polisi menangkap ratusan pengunjuk rasa di depan gedung DPR, Senin (25/8/2025) malam
        mentions:
          - 005:t1 menangkap
          - 006:t4 ditangkap

Every trigger of a listed article is a mention of exactly one event: the triggers no event lists are
events of their own (singletons), so a file names only what is joined. What counts as the same event
is in the guideline (annotations/guideline.md, "Event clusters").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..document import Document


class ClusterError(ValueError):
    """A cluster file that does not match the gold; the message names the file and line."""


@dataclass(frozen=True)
class Mention:
    """One trigger mention: its article, half-open code-point offsets, PLOVER type and words."""

    article: str
    start: int
    end: int
    type: str
    text: str

    @property
    def key(self) -> tuple[str, int, int]:
        """How a predicted mention matches it: the same article and the exact trigger span."""
        return (self.article, self.start, self.end)


@dataclass(frozen=True)
class GoldEvent:
    """One real event of a story and its mentions; ``where`` is ``file:line`` (or the singleton's ref)."""

    id: str
    story: str
    mentions: tuple[Mention, ...]
    where: str


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, where: str) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise ClusterError(f"{where}:{_line(node)}: expected a mapping")
    return {k.value: v for k, v in node.value}


def _scalars(node: yaml.Node | None, where: str, what: str) -> list[yaml.ScalarNode]:
    if not isinstance(node, yaml.SequenceNode) or not all(isinstance(n, yaml.ScalarNode) for n in node.value):
        line = _line(node) if node is not None else 1
        raise ClusterError(f"{where}:{line}: {what} must be a list of strings")
    return list(node.value)


def _trigger_index(doc: Document) -> dict[str, Mention]:
    """The gold triggers of an article by their markup id (``005_t1`` -> ``t1``)."""
    out = {}
    for s in doc.triggers:
        ref = (s.id or "").rsplit("_", 1)[-1]
        out[ref] = Mention(doc.doc_id, s.start, s.end, s.label, s.text)
    return out


def _resolve(ref_node: yaml.ScalarNode, by_number: dict[str, Document], triggers: dict[str, dict[str, Mention]],
             where: str) -> Mention:
    at = f"{where}:{_line(ref_node)}"
    ref, _, words = str(ref_node.value).partition(" ")
    number, _, trigger = ref.partition(":")
    if number not in by_number:
        raise ClusterError(f"{at}: {ref!r}: article {number!r} is not one of the story's articles")
    mention = triggers[number].get(trigger)
    if mention is None:
        raise ClusterError(f"{at}: {ref!r}: {by_number[number].doc_id} has no trigger {trigger!r}")
    if words.strip() != mention.text:
        raise ClusterError(f"{at}: {ref!r} is {mention.text!r} in the gold, the file says {words.strip()!r}")
    return mention


def yaml_node(path: str | Path) -> yaml.Node | None:
    """The YAML node tree of a file (lines kept for messages); a ClusterError in one line naming
    ``file:line`` for a file that is not there, not UTF-8 or not YAML (PyYAML's own message spans
    five lines and names "<unicode string>")."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ClusterError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ClusterError(f"{path}:{line}: not UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r}); "
                           "save the file as UTF-8") from None
    try:
        return yaml.compose(text)
    except yaml.MarkedYAMLError as e:  # problem at problem_mark, found while reading context at context_mark
        at = f":{e.problem_mark.line + 1}" if e.problem_mark is not None else ""
        why = e.problem or "unreadable"
        if e.context and e.context_mark is not None:
            why += f" ({e.context} at line {e.context_mark.line + 1})"
        raise ClusterError(f"{path}{at}: not valid YAML: {why}") from None
    except yaml.YAMLError as e:
        raise ClusterError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None


def load_story(path: str | Path, docs: dict[str, Document]) -> list[GoldEvent]:
    """The events of one story file: its listed events, then every other trigger of its articles as a
    singleton. ``docs`` are the gold articles by id. Raises ClusterError naming ``file:line``."""
    where = str(path)
    root = yaml_node(path)
    top = _mapping(root, where) if root is not None else {}
    story = str(top["story"].value) if "story" in top else ""
    if not story:
        raise ClusterError(f"{where}:1: no story name")
    by_number: dict[str, Document] = {}
    for node in _scalars(top.get("articles"), where, "articles"):
        if node.value not in docs:
            raise ClusterError(f"{where}:{_line(node)}: article {node.value!r} is not in the gold")
        by_number[node.value.split("_")[0]] = docs[node.value]
    triggers = {n: _trigger_index(d) for n, d in by_number.items()}
    events: list[GoldEvent] = []
    seen: dict[tuple[str, int, int], str] = {}
    used: set[str] = set()
    event_nodes = top.get("events")
    for ev in (event_nodes.value if isinstance(event_nodes, yaml.SequenceNode) else []):
        fields = _mapping(ev, where)
        ev_id = str(fields["id"].value) if "id" in fields else ""
        at = f"{where}:{_line(ev)}"
        if not ev_id or ev_id in used:
            raise ClusterError(f"{at}: event id {ev_id!r} is missing or used twice")
        used.add(ev_id)
        mentions = []
        for ref_node in _scalars(fields.get("mentions"), where, f"event {ev_id}'s mentions"):
            m = _resolve(ref_node, by_number, triggers, where)
            if m.key in seen:
                raise ClusterError(f"{where}:{_line(ref_node)}: {ref_node.value!r} is already in event {seen[m.key]}")
            seen[m.key] = ev_id
            mentions.append(m)
        events.append(GoldEvent(ev_id, story, tuple(mentions), at))
    for number, index in triggers.items():
        for ref, m in index.items():
            if m.key not in seen:
                events.append(GoldEvent(f"{number}:{ref}", story, (m,), f"{where} (singleton)"))
    return events


def load_clusters(paths: Sequence[str | Path], docs: Iterable[Document]) -> list[GoldEvent]:
    """The gold events of several story files (or folders of ``*.yaml``) against the gold articles.

    An article in two stories' files is an error: its triggers would be counted twice."""
    by_id = {d.doc_id: d for d in docs}
    files = [f for p in map(Path, paths) for f in (sorted(p.glob("*.yaml")) if p.is_dir() else [p])]
    files = list({f.resolve(): f for f in reversed(files)}.values())[::-1]  # a file given twice is read once
    if not files:
        raise ClusterError(f"{', '.join(map(str, paths))}: no cluster files (*.yaml)")
    events: list[GoldEvent] = []
    owner: dict[str, str] = {}
    for f in files:
        story_events = load_story(f, by_id)
        for article in {m.article for e in story_events for m in e.mentions}:
            if article in owner:
                raise ClusterError(f"{f}: article {article} is also in {owner[article]}")
            owner[article] = str(f)
        events += story_events
    return events


def chains(events: Iterable[GoldEvent]) -> list[list[tuple[str, int, int]]]:
    """The events as lists of mention keys, the form the coreference scorer takes."""
    return [[m.key for m in e.mentions] for e in events]
