"""Overlapping sub-word windows over an article, identical in training and inference.

Windows are cut at word edges (a word is never split across two windows), hold at most
``max_length`` sub-words with the special tokens, and overlap by up to ``overlap``
sub-words so that every word is seen with context on both sides in some window.
Only the first sub-word of a word carries its label. No torch or transformers import:
the tokenizer is passed in.

:class:`WordPieces` remembers each word's sub-words, so an article costs the fast tokenizer
only its words not seen before: the same ids, fewer calls (see its docstring for why that is
exact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Window:
    """Sub-word ids of words ``[first_word, last_word)`` with the model's special tokens."""

    first_word: int
    last_word: int
    input_ids: list[int]
    word_ids: list[int | None]  # article word index per position; None for special tokens

    def first_subword_positions(self) -> list[tuple[int, int]]:
        """``(position, word index)`` of each word's first sub-word in this window."""
        out, prev = [], None
        for pos, w in enumerate(self.word_ids):
            if w is not None and w != prev:
                out.append((pos, w))
            prev = w
        return out


def plan_windows(counts: Sequence[int] | np.ndarray, budget: int, overlap: int) -> list[tuple[int, int]]:
    """Word ranges ``[a, b)`` covering all words, each of at most ``budget`` sub-words
    (a single longer word gets a window of its own and is truncated), consecutive ones
    sharing up to ``overlap`` sub-words.

    >>> plan_windows([1, 1, 1, 1, 1], budget=3, overlap=1)
    [(0, 3), (2, 5)]
    >>> plan_windows([2, 5, 1], budget=3, overlap=0)
    [(0, 1), (1, 2), (2, 3)]
    """
    if budget < 1 or overlap < 0 or overlap >= budget:
        raise ValueError(f"need 0 <= overlap < budget, got overlap={overlap}, budget={budget}")
    n = len(counts)
    # cum[i]: sub-words before word i, so words [a, b) hold cum[b] - cum[a] sub-words. Counts are
    # never negative, so "the most words that fit" and "the fewest words to share" are binary searches.
    cum = np.concatenate(([0], np.cumsum(np.asarray(counts, dtype=np.int64))))
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < n:
        end = max(int(np.searchsorted(cum, cum[start] + budget, side="right")) - 1, start + 1)
        ranges.append((start, end))
        if end >= n:
            break
        start = max(int(np.searchsorted(cum, cum[end] - overlap, side="left")), start + 1)
    return ranges


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids a model puts before and after a sequence ([CLS]/[SEP] for BERT, <s>/</s> for XLM-R)."""
    enc = tokenizer(["x"], is_split_into_words=True, add_special_tokens=True)
    ids, wids = enc["input_ids"], enc.word_ids()
    first = wids.index(0)
    last = len(wids) - 1 - wids[::-1].index(0)
    return list(ids[:first]), list(ids[last + 1 :])


def encode_windows(tokenizer: Any, words: Sequence[str], max_length: int, overlap: int,
                   specials: tuple[list[int], list[int]] | None = None,
                   pieces: WordPieces | None = None) -> list[Window]:
    """Tokenise an article's words once (through ``pieces`` when given: the same ids) and cut the
    sub-words into windows."""
    if not words:
        return []
    prefix, suffix = specials or special_tokens(tokenizer)
    ids, wids = (pieces or WordPieces(tokenizer, memo=False)).encode(words)
    counts = np.bincount(wids, minlength=len(words))
    # Where each word's sub-words begin (word ids never decrease); a word without sub-words (only
    # characters the tokenizer drops) begins where the next word does, and "word n" at the end.
    first_pos = np.searchsorted(wids, np.arange(len(words) + 1), side="left")
    budget = max_length - len(prefix) - len(suffix)
    windows = []
    for a, b in plan_windows(counts, budget, overlap):
        lo, hi = int(first_pos[a]), int(first_pos[b])
        hi = min(hi, lo + budget)  # truncates only a single over-long word
        windows.append(Window(a, b, prefix + ids[lo:hi].tolist() + suffix,
                              [None] * len(prefix) + wids[lo:hi].tolist() + [None] * len(suffix)))
    return windows


def best_window(windows: Sequence[Window], n_words: int) -> list[int]:
    """For each word, the window in which it is furthest from an edge (-1 if in none).

    >>> ws = [Window(0, 3, [], []), Window(2, 5, [], [])]
    >>> best_window(ws, 5)
    [0, 0, 0, 1, 1]
    """
    best = np.full(n_words, -1, dtype=np.int64)
    margin = np.full(n_words, -1, dtype=np.int64)
    for k, w in enumerate(windows):
        i = np.arange(w.first_word, w.last_word)
        m = np.minimum(i - w.first_word, w.last_word - 1 - i)
        better = m > margin[w.first_word : w.last_word]  # strictly: on a tie the earlier window keeps it
        best[i[better]], margin[i[better]] = k, m[better]
    return best.tolist()


class WordPieces:
    """Each word's sub-word ids, remembered: an article calls the tokenizer only for words it has
    not met before.

    Exact, not an approximation: on pre-split words (``is_split_into_words``) the fast tokenizer
    normalises, pre-tokenises and cuts every word on its own and concatenates the results, so a
    word's ids do not depend on its neighbours. The constructor checks that on a probe (the words
    in two orders) and falls back to one tokenizer call per article where it fails. Why: at the
    offline model's size the tokenizer was 15% of prediction time (about 3 us a word, growing
    faster than the word count on long articles); a look-up costs a tenth of that, and news
    repeats most of its words. At most ``max_words`` words are kept (then it starts afresh).
    ``encode(["Presiden", "Jokowi", "Presiden"])`` tokenises "Presiden" once.
    """

    PROBE = ("Presiden", "Jokowi", ",", "perangnya", "e\u0301", "\U0001f600", "10.000", "Jum'at", "xyzzyq")

    def __init__(self, tokenizer: Any, max_words: int = 100_000, memo: bool = True):
        self.tokenizer = tokenizer
        self.max_words = max_words
        self.memo: dict[str, list[int]] | None = None
        if memo and self._split_alone(self.PROBE) == self._split_alone(self.PROBE[::-1])[::-1]:
            self.memo = {}

    def _split_alone(self, words: Sequence[str]) -> list[list[int]]:
        """The ids of each word, from one tokenizer call over all of them."""
        ids, wids = self._call(words)
        out: list[list[int]] = [[] for _ in words]
        for i, w in zip(ids.tolist(), wids.tolist(), strict=True):
            out[w].append(i)
        return out

    def _call(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        enc = self.tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
        return np.asarray(enc["input_ids"], dtype=np.int64), np.asarray(enc.word_ids(), dtype=np.int64)

    def encode(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sub-word ids of ``words`` and, per sub-word, the index of its word (never decreasing)."""
        if self.memo is None:
            return self._call(words)
        memo = self.memo
        # A local copy, read with get: another thread (serve) may clear memo in between.
        known = {w: p for w in set(words) if (p := memo.get(w)) is not None}
        new = [w for w in dict.fromkeys(words) if w not in known]
        if new:
            fresh = dict(zip(new, self._split_alone(new), strict=True))
            if len(memo) + len(fresh) > self.max_words:
                memo.clear()
            memo.update(fresh)
            known.update(fresh)
        per_word = [known[w] for w in words]
        ids = np.fromiter(chain.from_iterable(per_word), dtype=np.int64)
        wids = np.repeat(np.arange(len(per_word), dtype=np.int64), [len(p) for p in per_word])
        return ids, wids
