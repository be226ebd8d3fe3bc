"""Spans <-> word-level IOB2 tags. Entities and triggers share one tag sequence."""

from __future__ import annotations

import unicodedata
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ..document import Span
from .tokenize import Word

CLOSING = {")": "(", "]": "[", "”": "“", "’": "‘", "»": "«"}


def is_punct(ch: str) -> bool:
    """True for punctuation and symbols (``","``, ``"“"``, ``"-"``), False for letters and digits.

    >>> [is_punct(c) for c in ",“-a7"]
    [True, True, True, False, False]
    """
    return unicodedata.category(ch)[0] in "PS"


@dataclass
class TaggedWords:
    """One article at word level, ready for training: its words with offsets and their IOB2 tags.

    Not a second article type: a view of a :class:`~indoevent.document.Document` after
    tokenisation. ``spans`` are the gold character spans (the document's own, including any that
    fall inside a word): dev scores and evaluation compare predicted spans with these, never with
    ``tags``, so a gold span the prediction path cannot produce counts as missed.
    """

    doc_id: str
    text: str
    tokens: list[str]
    starts: list[int]
    ends: list[int]
    tags: list[str]
    relations: list[dict] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    # Partial labels (a NER-only CoNLL source, a pseudo-labelled article): the labels whose spans the
    # source annotates in full (scores count only these; None: every label), and per word the tags the
    # source leaves possible (None: each word's own tag only, as for gold articles).
    annotated: frozenset[str] | None = None
    allowed: list[tuple[str, ...]] | None = None

    def to_json(self, with_text: bool = True) -> dict:
        d = {"doc_id": self.doc_id, "tokens": self.tokens, "starts": self.starts, "ends": self.ends,
             "tags": self.tags, "relations": self.relations}
        if with_text:
            d["text"] = self.text
        return d


def spans_to_tags(words: Sequence[Word], spans: Sequence[Span]) -> tuple[list[str], list[Span]]:
    """Tag words with IOB2; returns the tags and the spans whose edges are not word edges.

    >>> from indoevent.text.tokenize import tokenize
    >>> ws = tokenize("Presiden Vladimir Putin bertemu Kim")
    >>> spans_to_tags(ws, [Span(9, 23, "PER"), Span(24, 31, "CONSULT")])[0]
    ['O', 'B-PER', 'I-PER', 'B-CONSULT', 'O']
    """
    starts = [w.start for w in words]
    ends = [w.end for w in words]
    tags = ["O"] * len(words)
    misaligned: list[Span] = []
    for s in spans:
        i = bisect_left(starts, s.start)
        j = bisect_left(ends, s.end)
        if i >= len(words) or j >= len(words) or starts[i] != s.start or ends[j] != s.end or j < i:
            misaligned.append(s)
            continue
        if any(t != "O" for t in tags[i : j + 1]):
            misaligned.append(s)  # overlaps a span already tagged; the validator reports why
            continue
        tags[i] = f"B-{s.label}"
        for k in range(i + 1, j + 1):
            tags[k] = f"I-{s.label}"
    return tags, misaligned


def tags_to_word_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Decode IOB2 into ``(first word, last word + 1, label)``; an ``I-`` that does not
    continue a span of its label opens a new one (as models sometimes predict).

    >>> tags_to_word_spans(["B-PER", "I-PER", "O", "I-GPE", "B-CONSULT"])
    [(0, 2, 'PER'), (3, 4, 'GPE'), (4, 5, 'CONSULT')]
    """
    out: list[tuple[int, int, str]] = []
    cur: list | None = None
    for k, tag in enumerate(tags):
        prefix, _, label = tag.partition("-")
        if prefix == "I" and cur is not None and cur[2] == label:
            cur[1] = k + 1
            continue
        if cur is not None:
            out.append(tuple(cur))
            cur = None
        if prefix in ("B", "I"):
            cur = [k, k + 1, label]
    if cur is not None:
        out.append(tuple(cur))
    return out


def tags_to_spans(words: Sequence[Word], tags: Sequence[str], text: str) -> list[Span]:
    """Decode IOB2 tags over words back into character spans of ``text``."""
    return [Span(words[i].start, words[j - 1].end, label, text[words[i].start : words[j - 1].end])
            for i, j, label in tags_to_word_spans(tags)]


@lru_cache(maxsize=65536)  # asked for the edge words of every predicted span
def _is_punct_word(word: str) -> bool:
    return all(is_punct(ch) for ch in word)


def clean_word_spans(spans: Sequence[tuple[int, int, str]],
                     words: Sequence[str] | Mapping[int, str]) -> list[tuple[int, int, str]]:
    """Decoded spans ``(first word, last word + 1, label)`` trimmed to the schema's edge rule:
    punctuation words leave a span's edges unless a closing bracket's opening bracket is inside the
    span; a span of punctuation only is dropped. ``words`` may be a mapping from word index to text
    holding only the words of ``spans``.

    >>> clean_word_spans([(1, 4, "DATE"), (4, 6, "PER")], ["Kamis", "4", "September", ")", ",", "Xi"])
    [(1, 3, 'DATE'), (5, 6, 'PER')]
    """
    out = []
    for i, j, label in spans:
        while i < j and _is_punct_word(words[i]):
            i += 1
        while j > i and _is_punct_word(words[j - 1]):
            last = words[j - 1]
            if last in CLOSING and any(words[k] == CLOSING[last] for k in range(i, j - 1)):
                break
            j -= 1
        if i < j:
            out.append((i, j, label))
    return out


def clean_tags(tags: Sequence[str], words: Sequence[str]) -> list[str]:
    """Predicted tags -> clean IOB2 whose spans obey the schema's edge rule
    (:func:`clean_word_spans`): an ``I-`` that does not continue a span opens one. Training metrics
    and extraction both decode predictions through this rule, so scores are the scores of the spans
    users get.

    >>> clean_tags(["O", "I-DATE", "I-DATE", "I-DATE", "B-PER", "I-PER"], ["Kamis", "4", "September", ")", ",", "Xi"])
    ['O', 'B-DATE', 'I-DATE', 'O', 'O', 'B-PER']
    >>> clean_tags(["B-DATE", "I-DATE", "I-DATE", "I-DATE"], ["Kamis", "(", "4", ")"])
    ['B-DATE', 'I-DATE', 'I-DATE', 'I-DATE']
    """
    out = ["O"] * len(tags)
    for i, j, label in clean_word_spans(tags_to_word_spans(tags), words):
        out[i] = f"B-{label}"
        for k in range(i + 1, j):
            out[k] = f"I-{label}"
    return out
