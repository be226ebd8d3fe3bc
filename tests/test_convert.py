"""`indoevent convert`: IOB2 round trip over the gold, reports, strict mode, atomic output."""

import errno
import json
import os
import shutil

import pytest

from indoevent.annotation import convert
from indoevent.annotation.convert import ConversionError, convert_export, document_to_article, read_articles
from indoevent.annotation.inline import parse
from indoevent.annotation.lsexport import read_export
from indoevent.cli import main
from indoevent.schema import bio_tags
from indoevent.text.iob import spans_to_tags, tags_to_spans
from indoevent.text.tokenize import Word


def test_round_trip_over_all_seeds(root):
    """BIO -> spans gives back exactly the gold spans, for every seed."""
    gold = read_export(root / "annotations" / "seeds.json")
    assert len(gold.documents) == 5 and not gold.problems
    for doc in gold.documents:
        art, misaligned = document_to_article(doc)
        assert misaligned == [], doc.doc_id
        words = [Word(s, e, t) for s, e, t in zip(art.starts, art.ends, art.tokens, strict=True)]
        back = tags_to_spans(words, art.tags, doc.text)
        assert sorted((s.start, s.end, s.label) for s in back) == sorted((s.start, s.end, s.label) for s in doc.spans)
        assert all(doc.text[s.start:s.end] == s.text for s in back)
        assert len(art.relations) == len(doc.relations)


def test_gold_converts_strictly(root, tmp_path, capsys):
    out = tmp_path / "seeds"
    assert main(["convert", str(root / "annotations" / "seeds.json"), "--out", str(out), "--strict"]) == 0
    assert "5 articles" in capsys.readouterr().out
    arts = read_articles(out / "articles.jsonl")
    assert [a.doc_id for a in arts] == sorted(a.doc_id for a in arts)
    for a in arts:
        assert len(a.tokens) == len(a.starts) == len(a.ends) == len(a.tags)
        assert all(a.text[s:e] == t for s, e, t in zip(a.starts, a.ends, a.tokens, strict=True))
        for r in a.relations:  # relations point at tagged words of the right label
            i, j = r["trigger"]
            assert a.tags[i] == f"B-{r['trigger_label']}" and all(t == f"I-{r['trigger_label']}" for t in a.tags[i + 1:j])
            k, _ = r["argument"]
            assert a.tags[k] == f"B-{r['argument_label']}"
    report = json.loads((out / "conversion_report.json").read_text())
    assert report["misaligned_spans"] == [] and report["problems"] == []
    assert json.loads((out / "labels.json").read_text()) == bio_tags()

    from datasets import load_from_disk
    ds = load_from_disk(str(out / "dataset"))["train"]
    assert ds.features["tags"].feature.names == bio_tags()
    assert ds.num_rows == 5 and ds[0]["tokens"] == arts[0].tokens
    assert [bio_tags()[t] for t in ds[0]["tags"]] == arts[0].tags


MISALIGNED = {"id": 4, "data": {"text": "Presiden Putinov tiba", "doc_id": "d4"}, "annotations": [{"id": 1, "result": [
    {"id": "a", "from_name": "entity", "to_name": "text", "type": "labels",
     "value": {"start": 9, "end": 14, "text": "Putin", "labels": ["PER"]}}]}]}


def test_misaligned_span_is_reported_not_guessed(make_export, tmp_path, capsys):
    path = make_export("⟦e1:PER Putin⟧ tiba", MISALIGNED)
    out = tmp_path / "conv"
    assert main(["convert", str(path), "--out", str(out)]) == 0
    assert "1 misaligned span(s)" in capsys.readouterr().err
    report = json.loads((out / "conversion_report.json").read_text())
    assert report["misaligned_spans"] == [{"doc_id": "d4", "task_id": 4, "start": 9, "end": 14, "label": "PER",
                                           "text": "Putin", "words": ["Putinov"]}]
    art = [a for a in read_articles(out / "articles.jsonl") if a.doc_id == "d4"][0]
    assert art.tags == ["O", "O", "O"]


