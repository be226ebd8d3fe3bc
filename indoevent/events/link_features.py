"""Features of a (trigger, entity) pair of one sentence for the learned linker (:mod:`.learned_linker`).

They describe what carries from one story to the next (the corpus' cross-validation is by story):
the word order and distance, the preposition before the entity (``di``, ``ke``, ``kepada``,
``oleh``...), what stands between the two (a comma, ``yang``, ``bahwa``, another trigger), which
trigger of the sentence is nearest to the entity (an entity usually belongs to its nearest
trigger), whether the trigger is passive (``ditangkap oleh KPK``: the actor follows ``oleh``), a
dateline (``Seoul (ANTARA) - ...``: the place of the sentence's events) and the rules' own answer.
Every template gives exactly one feature per pair, so a pair is a fixed-length row of feature ids.
Pure Python: no numpy or torch import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..document import span_id
from .linking import (
    JOINERS,
    PASSIVE_MARKERS,
    PLACE_MARKERS,
    RECIPIENT_MARKERS,
    REPORTING_WORDS,
    _Ent,
    _is_title,
    is_passive,
    is_verbal,
)

# Prepositions that say an entity's role: where (di, ke, dari), to whom (kepada, terhadap), by whom
# (oleh), with whom (dengan, bersama), between whom (antara), when (pada, sejak), whose word (menurut).
PREPOSITIONS = PLACE_MARKERS | RECIPIENT_MARKERS | PASSIVE_MARKERS | {
    "dari", "untuk", "bagi", "atas", "antara", "bersama", "pada", "sejak", "menurut", "dalam", "oleh",
    "dikutip", "dilansir", "mengutip", "melansir", "wilayah", "kota", "negara", "pihak"}
# Words before a trigger that change who its subject is: "yang dikerahkan" (a relative clause:
# the subject is the noun before "yang"), "akan bertemu", "untuk membantu" (a purpose: its actor is
# the main clause's subject).
TRIGGER_LEADS = frozenset({"yang", "akan", "telah", "sudah", "untuk", "tidak", "belum", "dan", "saat", "setelah",
                           "sebelum", "usai", "dalam", "dengan", "atas", "oleh", "kepada", "terhadap", ","})
# "kata Ade Ary", "ujar Putu", "sebut Phumtham": the speaker's name after a speech word.
SPEECH_BEFORE = frozenset({"kata", "ujar", "ucap", "tutur", "sebut", "jelas", "tegas", "imbuh", "lanjut", "menurut"})
_DASHES = frozenset({"-", "–", "—", ":", "(", ","})
_QUOTES = frozenset({'"', "“", "”", "'"})


def bucket(n: int) -> str:
    """A count or distance in a few bins, so that rare large values share their weight.

    >>> [bucket(n) for n in (0, 2, 4, 8, 30)]
    ['0', '2', '3-5', '6-10', '11+']
    """
    return str(n) if n < 3 else "3-5" if n <= 5 else "6-10" if n <= 10 else "11+"


def preposition_before(k: int, low: Sequence[str], stop: int, reach: int = 3) -> str:
    """The preposition (or place noun: ``kota``, ``wilayah``) at most ``reach`` words before word ``k`` (over plain words and titles:
    ``kepada Presiden Rusia``), not before word ``stop`` nor over punctuation; ``-`` if none.

    >>> low = "pasukan itu ditarik oleh militer israel dari khan younis".split()
    >>> preposition_before(5, low, 0), preposition_before(7, low, 0), preposition_before(1, low, 0)
    ('oleh', 'dari', '-')
    """
    j = k - 1
    while j >= stop and k - j <= reach:
        w = low[j]
        if w in PREPOSITIONS:
            return w
        if not w.isalpha():
            return "-"
        j -= 1
    return "-"


def crossed(low: Sequence[str], lo: int, hi: int) -> str:
    """What separates two words of a sentence, strongest first: a quote, a reporting word
    (``bahwa``, ``kata``), a relative ``yang``, a clause mark (``;``, ``:``, a bracket), a comma,
    ``dan``; ``-`` for nothing (the words between are ``low[lo:hi]``).

    >>> low = "kim , yang bertemu putin , mengatakan bahwa".split()
    >>> crossed(low, 1, 4), crossed(low, 4, 5), crossed(low, 5, 8)
    ('yang', '-', 'report')
    """
    between = set(low[lo:hi])
    if between & _QUOTES:
        return "quote"
    if between & REPORTING_WORDS:
        return "report"
    for mark, name in (("yang", "yang"), (";", "clause"), (":", "clause"), ("(", "clause"), (")", "clause"),
                       (",", "comma"), ("dan", "dan"), ("serta", "dan")):
        if mark in between:
            return name
    return "-"


def is_dateline(e: _Ent, first_word: int, low: Sequence[str]) -> bool:
    """A place that opens the sentence before a dash, colon, bracket or comma (``Seoul (ANTARA) -``,
    ``JAKARTA, KOMPAS.com``, ``Beijing:``): the place of the events the sentence reports (R18).

    >>> e = _Ent(None, 0, 1, "Seoul")  # type: ignore[arg-type]
    >>> is_dateline(e, 0, ["seoul", "(", "antara", ")", "-"]), is_dateline(e, 0, ["seoul", "menolak"])
    (True, False)
    """
    return e.a <= first_word + 1 and e.b < len(low) and low[e.b] in _DASHES


def trigger_rank(t: _Ent, e: _Ent, trigs: Sequence[_Ent]) -> tuple[int, int]:
    """How many triggers of the sentence are nearer to the entity than ``t``, in all and on
    ``t``'s side of the entity: an entity usually belongs to its nearest trigger.

    >>> ents = [_Ent(None, a, a + 1, w) for a, w in ((0, "Kim"), (1, "bertemu"), (3, "parade"))]  # type: ignore[arg-type]
    >>> trigger_rank(ents[2], ents[0], ents[1:]), trigger_rank(ents[1], ents[0], ents[1:])
    ((1, 1), (0, 0))
    """
    def dist(x: _Ent) -> int:
        return x.a - e.b if x.a >= e.b else e.a - x.b

    side = t.a >= e.b
    d = dist(t)
    return (sum(dist(x) < d for x in trigs if x is not t),
            sum(dist(x) < d for x in trigs if x is not t and (x.a >= e.b) == side))


@dataclass
class Sentence:
    """One sentence's entities and triggers (in text order), the article's lower-cased words, the
    sentence's first word and the rule linker's answer per (trigger id, entity id)."""

    ents: list[_Ent]
    trigs: list[_Ent]
    low: Sequence[str]
    first_word: int
    rules: dict[tuple[str, str], str]


def pair_features(s: Sentence, t: _Ent, i: int) -> list[str]:
    """The features of trigger ``t`` and entity ``s.ents[i]``, one per template."""
    e, low, trigs, ents = s.ents[i], s.low, s.trigs, s.ents
    rule = s.rules.get((span_id(t.span), span_id(e.span)), "none")
    after = e.a >= t.b
    gap = e.a - t.b if after else max(t.a - e.b, 0)
    side = "after" if after else "before"
    lo, hi = (t.b, e.a) if after else (e.b, t.a)
    label, kind = e.span.label, t.span.label
    prev = low[e.a - 1] if e.a > 0 else "<s>"
    prev = prev if prev in PREPOSITIONS | JOINERS else ("punct" if not prev.isalnum() else "word")
    prep = preposition_before(e.a, low, s.first_word)
    verbal, passive = is_verbal(t.text), is_passive(t.text)
    rank, side_rank = trigger_rank(t, e, trigs)
    cross = crossed(low, lo, hi)
    lead = low[t.a - 1] if t.a > s.first_word else "<s>"
    return ["bias", f"rule={rule}", f"rule|label={rule}|{label}", f"label={label}", f"side={side}",
            f"gap={bucket(gap)}", f"side|gap={side}|{bucket(gap)}", f"side|label={side}|{label}",
            f"trigs_between={bucket(sum(lo <= x.a < hi for x in trigs if x is not t))}",
            f"ents_between={bucket(sum(lo <= x.a < hi for x in ents if x is not e))}",
            f"prev={prev}", f"prev|side={prev}|{side}", f"nearest={rank == 0}", f"nearest|rule={rank == 0}|{rule}",
            f"verbal={verbal}|{side}", f"passive={passive}|{side}",
            f"type={kind}|{side}", f"title={_is_title(ents, i)}",
            f"reported={any(w in REPORTING_WORDS for w in low[lo:hi])}|{side}",
            f"comma={',' in low[lo:hi]}|{side}", f"word_before={low[e.a - 1] if e.a > 0 else '<s>'}|{side}",
            f"word_after={low[e.b] if e.b < len(low) else '</s>'}|{side}",
            f"trigger={t.text.split()[0].lower() if t.text.strip() else ''}|{side}",
            f"type|label={kind}|{label}|{side}",
            f"rank={bucket(sum(lo <= x.a < hi for x in ents if x is not e and x.span.label == label))}|{side}",
            f"next_to_trigger={low[t.b] if after and t.b < len(low) else low[t.a - 1] if t.a > 0 else '<s>'}|{side}",
            # the templates below generalise across stories: prepositions, clauses, competition
            f"prep={prep}|{side}|{label}", f"prep|voice={prep}|{verbal}|{passive}|{side}",
            f"prep|type={prep}|{kind}|{side}", f"cross={cross}|{side}", f"cross|label={cross}|{label}|{side}",
            f"trigger_rank={bucket(rank)}|{bucket(side_rank)}|{side}", f"rank|gap={bucket(rank)}|{bucket(gap)}",
            f"dateline={is_dateline(e, s.first_word, low)}|{label}",
            f"lead={lead if lead in TRIGGER_LEADS else 'word'}|{side}|{label == 'DATE'}",
            f"voice|label={verbal}|{passive}|{side}|{label}"]
