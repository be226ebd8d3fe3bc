"""A damaged run folder is one line naming what is wrong, in every command that loads runs
(extract, evaluate, export-onnx, serve, ls): a model.safetensors cut short, a broken
config.json, missing tokenizer files. Never a traceback of safetensors or transformers."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from indoevent.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS_EXPORT = ROOT / "annotations" / "seeds.json"


def one_error(argv: list[str], capsys) -> str:
    """The error line of a command that must fail with one line (a traceback fails the test)."""
    try:
        code = main(argv)
    except Exception as e:  # noqa: BLE001 - the bug these tests guard against
        code, err = None, f"Traceback: {type(e).__name__}: {e}"
    else:
        err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("indoevent: error:")]
    assert code == 1 and "Traceback" not in err and len(lines) == 1, err
    return lines[0]


@pytest.fixture
def broken(untrained_run, tmp_path):
    """A copy of the run, to damage."""
    return Path(shutil.copytree(untrained_run, tmp_path / "broken"))


@pytest.mark.slow
def test_a_cut_short_weights_file_is_one_line_in_every_command(broken, tmp_path, capsys, monkeypatch):
    weights = broken / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size // 2)  # an interrupted copy
    article = tmp_path / "a.txt"
    article.write_text("Putin bertemu Kim di Beijing.", encoding="utf-8")
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")  # never reached: the run fails first
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "token")
    for argv in (["extract", str(article), "--model", str(broken), "--out", str(tmp_path / "r.jsonl"), "--no-progress"],
                 ["evaluate", str(broken), "--data", str(SEEDS_EXPORT), "--resamples", "0"],
                 ["export-onnx", str(broken)],
                 ["serve", "--model", str(broken)],
                 ["ls", "predict", "--project", "seeds", "--model", str(broken)]):
        line = one_error(argv, capsys)
        assert f"{weights}: damaged or cut short" in line, argv
    assert not (tmp_path / "r.jsonl").exists() and not (broken / "onnx").exists()


def test_evaluate_on_a_run_without_its_tokenizer_or_with_a_broken_config(broken, capsys):
    (broken / "tokenizer.json").unlink()
    argv = ["evaluate", str(broken), "--data", str(SEEDS_EXPORT), "--resamples", "0"]
    assert f"{broken}: the tokenizer has 5 tokens" in one_error(argv, capsys)
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    assert f"{broken / 'config.json'}: not a model config" in one_error(argv, capsys)


@pytest.mark.slow
def test_export_onnx_on_a_run_without_its_tokenizer(broken, capsys):
    """Else the export answers with a 5-token vocabulary: every word [UNK], no error."""
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (broken / name).unlink()
    assert f"{broken}: the tokenizer has 5 tokens" in one_error(["export-onnx", str(broken)], capsys)
    assert not (broken / "onnx").exists()


@pytest.mark.slow
def test_export_onnx_on_a_full_disk_names_its_output_folder(untrained_run, tmp_path, capsys, monkeypatch):
    out = tmp_path / "exported"
    real = os.replace

    def full_disk(a, b):
        if Path(b) == out:  # moving the finished folder into place
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(a, b)

    monkeypatch.setattr(os, "replace", full_disk)
    line = one_error(["export-onnx", str(untrained_run), "--out", str(out)], capsys)
    assert f"{out}: cannot write: No space left on device" in line
    assert not out.exists() and not list(tmp_path.glob(".exported*"))  # nothing half written
