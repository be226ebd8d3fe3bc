"""What a user gets wrong, answered in one line that names the file, line or option, with nothing
written: an output path under a file or that is a folder, a cluster file that is not YAML or not
UTF-8, gold clusters of other stories than the merged frames, an option the action ignores, and
two self-trains on one run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent import atomic
from indoevent.annotation.event_clusters import ClusterError, load_clusters
from indoevent.annotation.inline import parse
from indoevent.atomic import OutputExistsError
from indoevent.cli import main
from indoevent.events.mentions import gold_records

ROOT = Path(__file__).resolve().parents[1]
RESULT = {"id": "a", "text": "Putin bertemu Kim di Beijing.", "events": [], "entities": [], "triggers": []}


def err_of(capsys) -> str:
    return capsys.readouterr().err


@pytest.fixture
def results(tmp_path) -> Path:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(RESULT) + "\n", encoding="utf-8")
    return path


# --- output paths --------------------------------------------------------------------------------
def test_the_output_rule_refuses_a_path_under_a_file(tmp_path):
    (tmp_path / "results.jsonl").write_text("{}\n")
    with pytest.raises(OutputExistsError, match=r"results\.jsonl is a file, not a folder"):
        atomic.check_output(tmp_path / "results.jsonl" / "merged" / "events.jsonl")
    assert atomic.file_in_the_way(tmp_path / "new" / "x.html") is None


def test_view_under_a_file_is_refused_before_any_work(results, capsys):
    assert main(["view", str(results), "--out", str(results / "view.html")]) == 1
    err = err_of(capsys)
    assert "results.jsonl is a file, not a folder" in err and "File exists" not in err


def test_view_into_an_empty_folder_asks_for_a_file_name(results, tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["view", str(results), "--out", str(folder)]) == 1
    err = err_of(capsys)
    assert "is a folder: give the HTML file" in err and "free some space" not in err
    assert not any(folder.iterdir()) and len(err.strip().splitlines()) == 1


def test_a_write_failure_says_what_is_in_the_way(tmp_path):
    from indoevent.cli.common import write_problem

    (tmp_path / "f").write_text("x")
    assert write_problem(tmp_path / "f" / "o.html", FileExistsError(17, "File exists")) == f"{tmp_path / 'f'} is a file, not a folder"
    assert "is a folder" in write_problem(tmp_path, IsADirectoryError(21, "Is a directory"))
    assert write_problem(tmp_path / "o", PermissionError(13, "Permission denied")) == "Permission denied"
