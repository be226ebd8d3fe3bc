"""The rules against the learned linker on held-out articles (folds by story), the paired bootstrap,
the `linker` command and the learned linker shipped as the default (pure Python and numpy, no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent.annotation.inline import parse
from indoevent.annotation.lsexport import read_export
from indoevent.cli import main
from indoevent.events import linker_eval
from indoevent.events.extractor import SHIPPED_LINKER, load_linker, shipped_linker
from indoevent.events.learned_linker import FEATURES, LearnedLinker, fit_linker
from indoevent.events.linker_eval import compare_linkers, evaluate_linker, paired_bootstrap
from indoevent.events.linking import link_rules
from indoevent.model.splits import Fold, load_splits

ROOT = Path(__file__).resolve().parents[1]
MARKUP = [
    "⟦a:PER Putin⟧ ⟦t:CONSULT bertemu⟧ dengan ⟦b:PER Kim⟧ di ⟦c:GPE Beijing⟧ pada ⟦d:DATE Rabu⟧.",
    "⟦a:GPE Rusia⟧ ⟦t:ASSAULT menyerang⟧ ⟦b:GPE Ukraina⟧. ⟦c:PER Zelensky⟧ ⟦u:ACCUSE mengecam⟧ ⟦e:GPE Rusia⟧.",
    "Menurut ⟦s:ORG TASS⟧, ⟦a:PER Kim⟧ ⟦t:CONSULT berkunjung⟧ ke ⟦b:GPE Moskow⟧.",
    "⟦a:GPE Korut⟧ ⟦t:AID mengirim⟧ tentara ke ⟦b:GPE Rusia⟧ pada ⟦d:DATE Juni⟧.",
    "⟦a:PER Trump⟧ ⟦t:SANCTION menjatuhkan sanksi⟧ terhadap ⟦b:GPE Iran⟧.",
    "⟦t:CONSULT Pertemuan⟧ ⟦a:PER Kim⟧ dengan ⟦b:PER Xi⟧ berlangsung di ⟦c:GPE Beijing⟧.",
]
RELATIONS = {  # the gold of MARKUP, by position
    0: "t>actor=a,recipient=b,place=c,time=d", 1: "t>actor=a,recipient=b;u>actor=c,recipient=e",
    2: "t>actor=a,place=b", 3: "t>actor=a,recipient=b,time=d", 4: "t>actor=a,recipient=b",
    5: "t>actor=a,recipient=b,place=c"}


def _with_gold(markup: str, rel: str) -> str:
    """Write ``t>actor=a,recipient=b;u>...`` into the markup's trigger spans."""
    for part in rel.split(";"):
        trig, args = part.split(">")
        roles = " ".join(f"{kv.split('=')[0]}={kv.split('=')[1]}" for kv in args.split(","))
        head = markup.index(f"⟦{trig}:")
        end = markup.index("⟧", head)
        markup = markup[:end] + f" > {roles}" + markup[end:]
    return markup


@pytest.fixture(scope="module")
def docs():
    return [parse(_with_gold(m, RELATIONS[i]), f"d{i}") for i, m in enumerate(MARKUP)]


def test_gold_fixture_is_what_the_markup_says(docs):
    assert [len(d.relations) for d in docs] == [4, 4, 2, 3, 2, 3]


def test_compare_tests_every_article_once_and_never_fits_on_it(docs, monkeypatch):
    fitted_on: list[set[str]] = []
    real_fit = linker_eval.fit_linker

    def spy(documents, **kw):
        fitted_on.append({d.doc_id for d in documents})
        return real_fit(documents, steps=20, **kw)

    monkeypatch.setattr(linker_eval, "fit_linker", spy)
    folds = [Fold(0, ("d2", "d3"), ("d4", "d5"), ("d0", "d1")), Fold(1, ("d0", "d1"), ("d4", "d5"), ("d2", "d3")),
             Fold(2, ("d0", "d1", "d2"), ("d3",), ("d4", "d5"))]
    r = compare_linkers(docs, folds, resamples=50)
    assert sorted(r["per_article"]) == [d.doc_id for d in docs] and r["articles"] == 6 and r["folds"] == 3
    assert [set(f.test) & s for f, s in zip(folds, fitted_on, strict=True)] == [set(), set(), set()]
    assert fitted_on[0] == {"d2", "d3", "d4", "d5"}  # train and dev: the linker has no early stopping
    # The rules do not depend on the folds: pooled, they score as on all articles at once.
    assert r["rules"]["classification"] == evaluate_linker(docs, link_rules)["classification"]
    assert sum(c["rules"][1] for c in r["per_article"].values()) == r["rules"]["gold"] == 18
    d = r["learned_minus_rules"]
    assert d["difference"] == pytest.approx(d["f1_b"] - d["f1_a"], abs=1e-4)
    assert d["interval"][0] <= d["interval"][1]


