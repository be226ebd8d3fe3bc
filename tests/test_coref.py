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


# --- the merge against gold clusters ------------------------------------------------------------
def _mention(article, start, event, reason="joins"):
    return {"article": article, "trigger": {"start": start, "end": start + 3, "text": "xyz"}, "type": "CONSULT",
            "event": event, "reason": reason}


def test_score_merge_lists_wrong_joins_and_splits_with_their_reasons():
    from indoevent.annotation.event_clusters import GoldEvent, Mention
    from indoevent.evaluation.merge_score import score_merge

    def gold(ev_id, *starts):
        return GoldEvent(ev_id, "s", tuple(Mention("a", s, s + 3, "CONSULT", "xyz") for s in starts), "f:1")

    key = [gold("meeting", 0, 10), gold("visit", 20), gold("talks", 30, 40)]
    response = [_mention("a", 0, "E1", "founds the event"), _mention("a", 10, "E1"), _mention("a", 20, "E1", "joins: same day"),
                _mention("a", 30, "E2", "founds the event"), _mention("a", 40, None, "not merged: 2 fit"),
                _mention("b", 0, "E3", "founds the event")]  # another article: not scored
    s = score_merge(response, key)
    assert (s.gold_mentions, s.response_mentions, s.matched) == (5, 5, 5)
    assert [(e["mention"].split()[0], e["reason"]) for e in s.wrongly_joined] == [("a@20", "joins: same day")]
    assert [(e["gold_event"], e["event"], e["reason"]) for e in s.wrongly_split] == [("talks", None, "not merged: 2 fit")]
    assert s.scores["pairwise"]["precision"] == pytest.approx(1 / 3)


def test_merge_gold_command_scores_the_seed_story(tmp_path, capsys):
    from indoevent.cli import main

    root = Path(__file__).resolve().parent.parent
    frames = tmp_path / "frames.jsonl"
    assert main(["frames", str(root / "annotations/seeds.json"), "--index", str(root / "seeds/index.json"),
                 "--out", str(frames)]) == 0
    assert main(["merge", str(frames), "--out", str(tmp_path / "merged"), "--no-progress",
                 "--gold", str(root / "annotations/corpus/events/kim-putin-beijing-2025.yaml"),
                 "--gold-export", str(root / "annotations/corpus.json")]) == 0
    out = capsys.readouterr().out
    assert "CoNLL F1" in out and "wrongly joined" in out
    scores = json.loads((tmp_path / "merged" / "gold_scores.json").read_text())
    assert scores["gold_mentions"] == scores["matched"] > 0  # gold frames: every trigger is a gold mention
    assert all(e["reason"] for e in scores["wrongly_joined"] + scores["wrongly_split"])


def test_merge_gold_fails_before_writing_on_a_bad_cluster_file(tmp_path, capsys):
    from indoevent.cli import main

    root = Path(__file__).resolve().parent.parent
    frames = tmp_path / "frames.jsonl"
    main(["frames", str(root / "annotations/seeds.json"), "--index", str(root / "seeds/index.json"), "--out", str(frames)])
    bad = tmp_path / "bad.yaml"
    bad.write_text("story: x\narticles: [000_ecb91a2b1942d157]\nevents:\n  - id: e\n    mentions: [000:t999 nope]\n")
    assert main(["merge", str(frames), "--out", str(tmp_path / "m"), "--gold", str(bad),
                 "--gold-export", str(root / "annotations/corpus.json")]) != 0
    assert "bad.yaml:5" in capsys.readouterr().err and not (tmp_path / "m").exists()
