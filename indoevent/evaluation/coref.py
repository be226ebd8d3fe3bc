"""Coreference scores for event clusters: MUC, B³, CEAF-e, their mean (CoNLL F1) and pairwise links.

A *key* (the gold events) and a *response* (what ``merge`` made) are lists of clusters of hashable
mentions; in indoevent a mention is ``(article id, start, end)`` of its trigger, so a predicted
mention matches a gold one on the exact trigger span. Every mention is in some cluster: an
unmerged mention is a singleton. Mentions of the response the key lacks (spurious triggers) and
of the key the response lacks (missed triggers) are scored as the CoNLL reference scorer
(conll/reference-coreference-scorers, v8) scores them; ``tests/test_coref.py`` reproduces its
published test cases. A mention listed twice keeps its first cluster, as that scorer's
de-duplication does. Precision, recall and F1 come from the package's one ``scores.prf``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import combinations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..scores import prf

Cluster = Sequence[Hashable]
METRICS = ("muc", "bcub", "ceafe")


def dedup(clusters: Sequence[Cluster]) -> list[list[Hashable]]:
    """Clusters without repeated mentions (a mention stays in its first cluster) and without empty ones.

    >>> dedup([["Putin", "ia"], ["ia", "Kim"], ["ia"]])
    [['Putin', 'ia'], ['Kim']]
    """
    seen: set[Hashable] = set()
    out = []
    for c in clusters:
        kept = [m for m in dict.fromkeys(c) if m not in seen]
        seen.update(kept)
        if kept:
            out.append(kept)
    return out


def _owner(clusters: list[list[Hashable]]) -> dict[Hashable, int]:
    return {m: i for i, c in enumerate(clusters) for m in c}


def _muc_side(key: list[list[Hashable]], response: list[list[Hashable]]) -> tuple[int, int]:
    """MUC's recall numerator and denominator (swap the arguments for precision): each cluster of
    ``key`` needs ``|K| - 1`` links; it keeps ``|K| - |parts|`` of them, where the parts are the
    response clusters it falls in, a mention the response lacks being a part of its own."""
    owner = _owner(response)
    num = den = 0
    for c in key:
        parts = {owner.get(m, ("missing", m)) for m in c}
        num += len(c) - len(parts)
        den += len(c) - 1
    return num, den


def muc(key: Sequence[Cluster], response: Sequence[Cluster]) -> dict:
    """MUC (Vilain et al. 1995): links kept and links made. Singletons carry no link, so a key of
    singletons only scores 0.

    >>> muc([["a", "b", "c"]], [["a", "b"], ["c"]])["recall"]
    0.5
    """
    k, r = dedup(key), dedup(response)
    r_num, r_den = _muc_side(k, r)
    p_num, p_den = _muc_side(r, k)
    return prf(r_num, r_den, p_den, tp_pred=p_num)


def _overlaps(k: list[list[Hashable]], r: list[list[Hashable]]) -> np.ndarray:
    owner = _owner(r)
    table = np.zeros((len(k), len(r)))
    for i, c in enumerate(k):
        for m in c:
            if m in owner:
                table[i, owner[m]] += 1
    return table


def bcub(key: Sequence[Cluster], response: Sequence[Cluster]) -> dict:
    """B³ (Bagga and Baldwin 1998): per mention, how much of its cluster the other side shares.

    >>> round(bcub([["a", "b"]], [["a"], ["b"]])["recall"], 2)
    0.5
    """
    k, r = dedup(key), dedup(response)
    table = _overlaps(k, r)
    sizes_k = np.array([len(c) for c in k], dtype=float)
    sizes_r = np.array([len(c) for c in r], dtype=float)
    recall_num = float((table ** 2 / sizes_k[:, None]).sum()) if k and r else 0.0
    precision_num = float((table ** 2 / sizes_r[None, :]).sum()) if k and r else 0.0
    return prf(recall_num, float(sizes_k.sum()), float(sizes_r.sum()), tp_pred=precision_num)


def ceafe(key: Sequence[Cluster], response: Sequence[Cluster]) -> dict:
    """Entity-based CEAF (Luo 2005): the best one-to-one alignment of clusters, each pair worth
    ``2|K∩R| / (|K| + |R|)``.

    >>> ceafe([["a", "b"]], [["a", "b"]])["f1"]
    1.0
    """
    k, r = dedup(key), dedup(response)
    if not k or not r:
        return prf(0, len(k), len(r))
    table = _overlaps(k, r)
    sizes = np.array([len(c) for c in k])[:, None] + np.array([len(c) for c in r])[None, :]
    phi = 2 * table / sizes
    rows, cols = linear_sum_assignment(phi, maximize=True)
    similarity = float(phi[rows, cols].sum())
    return prf(similarity, len(k), len(r))


def _links(clusters: list[list[Hashable]]) -> set[frozenset]:
    return {frozenset(pair) for c in clusters for pair in combinations(c, 2)}


def pairwise(key: Sequence[Cluster], response: Sequence[Cluster]) -> dict:
    """Pairwise links: of the mention pairs the response joins, how many the key joins too.

    >>> pairwise([["a", "b", "c"]], [["a", "b"], ["c"]])["precision"]
    1.0
    """
    k, r = _links(dedup(key)), _links(dedup(response))
    return prf(len(k & r), len(k), len(r))


def coref_scores(key: Sequence[Cluster], response: Sequence[Cluster]) -> dict[str, dict]:
    """MUC, B³, CEAF-e, CoNLL F1 (their F1s' mean) and pairwise links of ``response`` against ``key``."""
    out = {"muc": muc(key, response), "bcub": bcub(key, response), "ceafe": ceafe(key, response)}
    out["conll"] = {"f1": sum(out[m]["f1"] for m in METRICS) / len(METRICS)}
    out["pairwise"] = pairwise(key, response)
    return out
