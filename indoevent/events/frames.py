"""Event frames: attach the entities of a trigger's sentence to its roles (actor, recipient,
place, time), and score a linker against the gold relations.

The linker is a handful of readable rules about Indonesian news prose:

* time: a DATE in the sentence;
* place: a GPE/LOC after ``di``/``ke`` (``di Beijing``, ``di barat Beijing``, ``ke Moskow``);
* recipient: a PER/ORG/GPE after the trigger, after ``kepada``/``dengan``/``melawan``/
  ``terhadap`` (and the second half of ``Kim-Xi``);
* actor: the nearest PER/ORG/GPE before the trigger that is not a place, recipient or a
  title's country (``Presiden Rusia Vladimir Putin``: Putin), with those joined to it by
  ``dan``/``,``; after ``oleh`` for passives; for a nominal trigger with nobody before it
  (``Sebelum pertemuan, Putin dan Kim ...``), the first such group after it.

:func:`evaluate_linker` scores any linker with the event-extraction measures: given gold
triggers and gold entities, argument identification (the trigger-entity pair is right) and
classification (the role too). Pure Python: no torch import.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..schema import ROLE_TARGETS, ROLES
from ..scores import prf
from ..text.sentences import SentenceIndex, split_sentences
from ..document import Document, Relation, Span
from ..text.tokenize import Word, tokenize
from ..model.splits import kfold

RECIPIENT_MARKERS = frozenset({"kepada", "dengan", "melawan", "terhadap"})
PLACE_MARKERS = frozenset({"di", "ke"})
PASSIVE_MARKERS = frozenset({"oleh"})
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
    def from_dict(cls, d: object) -> "Frame":
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
    args: dict[str, dict[str, list[Span]]] = {t.id: {} for t in triggers}
    for r in relations:
        if r.trigger_id in args and r.entity_id in by_id:
            args[r.trigger_id].setdefault(r.role, []).append(by_id[r.entity_id])
    frames = []
    for t in sorted(triggers):
        roles = args[t.id]
        frames.append(Frame(t.label, t, {role: tuple(sorted(roles[role])) for role in ROLES if role in roles}))
    return frames


# --- the rule linker ----------------------------------------------------------------------------
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


def _marker(k: int, markers: frozenset[str], words: Sequence[Word], low: Sequence[str]) -> str | None:
    """The marker word (``di``, ``kepada``...) before word ``k``, a few plain lower-case words
    apart at most (``di barat Beijing``); None if there is none."""
    j = k - 1
    for _ in range(MARKER_REACH + 1):
        if j < 0:
            return None
        if low[j] in markers:
            return low[j]
        if not (words[j].text.isalpha() and words[j].text.islower()):
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


def _link_sentence(ents: list[_Ent], trigs: list[_Ent], words: Sequence[Word], low: Sequence[str]) -> list[Relation]:
    """Roles for the entities of one sentence (both lists in text order)."""
    rels: list[Relation] = []
    taken: dict[int, str] = {}  # entity index -> role it got from a marker

    def add(t: _Ent, i: int, role: str) -> None:
        rels.append(Relation(t.span.id, ents[i].span.id, role))
        taken[i] = role

    # 1. Entities whose role the words before them state; they go to one trigger.
    for i, e in enumerate(ents):
        label = e.span.label
        prev = ents[i - 1] if i else None
        if label in ROLE_TARGETS["time"]:
            add(_nearest(trigs, e, prefer_before=False), i, "time")
            continue
        if _is_title(ents, i):
            continue  # "dengan pemimpin Korea Utara Kim Jong-un": the marker goes to the person
        m = _marker(e.a, PLACE_MARKERS | RECIPIENT_MARKERS | PASSIVE_MARKERS, words, low)
        if m is None and prev is not None and _is_title(ents, i - 1):
            m = _marker(prev.a, RECIPIENT_MARKERS | PASSIVE_MARKERS, words, low)
        if m is None and prev is not None and (i - 1) in taken and _joined(prev, e, low):
            # A list continues its head's role: "di Wisma Negara Diaoyutai, Beijing".
            t = next(t for t in trigs if any(r.entity_id == prev.span.id and r.trigger_id == t.span.id for r in rels))
            if label in ROLE_TARGETS[taken[i - 1]]:
                add(t, i, taken[i - 1])
            continue
        if m is None:
            continue
        t = _nearest(trigs, e)
        if m == "ke" and t.span.label != "CONSULT" and label in ROLE_TARGETS["recipient"]:
            add(t, i, "recipient")  # "mengirim tentara ke Rusia": Russia receives
        elif m in PLACE_MARKERS and label in ROLE_TARGETS["place"]:
            add(t, i, "place")
        elif m in RECIPIENT_MARKERS and t.b <= e.a and label in ROLE_TARGETS["recipient"]:
            add(t, i, "recipient")
        elif m in PASSIVE_MARKERS and t.b <= e.a and label in ROLE_TARGETS["actor"]:
            add(t, i, "actor")

    def title(i: int) -> bool:
        return _is_title(ents, i)

    def free(i: int) -> bool:
        return i not in taken and ents[i].span.label in ROLE_TARGETS["actor"] and not title(i)

    def group(head: int, step: int) -> list[int]:
        out, i = [head], head
        while 0 <= i + step < len(ents) and free(i + step):
            left, right = (ents[i + step], ents[i]) if step < 0 else (ents[i], ents[i + step])
            if not _joined(left, right, low):
                break
            i += step
            out.append(i)
        return out

    # 2. Right after the trigger: a noun's actor ("parade militer Tiongkok"), a verb's object
    #    ("bertemu Putin"), a visit's place ("mengunjungi Pyongyang"); "Kim-Xi" pairs.
    for t in trigs:
        verbal = is_verbal(t.text)
        has_actor = any(r.trigger_id == t.span.id and r.role == "actor" for r in rels)
        for i, e in enumerate(ents):
            if e.a < t.b or not free(i) and not (title(i) and e.a - t.b <= 1):
                continue
            gap = low[t.b:e.a]
            if len(gap) > 1 or any(not w.isalpha() for w in gap):
                break
            head = i + 1 if title(i) else i
            if head >= len(ents) or not free(head):
                break
            members = group(head, +1)
            if len(members) == 1 and head + 2 < len(ents) + 1 and head + 1 < len(ents) \
                    and low[ents[head].b:ents[head + 1].a] == ["-"]:
                # "pertemuan Kim-Xi": the first is the actor, the second the recipient.
                add(t, head, "actor")
                add(t, head + 1, "recipient")
            elif verbal:
                role = "place" if t.span.label == "CONSULT" and all(
                    ents[k].span.label in ROLE_TARGETS["place"] for k in members) else "recipient"
                for k in members:
                    add(t, k, role)
            elif not has_actor:
                for k in members:
                    add(t, k, "actor")
            break

    # 3. The actor: the nearest free group before the trigger; a noun with nobody before it
    #    takes the first group after it ("Sebelum pertemuan, Putin dan Kim ...").
    for t in trigs:
        if any(r.trigger_id == t.span.id and r.role == "actor" for r in rels) and not is_passive(t.text):
            continue
        before = [i for i, e in enumerate(ents) if e.b <= t.a and free(i)]
        after = [i for i, e in enumerate(ents) if e.a >= t.b and free(i)]
        members: list[int] = []
        role = "actor"
        if before:
            members = group(before[-1], -1)
            if is_passive(t.text):
                role = "recipient"  # "Navalny ditangkap (oleh FSB)", "tentara Korea Utara tewas"
        elif after and not is_verbal(t.text):
            members = group(after[0], +1)
        if role == "recipient" and any(r.trigger_id == t.span.id and r.role == "recipient" for r in rels):
            members = []
        rels += [Relation(t.span.id, ents[k].span.id, role) for k in members]
    return rels


# --- the learned linker -------------------------------------------------------------------------
LINK_CLASSES: tuple[str, ...] = ("none",) + ROLES
_MARKER_WORDS = PLACE_MARKERS | RECIPIENT_MARKERS | PASSIVE_MARKERS | JOINERS | {
    "pada", "dari", "untuk", "bagi", "atas", "antara", "bersama", "oleh", "dalam", "sejak", "menurut", "dan"}


def _bucket(n: int) -> str:
    return str(n) if n < 3 else "3-5" if n <= 5 else "6-10" if n <= 10 else "11+"


def _pair_features(t: _Ent, e: _Ent, i: int, ents: list[_Ent], trigs: list[_Ent], low: Sequence[str],
                   rule: str) -> list[str]:
    """Sparse features of a (trigger, entity) pair of one sentence; ``rule`` is what the rules said."""
    after = e.a >= t.b
    gap = e.a - t.b if after else max(t.a - e.b, 0)
    side = "after" if after else "before"
    lo, hi = (t.b, e.a) if after else (e.b, t.a)
    prev = low[e.a - 1] if e.a > 0 else "<s>"
    prev = prev if prev in _MARKER_WORDS else ("punct" if not prev.isalnum() else "word")
    nearest = min(trigs, key=lambda x: abs((x.a + x.b) - (e.a + e.b))) is t
    label = e.span.label
    return ["bias", f"rule={rule}", f"rule={rule}|{label}", f"label={label}", f"side={side}",
            f"gap={_bucket(gap)}", f"side|gap={side}|{_bucket(gap)}", f"side|label={side}|{label}",
            f"trigs_between={_bucket(sum(lo <= x.a < hi for x in trigs if x is not t))}",
            f"ents_between={_bucket(sum(lo <= x.a < hi for x in ents if x is not e))}",
            f"prev={prev}", f"prev|side={prev}|{side}", f"nearest={nearest}", f"nearest|rule={nearest}|{rule}",
            f"verbal={is_verbal(t.text)}|{side}", f"passive={is_passive(t.text)}|{side}",
            f"type={t.span.label}|{side}", f"title={_is_title(ents, i)}"]


def _pairs(text: str, entities: Sequence[Span], triggers: Sequence[Span], words: Sequence[Word] | None = None):
    """Every (trigger, entity) pair of a sentence with its features."""
    words = list(words) if words is not None else tokenize(text)
    low = [w.text.lower() for w in words]
    for ents, trigs in _sentences(text, entities, triggers, words):
        rules = {(r.trigger_id, r.entity_id): r.role for r in _link_sentence(ents, trigs, words, low)}
        for t in trigs:
            for i, e in enumerate(ents):
                rule = rules.get((t.span.id, e.span.id), "none")
                yield t.span, e.span, _pair_features(t, e, i, ents, trigs, low, rule)


class LearnedLinker:
    """A log-linear classifier over (trigger, entity) pairs of a sentence (none or a role),
    with the rules' answer among its features: it learns where the rules go wrong."""

    def __init__(self, weights: dict[str, list[float]]):
        self.weights = weights

    def __call__(self, text: str, entities: Sequence[Span], triggers: Sequence[Span],
                 words: Sequence[Word] | None = None) -> list[Relation]:
        out = []
        for t, e, feats in _pairs(text, entities, triggers, words):
            scores = [0.0] * len(LINK_CLASSES)
            for f in feats:
                for k, w in enumerate(self.weights.get(f, ())):
                    scores[k] += w
            allowed = [0] + [k for k, role in enumerate(LINK_CLASSES) if k and e.label in ROLE_TARGETS[role]]
            best = max(allowed, key=lambda k: scores[k])
            if best:
                out.append(Relation(t.id, e.id, LINK_CLASSES[best]))
        return out

    def to_json(self) -> dict:
        return {"classes": list(LINK_CLASSES), "weights": self.weights}

    @staticmethod
    def is_file(path: Path) -> bool:
        """Whether ``path`` holds a linker of :meth:`to_json` (what ``linker fit --overwrite`` may replace)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and tuple(data.get("classes", ())) == LINK_CLASSES

    @classmethod
    def from_json(cls, data: dict) -> "LearnedLinker":
        if tuple(data.get("classes", ())) != LINK_CLASSES:
            raise ValueError(f"linker classes {data.get('classes')} are not {list(LINK_CLASSES)}")
        return cls(data["weights"])


def fit_linker(documents: Sequence[Document], l2: float = 1.0, steps: int = 300, lr: float = 0.5) -> LearnedLinker:
    """Fit a :class:`LearnedLinker` on gold relations (softmax regression, L2, full-batch
    gradient descent: a few thousand pairs train in well under a second)."""
    import numpy as np

    rows, labels, vocab = [], [], {}
    for doc in documents:
        gold = {(r.trigger_id, r.entity_id): r.role for r in doc.relations}
        for t, e, feats in _pairs(doc.text, doc.entities, doc.triggers):
            rows.append([vocab.setdefault(f, len(vocab)) for f in feats])
            labels.append(LINK_CLASSES.index(gold.get((t.id, e.id), "none")))
    x = np.zeros((len(rows), len(vocab)), dtype=np.float64)
    for r, idx in enumerate(rows):
        x[r, idx] = 1.0
    y = np.eye(len(LINK_CLASSES))[labels]
    w = np.zeros((len(vocab), len(LINK_CLASSES)))
    n = max(len(rows), 1)
    for _ in range(steps):
        z = x @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = x.T @ (p - y) / n + l2 * w / n
        w -= lr * grad
    names = sorted(vocab, key=vocab.get)
    return LearnedLinker({f: [round(float(v), 5) for v in w[vocab[f]]] for f in names})


def cross_validate_linker(documents: Sequence[Document], **fit_kwargs) -> dict:
    """Leave-one-article-out argument scores of the rules and of the learned linker (trained
    on the other articles each time), with :func:`evaluate_linker`'s measures."""
    by_id = {d.doc_id: d for d in documents}
    rules, learned = LinkScores(), LinkScores()
    for fold in kfold(list(by_id), dev=False):
        model = fit_linker([by_id[i] for i in fold.train], **fit_kwargs)
        for doc_id in fold.test:
            doc = by_id[doc_id]
            score_relations(doc.relations, link_rules(doc.text, doc.entities, doc.triggers), rules)
            score_relations(doc.relations, model(doc.text, doc.entities, doc.triggers), learned)
    return {"rules": rules.to_dict(), "learned": learned.to_dict(), "folds": len(by_id)}