def test_strict_fails_and_writes_nothing(make_export, tmp_path, capsys):
    path = make_export("⟦e1:PER Putin⟧ tiba", MISALIGNED)
    out = tmp_path / "conv"
    assert main(["convert", str(path), "--out", str(out), "--strict"]) == 1
    err = capsys.readouterr().err
    assert "d4 (task 4) at [9, 14): PER 'Putin' does not fall on word edges" in err
    assert not out.exists()
    assert list(tmp_path.glob(".conv*")) == []  # no temporary folder left behind


def test_failed_conversion_keeps_previous_output(make_export, tmp_path, capsys):
    out = tmp_path / "conv"
    assert main(["convert", str(make_export("⟦e1:PER Putin⟧ tiba")), "--out", str(out)]) == 0
    before = (out / "articles.jsonl").read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    assert main(["convert", str(bad), "--out", str(out), "--overwrite"]) == 1
    assert "malformed JSON" in capsys.readouterr().err
    assert (out / "articles.jsonl").read_text() == before


def test_unannotated_tasks_are_skipped_never_all_o(make_export, tmp_path):
    path = make_export("⟦e1:PER Putin⟧ tiba", {"id": 5, "data": {"text": "Tidak dianotasi."}, "annotations": []},
                       {"id": 6, "data": {"text": "Dibatalkan."}, "annotations": [{"was_cancelled": True, "result": []}]})
    arts, report = convert_export(path)
    assert [a.doc_id for a in arts] == ["doc1"]
    assert report["skipped"] == {"unannotated": {"count": 2, "tasks": ["task 5", "task 6"]}}
    with pytest.raises(ConversionError, match="under --strict"):
        convert_export(path, strict=True)


def test_nothing_to_convert(make_export):
    with pytest.raises(ConversionError, match="no annotated task"):
        convert_export(make_export({"id": 1, "data": {"text": "x"}, "annotations": []}))


def test_clitic_and_hyphen_spans_align():
    doc = parse("⟦e1:PER Kim⟧-⟦e2:PER Xi⟧ dan ⟦t1:ASSAULT perang⟧nya, pasukan ⟦e3:GPE Korea Utara⟧-lah, "
                "⟦e4:GPE Amerika⟧ku", "d")
    art, bad = document_to_article(doc)
    assert bad == []
    pairs = list(zip(art.tokens, art.tags, strict=True))
    assert pairs[:3] == [("Kim", "B-PER"), ("-", "O"), ("Xi", "B-PER")]
    assert ("perang", "B-ASSAULT") in pairs and ("ku", "O") in pairs


def test_overlapping_spans_never_double_tag():
    words = [Word(0, 8, "Vladimir"), Word(9, 14, "Putin")]
    from indoevent.document import Span
    tags, bad = spans_to_tags(words, [Span(0, 14, "PER"), Span(9, 14, "PER")])
    assert tags == ["B-PER", "I-PER"] and bad == [Span(9, 14, "PER")]


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_out_holding_other_files_is_never_replaced(root, tmp_path, capsys):
    # `cp -r seeds s2 && indoevent convert annotations/seeds.json --out s2` deleted the .txt files.
    s2 = tmp_path / "s2"
    shutil.copytree(root / "seeds", s2)
    before = _tree(s2)
    for extra in ([], ["--overwrite"]):
        assert main(["convert", str(root / "annotations" / "seeds.json"), "--out", str(s2), *extra]) == 1
        err = capsys.readouterr().err
        assert "did not write" in err and "000_ecb91a2b1942d157.txt" in err and err.count("\n") == 1
        assert _tree(s2) == before
    assert [p.name for p in tmp_path.iterdir()] == ["s2"]


