"""The recipe comparison (benchmarks/recipe.py, issue 17 step 6) and its paired bootstrap."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from indoevent.evaluation.analysis import bootstrap, paired_bootstrap

ROOT = Path(__file__).resolve().parents[1]


def _recipe():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("bench_recipe", ROOT / "benchmarks" / "recipe.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_recipe"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_paired_bootstrap_gain_and_interval():
    base = {"x": np.array([[1, 4, 2], [2, 4, 4], [0, 3, 1], [3, 5, 4], [5, 6, 6], [0, 4, 3], [2, 2, 2], [1, 5, 3]],
                          dtype=float)}
    same = paired_bootstrap(base, base, 200, seed=0)["x"]
    # the same runs: every resample scores both alike, so the gain is exactly 0 (unpaired, it would spread)
    assert same["gain"] == 0 and same["interval"] == [0.0, 0.0] and same["above_zero"] == 0
    better = {"x": base["x"].copy()}
    better["x"][[0, 2, 5], 0] += 1  # one more hit on three articles, as many predictions
    g = paired_bootstrap(base, better, 200, seed=0)["x"]
    assert g["base"] == pytest.approx(2 * 14 / (33 + 25), abs=1e-4)  # 14 hits, 33 gold, 25 predicted
    assert g["gain"] == pytest.approx(2 * 3 / 58, abs=1e-4) and g["interval"][0] > 0 and g["above_zero"] > 0.9
    assert g == paired_bootstrap(base, better, 200, seed=0)["x"]
    # the unpaired intervals overlap widely; paired, the gain is still clearly above 0
    a, b = bootstrap(base, 200, 0)["x"]["f1"], bootstrap(better, 200, 0)["x"]["f1"]
    assert a[1] > b[0]


def test_paired_bootstrap_needs_the_same_articles():
    with pytest.raises(ValueError, match="same articles"):
        paired_bootstrap({"x": np.ones((3, 3))}, {"x": np.ones((4, 3))}, 10, seed=0)
    one = paired_bootstrap({"x": np.array([[1.0, 2, 2]])}, {"x": np.array([[2.0, 2, 2]])}, 10, seed=0)["x"]
    assert one["gain"] == 0.5 and one["interval"] is None  # one article: no interval


def test_paired_bootstrap_scores_a_silent_run_as_zero():
    gold_only = np.array([[0, 3, 0], [0, 2, 0], [0, 4, 0]], dtype=float)  # nothing predicted
    some = np.array([[1, 3, 1], [0, 2, 0], [0, 4, 0]], dtype=float)
    assert paired_bootstrap({"x": gold_only}, {"x": gold_only}, 50, seed=0)["x"]["interval"] == [0.0, 0.0]
    g = paired_bootstrap({"x": gold_only}, {"x": some}, 200, seed=0)["x"]
    assert g["base"] == 0 and g["gain"] == pytest.approx(2 / 10) and g["interval"][0] == 0 < g["interval"][1]


def test_variants_and_overrides():
    r = _recipe()
    vs = r.parse_variants(["a.yaml", "nerp=b.yaml", "c=a.yaml"],
                          ["train.epochs=1", "nerp:train.seed=7", "2:model.name_or_path=C:/x", "data.x=a:b"])
    assert [(v.name, v.config.name) for v in vs] == [("a", "a.yaml"), ("nerp", "b.yaml"), ("c", "a.yaml")]
    assert vs[0].overrides == ["train.epochs=1", "data.x=a:b"]
    assert vs[1].overrides == ["train.epochs=1", "train.seed=7", "data.x=a:b"]
    assert vs[2].overrides == ["train.epochs=1", "model.name_or_path=C:/x", "data.x=a:b"]
    with pytest.raises(ValueError, match="no variant 'z'"):
        r.parse_variants(["a.yaml"], ["z:train.seed=1"])
    with pytest.raises(ValueError, match="two variants named 'a'"):
        r.parse_variants(["a.yaml", "x/a.yaml"], [])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        r.parse_variants(["a.yaml"], ["train.seed"])


def test_self_train_variants_and_reuse(tmp_path, monkeypatch):
    r = _recipe()
    vs = r.parse_variants(["gold=a.yaml", "st=b.yaml"], [])
    got = r.parse_self_train(["st=u1.jsonl,news/u2.jsonl"], vs)
    assert list(got) == ["st"] and [Path(p).name for p in got["st"]] == ["u1.jsonl", "u2.jsonl"]
    assert all(Path(p).is_absolute() for p in got["st"])
    for bad in ("zz=u.jsonl", "st", "st="):
        with pytest.raises(ValueError, match="VARIANT=PATH"):
            r.parse_self_train([bad], vs)
    # --reuse scores a finished run as it is; a folder without a model is trained (here: refused loudly)
    calls = []
    monkeypatch.setattr(r, "train", lambda cfg, out, **kw: calls.append(("train", out)) or out)
    monkeypatch.setattr(r, "self_train", lambda cfg, u, out, **kw: calls.append(("self_train", out, u)) or out)
    monkeypatch.setattr(r, "evaluate", lambda run, exports, **kw: (_ for _ in ()).throw(RuntimeError(str(run))))
    done = tmp_path / "done"
    done.mkdir()
    (done / "model.safetensors").write_bytes(b"")
    for out, unl, reuse in ((done, None, True), (tmp_path / "new", ["u"], True), (done, None, False)):
        with pytest.raises(RuntimeError, match=out.name):
            r.score_run(None, out, ["a"], "x.json", unl, reuse)
    assert calls == [("self_train", tmp_path / "new", ["u"]), ("train", done)]
    # with --cv (articles None): a finished cross-validation folder is read back, not trained again
    (done / "predictions.jsonl").write_text('{"fold": 0, "doc_id": "a", "gold": [], "pred": []}\n')
    calls.clear()
    got = r.score_run(None, done, None, "x.json", None, True)
    assert calls == [] and got.ids == ["a"]


def test_compare_pools_seeds_and_counts_wins():
    r = _recipe()
    ids = ["a", "b", "c"]
    key = "spans.triggers"
    base = [r.Scored(ids, {key: np.array([[1, 4, 2], [1, 4, 2], [0, 2, 1]], float)}) for _ in range(3)]
    other = [r.Scored(ids, {key: np.array([[t, 4, 2], [1, 4, 2], [0, 2, 1]], float)}) for t in (2, 2, 1)]
    rows = r.compare({"gold": base, "more": other}, 100)
    m = rows["more"]["triggers"]
    assert m["wins"] == 2 and m["per_seed"][2] == rows["gold"]["triggers"]["per_seed"][2]
    assert m["f1"] == pytest.approx(2 * 8 / (30 + 15), abs=1e-4)  # pooled: 8 hits, 30 gold, 15 predicted
    assert "entities" not in m and "gain" not in rows["gold"]["triggers"]
    assert json.loads(json.dumps(rows)) == rows  # plain numbers: metrics.json is written from them
    text = r.table(rows, r.parse_variants(["gold=x.yaml", "more=y.yaml"], []), 3)
    assert "| gold (baseline) |" in text and "won 2/3 seeds" in text and text.count("\n") == 3
    with pytest.raises(ValueError, match="other articles"):
        r.compare({"gold": base, "more": [r.Scored(["a", "b", "d"], other[0].counts)]}, 10)


def test_bad_variants_fail_before_any_training(tmp_path, capsys):
    r = _recipe()
    cfg = str(ROOT / "training" / "configs" / "tiny-corpus.yaml")
    common = ["--out", str(tmp_path / "runs"), "--results", str(tmp_path / "res")]
    assert r.main([cfg, str(tmp_path / "none.yaml"), *common]) == 1
    assert "none.yaml: no such config file" in capsys.readouterr().err
    assert r.main([cfg, "--set", "train.epochz=1", *common]) == 1
    assert "unknown key" in capsys.readouterr().err
    assert r.main([cfg, "--set", "data.splits=null", *common]) == 1
    assert "no variant has data.export and data.splits" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "res").exists()


@pytest.mark.slow
def test_harness_runs_tiny_corpus_against_itself(tmp_path, capsys):
    """Runs end to end (two trainings of one epoch, dev scoring); scores are not asserted."""
    r = _recipe()
    cfg = str(ROOT / "training" / "configs" / "tiny-corpus.yaml")
    code = r.main([cfg, f"seed7={cfg}", "--set", "seed7:train.seed=7", "--set", "train.epochs=1",
                   "--resamples", "50", "--settle", "0", "--out", str(tmp_path / "runs"),
                   "--results", str(tmp_path / "results")])
    assert code == 0
    out = capsys.readouterr().out
    assert "| tiny-corpus (baseline) |" in out and "| seed7 |" in out
    raw = json.loads((tmp_path / "results" / "metrics.json").read_text())
    dev = json.loads((ROOT / "annotations" / "corpus" / "splits.json").read_text())["dev"]
    assert raw["articles"] == sorted(dev)
    gain = raw["scores"]["seed7"]["triggers"]
    assert set(gain) >= {"f1", "gain", "interval", "above_zero"}
    assert set(raw["scores"]["seed7"]) == {"entities", "triggers", "arguments"}


def test_seed_placeholder_in_overrides(tmp_path):
    """``{seed}`` in an override's value becomes each seed: a two-stage variant starts every seed from its own
    stage-1 run."""
    r = _recipe()
    cfg = str(ROOT / "training" / "configs" / "offline.yaml")
    (v,) = r.parse_variants([f"two={cfg}"], ["two:model.name_or_path=models/stage1-seed{seed}"])
    assert [r.variant_config(v, s).model.name_or_path for s in (1, 2)] == ["models/stage1-seed1", "models/stage1-seed2"]
    assert r.variant_config(v, 2).train.seed == 2
    assert r.variant_config(v, None).model.name_or_path == "models/stage1-seed{seed}"  # no seeds: left as written
