"""`indoevent extract`: inputs, bad inputs, resume after a crash, Label Studio output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the extractor needs torch")

from indoevent.cli import main  # noqa: E402
from indoevent.events.batch import extract_files, read_inputs  # noqa: E402
from indoevent.events.extractor import Extractor  # noqa: E402
from scaffold import init_run  # noqa: E402
from indoevent.annotation.lsexport import read_export  # noqa: E402
from indoevent.model.tiny import build_tiny_bert  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
WIRE = {"putin": "B-PER", "kim": "B-PER", "beijing": "B-GPE", "bertemu": "B-CONSULT", "rabu": "B-DATE"}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    return init_run(build_tiny_bert(d / "base", ROOT / "seeds"), d / "wired", wire=WIRE)


@pytest.fixture(scope="module")
def extractor(run) -> Extractor:
    return Extractor.from_pretrained(run, device="cpu")


@pytest.fixture
def inputs(tmp_path) -> Path:
    """A folder with good .txt files (one with CRLF), a nested one, bad ones and a JSONL."""
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    for f in SEEDS[:2]:
        (d / f.name).write_bytes(f.read_bytes())
    (d / "sub" / "crlf.txt").write_bytes("Putin bertemu Kim.\r\nDi Beijing, Rabu.\r\n".encode())
    (d / "latin1.txt").write_bytes("Putin bertemu Kim di Caf\xe9.".encode("latin-1"))
    (d / "empty.txt").write_bytes(b" \n\t")
    (d / "notes.md").write_text("ignored: folders are searched for .txt only")
    lines = [json.dumps({"id": 7, "text": "Kim tiba di Beijing pada Rabu.", "url": "https://x"}),
             "{not json",
             json.dumps({"id": "no-text"}),
             "",
             json.dumps({"text": "no id"}),
             json.dumps(["a", "list"]),
             json.dumps({"id": "j2", "text": "Putin bertemu Kim 😀 di Beijing."}),
             '{"id": "surrogate", "text": "half an emoji \\ud83d"}']
    (tmp_path / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


GOOD_IDS = {SEEDS[0].stem, SEEDS[1].stem, "sub/crlf", "7", "j2"}


def test_read_inputs_reports_every_bad_input(inputs):
    items = list(read_inputs([inputs, inputs.parent / "news.jsonl", inputs.parent / "missing.txt",
                              inputs / "notes.md"]))
    good = [i for i in items if not hasattr(i, "message")]
    bad = {str(i.where).replace(str(inputs.parent), "X"): i.message for i in items if hasattr(i, "message")}
    assert {s.id for s in good} == GOOD_IDS
    assert bad.keys() == {"X/in/latin1.txt", "X/in/empty.txt", "X/news.jsonl:2", "X/news.jsonl:3",
                          "X/news.jsonl:5", "X/news.jsonl:6", "X/news.jsonl:8", "X/missing.txt", "X/in/notes.md"}
    assert "surrogate" in bad["X/news.jsonl:8"]
    assert "not UTF-8" in bad["X/in/latin1.txt"] and "byte 24" in bad["X/in/latin1.txt"]
    assert bad["X/in/empty.txt"] == "empty text"
    assert "malformed JSON" in bad["X/news.jsonl:2"]
    assert "'text'" in bad["X/news.jsonl:3"] and "'id'" in bad["X/news.jsonl:5"]
    crlf = next(s for s in good if s.id == "sub/crlf")
    assert "\r\n" in crlf.text  # no newline translation: offsets are into the file's own text
    assert next(s for s in good if s.id == "7").meta == {"url": "https://x"}


def test_duplicate_ids_are_reported(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "x", "text": "Putin."}\n{"id": "x", "text": "Kim."}\n')
    items = list(read_inputs([tmp_path / "a.jsonl"]))
    assert [getattr(i, "id", None) for i in items] == ["x", None]
    assert "duplicate id 'x'" in items[1].message and "a.jsonl:1" in items[1].message


def test_command_writes_good_inputs_and_exits_1_on_bad_ones(run, inputs, tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    code = main(["extract", str(inputs), str(inputs.parent / "news.jsonl"), "--model", str(run),
                 "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "latin1.txt: not UTF-8" in err and "news.jsonl:2: malformed JSON" in err
    rows = read_lines(out)
    assert {r["id"] for r in rows} == GOOD_IDS
    texts = {SEEDS[0].stem: SEEDS[0].read_bytes().decode(), "sub/crlf": "Putin bertemu Kim.\r\nDi Beijing, Rabu.\r\n",
             "j2": "Putin bertemu Kim 😀 di Beijing."}
    for r in rows:
        assert r["model"] == "wired" and r["timing"]["words"] > 0 and r["timing"]["seconds"] >= 0
        assert r["source"].endswith((".txt", ".jsonl:1", ".jsonl:7"))
        if r["id"] in texts:
            t = texts[r["id"]]
            for s in r["entities"] + r["triggers"]:
                assert t[s["start"]:s["end"]] == s["text"]
    crlf = next(r for r in rows if r["id"] == "sub/crlf")
    assert [(s["text"], s["label"]) for s in crlf["entities"]] == [("Putin", "PER"), ("Kim", "PER"),
                                                                   ("Beijing", "GPE"), ("Rabu", "DATE")]
    assert crlf["events"][0]["arguments"]["actor"][0]["text"] == "Putin"
    assert next(r for r in rows if r["id"] == "7")["meta"] == {"url": "https://x"}


def test_rerun_skips_what_is_done(run, tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    for f in SEEDS:
        (d / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "r.jsonl"
    args = ["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    first = out.read_bytes()
    assert main(args) == 0
    assert out.read_bytes() == first  # nothing redone, nothing appended
    assert "5 article(s) already in" in capsys.readouterr().out


class Crash(Exception):
    pass


def test_resume_after_a_crash_loses_nothing_and_repeats_nothing(extractor, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for f in SEEDS:
        (d / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "r.jsonl"

    # Crash while the third article is being written: its line is cut short.
    real_dumps = json.dumps
    calls = []

    def crashing_dumps(obj, **kw):
        calls.append(1)
        text = real_dumps(obj, **kw)
        if len(calls) == 3:
            with out.open("a", encoding="utf-8") as f:
                f.write(text[:40])  # half a line reached the disk
            raise Crash
        return text

    import indoevent.events.batch as ex_mod

    ex_mod.json.dumps = crashing_dumps
    try:
        with pytest.raises(Crash):
            extract_files(extractor, [d], out, progress=False)
    finally:
        ex_mod.json.dumps = real_dumps
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3  # two good lines and a cut one

    report = extract_files(extractor, [d], out, progress=False)
    assert report.truncated_line and report.skipped_done == 2 and report.written == 3
    rows = read_lines(out)
    assert sorted(r["id"] for r in rows) == sorted(f.stem for f in SEEDS)

    # And the same as one uninterrupted run.
    clean = tmp_path / "clean.jsonl"
    extract_files(extractor, [d], clean, progress=False)
    strip = lambda rs: sorted((r["id"], json.dumps(r["entities"]), json.dumps(r["events"])) for r in rs)  # noqa: E731
    assert strip(rows) == strip(read_lines(clean))


def test_label_studio_format_validates(run, inputs, tmp_path):
    out = tmp_path / "tasks.jsonl"
    code = main(["extract", str(inputs / "sub"), str(inputs.parent / "news.jsonl"), "--model", str(run),
                 "--out", str(out), "--format", "label-studio", "--no-progress"])
    assert code == 1  # the bad JSONL lines
    tasks = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert [t["data"]["doc_id"] for t in tasks] == [t["data"]["doc_id"] for t in read_lines(out)]
    assert {t["data"]["doc_id"] for t in tasks} == {"crlf", "7", "j2"}  # ids are paths inside the folder given
    for t in tasks:
        (pred,) = t["predictions"]
        assert pred["model_version"].startswith("wired@") and pred["result"]
        assert all(0 < r["score"] <= 1 for r in pred["result"] if r["type"] == "labels")
    # Predictions turned into annotations pass the project's own validator.
    annotated = [{**t, "id": k, "annotations": [{"id": k, "result": t["predictions"][0]["result"]}]}
                 for k, t in enumerate(tasks, 1)]
    (tmp_path / "as_export.json").write_text(json.dumps(annotated, ensure_ascii=False), encoding="utf-8")
    got = read_export(tmp_path / "as_export.json")
    assert got.problems == [] and len(got.documents) == 3
    assert any(d.relations for d in got.documents)
    # Resume works in this format too (ids are data.doc_id).
    assert main(["extract", str(inputs / "sub"), "--model", str(run), "--out", str(out), "--format",
                 "label-studio", "--no-progress"]) == 0
    assert len(read_lines(out)) == 3


def test_label_studio_out_must_be_jsonl(run, inputs, tmp_path, capsys):
    assert main(["extract", str(inputs / "sub"), "--model", str(run), "--out", str(tmp_path / "t.json"),
                 "--format", "label-studio", "--no-progress"]) == 1
    assert ".jsonl" in capsys.readouterr().err


def test_missing_model_and_missing_int8_export_are_clear(run, inputs, tmp_path, capsys):
    assert main(["extract", str(inputs / "sub"), "--model", str(tmp_path / "nope"), "--out",
                 str(tmp_path / "o.jsonl"), "--no-progress"]) == 1
    assert "cannot load model" in capsys.readouterr().err
    assert main(["extract", str(inputs / "sub"), "--model", str(run), "--out", str(tmp_path / "o.jsonl"),
                 "--quantize", "int8", "--no-progress"]) == 1
    assert "indoevent export-onnx" in capsys.readouterr().err


def test_help_explains(capsys):
    with pytest.raises(SystemExit):
        main(["extract", "--help"])
    text = capsys.readouterr().out
    for word in ("resume", "--format", "label-studio", "--quantize", "JSONL"):
        assert word in text


def test_results_of_another_model_are_never_mixed(run, tmp_path, capsys):
    """Resuming only continues the same model's work; --overwrite starts over."""
    import shutil

    from safetensors.torch import load_file, save_file

    d = tmp_path / "in"
    d.mkdir()
    for f in SEEDS[:2]:
        (d / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "r.jsonl"
    assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]) == 0
    version = read_lines(out)[0]["model_version"]
    assert version.startswith(f"{Extractor.from_pretrained(run).name}@") and len(version.split("@")[1]) == 12

    retrained = tmp_path / "retrained"  # the same run name, other weights
    shutil.copytree(run, retrained)
    weights = load_file(str(retrained / "model.safetensors"))
    weights["classifier.bias"] = weights["classifier.bias"] + 1.0
    save_file(weights, str(retrained / "model.safetensors"), metadata={"format": "pt"})
    before = out.read_bytes()
    assert main(["extract", str(d), "--model", str(retrained), "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"holds 2 result(s) of model {version}" in err and "--overwrite" in err
    assert out.read_bytes() == before  # nothing written, nothing lost

    assert main(["extract", str(d), "--model", str(retrained), "--out", str(out), "--no-progress",
                 "--overwrite"]) == 0
    rows = read_lines(out)
    assert len(rows) == 2 and {r["model_version"] for r in rows} != {version}
