"""benchmarks/merge_coref.py reads only the stories' articles of a model's extract output."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_merge_coref", ROOT / "benchmarks" / "merge_coref.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_merge_coref"] = module
    spec.loader.exec_module(module)
    return module


def test_extract_output_is_cut_to_the_stories_articles(tmp_path):
    """A record of another article (here one without a date, which merge refuses) is left out."""
    results = tmp_path / "extracted.jsonl"
    lines = [{"id": "a", "triggers": []}, {"id": "no-date", "triggers": []}, {"id": "b", "triggers": []}]
    results.write_text("".join(json.dumps(x) + "\n" for x in lines) + "\n", encoding="utf-8")
    docs = [SimpleNamespace(doc_id="a"), SimpleNamespace(doc_id="b")]
    path = _bench().frames_path(results, docs, {}, tmp_path)
    kept = [json.loads(x)["id"] for x in path.read_text(encoding="utf-8").splitlines()]
    assert kept == ["a", "b"] and path != results
    assert results.read_text(encoding="utf-8").count("\n") == 4  # the input is untouched


def test_story_blind_table_knows_countries_and_capitals_but_no_names():
    table = _bench().blind_table()
    assert table.actor("Korea Utara", "GPE").code == "PRK" and table.actor("Islamabad", "GPE").code == "PAKGOV"
    assert table.actor("Putin", "PER").code is None and table.actor("TNI", "ORG").code is None
