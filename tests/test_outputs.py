"""The one output rule of every command that writes (README, Outputs): an input is never an
output, an existing output needs --overwrite, and --overwrite replaces only what the command
writes; a merge folder is written as one unit. Failures are injected, never timed."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from indoevent import atomic
from indoevent.annotation.inline import parse
from indoevent.atomic import OutputExistsError
from indoevent.cli import main
from indoevent.events.mentions import gold_records, read_frames
from indoevent.events.merge import merge
from indoevent.events.merge_files import write_merge

ROOT = Path(__file__).resolve().parent.parent
SEEDS_EXPORT = ROOT / "annotations" / "seeds.json"
MEET = ("a", "2025-09-03", "⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1 recipient=e2⟧ ⟦e2:PER Kim⟧.")
MERGE_FILES = ("events.jsonl", "mentions.jsonl", "events.csv", "mentions.csv")
PARADE = ("b", "2025-09-03", "⟦e1:GPE China⟧ ⟦t1:MOBILIZE menggelar > actor=e1⟧ parade.")


def frames(tmp_path: Path, *articles, name: str = "frames.jsonl") -> Path:
    docs = [parse(markup, aid) for aid, _, markup in articles]
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in gold_records(docs, {a: d for a, d, _ in articles})),
                    encoding="utf-8")
    return path


def tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def err_of(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("indoevent: error:") == 1, err
    return err


# --- an input is never an output; an existing output needs --overwrite ---------------------------
def test_evaluate_out_never_writes_over_its_gold(tmp_path, capsys):
    gold = tmp_path / "seeds.json"
    shutil.copy(SEEDS_EXPORT, gold)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    assert main(["evaluate", str(run), "--data", str(gold), "--out", str(gold)]) == 1
    assert "is an input" in err_of(capsys) and gold.read_bytes() == SEEDS_EXPORT.read_bytes()


def test_frames_out_never_writes_over_its_input(tmp_path, capsys):
    export = tmp_path / "x.json"
    shutil.copy(SEEDS_EXPORT, export)
    assert main(["frames", str(export), "--out", str(export)]) == 1
    assert "is an input" in err_of(capsys) and export.read_bytes() == SEEDS_EXPORT.read_bytes()


def test_linker_fit_never_writes_over_a_run_config(tmp_path, capsys):
    config = tmp_path / "run" / "config.json"
    config.parent.mkdir()
    config.write_text('{"model_type": "bert"}')
    assert main(["linker", "fit", str(SEEDS_EXPORT), "--out", str(config)]) == 1
    assert "--overwrite" in err_of(capsys) and config.read_text() == '{"model_type": "bert"}'
    assert main(["linker", "fit", str(SEEDS_EXPORT), "--out", str(config), "--overwrite"]) == 1
    assert "never replaced" in err_of(capsys) and config.read_text() == '{"model_type": "bert"}'
    # Its own file is replaced with --overwrite.
    linker = tmp_path / "linker.json"
    assert main(["linker", "fit", str(SEEDS_EXPORT), "--out", str(linker)]) == 0
    assert main(["linker", "fit", str(SEEDS_EXPORT), "--out", str(linker), "--overwrite"]) == 0


def test_ls_pull_refuses_an_existing_out_before_the_network(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")  # never reached
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "token")
    out = tmp_path / "mine.json"
    out.write_text("my notes")
    assert main(["ls", "pull", "seeds", "--out", str(out)]) == 1
    assert f"{out}: not a Label Studio export" in err_of(capsys) and out.read_text() == "my notes"


def test_compare_out_never_writes_over_a_metrics_file(tmp_path, capsys):
    report = tmp_path / "reports" / "x"
    report.mkdir(parents=True)
    (report / "metrics.json").write_text('{"run": "r"}')
    assert main(["compare", str(report), "--out", str(report / "metrics.json")]) == 1
    assert "never replaced" in err_of(capsys) and (report / "metrics.json").read_text() == '{"run": "r"}'


def test_merge_out_never_writes_into_a_folder_of_texts(tmp_path, capsys):
    f = frames(tmp_path, MEET)
    texts = tmp_path / "seeds"
    texts.mkdir()
    (texts / "a.txt").write_text("Putin bertemu Kim.")
    assert main(["merge", str(f), "--out", str(texts), "--no-progress"]) == 1
    assert "never replaced" in err_of(capsys) and tree(texts) == {"a.txt": b"Putin bertemu Kim."}


def test_overwrite_replaces_only_the_commands_own_output(tmp_path, capsys):
    f = frames(tmp_path, MEET)
    out = tmp_path / "merged"
    assert main(["merge", str(f), "--out", str(out), "--no-progress"]) == 0
    assert main(["merge", str(f), "--out", str(out), "--no-progress"]) == 1
    assert main(["merge", str(f), "--out", str(out), "--no-progress", "--overwrite"]) == 0
    assert sorted(tree(out)) == sorted(MERGE_FILES) and not list(tmp_path.glob(".merged*"))  # no lock, no build
    g = tmp_path / "gold.jsonl"
    assert main(["frames", str(SEEDS_EXPORT), "--out", str(g)]) == 0
    assert main(["frames", str(SEEDS_EXPORT), "--out", str(g), "--overwrite"]) == 0
    capsys.readouterr()
    results = tmp_path / "results.jsonl"  # `indoevent extract` output: not gold frames
    results.write_text(json.dumps({"id": "a", "events": [], "model_version": "run@1"}) + "\n")
    assert main(["frames", str(SEEDS_EXPORT), "--out", str(results), "--overwrite"]) == 1
    assert "never replaced" in err_of(capsys)
    capsys.readouterr()


def test_the_rule_itself(tmp_path):
    out = tmp_path / "o.txt"
    assert atomic.check_output(out) == out  # new
    (tmp_path / "empty").mkdir()
    atomic.check_output(tmp_path / "empty")  # an empty folder counts as new
    out.write_text("x")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        atomic.check_output(out)
    with pytest.raises(OutputExistsError, match="never replaced"):
        atomic.check_output(out, overwrite=True, ours=lambda p: False)
    with pytest.raises(OutputExistsError, match="is an input"):
        atomic.check_output(tmp_path / "." / "o.txt", [out], overwrite=True)
    assert atomic.check_output(out, overwrite=True, ours=lambda p: True) == out


# --- merge writes its folder as one unit, under a lock -----------------------------------------
def _result(tmp_path: Path, *articles):
    return merge(read_frames([frames(tmp_path, *articles, name=f"{articles[0][0]}.jsonl")]), progress=False)


def test_a_merge_that_fails_half_way_leaves_the_old_folder_whole(tmp_path, monkeypatch):
    out = tmp_path / "merged"
    write_merge(_result(tmp_path, MEET), out)
    before = tree(out)
    real, calls = os.replace, []

    def full_disk(a, b):
        calls.append(b)
        if len(calls) == 2:  # the second file: the first one is already in place
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(a, b)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        write_merge(_result(tmp_path, PARADE), out)
    monkeypatch.undo()
    assert tree(out) == before  # never events.jsonl of one run beside mentions.jsonl of another
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".merged")) == []


def test_a_second_merge_on_one_folder_stops_at_once(tmp_path):
    out = tmp_path / "merged"
    with FileLock(tmp_path / ".merged.lock", thread_local=False):  # another merge is writing it
        with pytest.raises(OutputExistsError, match="another `indoevent merge`"):
            write_merge(_result(tmp_path, MEET), out)
    assert not out.exists()


# --- leftovers ---------------------------------------------------------------------------------
def test_a_killed_build_is_cleaned_by_the_next_one(tmp_path, monkeypatch, make_export, capsys):
    """A convert killed mid-build leaves its temporary folder; the next convert removes it."""
    export = make_export("⟦e1:PER Putin⟧ tiba di ⟦e2:GPE Beijing⟧.")
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    # A kill: the block stops and nothing runs after it (no cleanup); its process is gone.
    monkeypatch.setattr(atomic.shutil, "rmtree", lambda *a, **k: None)
    monkeypatch.setattr(atomic.os, "getpid", lambda: int(dead))
    with pytest.raises(KeyboardInterrupt):
        with atomic.building(out) as tmp:
            (tmp / "articles.jsonl").write_text("half")
            raise KeyboardInterrupt
    monkeypatch.undo()
    assert [p.name for p in tmp_path.glob(".out.*")]  # the orphan, as a kill -9 leaves it
    assert main(["convert", str(export), "--out", str(out)]) == 0
    assert [p.name for p in tmp_path.glob(".out.*")] == []
    capsys.readouterr()


# --- one line, not a traceback -----------------------------------------------------------------
def test_evaluate_negative_resamples_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    assert main(["evaluate", str(run), "--data", str(SEEDS_EXPORT), "--resamples", "-5"]) == 1
    assert "--resamples -5" in err_of(capsys)


def test_linker_evaluate_on_one_or_no_article(make_export, capsys):
    one = make_export("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1⟧ Kim.")
    assert main(["linker", "evaluate", str(one)]) == 0
    assert "needs at least 2 articles" in capsys.readouterr().out
    assert main(["linker", "evaluate", str(make_export(name="none.json"))]) == 1
    assert "no annotated article" in err_of(capsys)


def test_compare_names_the_file_that_is_not_json(tmp_path, capsys):
    report = tmp_path / "x"
    report.mkdir()
    (report / "metrics.json").write_text("{not json")
    assert main(["compare", str(report)]) == 1
    assert f"{report / 'metrics.json'}: not JSON" in err_of(capsys)


def test_merge_refuses_event_types_outside_the_schema(tmp_path, capsys):
    f = frames(tmp_path, MEET)
    f.write_text(f.read_text().replace('"CONSULT"', '"PARTY"'))
    assert main(["merge", str(f), "--out", str(tmp_path / "m"), "--no-progress"]) == 1
    assert "'PARTY' is not an event type" in capsys.readouterr().err and not (tmp_path / "m").exists()


def test_frames_and_merge_on_an_empty_input_name_it(tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert main(["frames", str(empty), "--out", str(tmp_path / "f.jsonl")]) == 1
    assert str(empty) in err_of(capsys) and not (tmp_path / "f.jsonl").exists()
    nothing = tmp_path / "nothing.jsonl"
    nothing.write_text("")
    assert main(["merge", str(nothing), "--out", str(tmp_path / "m"), "--no-progress"]) == 1
    assert str(nothing) in err_of(capsys) and not (tmp_path / "m").exists()


# --- a full disk: one line naming the output, nothing half written -------------------------------
def _full_disk_under(monkeypatch, out: Path) -> None:
    """os.replace fails with ENOSPC for ``out`` and anything inside it (the atomic writers' last step)."""
    real = os.replace

    def full_disk(a, b):
        if Path(b) == out or out in Path(b).parents:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(a, b)

    monkeypatch.setattr(os, "replace", full_disk)


def _one_line(argv: list[str], capsys) -> str:
    try:
        code = main(argv)
    except OSError as e:  # what a full disk did before: a traceback
        code, err = None, f"Traceback: {e}"
    else:
        err = capsys.readouterr().err
    assert code == 1, err
    return err_of_text(err)


def err_of_text(err: str) -> str:
    assert "Traceback" not in err and err.count("indoevent: error:") == 1, err
    return err


def test_frames_on_a_full_disk(tmp_path, capsys, monkeypatch):
    out = tmp_path / "gold.jsonl"
    _full_disk_under(monkeypatch, out)
    assert f"{out}: cannot write: No space left on device" in _one_line(
        ["frames", str(SEEDS_EXPORT), "--out", str(out)], capsys)
    assert os.listdir(tmp_path) == []  # no temporary file left


def test_evaluate_out_on_a_full_disk(untrained_run, tmp_path, capsys, monkeypatch):
    run = shutil.copytree(untrained_run, tmp_path / "run")  # evaluate exports it to ONNX: not the shared one
    report = tmp_path / "report"
    _full_disk_under(monkeypatch, report)
    assert f"{report}: cannot write: No space left on device" in _one_line(
        ["evaluate", str(run), "--data", str(SEEDS_EXPORT), "--articles", "004_81279350a79d8947", "--resamples", "0",
         "--out", str(report)], capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no report, no temporary folder


def test_compare_out_on_a_full_disk(tmp_path, capsys, monkeypatch):
    evaluation = tmp_path / "report"
    evaluation.mkdir()
    micro = {"micro": {"precision": 0.5, "recall": 0.5, "f1": 0.5}, "labels": {}}
    (evaluation / "metrics.json").write_text(json.dumps({"articles": ["a"], "spans": dict.fromkeys(
        ("entities", "triggers", "all"), micro)}))
    page = tmp_path / "compare.html"
    _full_disk_under(monkeypatch, page)
    assert f"{page}: cannot write: No space left on device" in _one_line(
        ["compare", str(evaluation), "--out", str(page)], capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_the_package_and_the_cli_import_without_fcntl():
    """The locks are filelock's, so batch extraction and the CLI import where there is no fcntl (Windows)."""
    code = ("import sys; sys.modules['fcntl'] = None; import indoevent.events.batch, indoevent.cli, "
            "indoevent.model.train; from indoevent.atomic import locked")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
