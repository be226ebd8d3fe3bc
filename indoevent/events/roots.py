"""Crude roots of Indonesian trigger words, so that the merge can tell "ditangkap" and
"penangkapan" (one act reported twice) from "ditangkap" and "divonis" (two acts of one type).

No stemmer is a dependency: each word of the trigger loses one suffix (-nya, -kan, -an, -i) and one prefix
(me-, ber-, di-, ter-, pe-, per-, ke- and their nasal forms), and every way of doing so is kept,
because a word such as "penolakan" may end in -an or in -kan. A nasal prefix swallows the root's
first t, p, k or s ("menangkap" from "tangkap"), so after one the root is also kept with each of them
in front. Two triggers share a root when their sets meet.

>>> sorted(trigger_roots("penangkapan") & trigger_roots("ditangkap"))
['tangkap']
>>> bool(trigger_roots("pertemuan") & trigger_roots("bertemu")), bool(trigger_roots("ditangkap") & trigger_roots("divonis"))
(True, False)
"""

from __future__ import annotations

from functools import lru_cache

# Longest first: "memper-" before "mem-" before "me-".
PREFIXES = ("memper", "diper", "menge", "meng", "meny", "mem", "men", "me", "ber", "be", "di", "ter",
            "peng", "peny", "pem", "pen", "per", "pe", "ke")
SUFFIXES = ("nya", "kan", "an", "i", "")
NASAL = frozenset({"meng", "meny", "mem", "men", "peng", "peny", "pem", "pen"})


def _unprefix(word: str) -> set[str]:
    for p in PREFIXES:
        if word.startswith(p) and len(word) - len(p) >= 3:
            root = word[len(p):]
            # a nasal prefix swallows the root's t, p, k or s: "menemui" is me- + "temu" + -i
            return {root} | ({c + root for c in "tpks"} if p in NASAL and root[0] in "aeiou" else set())
    return {word}


def _word_roots(word: str) -> set[str]:
    out: set[str] = set()
    for s in SUFFIXES:
        if word.endswith(s) and len(word) - len(s) >= 4:
            out |= _unprefix(word[: len(word) - len(s)])
    return out or {word}


@lru_cache(maxsize=4096)
def trigger_roots(text: str) -> frozenset[str]:
    """The candidate roots of a trigger's words (a reduplication by its first half). Every word
    counts, not only the head: "operasi tangkap tangan" is the arrest that "ditangkap" reports.

    >>> sorted(trigger_roots("sanksi-sanksi")) == sorted(trigger_roots("Sanksi"))
    True
    >>> "temu" in trigger_roots("menemui") and "tangkap" in trigger_roots("penangkapan")
    True
    >>> bool(trigger_roots("operasi tangkap tangan") & trigger_roots("ditangkap"))
    True
    """
    words = [w.split("-")[0] for w in text.lower().split()]
    return frozenset(r for w in words if w for r in _word_roots(w)) or frozenset({""})
