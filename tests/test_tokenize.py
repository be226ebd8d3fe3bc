"""The word tokenizer: table-driven Indonesian cases, offsets, and span-driven cuts."""

from itertools import pairwise

import pytest

from indoevent.text.tokenize import tokenize

CASES = [
    # (text, expected words)
    ("Presiden Rusia Vladimir Putin bertemu Kim.", ["Presiden", "Rusia", "Vladimir", "Putin", "bertemu", "Kim", "."]),
    ("pada Rabu (3/9/2025).", ["pada", "Rabu", "(", "3/9/2025", ")", "."]),
    ("sekitar 15.000 tentara", ["sekitar", "15.000", "tentara"]),
    ("pukul 18:14 WIB", ["pukul", "18:14", "WIB"]),
    ("Presiden AS Donald Trump", ["Presiden", "AS", "Donald", "Trump"]),
    ("Budi Santoso, S.H. hadir", ["Budi", "Santoso", ",", "S.H.", "hadir"]),
    ("parade militer besar-besaran", ["parade", "militer", "besar-besaran"]),
    ("orang -orang Rusia", ["orang", "-", "orang", "Rusia"]),
    ("Pertemuan Kim-Xi", ["Pertemuan", "Kim", "-", "Xi"]),
    ("hubungan Rusia-Tiongkok", ["hubungan", "Rusia", "-", "Tiongkok"]),
    ("dikenal pro-Moskow", ["dikenal", "pro", "-", "Moskow"]),
    ("blok anti-Amerika", ["blok", "anti", "-", "Amerika"]),
    ("pasukan Korea Utara-lah yang", ["pasukan", "Korea", "Utara", "-", "lah", "yang"]),
    ("Rusia atas perangnya di Ukraina", ["Rusia", "atas", "perang", "nya", "di", "Ukraina"]),
    ("hanya punya satu", ["hanya", "punya", "satu"]),
    ("menyebut Xi sebagai “sahabat karib”", ["menyebut", "Xi", "sebagai", "“", "sahabat", "karib", "”"]),
    ("'utang persaudaraan'", ["'", "utang", "persaudaraan", "'"]),
    ("Kembalinya Chen/Jia di Korea Open", ["Kembali", "nya", "Chen", "/", "Jia", "di", "Korea", "Open"]),
    ("TRIBUNNEWS.COM - Presiden", ["TRIBUNNEWS.COM", "-", "Presiden"]),
    ("(Tribunnews.com/Andari Wulan)", ["(", "Tribunnews.com", "/", "Andari", "Wulan", ")"]),
    ("rudal balistik KN-23", ["rudal", "balistik", "KN-23"]),
    ("Kim Ju-ae tampil", ["Kim", "Ju-ae", "tampil"]),
    ("hadir?,” pungkas", ["hadir", "?", ",", "”", "pungkas"]),
    ("Jum'at pagi", ["Jum'at", "pagi"]),
    ("", []),
    ("  \n\t ", []),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_words(text, expected):
    assert [w.text for w in tokenize(text)] == expected


@pytest.mark.parametrize("text", [c[0] for c in CASES] + ["Putin 😀 bertemu\r\nKim 👍🏽.", "a\u200bb ‎c"])
def test_offsets_point_into_the_text(text):
    words = tokenize(text)
    for w in words:
        assert text[w.start:w.end] == w.text
        assert w.text.strip() == w.text and w.text
    # words are in order and never overlap
    assert all(a.end <= b.start for a, b in pairwise(words))
    # nothing but whitespace is left out
    covered = set(i for w in words for i in range(w.start, w.end))
    assert all(ch.isspace() for i, ch in enumerate(text) if i not in covered)


@pytest.mark.parametrize("text,cuts,expected", [
    ("kewajibanku", [9], ["kewajiban", "ku"]),            # a clitic cut is honoured
    ("itulah sebabnya", [3], ["itu", "lah", "sebab", "nya"]),
    ("apakah benar", [3], ["apa", "kah", "benar"]),
    ("rumahmu", [5], ["rumah", "mu"]),
    ("Putinnya", [5], ["Putin", "nya"]),                     # -nya is split even without a cut
    ("Putin", [2], ["Putin"]),                                # not a clitic: ignored, reported later
    ("besar-besaran", [5], ["besar", "-", "besaran"]),        # a span ends at the hyphen
    ("besar-besaran", [6], ["besar", "-", "besaran"]),
])
def test_span_cuts(text, cuts, expected):
    assert [w.text for w in tokenize(text, cuts)] == expected


def test_seed_words_are_clean(root):
    for path in sorted((root / "seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        words = tokenize(text)
        assert words, path
        assert all(text[w.start:w.end] == w.text for w in words)
