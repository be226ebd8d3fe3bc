"""The rule linker: attach the entities of a trigger's sentence to its roles (actor, recipient,
place, time).

The linker is a handful of readable rules about Indonesian news prose:

* time: a DATE in the sentence;
* place: a GPE/LOC after ``di``/``ke`` (``di Beijing``, ``di barat Beijing``, ``ke Moskow``);
* recipient: a PER/ORG/GPE after the trigger, after ``kepada``/``dengan``/``melawan``/
  ``terhadap`` (and the second half of ``Kim-Xi``);
* actor: the nearest PER/ORG/GPE before the trigger that is not a place, recipient or a
  title's country (``Presiden Rusia Vladimir Putin``: Putin), with those joined to it by
  ``dan``/``,``; after ``oleh`` for passives; after ``antara`` (``kerja sama antara Moskow dan
  Pyongyang``); for a nominal trigger with nobody before it (``Sebelum pertemuan, Putin dan Kim
  ...``), the first such group after it; none for a noun reported after ``mengatakan``/``bahwa``
  (``Putin menyebut sanksi itu ...``: the speaker is not the sanction's actor);
* no role: a source (``Menurut NK News``, ``dikutip Guardian``).

A marker reaches over a few plain words and titles (``dengan Perdana Menteri China, Li Qiang``),
never over punctuation or another entity.

:func:`_link_sentence` applies them in three passes: roles that a marker word states, the
entities right after a trigger, then the actor before it. :mod:`.linker_eval` scores any
linker against gold relations. Pure Python: no torch import.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..document import Relation, Span, span_id
from ..schema import ROLE_TARGETS
from ..text.sentences import SentenceIndex, split_sentences
from ..text.tokenize import Word, tokenize

RECIPIENT_MARKERS = frozenset({"kepada", "dengan", "melawan", "terhadap"})
PLACE_MARKERS = frozenset({"di", "ke"})
PASSIVE_MARKERS = frozenset({"oleh"})
# Who reports, not who acts: "Menurut NK News, pertemuan ...", "dikutip Guardian", "dilansir dari Reuters".
SOURCE_MARKERS = frozenset({"menurut", "dikutip", "dilansir", "mengutip", "melansir"})
# Words that report what follows: "Putin mengatakan ... pertemuan", "menyebut ... sanksi itu", "bahwa".
# A noun trigger after one is reported content: the speaker before it is not its actor.
REPORTING_WORDS = frozenset({
    "mengatakan", "menyebut", "menyebutkan", "menegaskan", "mengungkapkan", "menjelaskan", "menambahkan",
    "menyatakan", "melaporkan", "menyampaikan", "mengumumkan", "menilai", "mengaku", "berkata", "menuturkan",
    "memastikan", "mengklaim", "menekankan", "mengatakannya", "bahwa", "kata", "ujar", "ucap", "tutur"})
# "kerja sama antara Moskow dan Pyongyang": the parties of a relation noun are its actors (guideline 5.2).
BETWEEN_MARKERS = frozenset({"antara"})
# Words that join entities into one group ("Putin dan Kim", "Rusia, Tiongkok serta Iran").
JOINERS = frozenset({"dan", ",", "serta", "maupun", "&", "/"})
# Triggers whose subject suffers the event (PLOVER recipient): "tentara Korea Utara tewas".
VICTIM_WORDS = frozenset({"tewas", "terluka", "meninggal", "gugur", "luka"})
# Nouns (mostly loanwords) that look like di-/ter-/me-/ber- verbs: "ISIS melancarkan teror",
# "Putin dialog dengan Xi". A noun takes its actor before it and is never passive.
PREFIX_NOUNS = frozenset({
    "teror", "teroris", "terorisme", "terminal", "teritori", "teritorial", "terapi", "ternak", "terowongan",
    "dialog", "diplomasi", "diplomat", "direktur", "direksi", "dinas", "divisi", "digital", "diktator", "dinasti",
    "dimensi", "diagnosis", "dialek", "diaspora", "dilema", "dinamika", "dinamit",
    "media", "mediasi", "medis", "menteri", "mekanisme", "metode", "mesin", "merger", "memorandum", "meriam",
    "berita", "berkas"})
# How many plain words may stand between a preposition and its entity ("di barat Beijing").
MARKER_REACH = 2

Linker = Callable[[str, Sequence[Span], Sequence[Span]], list[Relation]]


def _first_word(trigger_text: str) -> str:
    w = trigger_text.split()[0].lower() if trigger_text.strip() else ""
    return w[:-3] if w.endswith("nya") and w[:-3] in PREFIX_NOUNS else w  # "dialognya"


def is_verbal(trigger_text: str) -> bool:
    """Whether a trigger reads as a verb (``bertemu``, ``dikerahkan``, ``menjanjikan``) rather
    than a noun (``pertemuan``, ``parade``, ``dialog``): a noun's argument right after it is
    its actor (``parade militer Tiongkok``), a verb's is its object (``bertemu Putin``).

    >>> is_verbal("menandatangani"), is_verbal("pertemuan"), is_verbal("diskusi"), is_verbal("dialog")
    (True, False, False, False)
    """
    w = _first_word(trigger_text)
    return w not in PREFIX_NOUNS and (bool(re.match(r"(me|ber|ter|di(?!s))", w)) or w.endswith("kan"))


def is_passive(trigger_text: str) -> bool:
    """Whether the entity before a trigger is who it happens to (``ditangkap``, ``terbunuh``,
    ``tewas``) rather than who does it (``teror``, ``dialog``: nouns).

    >>> is_passive("ditangkap"), is_passive("terbunuh"), is_passive("berterima kasih"), is_passive("terima kasih")
    (True, True, False, False)
    >>> is_passive("teror"), is_passive("dialog"), is_passive("diplomasi")
    (False, False, False)
    """
    w = _first_word(trigger_text)
    return (w not in PREFIX_NOUNS and bool(re.match(r"(di(?!s)|ter(?!ima|hadap))", w))) or w in VICTIM_WORDS


@dataclass
class _Ent:
    span: Span
    a: int  # first word
    b: int  # last word + 1
    text: str  # the article's text at the span (``span.text`` may be empty: Label Studio can omit it)


def link_rules(text: str, entities: Sequence[Span], triggers: Sequence[Span],
               words: Sequence[Word] | None = None) -> list[Relation]:
    """Link entities to triggers of the same sentence by the rules in the module docstring.

    >>> from indoevent.annotation.inline import parse
    >>> doc = parse("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu⟧ dengan ⟦e2:PER Kim⟧ di ⟦e3:GPE Beijing⟧ "
    ...             "pada ⟦e4:DATE Rabu (3/9/2025)⟧.", "d")
    >>> sorted((r.role, r.entity_id) for r in link_rules(doc.text, doc.entities, doc.triggers))
    [('actor', 'e1'), ('place', 'e3'), ('recipient', 'e2'), ('time', 'e4')]
    """
    words = list(words) if words is not None else tokenize(text)
    low = [w.text.lower() for w in words]
    relations: list[Relation] = []
    for ents, trigs in _sentences(text, entities, triggers, words):
        relations += _link_sentence(ents, trigs, words, low)
    return relations


def _sentences(text: str, entities: Sequence[Span], triggers: Sequence[Span],
               words: Sequence[Word]) -> list[tuple[list[_Ent], list[_Ent]]]:
    """Per sentence holding both, its entities and triggers (in text order) with word ranges."""
    starts = [w.start for w in words]
    which = SentenceIndex(split_sentences(text))  # once per article: lookups are then O(log n)

    def to_words(s: Span) -> _Ent:
        # Spans from a model or from gold sit on word edges; partial overlaps still map sensibly.
        a = bisect_right(starts, s.start) - 1
        if a < 0 or words[a].end <= s.start:
            a += 1
        b = bisect_left(starts, s.end)
        return _Ent(s, max(a, 0), max(b, a + 1), text[s.start:s.end])

    groups: dict[int, tuple[list[_Ent], list[_Ent]]] = {}
    for s in sorted(entities):
        groups.setdefault(which(s.start), ([], []))[0].append(to_words(s))
    for s in sorted(triggers):
        groups.setdefault(which(s.start), ([], []))[1].append(to_words(s))
    return [(e, t) for e, t in groups.values() if e and t]


def _marker(k: int, markers: frozenset[str], words: Sequence[Word], low: Sequence[str],
            covered: frozenset[int] = frozenset()) -> str | None:
    """The marker word (``di``, ``kepada``...) before word ``k``, a few plain words apart at most
    (``di barat Beijing``, ``dengan Perdana Menteri China``: a title); None if there is none, or if
    punctuation or a word of another entity (``covered``) stands in between."""
    j = k - 1
    for _ in range(MARKER_REACH + 1):
        if j < 0:
            return None
        if low[j] in markers:
            return low[j]
        if not words[j].text.isalpha() or j in covered:
            return None
        j -= 1
    return None


def _joined(left: _Ent, right: _Ent, low: Sequence[str]) -> bool:
    """Two entities stand in one list: only joiners (``dan``, ``,``) between them."""
    between = low[left.b:right.a]
    return 0 < len(between) <= 2 and all(w in JOINERS for w in between)


def _nearest(trigs: list[_Ent], e: _Ent, prefer_before: bool = True) -> _Ent:
    """The trigger closest to an entity; with ``prefer_before`` the closest one before it if any."""
    before = [t for t in trigs if t.b <= e.a]
    if prefer_before and before:
        return before[-1]
    return min(trigs, key=lambda t: (t.a - e.b if t.a >= e.b else e.a - t.b + 1))


def _is_title(ents: list[_Ent], i: int) -> bool:
    """A country or body right before a person names the person's office ("Presiden Rusia
    Vladimir Putin", "Perdana Menteri Slovakia, Robert Fico"): no argument of its own."""
    e = ents[i]
    if e.span.label not in ("GPE", "ORG") or i + 1 >= len(ents) or ents[i + 1].span.label != "PER":
        return False
    return ents[i + 1].a - e.b <= 1 and (ents[i + 1].a == e.b or ents[i + 1].span.start - e.span.end <= 2)


