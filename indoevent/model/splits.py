"""Deterministic splits by article: k-fold, leave-one-article-out when k equals the number of articles.

Splitting by article (never by window or sentence) keeps every word of an article on one side,
so test scores are not inflated by a near-copy of a headline in training.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


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


@dataclass(frozen=True)
class FrozenSplits:
    """A committed split (``annotations/corpus/splits.json``): train/dev/test ids by story, and the
    cross-validation parts (each a list of whole stories) over the train and dev articles."""

    train: tuple[str, ...]
    dev: tuple[str, ...]
    test: tuple[str, ...]
    parts: tuple[tuple[str, ...], ...]

    def folds(self) -> list[Fold]:
        """One fold per part: test on it, stop early on the next part, train on the rest (as ``kfold``)."""
        k = len(self.parts)
        if k < 3:
            raise ValueError(f"cross-validation by story needs at least 3 parts, the splits file has {k}")
        return [Fold(i, tuple(sorted(x for j, p in enumerate(self.parts) if j not in (i, (i + 1) % k) for x in p)),
                     tuple(sorted(self.parts[(i + 1) % k])), tuple(sorted(self.parts[i]))) for i in range(k)]


def load_splits(path: str | Path) -> FrozenSplits:
    """Read a splits file: ``{"train": [...], "dev": [...], "test": [...], "folds": [[...], ...]}``.
    Raises ValueError naming the file when an article is in two places or a fold holds a test article."""
    path = Path(path)
    raw = _read_json(path)
    wanted = f"{path}: not a splits file: expected {{\"train\": [...], \"dev\": [...], \"test\": [...]}}"
    if not isinstance(raw, dict):
        raise ValueError(f"{wanted}, found a JSON {type(raw).__name__}")
    missing = [k for k in ("train", "dev", "test") if not isinstance(raw.get(k), list)]
    if missing:
        raise ValueError(f"{wanted}; {', '.join(missing)} is missing or not a list")
    folds_raw = raw.get("folds", [])
    if not isinstance(folds_raw, list) or not all(isinstance(f, list) for f in folds_raw):
        raise ValueError(f"{path}: 'folds' must be a list of lists of article ids")
    if not all(isinstance(x, str) for part in (*[raw[k] for k in ("train", "dev", "test")], *folds_raw) for x in part):
        raise ValueError(f"{path}: article ids must be strings (e.g. \"000_ecb91a2b1942d157\")")
    parts = {k: tuple(raw[k]) for k in ("train", "dev", "test")}
    folds = tuple(tuple(f) for f in folds_raw)
    seen: dict[str, str] = {}
    for name, ids in parts.items():
        for x in ids:
            if x in seen:
                raise ValueError(f"{path}: article {x} is in {seen[x]} and in {name}")
            seen[x] = name
    in_folds = [x for f in folds for x in f]
    if folds and sorted(in_folds) != sorted(parts["train"] + parts["dev"]):
        raise ValueError(f"{path}: the folds must hold each train and dev article once (and no test article)")
    return FrozenSplits(parts["train"], parts["dev"], parts["test"], folds)


def _read_json(path: Path) -> object:
    """The JSON of a splits file, or a one-line ValueError naming it (missing, a folder, not UTF-8, not JSON)."""
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give the splits file (e.g. {path / 'splits.json'})")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the splits file: {e.strerror or e}") from None
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 (byte {e.start}: {data[e.start:e.start + 1]!r}); "
                         "convert it to UTF-8") from None
    except ValueError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
