"""`indoevent extract`: inputs, bad inputs, resume after a crash, Label Studio output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the extractor needs torch")

from indoevent.annotation.lsexport import read_export  # noqa: E402
from indoevent.cli import main  # noqa: E402
from indoevent.events.batch import extract_files  # noqa: E402
from indoevent.events.extractor import Extractor  # noqa: E402
from indoevent.text.inputs import read_inputs  # noqa: E402
from scaffold import init_run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
WIRE = {"putin": "B-PER", "kim": "B-PER", "beijing": "B-GPE", "bertemu": "B-CONSULT", "rabu": "B-DATE"}


@pytest.fixture(scope="module")
def run(base, tmp_path_factory) -> Path:
    return init_run(base, tmp_path_factory.mktemp("cli") / "wired", wire=WIRE)


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
    (d / "sub" / "crlf.txt").write_bytes(b"Putin bertemu Kim.\r\nDi Beijing, Rabu.\r\n")
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


# --- the output file: never destroy what is not ours, one writer, a full disk ---------------------
def seed_folder(tmp_path: Path, n: int = len(SEEDS)) -> Path:
    d = tmp_path / "in"
    d.mkdir(exist_ok=True)
    for f in SEEDS[:n]:
        (d / f.name).write_bytes(f.read_bytes())
    return d


def one_error_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.startswith("indoevent: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_out_that_is_not_a_results_file_is_left_alone(run, tmp_path, capsys):
    d = seed_folder(tmp_path, 1)
    notes = tmp_path / "notes.md"
    notes.write_bytes((ROOT / "README.md").read_bytes())
    articles = tmp_path / "articles.jsonl"  # a JSONL of articles (id, text) is not a results file either
    articles.write_text(json.dumps({"id": "a", "text": "Putin bertemu Kim."}) + "\n", encoding="utf-8")
    for out in (notes, articles):
        before = out.read_bytes()
        for extra in ([], ["--overwrite"]):
            assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress", *extra]) == 1
            assert "not a results file" in one_error_line(capsys.readouterr().err)
            assert out.read_bytes() == before


def test_out_equal_to_an_input_is_refused(run, tmp_path, capsys):
    src = tmp_path / "news.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "Putin bertemu Kim di Beijing."}) + "\n", encoding="utf-8")
    before = src.read_bytes()
    for out, extra in ((src, []), (src, ["--overwrite"]), (tmp_path / "." / "news.jsonl", ["--overwrite"])):
        assert main(["extract", str(src), "--model", str(run), "--out", str(out), "--no-progress", *extra]) == 1
        assert f"{out}: is one of the inputs" in one_error_line(capsys.readouterr().err)
        assert src.read_bytes() == before
    # A .txt inside an input folder would be read back as an article.
    d = seed_folder(tmp_path, 1)
    assert main(["extract", str(d), "--model", str(run), "--out", str(d / "r.txt"), "--no-progress"]) == 1
    assert "is one of the inputs" in one_error_line(capsys.readouterr().err)
    assert not (d / "r.txt").exists()


def test_out_that_is_a_folder_is_refused(run, tmp_path, capsys):
    d = seed_folder(tmp_path, 1)
    assert main(["extract", str(d), "--model", str(run), "--out", str(tmp_path), "--no-progress"]) == 1
    assert f"{tmp_path}: is a folder" in one_error_line(capsys.readouterr().err)


def six_results(run, tmp_path) -> tuple[Path, list[bytes]]:
    d = seed_folder(tmp_path)
    (d / "extra.txt").write_text("Putin bertemu Kim di Beijing pada Rabu.", encoding="utf-8")
    out = tmp_path / "r.jsonl"
    assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]) == 0
    lines = out.read_bytes().splitlines(keepends=True)
    assert len(lines) == 6
    return out, lines


def test_a_corrupt_line_in_the_middle_is_reported_and_nothing_deleted(run, tmp_path, capsys):
    out, lines = six_results(run, tmp_path)
    capsys.readouterr()
    d = tmp_path / "in"
    for n, bad in ((2, lines[1].rstrip().removesuffix(b"}") + b"\n"), (3, b"[1, 2]\n"), (6, lines[5].rstrip())):
        broken = b"".join(lines[:n - 1] + [bad] + lines[n:])
        out.write_bytes(broken)
        assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]) == 1
        assert f"{out}:{n}:" in one_error_line(capsys.readouterr().err)
        assert out.read_bytes() == broken  # nothing deleted, nothing appended
    # --overwrite starts a damaged results file of ours over.
    assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress", "--overwrite"]) == 0
    assert len(read_lines(out)) == 6


def test_only_a_cut_last_line_is_dropped(run, tmp_path, capsys):
    out, lines = six_results(run, tmp_path)
    out.write_bytes(b"".join(lines[:5]) + lines[5][:30])  # a crash while the last line was written
    assert main(["extract", str(tmp_path / "in"), "--model", str(run), "--out", str(out), "--no-progress"]) == 0
    assert "cut short" in capsys.readouterr().err
    assert out.read_bytes().splitlines(keepends=True)[:5] == lines[:5] and len(read_lines(out)) == 6


def test_formats_are_not_mixed_in_one_out(run, tmp_path, capsys):
    d = seed_folder(tmp_path, 2)
    out = tmp_path / "r.jsonl"
    assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]) == 0
    before = out.read_bytes()
    (d / "more.txt").write_text("Kim tiba di Beijing.", encoding="utf-8")
    assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress",
                 "--format", "label-studio"]) == 1
    assert "--format jsonl" in one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == before and not out.with_suffix(".json").exists()


def test_label_studio_task_list_beside_out_must_be_ours(run, tmp_path, capsys, make_export):
    d = seed_folder(tmp_path, 1)
    gold = make_export("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu⟧ ⟦e2:PER Kim⟧.", name="gold.json")
    before = gold.read_bytes()
    assert main(["extract", str(d), "--model", str(run), "--out", str(tmp_path / "gold.jsonl"), "--no-progress",
                 "--format", "label-studio"]) == 1
    assert f"{gold}: not a task list" in one_error_line(capsys.readouterr().err)
    assert gold.read_bytes() == before and not (tmp_path / "gold.jsonl").exists()


def test_overwrite_keeps_the_old_results_until_the_new_are_done(extractor, tmp_path, monkeypatch):
    d = seed_folder(tmp_path)
    out = tmp_path / "r.jsonl"
    extract_files(extractor, [d], out, progress=False)
    before = out.read_bytes()
    import indoevent.events.batch as batch

    def crash(*a, **kw):
        raise Crash

    monkeypatch.setattr(batch, "read_inputs", crash)  # dies while the inputs are read
    with pytest.raises(Crash):
        extract_files(extractor, [d], out, progress=False, overwrite=True)
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["in", "r.jsonl"]


class FullDisk:
    """A file that takes ``room`` bytes, then writes half of what it is given and fails as a full disk does."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def write(self, data: bytes) -> int:
        import errno

        if len(data) > self.room:
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


