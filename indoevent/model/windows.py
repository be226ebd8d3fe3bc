"""Overlapping sub-word windows over an article, identical in training and inference.

Windows are cut at word edges (a word is never split across two windows), hold at most
``max_length`` sub-words with the special tokens, and overlap by up to ``overlap``
sub-words so that every word is seen with context on both sides in some window.
Only the first sub-word of a word carries its label. No torch or transformers import:
the tokenizer is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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


def plan_windows(counts: Sequence[int], budget: int, overlap: int) -> list[tuple[int, int]]:
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
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < n:
        end, total = start, 0
        while end < n and total + counts[end] <= budget:
            total += counts[end]
            end += 1
        end = max(end, start + 1)
        ranges.append((start, end))
        if end >= n:
            break
        nxt, shared = end, 0
        while nxt - 1 > start and shared + counts[nxt - 1] <= overlap:
            nxt -= 1
            shared += counts[nxt]
        start = nxt
    return ranges


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids a model puts before and after a sequence ([CLS]/[SEP] for BERT, <s>/</s> for XLM-R)."""
    enc = tokenizer(["x"], is_split_into_words=True, add_special_tokens=True)
    ids, wids = enc["input_ids"], enc.word_ids()
    first = wids.index(0)
    last = len(wids) - 1 - wids[::-1].index(0)
    return list(ids[:first]), list(ids[last + 1 :])


def encode_windows(tokenizer: Any, words: Sequence[str], max_length: int, overlap: int,
                   specials: tuple[list[int], list[int]] | None = None) -> list[Window]:
    """Tokenise an article's words once and cut the sub-words into windows."""
    if not words:
        return []
    prefix, suffix = specials or special_tokens(tokenizer)
    enc = tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
    ids, wids = enc["input_ids"], enc.word_ids()
    counts = [0] * len(words)
    first_pos = [0] * (len(words) + 1)
    for pos in range(len(wids) - 1, -1, -1):
        counts[wids[pos]] += 1
        first_pos[wids[pos]] = pos
    # Words without sub-words (only characters the tokenizer drops) still need a position
    # range: they start where the next word starts.
    first_pos[len(words)] = len(ids)
    for w in range(len(words) - 1, -1, -1):
        if counts[w] == 0:
            first_pos[w] = first_pos[w + 1]
    budget = max_length - len(prefix) - len(suffix)
    windows = []
    for a, b in plan_windows(counts, budget, overlap):
        lo, hi = first_pos[a], first_pos[b]
        hi = min(hi, lo + budget)  # truncates only a single over-long word
        windows.append(Window(a, b, prefix + list(ids[lo:hi]) + suffix,
                              [None] * len(prefix) + list(wids[lo:hi]) + [None] * len(suffix)))
    return windows


def best_window(windows: Sequence[Window], n_words: int) -> list[int]:
    """For each word, the window in which it is furthest from an edge (-1 if in none).

    >>> ws = [Window(0, 3, [], []), Window(2, 5, [], [])]
    >>> best_window(ws, 5)
    [0, 0, 0, 1, 1]
    """
    best = [-1] * n_words
    margin = [-1] * n_words
    for k, w in enumerate(windows):
        for i in range(w.first_word, w.last_word):
            m = min(i - w.first_word, w.last_word - 1 - i)
            if m > margin[i]:
                best[i], margin[i] = k, m
    return best
