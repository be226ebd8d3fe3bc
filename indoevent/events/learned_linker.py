"""The learned linker: a log-linear classifier over the (trigger, entity) pairs of a sentence,
with the rule linker's answer among its features (:mod:`.link_features`), fitted on gold
relations (:func:`fit_linker`). Each pair gets the role that scores best (or none); then each
trigger keeps one group of actors and one of recipients (:func:`one_group`). Pure Python, numpy
and scipy.sparse for the fit: no torch import.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from ..document import Document, Relation, Span, span_id
from ..schema import ROLE_TARGETS, ROLES
from ..text.sentences import SentenceIndex, split_sentences
from ..text.tokenize import Word, tokenize
from .link_features import Sentence, pair_features
from .linking import _Ent, _joined, _link_sentence, _sentences

LINK_CLASSES: tuple[str, ...] = ("none",) + ROLES
# The version of :func:`.link_features.pair_features`' templates that a linker file's weights are
# for: weights of another version name other features and would link at random, so they are refused.
FEATURES = 2
# Roles that one trigger gives to one group of entities at most (a list joined by "dan" or commas).
ONE_GROUP_ROLES = ("actor", "recipient")


def _pairs(text: str, entities: Sequence[Span], triggers: Sequence[Span],
           words: Sequence[Word] | None = None) -> Iterator[tuple[Sentence, _Ent, list[list[str]]]]:
    """Per trigger of a sentence that has entities: the sentence, the trigger and the features of
    the trigger with each of the sentence's entities (:func:`.link_features.pair_features`)."""
    words = list(words) if words is not None else tokenize(text)
    low = [w.text.lower() for w in words]
    starts = [w.start for w in words]
    sentences = split_sentences(text)
    which = SentenceIndex(sentences)
    for ents, trigs in _sentences(text, entities, triggers, words):
        rules = {(r.trigger_id, r.entity_id): r.role for r in _link_sentence(ents, trigs, words, low)}
        first = min(ents[0].span.start, trigs[0].span.start)
        sentence = Sentence(ents, trigs, low, bisect_left(starts, sentences[which(first)][0]), rules)
        for t in trigs:
            yield sentence, t, [pair_features(sentence, t, i) for i in range(len(ents))]


def one_group(ents: Sequence[_Ent], low: Sequence[str], chosen: Mapping[int, tuple[str, float]]) -> dict[int, str]:
    """One trigger's roles after the rule that it has one group of actors and one of recipients:
    ``chosen`` maps an entity's index to its best role and that role's margin over none; of the
    entities with an actor (recipient) role, those joined into one list (``Putin dan Kim``) form a
    group, and only the group with the highest margin keeps the role (the guideline's "X dan Y"
    makes both actors; a speaker or a second clause's subject is another group). Measured by
    cross-validation by story: more precision than the recall it costs (README, Event frames).

    >>> low = "putin dan kim bertemu xi , kata trump".split()
    >>> ents = [_Ent(None, a, a + 1, low[a]) for a in (0, 2, 4, 7)]  # type: ignore[arg-type]
    >>> one_group(ents, low, {0: ("actor", 2.0), 1: ("actor", 1.5), 2: ("recipient", 1.0), 3: ("actor", 0.3)})
    {0: 'actor', 1: 'actor', 2: 'recipient'}
    """
    out = {i: role for i, (role, _) in chosen.items() if role not in ONE_GROUP_ROLES}
    for role in ONE_GROUP_ROLES:
        members = sorted(i for i, (r, _) in chosen.items() if r == role)
        groups: list[list[int]] = []
        for i in members:
            if groups and groups[-1][-1] == i - 1 and _joined(ents[i - 1], ents[i], low):
                groups[-1].append(i)
            else:
                groups.append([i])
        if groups:
            out |= {i: role for i in max(groups, key=lambda g: max(chosen[i][1] for i in g))}
    return dict(sorted(out.items()))