@pytest.mark.parametrize("overwrite", [False, True])
def test_full_disk_is_one_line_and_leaves_no_half_line(run, tmp_path, capsys, monkeypatch, overwrite):
    import builtins

    import indoevent.events.batch as batch

    d = seed_folder(tmp_path)
    out = tmp_path / "r.jsonl"
    assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]) == 0
    lines = out.read_bytes().splitlines(keepends=True)
    # two lines fit, the third does not: half a line of slack, since a line's timing (seconds) may
    # take a digit more or less on the second run
    room = len(lines[0]) + len(lines[1]) + len(lines[2]) // 2
    if not overwrite:
        out.unlink()
    before = out.read_bytes() if overwrite else b""
    real_open = builtins.open

    def small_disk(path, mode="r", *a, **kw):
        f = real_open(path, mode, *a, **kw)
        return FullDisk(f, room) if "b" in mode and ("a" in mode or "w" in mode) else f

    monkeypatch.setattr(batch, "open", small_disk, raising=False)
    args = ["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]
    assert main(args + (["--overwrite"] if overwrite else [])) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"{out}: cannot write: No space left on device" in line
    if overwrite:
        assert "nothing was changed" in line and out.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "r.jsonl"]  # no temporary file left
    else:
        assert "resume" in line
        kept = read_lines(out)  # every line whole
        assert len(kept) == 2 and out.read_bytes().endswith(b"\n")
        monkeypatch.undo()
        assert main(args) == 0
        assert sorted(r["id"] for r in read_lines(out)) == sorted(f.stem for f in SEEDS)


