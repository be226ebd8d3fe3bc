"""The event corpus beyond the seeds: its index and texts, the held-out check, the gold compiled from
two markup folders, and the .ann file workflow of annotators (markup from predictions, checks before submit)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from indoevent.annotation.corpus import CorpusError, corpus_lines, read_corpus
from indoevent.annotation.gold import build_gold
from indoevent.annotation.inline import parse
from indoevent.annotation.lsexport import document_to_results
from indoevent.cli import main
from indoevent.studio.connection import InvalidExport
from indoevent.studio.files import check_markup, export_markup, task_markup


def _corpus(tmp_path, texts: dict[str, str]):
    """A small corpus folder: texts/ and index.json, ids from the texts' sha256 as in the real one."""
    (tmp_path / "texts").mkdir()
    entries = []
    for n, (story, text) in enumerate(texts.items()):
        digest = hashlib.sha256(text.encode()).hexdigest()
        eid = f"{n + 5:03d}_{digest[:16]}"
        (tmp_path / "texts" / f"{eid}.txt").write_text(text, encoding="utf-8")
        entries.append({"id": eid, "file": f"{eid}.txt", "sha256": digest, "url": f"https://berita.id/{n}",
                        "site": "berita.id", "outlet": "Berita", "title": text[:20], "published": None,
                        "story": story, "topic": "courts"})
    (tmp_path / "index.json").write_text(json.dumps(entries), encoding="utf-8")
    return tmp_path / "index.json", entries


# --- the committed corpus -----------------------------------------------------------------------
def test_corpus_index_matches_its_texts(root):
    articles = read_corpus(root / "annotations" / "corpus" / "index.json")
    files = sorted(p.name for p in (root / "annotations" / "corpus" / "texts").glob("*.txt"))
    assert sorted(a.entry["file"] for a in articles) == files and len(files) >= 60
    seeds = {e["id"] for e in json.loads((root / "seeds" / "index.json").read_text(encoding="utf-8"))}
    assert not seeds & {a.id for a in articles}
    for a in articles:
        assert a.entry["url"].startswith("http") and a.entry["story"] and a.entry["site"] in a.entry["url"]
        assert a.text.strip() and "\ufffd" not in a.text


