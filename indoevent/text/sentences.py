"""Sentences with character offsets, by the gold annotation's convention.

A sentence ends at ``". "``, ``"? "``, ``"! "`` (the mark stays in the sentence) or at a
line break. Event arguments are linked within the sentence of their trigger, so the
argument linker and its evaluation both use this one splitter. No abbreviation list on
purpose: the annotators followed the plain rule, and a cleverer splitter would disagree
with the gold.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

# The mark is kept; the whitespace after it (spaces, tabs, CRLF...) separates sentences.
_BOUNDARY = re.compile(r"(?<=[.?!])[ \t]+|[ \t]*(?:\r\n|\r|\n)\s*")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` of each non-empty sentence, whitespace trimmed.

    >>> teks = "Putin tiba di Beijing. Ia bertemu Xi!\\r\\nKim hadir? Ya"
    >>> [teks[a:b] for a, b in split_sentences(teks)]
    ['Putin tiba di Beijing.', 'Ia bertemu Xi!', 'Kim hadir?', 'Ya']
    >>> split_sentences("   ")
    []
    """
    out: list[tuple[int, int]] = []
    pos = 0
    for m in _BOUNDARY.finditer(text):
        _add(text, pos, m.start(), out)
        pos = m.end()
    _add(text, pos, len(text), out)
    return out


def _add(text: str, a: int, b: int, out: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if a < b:
        out.append((a, b))


class SentenceIndex:
    """Which sentence holds an offset, for the many lookups of one article: the sentence starts
    are listed once, and each lookup is a binary search (a list per lookup made linking an
    article quadratic in its length).

    >>> which = SentenceIndex(split_sentences("Putin tiba di Beijing. Ia bertemu Xi."))
    >>> which(0), which(23), which(22)
    (0, 1, 0)
    """

    def __init__(self, sentences: Sequence[tuple[int, int]]):
        self.sentences = list(sentences)
        self.starts = [a for a, _ in self.sentences]

    def __call__(self, offset: int) -> int:
        """Index of the sentence that holds character ``offset`` (the previous one if the offset
        falls in the whitespace between two sentences; -1 before the first)."""
        return bisect_right(self.starts, offset) - 1


def sentence_index(sentences: Sequence[tuple[int, int]], offset: int) -> int:
    """Index of the sentence that holds character ``offset``, for a single lookup (for many,
    build one :class:`SentenceIndex`).

    >>> sentence_index([(0, 5), (7, 12)], 8)
    1
    >>> sentence_index([(0, 5), (7, 12)], 6)
    0
    """
    return SentenceIndex(sentences)(offset)