@dataclass
class _Links:
    """The relations of one sentence as the passes find them (entities and triggers in text order)."""

    ents: list[_Ent]
    trigs: list[_Ent]
    low: Sequence[str]
    rels: list[Relation] = field(default_factory=list)
    taken: dict[int, str] = field(default_factory=dict)  # entity index -> role it got from pass 1 or 2

    def add(self, t: _Ent, i: int, role: str) -> None:
        self.rels.append(Relation(span_id(t.span), span_id(self.ents[i].span), role))
        self.taken[i] = role

    def has(self, t: _Ent, role: str) -> bool:
        return any(r.trigger_id == t.span.id and r.role == role for r in self.rels)

    def title(self, i: int) -> bool:
        return _is_title(self.ents, i)

    def free(self, i: int) -> bool:
        return i not in self.taken and self.ents[i].span.label in ROLE_TARGETS["actor"] and not self.title(i)

    def group(self, head: int, step: int) -> list[int]:
        """``head`` and the free entities joined to it (``dan``, ``,``) going ``step`` (+1 or -1)."""
        out, i = [head], head
        while 0 <= i + step < len(self.ents) and self.free(i + step):
            left, right = (self.ents[i + step], self.ents[i]) if step < 0 else (self.ents[i], self.ents[i + step])
            if not _joined(left, right, self.low):
                break
            i += step
            out.append(i)
        return out