class LearnedLinker:
    """A log-linear classifier over (trigger, entity) pairs of a sentence (none or a role),
    with the rules' answer among its features: it learns where the rules go wrong."""

    def __init__(self, weights: dict[str, list[float]], none_margin: float = 0.0):
        self.weights = weights
        # A pair gets a role when the role's score is within this margin of "none"'s: pairs are mostly
        # "none", so the plain argmax under-predicts (CV by story, features v1: P 0.70, R 0.59 at 0;
        # features v2 with one group per role: P 0.71, R 0.63 at 0.5, P 0.69, R 0.66 at 1).
        self.none_margin = none_margin

    def __call__(self, text: str, entities: Sequence[Span], triggers: Sequence[Span],
                 words: Sequence[Word] | None = None) -> list[Relation]:
        out = []
        for sentence, t, rows in _pairs(text, entities, triggers, words):
            chosen = {}
            for i, feats in enumerate(rows):
                role, margin = self.classify(feats, sentence.ents[i].span.label)
                if role != "none":
                    chosen[i] = (role, margin)
            out += [Relation(span_id(t.span), span_id(sentence.ents[i].span), role)
                    for i, role in one_group(sentence.ents, sentence.low, chosen).items()]
        return out

    def classify(self, features: Sequence[str], label: str) -> tuple[str, float]:
        """The best class of a pair (``none`` or a role that ``label`` may fill) and its score's
        margin over none's."""
        scores = [-self.none_margin] + [0.0] * (len(LINK_CLASSES) - 1)
        for f in features:
            for k, w in enumerate(self.weights.get(f, ())):
                scores[k] += w
        allowed = [0] + [k for k, role in enumerate(LINK_CLASSES) if k and label in ROLE_TARGETS[role]]
        best = max(allowed, key=lambda k: scores[k])
        return LINK_CLASSES[best], scores[best] - scores[0]

    def to_json(self) -> dict:
        return {"classes": list(LINK_CLASSES), "features": FEATURES, "none_margin": self.none_margin,
                "weights": self.weights}

    def dumps(self, **about) -> str:
        """:meth:`to_json` (plus ``about``, e.g. what it was fitted on) as JSON text with one feature
        per line, so that a refitted linker's diff stays readable."""
        head = json.dumps({k: v for k, v in self.to_json().items() if k != "weights"} | about, ensure_ascii=False)
        lines = ",\n".join(f"{json.dumps(f, ensure_ascii=False)}: {json.dumps(w)}" for f, w in self.weights.items())
        return f'{head[:-1]}, "weights": {{\n{lines}\n}}}}\n'

    @staticmethod
    def is_file(path: Path) -> bool:
        """Whether ``path`` holds a linker of :meth:`to_json` (what ``linker fit --overwrite`` may replace)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and tuple(data.get("classes", ())) == LINK_CLASSES

    @classmethod
    def from_json(cls, data: dict) -> LearnedLinker:
        """The linker of a :meth:`to_json` dict; a ValueError for other classes or another feature
        set (a file written before features version 2 has no ``features`` field)."""
        if tuple(data.get("classes", ())) != LINK_CLASSES:
            raise ValueError(f"linker classes {data.get('classes')} are not {list(LINK_CLASSES)}")
        if data.get("features", 1) != FEATURES:
            raise ValueError(f"linker weights for features version {data.get('features', 1)}, this indoevent "
                             f"computes version {FEATURES}: refit it with `indoevent linker fit EXPORT --splits "
                             f"SPLITS --out RUN/linker.json --overwrite` (or use --linker rules)")
        return cls(data["weights"], float(data.get("none_margin", 0.0)))

    @classmethod
    def load(cls, path: Path) -> LearnedLinker:
        """The linker written to ``path`` by ``indoevent linker fit``; a ValueError naming the file
        if it is not one, or is one of an older feature set."""
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"{path}: not a linker of this indoevent: {e}") from e


def fit_linker(documents: Sequence[Document], l2: float = 1.0, steps: int = 300, lr: float = 0.5,
               momentum: float = 0.9, none_margin: float = 1.0) -> LearnedLinker:
    """Fit a :class:`LearnedLinker` on gold relations (softmax regression, L2, full-batch gradient
    descent with momentum: the corpus' few thousand pairs train in about a second). ``l2``,
    ``momentum`` and ``none_margin`` were chosen by cross-validation by story over the corpus'
    train and dev articles (plain descent stopped short: 0.62 F1 against 0.64; with features v2 and
    :func:`one_group`, margin 0.5 / 0.75 / 1 / 1.25: 0.668 / 0.668 / 0.672 / 0.668; l2 0.3 / 1 / 2
    at margin 0.5 before :func:`one_group`: 0.655 / 0.664 / 0.664; L-BFGS to convergence instead of
    300 steps: within 0.003)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    rows: list[list[int]] = []
    labels: list[int] = []
    vocab: dict[str, int] = {}
    for doc in documents:
        gold = {(r.trigger_id, r.entity_id): r.role for r in doc.relations}
        for sentence, t, pairs in _pairs(doc.text, doc.entities, doc.triggers):
            for e, feats in zip(sentence.ents, pairs, strict=True):
                rows.append([vocab.setdefault(f, len(vocab)) for f in feats])
                labels.append(LINK_CLASSES.index(gold.get((span_id(t.span), span_id(e.span)), "none")))
    # A sparse binary design matrix (pairs x features; each pair has one feature per template): a
    # dense one grows with the vocabulary of words (tens of MB on the corpus), and an index array's
    # gather and bincount were 4x slower.
    k = len(rows[0]) if rows else 0
    x = csr_matrix((np.ones(len(rows) * k), np.asarray(rows, dtype=np.int64).ravel(), np.arange(len(rows) + 1) * k),
                   shape=(len(rows), len(vocab)))
    y = np.eye(len(LINK_CLASSES))[labels]
    w = np.zeros((len(vocab), len(LINK_CLASSES)))
    n = max(len(rows), 1)
    velocity: np.ndarray = np.zeros_like(w)  # momentum: plain descent stops short in 300 steps
    for _ in range(steps):
        z = x @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = x.T @ (p - y)
        velocity = momentum * velocity - lr * (grad / n + l2 * w / n)
        w += velocity
    names = sorted(vocab, key=vocab.__getitem__)
    return LearnedLinker({f: [round(float(v), 5) for v in w[vocab[f]]] for f in names}, none_margin)