def test_out_as_the_current_folder_is_refused_without_a_trace(root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.md").write_text("x")
    assert main(["convert", str(root / "annotations" / "seeds.json"), "--out", "."]) == 1
    assert "current folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.md"]  # no temporary folder left


def test_replacing_an_earlier_conversion_needs_overwrite(make_export, tmp_path, capsys):
    out = tmp_path / "conv"
    out.mkdir()  # an empty folder is fine
    assert main(["convert", str(make_export("⟦e1:PER Putin⟧ tiba")), "--out", str(out)]) == 0
    first = _tree(out)
    path = make_export("⟦e1:PER Putin⟧ tiba di ⟦e2:GPE Beijing⟧", name="second.json")
    assert main(["convert", str(path), "--out", str(out)]) == 1
    assert "pass --overwrite" in capsys.readouterr().err and _tree(out) == first
    assert main(["convert", str(path), "--out", str(out), "--overwrite"]) == 0
    assert "Beijing" in (out / "articles.jsonl").read_text()
    (out / "mine.txt").write_text("notes")  # a conversion folder someone added to is no longer ours
    assert main(["convert", str(path), "--out", str(out), "--overwrite"]) == 1
    assert (out / "mine.txt").read_text() == "notes"


def test_out_that_is_a_file_is_refused(make_export, tmp_path, capsys):
    f = tmp_path / "notes.md"
    f.write_text("x")
    assert main(["convert", str(make_export("⟦e1:PER Putin⟧ tiba")), "--out", str(f), "--overwrite"]) == 1
    assert "is a file" in capsys.readouterr().err and f.read_text() == "x"


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_one_line_and_leaves_the_old_conversion(make_export, tmp_path, monkeypatch, capsys):
    out = tmp_path / "conv"
    assert main(["convert", str(make_export("⟦e1:PER Putin⟧ tiba")), "--out", str(out)]) == 0
    before = _tree(out)
    capsys.readouterr()

    class FullDataset:
        def save_to_disk(self, path):
            os.makedirs(path)
            (open(os.path.join(path, "data-00000-of-00001.arrow"), "wb")).write(b"half")
            _disk_full()

    monkeypatch.setattr(convert, "to_dataset_dict", lambda articles: FullDataset())
    assert main(["convert", str(make_export("⟦e1:PER Kim⟧ tiba", name="b.json")), "--out", str(out),
                 "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "nothing was written" in err
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "conv", "export.json"]


def test_strict_names_the_setting_and_lists_the_problems(make_export):
    path = make_export("⟦e1:PER Putin⟧ tiba", MISALIGNED, {"id": 5, "data": {"text": "Belum."}, "annotations": []})
    with pytest.raises(ConversionError) as e:
        convert_export(path, strict=True, strict_name="data.strict")
    msg = str(e.value)
    assert "2 problem(s) under data.strict" in msg and "--strict" not in msg
    assert "d4 (task 4) at [9, 14): PER 'Putin' does not fall on word edges" in msg
    assert "1 task(s) unannotated: task 5" in msg
    assert msg.count(str(path)) == 1


def test_training_data_errors_name_the_file_once_and_say_data_strict(make_export):
    # Was "exp/x.json: exp/x.json: 1 problem(s) under --strict" for a user who never passed --strict.
    from indoevent.model.config import DataConfig
    from indoevent.model.data import DataError, load_corpus

    path = make_export("⟦e1:PER Putin⟧ tiba", MISALIGNED)
    with pytest.raises(DataError) as e:
        load_corpus(DataConfig(export=str(path)))
    msg = str(e.value)
    assert msg.count(str(path)) == 1 and "under data.strict" in msg and "--strict" not in msg
    assert "PER 'Putin' does not fall on word edges" in msg
    bad = path.with_name("bad.json")
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_corpus(DataConfig(export=str(bad)))
    assert str(e.value) == f"{bad}: task 0: expected an object, got int 1"