def _link_sentence(ents: list[_Ent], trigs: list[_Ent], words: Sequence[Word], low: Sequence[str]) -> list[Relation]:
    """Roles for the entities of one sentence (both lists in text order), in three passes."""
    links = _Links(ents, trigs, low)
    _link_marked(links, words)
    _link_adjacent(links)
    _link_actors(links)
    return links.rels


def _link_marked(links: _Links, words: Sequence[Word]) -> None:
    """Pass 1. Entities whose role the words before them state; they go to one trigger."""
    ents, trigs, low = links.ents, links.trigs, links.low
    covered = frozenset(k for x in ents for k in range(x.a, x.b))
    for i, e in enumerate(ents):
        label = e.span.label
        prev = ents[i - 1] if i else None
        if label in ROLE_TARGETS["time"]:
            links.add(_nearest(trigs, e, prefer_before=False), i, "time")
            continue
        if _is_title(ents, i):
            continue  # "dengan pemimpin Korea Utara Kim Jong-un": the marker goes to the person
        m = _marker(e.a, PLACE_MARKERS | RECIPIENT_MARKERS | PASSIVE_MARKERS | BETWEEN_MARKERS | SOURCE_MARKERS,
                    words, low, covered)
        if m in SOURCE_MARKERS:
            links.taken[i] = "source"  # no role, and not free for pass 2 or 3
            continue
        if m is None and prev is not None and _is_title(ents, i - 1):
            m = _marker(prev.a, RECIPIENT_MARKERS | PASSIVE_MARKERS, words, low, covered)
        if m is None and prev is not None and links.taken.get(i - 1) in ROLE_TARGETS and _joined(prev, e, low):
            # A list continues its head's role: "di Wisma Negara Diaoyutai, Beijing".
            t = next(t for t in trigs
                     if any(r.entity_id == prev.span.id and r.trigger_id == t.span.id for r in links.rels))
            if label in ROLE_TARGETS[links.taken[i - 1]]:
                links.add(t, i, links.taken[i - 1])
            continue
        if m is None:
            continue
        t = _nearest(trigs, e)
        if m == "ke" and t.span.label != "CONSULT" and label in ROLE_TARGETS["recipient"]:
            links.add(t, i, "recipient")  # "mengirim tentara ke Rusia": Russia receives
        elif m in PLACE_MARKERS and label in ROLE_TARGETS["place"]:
            links.add(t, i, "place")
        elif m in RECIPIENT_MARKERS and t.b <= e.a and label in ROLE_TARGETS["recipient"]:
            links.add(t, i, "recipient")
        elif (m in PASSIVE_MARKERS or m in BETWEEN_MARKERS) and t.b <= e.a and label in ROLE_TARGETS["actor"]:
            links.add(t, i, "actor")