def test_a_second_writer_is_refused_at_once(run, tmp_path, capsys):
    from indoevent.events.batch import exclusive

    d = seed_folder(tmp_path, 1)
    out = tmp_path / "r.jsonl"
    with exclusive(out):  # another run holds it
        assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]) == 1
    assert "another `indoevent extract` is writing it" in one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == b""
    assert main(["extract", str(d), "--model", str(run), "--out", str(out), "--no-progress"]) == 0


@pytest.mark.slow
def test_two_concurrent_runs_write_each_article_once(run, tmp_path):
    import os
    import subprocess
    import sys

    src = tmp_path / "news.jsonl"
    text = SEEDS[0].read_text(encoding="utf-8")[:400]
    src.write_text("".join(json.dumps({"id": i, "text": text}) + "\n" for i in range(300)), encoding="utf-8")
    out = tmp_path / "r.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "indoevent", "extract", str(src), "--model", str(run), "--out", str(out),
           "--no-progress"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    ids = [r["id"] for r in read_lines(out)]
    assert len(ids) == 300 and len(set(ids)) == 300
    # Either the second found the first at work and stopped, or it came after and found all done.
    for code, err in results:
        assert code == 0 or "another `indoevent extract` is writing it" in err, err


def test_a_lone_surrogate_gets_an_empty_result_not_a_failed_batch(extractor, caplog):
    """Extractor.extract raised TypeError on "\\ud800" (serve's /predict too); now that article is
    answered with nothing found and a warning, and the articles around it as usual."""
    good = "Putin bertemu Kim di Beijing."
    arts = list(extractor.extract_many([good, "Putin \ud800 bertemu", good]))
    assert [len(a.entities) > 0 for a in arts] == [True, False, True]
    assert arts[1].text == "Putin \ud800 bertemu" and arts[1].events == [] and arts[1].triggers == []
    assert extractor.extract("\ud800").entities == []
    assert "surrogate" in caplog.text


@pytest.mark.parametrize("flag", [["--batch-size", "0"], ["--batch-size", "-3"], ["--device", "banana"]])
def test_bad_batch_size_or_device_is_one_line(run, tmp_path, capsys, flag):
    src = tmp_path / "a.txt"
    src.write_text("Putin bertemu Kim.")
    assert main(["extract", str(src), "--model", str(run), "--out", str(tmp_path / "r.jsonl"), "--no-progress",
                 *flag]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("indoevent: error:") == 1 and flag[0] in err


@pytest.mark.parametrize("content", ["", "\n"])
def test_an_empty_jsonl_is_an_error_naming_it(run, tmp_path, capsys, content):
    src = tmp_path / "news.jsonl"
    src.write_text(content)
    assert main(["extract", str(src), "--model", str(run), "--out", str(tmp_path / "r.jsonl"), "--no-progress"]) == 1
    assert str(src) in capsys.readouterr().err


def test_extract_linker_option_reaches_the_extractor(run, inputs, tmp_path, monkeypatch):
    """`--linker rules` gets the rule linker; the default is the learned one."""
    from indoevent.events import extractor as module
    from indoevent.events.linking import link_rules

    used = []
    real = module.Extractor.frames

    def spy(self, p):
        used.append(self.linker)
        return real(self, p)

    monkeypatch.setattr(module.Extractor, "frames", spy)
    for choice, out in (("rules", tmp_path / "r.jsonl"), ("auto", tmp_path / "a.jsonl")):
        assert main(["extract", str(inputs / "sub"), "--model", str(run), "--out", str(out), "--no-progress",
                     "--linker", choice]) == 0
    assert used and used[0] is link_rules and type(used[-1]).__name__ == "LearnedLinker"