def test_compare_leaves_one_article_out_by_default_and_names_missing_articles(docs):
    r = compare_linkers(docs[:3], resamples=0, steps=5)
    assert r["folds"] == 3 and r["learned_minus_rules"]["interval"] is None
    with pytest.raises(ValueError, match="not in the export: nope"):
        compare_linkers(docs, [Fold(0, ("d0",), (), ("nope",))])


def test_paired_bootstrap():
    same = [(1, 2, 2), (0, 3, 1), (1, 2, 2)]
    r = paired_bootstrap(same, same, resamples=200, seed=1)
    assert r["difference"] == 0 and r["interval"] == [0.0, 0.0] and r["b_better"] == 0
    better = [(2, 2, 2), (1, 3, 1), (2, 2, 2)]  # b: one more right on every article, same counts
    r = paired_bootstrap(same, better, resamples=200, seed=1)
    assert r["difference"] > 0 and r["interval"][0] > 0 and r["b_better"] == 1
    assert paired_bootstrap(same, better, 200, 1) == r  # seeded
    with pytest.raises(ValueError, match="same articles"):
        paired_bootstrap(same, better[:2])


def test_linker_command_by_story(make_export, tmp_path, capsys):
    markup = [_with_gold(m, RELATIONS[i]) for i, m in enumerate(MARKUP)]
    export = make_export(*markup)
    splits = tmp_path / "splits.json"
    ids = [f"doc{i + 1}" for i in range(6)]
    splits.write_text(json.dumps({"train": ids[:2], "dev": ids[2:4], "test": ids[4:],
                                  "folds": [ids[:2], ids[2:3], ids[3:4]]}))
    assert main(["linker", "evaluate", str(export), "--splits", str(splits), "--test", "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert "cross-validation by story" in out and "4 held-out articles in 3 fold(s)" in out
    assert "test split" in out and "2 held-out articles in 1 fold(s)" in out and "learned - rules" in out
    assert main(["linker", "evaluate", str(export), "--test"]) == 1
    assert "--test needs --splits" in capsys.readouterr().err
    target = tmp_path / "linker.json"
    assert main(["linker", "fit", str(export), "--splits", str(splits), "--out", str(target)]) == 0
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["fitted_on"]["articles"] == 4 and LearnedLinker.is_file(target)
    assert LearnedLinker.from_json(data).none_margin == data["none_margin"] == 1.0 and data["features"] == FEATURES


def test_a_linker_written_and_read_back_links_the_same(docs):
    linker = fit_linker(docs, steps=30)
    back = LearnedLinker.from_json(json.loads(linker.dumps(fitted_on={"articles": 6})))
    assert back.weights == linker.weights and back.none_margin == linker.none_margin
    assert [back(d.text, d.entities, d.triggers) for d in docs] == [linker(d.text, d.entities, d.triggers) for d in docs]


def test_the_default_linker_is_the_shipped_learned_one_and_rules_stay_selectable(tmp_path):
    assert isinstance(load_linker(tmp_path), LearnedLinker)
    assert load_linker(tmp_path, "rules") is link_rules
    about = json.loads(SHIPPED_LINKER.read_text(encoding="utf-8"))["fitted_on"]
    splits = load_splits(ROOT / "annotations" / "corpus" / "splits.json")
    # Fitted on train and dev only: the test split stays unseen for the README's final table.
    assert about["articles"] == len(splits.train + splits.dev) and about["split"].startswith("train and dev")
    doc = parse("⟦a:PER Putin⟧ ⟦t:CONSULT bertemu⟧ dengan ⟦b:PER Kim⟧ di ⟦c:GPE Beijing⟧.", "x")
    got = {(r.role, r.entity_id) for r in shipped_linker()(doc.text, doc.entities, doc.triggers)}
    assert got == {("actor", "a"), ("recipient", "b"), ("place", "c")}


@pytest.mark.slow
def test_the_shipped_linker_is_a_fit_on_train_and_dev(tmp_path):
    """Refitting on the corpus' train and dev gives the shipped weights: it is reproducible and saw
    no test article."""
    docs = {d.doc_id: d for d in read_export(ROOT / "annotations" / "corpus.json").documents}
    splits = load_splits(ROOT / "annotations" / "corpus" / "splits.json")
    fresh = fit_linker([docs[i] for i in splits.train + splits.dev])
    shipped = shipped_linker()
    assert set(fresh.weights) == set(shipped.weights)
    assert all(fresh.weights[f] == pytest.approx(w, abs=1e-4) for f, w in shipped.weights.items())