def _link_adjacent(links: _Links) -> None:
    """Pass 2. Right after the trigger: a noun's actor ("parade militer Tiongkok"), a verb's object
    ("bertemu Putin"), a visit's place ("mengunjungi Pyongyang"); "Kim-Xi" pairs."""
    ents, low = links.ents, links.low
    for t in links.trigs:
        verbal = is_verbal(t.text)
        has_actor = links.has(t, "actor")
        for i, e in enumerate(ents):
            if e.a < t.b or not links.free(i) and not (links.title(i) and e.a - t.b <= 1):
                continue
            gap = low[t.b:e.a]
            if len(gap) > 1 or any(not w.isalpha() for w in gap):
                break
            head = i + 1 if links.title(i) else i
            if head >= len(ents) or not links.free(head):
                break
            members = links.group(head, +1)
            if len(members) == 1 and head + 2 < len(ents) + 1 and head + 1 < len(ents) \
                    and low[ents[head].b:ents[head + 1].a] == ["-"]:
                # "pertemuan Kim-Xi": the first is the actor, the second the recipient.
                links.add(t, head, "actor")
                links.add(t, head + 1, "recipient")
            elif verbal:
                role = "place" if t.span.label == "CONSULT" and all(
                    ents[k].span.label in ROLE_TARGETS["place"] for k in members) else "recipient"
                for k in members:
                    links.add(t, k, role)
            elif not has_actor:
                for k in members:
                    links.add(t, k, "actor")
            break


def _reported(e: _Ent, t: _Ent, low: Sequence[str]) -> bool:
    """A reporting word (``mengatakan``, ``bahwa``) stands between an entity and a later trigger."""
    return any(w in REPORTING_WORDS for w in low[e.b:t.a])


def _link_actors(links: _Links) -> None:
    """Pass 3. The actor: the nearest free group before the trigger; a noun with nobody before it
    takes the first group after it ("Sebelum pertemuan, Putin dan Kim ..."). These relations
    leave the entities free: one group may act in several events of the sentence."""
    ents = links.ents
    for t in links.trigs:
        if links.has(t, "actor") and not is_passive(t.text):
            continue
        before = [i for i, e in enumerate(ents) if e.b <= t.a and links.free(i)]
        if before and not is_verbal(t.text) and _reported(ents[before[-1]], t, links.low):
            continue  # "Putin menyebut kebijakan sanksi itu ...": the speaker, not the sanction's actor
        after = [i for i, e in enumerate(ents) if e.a >= t.b and links.free(i)]
        members: list[int] = []
        role = "actor"
        if before:
            members = links.group(before[-1], -1)
            if is_passive(t.text):
                role = "recipient"  # "Navalny ditangkap (oleh FSB)", "tentara Korea Utara tewas"
        elif after and not is_verbal(t.text):
            members = links.group(after[0], +1)
        if role == "recipient" and links.has(t, "recipient"):
            members = []
        links.rels += [Relation(span_id(t.span), span_id(ents[k].span), role) for k in members]