# --- evaluation ---------------------------------------------------------------------------------
@dataclass
class LinkScores:
    """Argument identification / classification counts, overall and per role."""

    gold: int = 0
    predicted: int = 0
    identified: int = 0  # (trigger, entity) pair correct
    classified: int = 0  # pair and role correct
    per_role: dict[str, Counter] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "gold": self.gold, "predicted": self.predicted,
            "identification": prf(self.identified, self.gold, self.predicted, digits=4),
            "classification": prf(self.classified, self.gold, self.predicted, digits=4),
            "per_role": {role: {**prf(c["tp"], c["gold"], c["pred"], digits=4), "gold": c["gold"], "predicted": c["pred"]}
                         for role, c in sorted(self.per_role.items())},
        }


def score_relations(gold: Iterable[Relation], predicted: Iterable[Relation], scores: LinkScores | None = None) -> LinkScores:
    """Add one article's gold and predicted relations to ``scores``.

    >>> g = [Relation("t1", "e1", "actor"), Relation("t1", "e2", "place")]
    >>> p = [Relation("t1", "e1", "actor"), Relation("t1", "e2", "recipient")]
    >>> s = score_relations(g, p).to_dict()
    >>> s["identification"]["f1"], s["classification"]["f1"]
    (1.0, 0.5)
    """
    scores = scores or LinkScores()
    gold_set = {(r.trigger_id, r.entity_id, r.role) for r in gold}
    pred_set = {(r.trigger_id, r.entity_id, r.role) for r in predicted}
    gold_pairs = {(t, e) for t, e, _ in gold_set}
    scores.gold += len(gold_set)
    scores.predicted += len(pred_set)
    # A pair counts once even if (wrongly) given two roles; gold has one role per pair.
    scores.identified += len({(t, e) for t, e, _ in pred_set} & gold_pairs)
    scores.classified += len(pred_set & gold_set)
    for role in ROLES:
        c = scores.per_role.setdefault(role, Counter())
        g = {x for x in gold_set if x[2] == role}
        p = {x for x in pred_set if x[2] == role}
        c["gold"] += len(g)
        c["pred"] += len(p)
        c["tp"] += len(g & p)
    return scores