def test_corpus_holds_no_heldout_article(root, tmp_path):
    tool = root.parent / "shared" / "tools" / "not_heldout.py"
    if not tool.is_file():
        pytest.skip("../shared/tools/not_heldout.py is not beside this checkout (it is in CI)")
    out = tmp_path / "corpus.jsonl"
    assert main(["corpus", "jsonl", "--index", str(root / "annotations" / "corpus" / "index.json"),
                 "--out", str(out)]) == 0
    seeds = [json.dumps({"id": p.stem, "url": "", "text": p.read_text(encoding="utf-8")}, ensure_ascii=False)
             for p in sorted((root / "seeds").glob("*.txt"))]
    with out.open("a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in seeds))
    r = subprocess.run([sys.executable, str(tool), str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and "no held-out article" in r.stdout, r.stdout + r.stderr


# --- reading a corpus ---------------------------------------------------------------------------
def test_read_corpus_checks_each_text_against_its_hash(tmp_path):
    index, entries = _corpus(tmp_path, {"sidang": "Hakim memvonis terdakwa.", "banjir": "Warga dievakuasi."})
    articles = read_corpus(index)
    assert [a.id for a in articles] == [e["id"] for e in entries]
    line = json.loads(corpus_lines(articles)[0])
    assert line == {"id": entries[0]["id"], "url": "https://berita.id/0", "text": "Hakim memvonis terdakwa.",
                    "story": "sidang", "site": "berita.id"}
    (tmp_path / "texts" / entries[1]["file"]).write_text("Warga dievakuasi ", encoding="utf-8")
    with pytest.raises(CorpusError, match=entries[1]["id"]):
        read_corpus(index)


def test_corpus_jsonl_needs_overwrite_and_names_a_broken_index(tmp_path, capsys):
    index, _ = _corpus(tmp_path, {"a": "Polisi menangkap dua pelaku."})
    out = tmp_path / "c.jsonl"
    assert main(["corpus", "jsonl", "--index", str(index), "--out", str(out)]) == 0
    assert main(["corpus", "jsonl", "--index", str(index), "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    index.write_text('[{"id": "x"}]', encoding="utf-8")
    assert main(["corpus", "jsonl", "--index", str(index), "--out", str(out), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert str(index) in err and "entry 0 lacks" in err and err.count("\n") == 1


# --- gold over the seeds and the corpus -----------------------------------------------------------
def test_gold_compiles_two_markup_folders_with_their_index_fields(tmp_path):
    index, entries = _corpus(tmp_path, {"ott": "KPK menangkap Bupati Jombang."})
    eid = entries[0]["id"]
    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / f"{eid}.ann").write_text("⟦e1:ORG KPK⟧ ⟦t1:COERCE menangkap > actor=e1⟧ Bupati ⟦e2:GPE Jombang⟧.",
                                     encoding="utf-8")
    seeds_gold = tmp_path / "seedgold"
    seeds_gold.mkdir()
    (seeds_gold / "001_x.ann").write_text("⟦e1:PER Putin⟧ tiba.", encoding="utf-8")
    (tmp_path / "seedtexts").mkdir()
    (tmp_path / "seedtexts" / "001_x.txt").write_text("Putin tiba.", encoding="utf-8")
    tasks = build_gold([seeds_gold, gold], [tmp_path / "seedtexts", tmp_path / "texts"])
    assert [t["data"]["doc_id"] for t in tasks] == ["001_x", eid]
    assert tasks[0]["data"] == {"text": "Putin tiba.", "doc_id": "001_x"}  # no index there: nothing added
    assert tasks[1]["data"]["url"] == "https://berita.id/0" and tasks[1]["data"]["story"] == "ott"
    (seeds_gold / f"{eid}.ann").write_text("KPK menangkap Bupati Jombang.", encoding="utf-8")
    with pytest.raises(ValueError, match="two markup folders"):
        build_gold([seeds_gold, gold], [tmp_path / "seedtexts", tmp_path / "texts"])


# --- the .ann workflow ------------------------------------------------------------------------
TEXT = "Polisi menangkap Budi di Medan pada Senin (3/2)."


def _task(pred_markup: str | None) -> dict:
    task = {"id": 7, "data": {"text": TEXT, "doc_id": "005_abc"}, "annotations": [], "predictions": []}
    if pred_markup is not None:
        doc = parse(pred_markup, "005_abc")
        task["predictions"] = [{"id": 1, "model_version": "tiny@1", "created_at": "2026-01-01",
                                "result": document_to_results(doc, id_prefix="Xq_")}]
    return task


def test_task_markup_renders_the_newest_prediction_with_readable_ids():
    task = _task("⟦a:ORG Polisi⟧ ⟦b:COERCE menangkap > actor=a recipient=c⟧ ⟦c:PER Budi⟧ di Medan pada Senin (3/2).")
    older = parse("Polisi menangkap ⟦q:PER Budi⟧ di Medan pada Senin (3/2).", "005_abc")
    task["predictions"].append({"id": 0, "created_at": "2025-01-01", "result": document_to_results(older)})
    assert task_markup(task) == ("⟦e1:ORG Polisi⟧ ⟦t1:COERCE menangkap > actor=e1 recipient=e2⟧ ⟦e2:PER Budi⟧ "
                                 "di Medan pada Senin (3/2).")
    assert task_markup(task, with_predictions=False) == TEXT
    assert task_markup(_task(None)) == TEXT


def test_check_markup_refuses_a_changed_text_naming_the_offset(tmp_path):
    path = tmp_path / "005_abc.ann"
    path.write_text("⟦e1:ORG Polisi⟧ menangkap Budi di Medan pada Senin (3/2)", encoding="utf-8")  # lost "."
    with pytest.raises(InvalidExport) as e:
        check_markup(path, TEXT)
    assert "differs from the task's text" in str(e.value) and "character 47" in str(e.value.problems[0])


def test_check_markup_lists_schema_problems_and_markup_errors(tmp_path):
    path = tmp_path / "005_abc.ann"
    path.write_text("⟦e1:ORG Polisi ⟧menangkap ⟦e2:PER Budi⟧ di Medan pada ⟦t1:COERCE Senin (3/2) > place=e2⟧.",
                    encoding="utf-8")
    with pytest.raises(InvalidExport) as e:
        check_markup(path, TEXT)
    problems = " | ".join(map(str, e.value.problems))
    assert "nothing was sent" in str(e.value) and len(e.value.problems) >= 2
    assert "whitespace" in problems or "edge" in problems
    path.write_text("⟦e1:ORG Polisi⟧ ⟦t1:COERCE menangkap > actor=e9⟧ Budi di Medan pada Senin (3/2).",
                    encoding="utf-8")
    with pytest.raises(InvalidExport) as e:
        check_markup(path, TEXT)
    assert "005_abc.ann:1:" in str(e.value.problems[0]) and "e9" in str(e.value.problems[0])


def test_check_markup_accepts_a_valid_annotation(tmp_path):
    path = tmp_path / "005_abc.ann"
    path.write_text("⟦e1:ORG Polisi⟧ ⟦t1:COERCE menangkap > actor=e1 recipient=e2 place=e3 time=e4⟧ ⟦e2:PER Budi⟧ "
                    "di ⟦e3:GPE Medan⟧ pada ⟦e4:DATE Senin (3/2)⟧.", encoding="utf-8")
    doc = check_markup(path, TEXT)
    assert len(doc.spans) == 5 and len(doc.relations) == 4


def test_export_markup_writes_annotated_tasks_and_keeps_existing_files(tmp_path):
    annotated = _task(None)
    doc = parse("⟦e1:ORG Polisi⟧ menangkap ⟦e2:PER Budi⟧ di Medan pada Senin (3/2).", "005_abc")
    annotated["annotations"] = [{"id": 3, "result": document_to_results(doc, id_prefix="r_"), "was_cancelled": False}]
    blank = {**_task(None), "id": 8, "data": {"text": "Tidak ada.", "doc_id": "006_def"}}
    report = export_markup([annotated, blank], tmp_path)
    assert [p.name for p in report.written] == ["005_abc.ann"] and report.unannotated == 1
    assert (tmp_path / "005_abc.ann").read_text(encoding="utf-8") == \
        "⟦e1:ORG Polisi⟧ menangkap ⟦e2:PER Budi⟧ di Medan pada Senin (3/2)."
    with pytest.raises(FileExistsError, match="--overwrite"):
        export_markup([annotated], tmp_path)
    assert export_markup([annotated], tmp_path, overwrite=True).written


# --- the whole corpus: gold in sync, the bars of the issue, splits, datasheet ----------------------
GOLD_ARGS = ["--markup", "annotations/gold", "annotations/corpus/gold", "--texts", "seeds", "annotations/corpus/texts",
             "--out", "annotations/corpus.json"]


def test_corpus_export_is_compiled_from_the_markup(root, monkeypatch, capsys):
    monkeypatch.chdir(root)
    assert main(["gold", *GOLD_ARGS, "--check"]) == 0, capsys.readouterr().err


def test_corpus_meets_its_bars(root):
    from collections import Counter

    from indoevent.annotation.lsexport import read_export
    from indoevent.schema import EVENT_LABELS

    result = read_export(root / "annotations" / "corpus.json")
    assert not result.problems and len(result.documents) >= 65
    index = json.loads((root / "annotations" / "corpus" / "index.json").read_text(encoding="utf-8"))
    assert len({e["site"] for e in index}) >= 15
    stories = Counter(e["story"] for e in index)
    assert sum(n >= 3 for n in stories.values()) >= 8
    triggers = Counter(s.label for d in result.documents for s in d.triggers)
    assert {t: triggers[t] for t in EVENT_LABELS if triggers[t] < 10} == {}


def test_splits_are_frozen_by_story(root):
    from collections import Counter

    from indoevent.annotation.lsexport import read_export
    from indoevent.model.splits import load_splits
    from indoevent.schema import EVENT_LABELS

    splits = load_splits(root / "annotations" / "corpus" / "splits.json")
    docs = {d.doc_id: d for d in read_export(root / "annotations" / "corpus.json").documents}
    assert sorted(splits.train + splits.dev + splits.test) == sorted(docs)
    index = json.loads((root / "annotations" / "corpus" / "index.json").read_text(encoding="utf-8"))
    story = {e["id"]: e["story"] for e in index}
    story.update({d: "kim-putin-beijing-2025" for d in docs if d not in story})
    where = {}
    for name, ids in (("train", splits.train), ("dev", splits.dev), ("test", splits.test)):
        for i in ids:
            assert where.setdefault(story[i], name) == name, f"story {story[i]} straddles {where[story[i]]} and {name}"
    size = Counter(story.values())
    assert len(splits.test) >= 15 and sum(size[s] >= 3 for s in {story[i] for i in splits.test}) >= 3
    test_types = Counter(s.label for i in splits.test for s in docs[i].triggers)
    assert {t: test_types[t] for t in EVENT_LABELS if test_types[t] < 3} == {}
    for fold in splits.folds():
        assert not {story[i] for i in fold.test} & {story[i] for i in fold.train + fold.dev}


def test_datasheet_tables_are_the_data(root, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(root)
    assert main(["corpus", "tables", "--check"]) == 0, capsys.readouterr().err
    drifted = tmp_path / "DATASHEET.md"
    drifted.write_text((root / "annotations" / "DATASHEET.md").read_text(encoding="utf-8").replace(
        "| all |", "| all (edited) |", 1), encoding="utf-8")
    assert main(["corpus", "tables", "--check", "--datasheet", str(drifted)]) == 1
    assert "out of date" in capsys.readouterr().err
