"""The coreference scorer against the CoNLL reference scorer's published test cases, and on events."""

import json
from pathlib import Path

import pytest

from indoevent.evaluation.coref import bcub, ceafe, coref_scores, dedup, muc

REFERENCE = json.loads((Path(__file__).parent / "data" / "coref_reference.json").read_text())
SCORERS = {"muc": muc, "bcub": bcub, "ceafe": ceafe}
CASES = [(c["id"], metric, c["key"], c["response"], expected)
         for c in REFERENCE["cases"] for metric, expected in c["expected"].items()]


@pytest.mark.parametrize("case,metric,key,response,expected", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_reference_scorer_values(case, metric, key, response, expected):
    got = SCORERS[metric](key, response)
    assert [got["recall"], got["precision"], got["f1"]] == pytest.approx(expected, abs=1e-4)


def test_every_reference_case_with_these_metrics_is_covered():
    # 28 of the 36 published cases give MUC, B³ or CEAF-e values (the rest BLANC only).
    assert len({c[0] for c in CASES}) == 28 and len(CASES) == 54


def test_conll_f1_is_the_mean_and_pairwise_counts_links():
    key = [["a", "b", "c"], ["d"]]
    response = [["a", "b"], ["c", "d"]]
    s = coref_scores(key, response)
    assert s["conll"]["f1"] == pytest.approx((s["muc"]["f1"] + s["bcub"]["f1"] + s["ceafe"]["f1"]) / 3)
    # key links ab ac bc; response links ab cd: one shared
    assert (s["pairwise"]["precision"], s["pairwise"]["recall"]) == (0.5, pytest.approx(1 / 3))


def test_identical_clusterings_score_one_and_a_mention_is_kept_once():
    key = [[("001_x", 0, 5), ("002_y", 10, 17)], [("001_x", 20, 30)]]
    s = coref_scores(key, list(reversed(key)))
    assert all(s[m]["f1"] == 1.0 for m in ("bcub", "ceafe", "pairwise", "conll"))
    assert dedup([[1, 1, 2], [2, 3], []]) == [[1, 2], [3]]


def test_an_empty_response_scores_zero_not_an_error():
    s = coref_scores([["a", "b"]], [])
    assert s["conll"]["f1"] == 0.0 and s["pairwise"]["recall"] == 0.0
