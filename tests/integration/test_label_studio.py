"""`indoevent ls` against a real Label Studio server: what goes in comes back, and what is
wrong never goes in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent.annotation.labelconfig import render_config
from indoevent.annotation.lsexport import read_export
from indoevent.cli import main
from indoevent.document import Span
from indoevent.events.batch import write_task_list
from indoevent.events.extractor import Extraction
from indoevent.events.frames import frames_from_relations
from indoevent.model.predict import Prediction
from indoevent.studio.client import check_tasks, find_project, pull, push, status
from indoevent.studio.connection import InvalidExport, StudioError

pytestmark = pytest.mark.labelstudio

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "annotations" / "seeds.json"


def ls_args(label_studio) -> list[str]:
    return ["--url", label_studio.url, "--token", label_studio.token]


def spans_and_relations(documents) -> dict[str, tuple[str, set, set]]:
    """Per doc_id: text, spans as (start, end, label, text), relations as (trigger, role, entity)
    with spans named by position, so the comparison holds whatever ids the spans get."""
    out = {}
    for d in documents:
        at = {s.id: (s.start, s.end, s.label) for s in d.spans}
        out[d.doc_id] = (d.text, {(s.start, s.end, s.label, s.text) for s in d.spans},
                         {(at[r.trigger_id], r.role, at[r.entity_id]) for r in d.relations})
    return out


def task_count(studio, project_id: int) -> int:
    return studio.client.projects.get(project_id).task_number


def test_push_then_pull_gives_back_the_gold(label_studio, tmp_path, capsys, title):
    assert main(["ls", "push", str(SEEDS), "--project", title, *ls_args(label_studio)]) == 0
    assert "pushed 5 tasks (5 annotations, 0 predictions) to new project" in capsys.readouterr().out

    pulled = tmp_path / "pulled.json"
    assert main(["ls", "pull", title, "--out", str(pulled), *ls_args(label_studio)]) == 0
    out = capsys.readouterr()
    assert "5 tasks, 5 annotated" in out.out and "valid" in out.out, out.err

    gold, back = read_export(SEEDS), read_export(pulled)
    assert not back.problems and not back.skipped
    assert spans_and_relations(back.documents) == spans_and_relations(gold.documents)
    assert sum(len(d.relations) for d in back.documents) > 100  # the comparison compared something
    assert main(["validate", str(pulled)]) == 0

    assert main(["ls", "status", *ls_args(label_studio)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.endswith(title))
    assert row.split()[1:6] == ["5", "5", "5", "0", "v1"]


def test_pushing_the_same_tasks_again_is_refused_unless_skip_existing(studio, title):
    first = push(studio, SEEDS, title, progress=False)
    assert (first.created, first.tasks, first.annotations) == (True, 5, 5)
    with pytest.raises(StudioError, match=r"5 of 5 tasks .* already in project .*--skip-existing"):
        push(studio, SEEDS, title, progress=False)
    again = push(studio, SEEDS, first.project_id, skip_existing=True, progress=False)
    assert (again.created, again.tasks, again.skipped_existing) == (False, 0, 5)
    assert task_count(studio, first.project_id) == 5


def extract_output(tmp_path: Path) -> tuple[Path, dict]:
    """What `indoevent extract --format label-studio` writes for the seeds, made from the gold
    with scores as a model would give (Extraction.to_label_studio, then the JSON task list)."""
    jsonl, sent = tmp_path / "predicted.jsonl", {}
    with jsonl.open("w", encoding="utf-8") as f:
        for k, doc in enumerate(read_export(SEEDS).documents):
            scored = [Span(s.start, s.end, s.label, s.text, score=0.5 + (i % 50) / 100, id=s.id)
                      for i, s in enumerate(doc.spans)]
            ents, trigs = [s for s in scored if not s.is_trigger], [s for s in scored if s.is_trigger]
            art = Extraction(Prediction(doc.text, ents, trigs, id=doc.doc_id, score=0.9 - k / 100),
                             frames_from_relations(trigs, ents, doc.relations))
            task = art.to_label_studio("tiny-test", {"source": f"seeds/{doc.doc_id}.txt"})
            sent[doc.doc_id] = task["predictions"][0]
            f.write(json.dumps(task, ensure_ascii=False) + "\n")
    return write_task_list(jsonl, jsonl.with_suffix(".json")), sent


def test_predictions_go_in_and_come_back_whole(studio, tmp_path, title):
    tasks_json, sent = extract_output(tmp_path)
    report = push(studio, tasks_json, title, progress=False)
    assert (report.tasks, report.annotations, report.predictions) == (5, 0, 5)

    r = pull(studio, title, tmp_path / "pulled.json")
    assert (r.tasks, r.annotated, r.predictions) == (5, 0, 5)
    assert not r.problems
    tasks = json.loads(r.path.read_text(encoding="utf-8"))
    assert not check_tasks(tasks)[0]
    for task in tasks:
        (pred,) = task["predictions"]
        assert isinstance(pred, dict), "the snapshot must hold full predictions, not ids"
        want = sent[task["data"]["doc_id"]]
        assert pred["model_version"] == "tiny-test"
        assert pred["score"] == pytest.approx(want["score"])
        assert pred["result"] == want["result"]  # spans with scores, relations, ids: all of it
        assert task["data"]["source"].startswith("seeds/")


def test_invalid_export_is_refused_before_anything_is_sent(studio, label_studio, make_export, capsys, title):
    text = "Putin bertemu Kim di Beijing."
    bad = make_export({"id": 1, "data": {"text": text, "doc_id": "a"}, "annotations": [{"result": [
        {"id": "e1", "from_name": "entity", "to_name": "text", "type": "labels",
         "value": {"start": 0, "end": 99, "text": "Putin", "labels": ["PER"]}}]}]},
        {"id": 2, "data": {"text": text, "doc_id": "b"}, "predictions": [{"model_version": "m", "result": [
            {"id": "t1", "from_name": "event", "to_name": "text", "type": "labels",
             "value": {"start": 6, "end": 13, "text": "bertemu", "labels": ["MEET"]}}]}]})
    with pytest.raises(InvalidExport) as e:
        push(studio, bad, title, progress=False)
    messages = [str(p) for p in e.value.problems]
    assert any("task 1 (a)" in m and "[0, 99)" in m for m in messages), messages
    assert any("task 2 (b) prediction" in m and "MEET" in m for m in messages), messages
    assert find_project(studio, title) is None  # not even the project was created

    # Into an existing project: nothing is imported either, and the CLI says why.
    good = push(studio, SEEDS, title, progress=False)
    assert main(["ls", "push", str(bad), "--project", title, *ls_args(label_studio)]) == 1
    err = capsys.readouterr().err
    assert "error: task 1 (a) at [0, 99)" in err and "nothing was sent" in err and "Traceback" not in err
    assert task_count(studio, good.project_id) == 5


def test_project_with_another_label_config_is_refused(studio, title):
    other = render_config().replace('value="ASSAULT"', 'value="ATTACK"')
    project = studio.client.projects.create(title=title, label_config=other)
    with pytest.raises(StudioError, match=r"does not match schema v1.*ATTACK"):
        push(studio, SEEDS, title, progress=False)
    assert task_count(studio, project.id) == 0
    (row,) = [p for p in status(studio) if p.id == project.id]
    assert not row.config_ok


def test_pull_reports_what_the_server_let_through(studio, tmp_path, capsys, label_studio, title):
    # The server stores offsets outside the text without a word: pull must say so.
    project = studio.client.projects.create(title=title, label_config=render_config())
    text = "Putin bertemu Kim."
    studio.client.projects.import_tasks(project.id, request=[{"data": {"text": text, "doc_id": "x"}, "annotations": [
        {"result": [{"id": "e1", "from_name": "entity", "to_name": "text", "type": "labels",
                     "value": {"start": 14, "end": 40, "text": "Kim", "labels": ["PER"]}}]}]}])
    out = tmp_path / "pulled.json"
    assert main(["ls", "pull", str(project.id), "--out", str(out), *ls_args(label_studio)]) == 1
    err = capsys.readouterr().err
    assert "[14, 40)" in err and "outside the text" in err and "problem(s)" in err
    assert json.loads(out.read_text(encoding="utf-8"))[0]["data"]["doc_id"] == "x"  # written all the same


def test_wrong_token_is_a_clear_error(label_studio, capsys):
    assert main(["ls", "status", "--url", label_studio.url, "--token", "not-the-token"]) == 1
    err = capsys.readouterr().err
    assert label_studio.url in err and "refused the API token" in err and "--token" in err
    assert "Traceback" not in err
