"""The learned linker: a log-linear classifier over the (trigger, entity) pairs of a sentence,
with the rule linker's answer among its features, fitted on gold relations (:func:`fit_linker`).
Pure Python and numpy: no torch import.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..document import Document, Relation, Span
from ..schema import ROLE_TARGETS, ROLES
from ..text.tokenize import Word, tokenize
from .linking import (
    JOINERS,
    PASSIVE_MARKERS,
    PLACE_MARKERS,
    RECIPIENT_MARKERS,
    _Ent,
    _is_title,
    _link_sentence,
    _sentences,
    is_passive,
    is_verbal,
)

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
        rules: dict[tuple[str | None, str | None], str] = {(r.trigger_id, r.entity_id): r.role
                                                          for r in _link_sentence(ents, trigs, words, low)}
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
    def from_json(cls, data: dict) -> LearnedLinker:
        if tuple(data.get("classes", ())) != LINK_CLASSES:
            raise ValueError(f"linker classes {data.get('classes')} are not {list(LINK_CLASSES)}")
        return cls(data["weights"])


def fit_linker(documents: Sequence[Document], l2: float = 1.0, steps: int = 300, lr: float = 0.5) -> LearnedLinker:
    """Fit a :class:`LearnedLinker` on gold relations (softmax regression, L2, full-batch
    gradient descent: a few thousand pairs train in well under a second)."""
    import numpy as np

    rows: list[list[int]] = []
    labels: list[int] = []
    vocab: dict[str, int] = {}
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
    names = sorted(vocab, key=vocab.__getitem__)
    return LearnedLinker({f: [round(float(v), 5) for v in w[vocab[f]]] for f in names})