def evaluate_linker(documents: Sequence[Document], linker: Linker = link_rules) -> dict:
    """Argument P/R/F1 of ``linker`` on gold triggers and gold entities of ``documents``:
    identification (trigger-entity pair) and classification (pair and role), overall, per
    role and per article."""
    total = LinkScores()
    per_article = {}
    for doc in documents:
        pred = linker(doc.text, doc.entities, doc.triggers)
        score_relations(doc.relations, pred, total)
        per_article[doc.doc_id] = score_relations(doc.relations, pred).to_dict()["classification"]
    return {**total.to_dict(), "per_article": per_article}


def report(documents: Sequence[Document], linker: Linker = link_rules) -> str:
    """A short text table of :func:`evaluate_linker`, for the command line and notebooks."""
    r = evaluate_linker(documents, linker)
    lines = [f"arguments on gold triggers: {r['gold']} gold, {r['predicted']} predicted",
             f"{'':16}{'P':>8}{'R':>8}{'F1':>8}"]
    for name in ("identification", "classification"):
        m = r[name]
        lines.append(f"{name:16}{m['precision']:8.3f}{m['recall']:8.3f}{m['f1']:8.3f}")
    for role, m in r["per_role"].items():
        lines.append(f"  {role:14}{m['precision']:8.3f}{m['recall']:8.3f}{m['f1']:8.3f}   (gold {m['gold']}, predicted {m['predicted']})")
    return "\n".join(lines)


def cross_validation_report(documents: Sequence[Document]) -> str:
    """Leave-one-article-out comparison of the rules and the learned linker, as a text table."""
    r = cross_validate_linker(documents)
    lines = [f"leave-one-article-out over {r['folds']} articles, arguments on gold triggers "
             f"({r['rules']['gold']} gold):", f"{'':28}{'P':>8}{'R':>8}{'F1':>8}"]
    for name in ("rules", "learned"):
        for measure in ("identification", "classification"):
            m = r[name][measure]
            lines.append(f"{name + ' ' + measure:28}{m['precision']:8.3f}{m['recall']:8.3f}{m['f1']:8.3f}")
    return "\n".join(lines)
