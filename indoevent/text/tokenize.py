"""The one word tokenizer of the project, shared by conversion, training and inference.

Words keep their character offsets into the original text. Rules, in order:

* whitespace separates words and is never part of one;
* kept whole: numbers (``10.000``, ``3/9/2025``, ``18:14``), dotted abbreviations
  (``S.H.``, ``U.S.``), web names (``TRIBUNNEWS.COM``), words with an inner apostrophe
  (``Jum'at``) and lower-case reduplications (``besar-besaran``, ``orang-orang``);
* split off: every other punctuation mark, quote, bracket and slash (``Chen/Jia``);
* a hyphen before a capital splits (``Kim-Xi``, ``anti-Amerika``, ``Rusia-Tiongkok``)
  because both halves are names; a hyphen before a clitic splits (``Utara-lah``);
* the clitic ``-nya`` is split from words long enough to carry it (``perangnya``),
  except listed words where it is part of the stem (``hanya``, ``punya``, ``bertanya``);
* ``cuts``: offsets where a span boundary needs a split that the rules did not make;
  a word is cut there only if what follows is a clitic (-nya -ku -mu -lah -kah) or
  the cut falls at a hyphen. Other cuts are ignored, so that a span cutting through a
  word is reported by the converter, never silently "fixed".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

CLITICS = ("nya", "lah", "kah", "ku", "mu")
# Words that end in "nya" where it is not the clitic.
NYA_STEMS = frozenset({
    "hanya", "punya", "tanya", "bertanya", "ditanya", "menanya", "penanya", "bertanya-tanya",
    "kenya", "sanya", "sonya", "tonya", "anya", "kanya", "ganya", "manya", "nya",
})

_TLD = r"(?:com|co|id|biz|net|org|info|news|tv|go|ac|or|my|sg|ru|cn|kr|uk|us)"
_PATTERN = re.compile(
    rf"""
    (?P<web>(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.{_TLD}\b)
  | (?P<num>\d+(?:[.,:/]\d+)+)
  | (?P<abbr>(?:[A-Za-z]\.){{2,}})
  | (?P<word>[^\W_]+(?:['’][^\W_]+)*(?:-[^\W_]+(?:['’][^\W_]+)*)*)
  | (?P<punct>\S)
    """,
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True)
class Word:
    """One word of an article: ``text[start:end]``."""

    start: int
    end: int
    text: str


def _split_hyphens(start: int, token: str) -> list[tuple[int, int]]:
    """Split a hyphenated token where a name or a clitic follows the hyphen.

    >>> _split_hyphens(0, "Kim-Xi")
    [(0, 3), (3, 4), (4, 6)]
    >>> _split_hyphens(0, "besar-besaran")
    [(0, 13)]
    """
    parts = token.split("-")
    pieces: list[tuple[int, int]] = []
    cur_start, pos = start, start + len(parts[0])
    for part in parts[1:]:
        if part[:1].isupper() or part.lower() in CLITICS:
            pieces += [(cur_start, pos), (pos, pos + 1)]
            cur_start = pos + 1
        pos += 1 + len(part)
    pieces.append((cur_start, pos))
    return pieces


def _split_nya(a: int, b: int, text: str) -> list[tuple[int, int]]:
    """Split a trailing ``-nya`` off a word.

    >>> _split_nya(0, 9, "perangnya")
    [(0, 6), (6, 9)]
    >>> _split_nya(0, 5, "hanya")
    [(0, 5)]
    """
    w = text[a:b]
    low = w.lower()
    if low.endswith("nya") and len(w) >= 6 and w[:-3].isalpha() and low not in NYA_STEMS:
        return [(a, b - 3), (b - 3, b)]
    return [(a, b)]


def _cut(a: int, b: int, text: str, cuts: set[int]) -> list[tuple[int, int]]:
    """Cut a word at span boundaries where a clitic follows or a hyphen stands.

    >>> _cut(0, 11, "kewajibanku", {9})
    [(0, 9), (9, 11)]
    >>> _cut(0, 13, "besar-besaran", {6})
    [(0, 5), (5, 6), (6, 13)]
    """
    points: set[int] = set()
    for c in cuts:
        if not a < c < b:
            continue
        if text[c] == "-" or text[c - 1] == "-":  # the hyphen becomes a word of its own
            h = c if text[c] == "-" else c - 1
            points |= {h, h + 1}
        elif text[c:b].lower() in CLITICS:
            points.add(c)
    edges = [a] + sorted(p for p in points if a < p < b) + [b]
    return list(pairwise(edges))


def tokenize(text: str, cuts: Iterable[int] = ()) -> list[Word]:
    """Split an article into words with offsets.

    >>> [w.text for w in tokenize("Presiden Rusia, Vladimir Putin, bertemu Kim-Xi pada Rabu (3/9/2025).")]
    ['Presiden', 'Rusia', ',', 'Vladimir', 'Putin', ',', 'bertemu', 'Kim', '-', 'Xi', 'pada', 'Rabu', '(', '3/9/2025', ')', '.']
    >>> [w.text for w in tokenize("perangnya dan besar-besaran", cuts=[])]
    ['perang', 'nya', 'dan', 'besar-besaran']
    """
    cutset = set(cuts)
    words: list[Word] = []
    for m in _PATTERN.finditer(text):
        a, b = m.span()
        token = m.group()
        # Most words have no hyphen and no -nya: one piece, without the splitting rules' calls.
        if m.lastgroup == "word" and ("-" in token or token[-3:].lower() == "nya"):
            pieces = []
            for x, y in _split_hyphens(a, token):
                pieces += _split_nya(x, y, text) if text[x:y] != "-" else [(x, y)]
        elif not cutset:
            words.append(Word(a, b, token))
            continue
        else:
            pieces = [(a, b)]
        for x, y in pieces:
            for p, q in (_cut(x, y, text, cutset) if cutset else [(x, y)]):
                words.append(Word(p, q, text[p:q]))
    return words
