"""Deterministic splits by article: k-fold, leave-one-article-out when k equals the number of articles.

Splitting by article (never by window or sentence) keeps every word of an article on one side,
so test scores are not inflated by a near-copy of a headline in training.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Fold:
    """One fold: disjoint article ids for training, early stopping (dev) and test."""

    index: int
    train: tuple[str, ...]
    dev: tuple[str, ...]
    test: tuple[str, ...]


def kfold(doc_ids: Sequence[str], k: int | None = None, seed: int = 0, dev: bool = True) -> list[Fold]:
    """Split articles into ``k`` folds (``None``: one per article). Each fold tests on one part;
    with ``dev`` the next part is its dev set and the rest trains. The same ids, k and seed
    always give the same folds, whatever order the ids come in.

    >>> [f.test for f in kfold(["a", "b", "c"])]
    [('a',), ('b',), ('c',)]
    >>> kfold(["a", "b", "c"])[2].dev
    ('a',)
    """
    ids = sorted(set(doc_ids))
    if len(ids) != len(doc_ids):
        raise ValueError("article ids must be unique")
    k = len(ids) if k is None else k
    if not 2 <= k <= len(ids):
        raise ValueError(f"k must be between 2 and the number of articles ({len(ids)}), got {k}")
    if dev and k < 3:
        raise ValueError("a dev part needs k >= 3 (one part to test, one to stop early, the rest to train)")
    order = ids if k == len(ids) else random.Random(seed).sample(ids, len(ids))
    parts = [tuple(sorted(order[i::k])) for i in range(k)]
    folds = []
    for i in range(k):
        held_out = {i, (i + 1) % k} if dev else {i}
        train = tuple(x for j, p in enumerate(parts) if j not in held_out for x in p)
        folds.append(Fold(i, tuple(sorted(train)), parts[(i + 1) % k] if dev else (), parts[i]))
    return folds
