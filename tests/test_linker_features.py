"""The learned linker's features (link_features.py), its one-group decoding and its file's feature
version (pure Python and numpy, no model; weights set by hand where a test needs known scores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent.annotation.inline import parse
from indoevent.annotation.lsexport import read_export
from indoevent.events.extractor import load_linker
from indoevent.events.learned_linker import FEATURES, LearnedLinker, _pairs, fit_linker

ROOT = Path(__file__).resolve().parents[1]


def _features(markup: str) -> dict[tuple[str, str], dict[str, str]]:
    """(trigger id, entity id) -> template name -> its value, for one annotated sentence."""
    doc = parse(markup, "d")
    out = {}
    for sentence, t, rows in _pairs(doc.text, doc.entities, doc.triggers):
        for e, feats in zip(sentence.ents, rows, strict=True):
            out[(t.span.id, e.span.id)] = dict(f.split("=", 1) if "=" in f else (f, "") for f in feats)
    return out


def test_every_pair_has_one_feature_per_template_in_one_order():
    """The fit stores a pair as a fixed-length row of feature ids: every pair of every article has
    the same templates, each once."""
    docs = read_export(ROOT / "annotations" / "seeds.json").documents
    names = {tuple(f.split("=")[0] for f in feats)
             for d in docs for _, _, rows in _pairs(d.text, d.entities, d.triggers) for feats in rows}
    assert len(names) == 1
    (templates,) = names
    assert len(set(templates)) == len(templates) > 30


def test_features_read_prepositions_passives_datelines_and_the_nearest_trigger():
    f = _features("⟦s:GPE Seoul⟧ (ANTARA) - ⟦a:PER Nyono⟧ ⟦t:COERCE ditangkap⟧ di ⟦j:GPE Jombang⟧ oleh "
                  "⟦k:ORG KPK⟧, lalu ⟦u:COERCE ditahan⟧.")
    assert f[("t", "k")]["prep"] == "oleh|after|ORG" and f[("t", "k")]["passive"] == "True|after"
    assert f[("t", "j")]["prep"] == "di|after|GPE" and f[("t", "a")]["prep"] == "-|before|PER"
    assert f[("t", "s")]["dateline"] == "True|GPE" and f[("t", "a")]["dateline"] == "False|PER"
    # Jombang is nearer to ditangkap than to ditahan, and a comma stands between it and ditahan.
    assert f[("t", "j")]["trigger_rank"].startswith("0|") and f[("u", "j")]["trigger_rank"].startswith("1|")
    assert f[("t", "j")]["cross"] == "-|after" and f[("u", "j")]["cross"] == "comma|before"


def test_a_trigger_keeps_one_group_of_actors():
    """Weights set by hand: an entity before the trigger scores actor 2, after it actor 1, a DATE
    time 3. "Putin dan Kim" (one list, margin 2) keep the actor role; Xi and Trump, after the trigger,
    lose it; the date is not a group role and stays."""
    linker = LearnedLinker({"side=before": [0, 2, 0, 0, 0], "side=after": [0, 1, 0, 0, 0],
                            "label=DATE": [0, -5, -5, -5, 3]}, none_margin=0.0)
    doc = parse("⟦a:PER Putin⟧ dan ⟦b:PER Kim⟧ ⟦t:CONSULT bertemu⟧ ⟦c:PER Xi⟧ pada ⟦d:DATE Rabu⟧, "
                "kata ⟦e:PER Trump⟧.", "d")
    got = sorted((r.role, r.entity_id) for r in linker(doc.text, doc.entities, doc.triggers))
    assert got == [("actor", "a"), ("actor", "b"), ("time", "d")]


def test_a_linker_file_of_an_older_feature_set_is_refused_with_a_way_out(tmp_path):
    old = fit_linker(read_export(ROOT / "annotations" / "seeds.json").documents[:1], steps=5).to_json()
    assert old.pop("features") == FEATURES
    (tmp_path / "linker.json").write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(ValueError, match=r"linker\.json: .*features version 1.*indoevent linker fit"):
        load_linker(tmp_path)
    assert LearnedLinker.is_file(tmp_path / "linker.json")  # `linker fit --overwrite` may replace it
    assert load_linker(tmp_path, "rules").__name__ == "link_rules"
