"""The seeds, their index, and the gold export: byte-identical texts, in sync with the markup."""

import hashlib
import json

import pytest

from indoevent.annotation.inline import MarkupError, parse, render
from indoevent.annotation.lsexport import read_export
from indoevent.cli import main
from indoevent.model.splits import kfold


def test_seed_index_matches_files(root):
    index = json.loads((root / "seeds" / "index.json").read_text(encoding="utf-8"))
    files = sorted(p.name for p in (root / "seeds").glob("*.txt"))
    assert [e["file"] for e in index] == files and len(files) == 5
    for e in index:
        raw = (root / "seeds" / e["file"]).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == e["sha256"], f"{e['file']} changed: seeds stay byte-identical"
        assert e["id"] == e["file"][:-4]
        assert {"outlet", "title", "published", "date_text"} <= e.keys()
        if e["title"]:
            assert e["title"].split()[0] in raw.decode()
        assert e["date_text"] in raw.decode()


def test_seeds_equal_shared_originals(root):
    shared = root.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared/seeds is not beside this checkout (the index hashes above still hold)")
    for p in shared.glob("*.txt"):
        assert (root / "seeds" / p.name).read_bytes() == p.read_bytes()


def test_gold_export_is_compiled_from_markup(root, capsys, monkeypatch):
    monkeypatch.chdir(root)
    assert main(["gold", "--check"]) == 0, capsys.readouterr().err


def test_gold_covers_every_seed_with_its_exact_text(root):
    result = read_export(root / "annotations" / "seeds.json")
    assert not result.problems and not result.skipped
    assert sorted(d.doc_id for d in result.documents) == sorted(p.stem for p in (root / "seeds").glob("*.txt"))
    for d in result.documents:
        assert d.text == (root / "seeds" / f"{d.doc_id}.txt").read_bytes().decode("utf-8")
        assert d.entities and d.triggers and d.relations


def test_markup_round_trip():
    markup = "⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1 recipient=e2⟧ ⟦e2:PER Kim⟧ pada ⟦e3:DATE Rabu (3/9/2025)⟧."
    doc = parse(markup, "d")
    assert doc.text == "Putin bertemu Kim pada Rabu (3/9/2025)."
    assert parse(render(doc), "d") == doc


@pytest.mark.parametrize("markup,expected", [
    ("⟦e1:PER Putin", "d:1:1: span is not closed"),
    ("Putin⟧", "without"),
    ("a\n⟦e1:PRESIDEN Putin⟧", "d:2:1: unknown label 'PRESIDEN'"),
    ("⟦e1:PER Putin⟧ ⟦e1:PER Kim⟧", "used twice"),
    ("⟦t1:CONSULT bertemu > actor=e9⟧", "names no span"),
    ("⟦t1:CONSULT bertemu > pelaku=e1⟧ ⟦e1:PER Kim⟧", "bad argument 'pelaku=e1'"),
])
def test_markup_errors_name_line_and_column(markup, expected):
    with pytest.raises(MarkupError, match=expected.replace("(", r"\(")):
        parse(markup, "d")


def test_leave_one_article_out_over_the_seeds(root):
    ids = [p.stem for p in (root / "seeds").glob("*.txt")]
    folds = kfold(ids)
    assert len(folds) == 5
    assert sorted(x for f in folds for x in f.test) == sorted(ids)
    for f in folds:
        assert not set(f.train) & set(f.test) and not set(f.dev) & set(f.test) and not set(f.train) & set(f.dev)
        assert len(f.train) + len(f.dev) + len(f.test) == 5
    assert kfold(list(reversed(ids))) == folds  # order of input does not matter


def test_kfold_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be between"):
        kfold(["a", "b"], k=5)
    with pytest.raises(ValueError, match="dev part needs"):
        kfold(["a", "b"], k=2)


def test_agreement_command(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "d.ann").write_text("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1⟧ di ⟦e2:GPE Beijing⟧", encoding="utf-8")
    (b / "d.ann").write_text("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1 place=e2⟧ di ⟦e2:LOC Beijing⟧",
                             encoding="utf-8")
    assert main(["agree", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "d [17, 24) 'Beijing': GPE in A, LOC in B" in out
    assert "all spans        2      1      1  0.667" in out
    assert "arguments        1      0      1  0.667" in out


def test_a_full_disk_is_one_line_and_keeps_the_old_export(root, tmp_path, monkeypatch, capsys):
    import errno
    import os

    out = tmp_path / "seeds.json"
    out.write_text("[]\n", encoding="utf-8")
    from indoevent import atomic

    def disk_full(fd):  # the bytes were handed over; the disk cannot hold them
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    rc = main(["gold", "--markup", str(root / "annotations" / "gold"), "--seeds", str(root / "seeds"),
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and "No space left on device" in err and str(out) in err
    assert out.read_text(encoding="utf-8") == "[]\n"
    assert [p.name for p in tmp_path.iterdir()] == ["seeds.json"]  # the temporary file is gone


def test_missing_seed_is_one_line(root, tmp_path, capsys):
    rc = main(["gold", "--markup", str(root / "annotations" / "gold"), "--seeds", str(tmp_path),
               "--out", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "cannot read" in err and ".txt" in err


def test_agree_totals_and_argument_differences(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "d.ann").write_text("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1 recipient=e2⟧ ⟦e2:PER Kim⟧",
                             encoding="utf-8")
    (b / "d.ann").write_text("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > recipient=e1 actor=e2⟧ ⟦e2:GPE Kim⟧",
                             encoding="utf-8")
    assert main(["agree", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    rows = {line[:12].strip(): line[12:].split() for line in out.splitlines()}
    assert rows.get("entities") == ["1", "1", "1", "0.500"] and rows.get("triggers") == ["1", "0", "0", "1.000"]
    assert rows.get("all spans") == ["2", "1", "1", "0.667"] and rows.get("arguments") == ["0", "2", "2", "0.000"]
    assert "d CONSULT [6, 13) 'bertemu' actor [0, 5) 'Putin': only in A" in out
    assert "d CONSULT [6, 13) 'bertemu' recipient [0, 5) 'Putin': only in B" in out


def test_agree_warns_about_spans_it_cannot_use(make_export, capsys):
    """A span outside the text and a relation to a missing span: left out, with a warning each."""
    good = make_export("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1⟧ Kim.", name="good.json")
    task = json.loads(good.read_text(encoding="utf-8"))
    result = task[0]["annotations"][0]["result"]
    result.append({"id": "e9", "from_name": "entity", "to_name": "text", "type": "labels",
                   "value": {"start": 30, "end": 40, "text": "Beijing", "labels": ["GPE"]}})
    result.append({"from_id": "t1", "to_id": "zz", "type": "relation", "direction": "right", "labels": ["place"]})
    bad = good.with_name("bad.json")
    bad.write_text(json.dumps(task), encoding="utf-8")
    assert main(["agree", str(good), str(bad)]) == 0
    out, err = capsys.readouterr()
    warnings = [line for line in err.splitlines() if line.startswith("indoevent: warning:")]
    assert len(warnings) == 2 and all(str(bad) in w for w in warnings), err
    assert "[30, 40)" in warnings[0] and "'zz'" in warnings[1]
    assert " ".join(next(x for x in out.splitlines() if x.startswith("all spans")).split()) == "all spans 2 0 0 1.000"
