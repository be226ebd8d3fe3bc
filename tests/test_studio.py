"""indoevent.studio.client without a server: errors that say what to check, checks made before
anything is sent, and files written whole or not at all."""

from __future__ import annotations

import json
import os
import socket
from types import SimpleNamespace

import pytest
from label_studio_sdk.core.api_error import ApiError

from indoevent.annotation.inline import parse
from indoevent.annotation.labelconfig import render_config
from indoevent.annotation.lsexport import ExportError, document_to_results, load_tasks
from indoevent.cli import main
from indoevent.studio.client import check_tasks, import_request, push, snapshot, write_atomic
from indoevent.studio.connection import InvalidExport, Studio, StudioError, connect, explain

MARKUP = "⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1 recipient=e2⟧ ⟦e2:PER Kim⟧ di ⟦e3:GPE Beijing⟧."


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once the socket is closed


def task(doc_id="a", markup=MARKUP, **extra) -> dict:
    doc = parse(markup, doc_id)
    return {"data": {"text": doc.text, "doc_id": doc_id}, "annotations": [{"result": document_to_results(doc)}], **extra}


class Untouchable:
    """A client that fails the test if anything is sent to the server."""

    def __getattr__(self, name):
        raise AssertionError(f"the server was called ({name}) though nothing should have been sent")


def write(tmp_path, tasks, name="export.json"):
    path = tmp_path / name
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


# --- connecting -------------------------------------------------------------------------------
def test_server_down_names_the_url_and_what_to_check():
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(StudioError) as e:
        connect(url, "some-token", timeout=5)
    msg = str(e.value)
    assert url in msg and "cannot reach Label Studio" in msg and "--url" in msg


def test_cli_server_down_is_one_line_without_a_trace(capsys, monkeypatch, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("LABEL_STUDIO_URL", url)  # the URL comes from the environment too
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-token")
    for argv in (["ls", "status"], ["ls", "pull", "seeds", "--out", str(tmp_path / "pulled.json")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("indoevent: error: cannot reach Label Studio at " + url)
        assert "Traceback" not in err and len(err.splitlines()) == 1


def test_missing_token_is_asked_for(monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(StudioError, match=r"no API token .* --token or set \$LABEL_STUDIO_API_KEY"):
        connect("http://127.0.0.1:1")


@pytest.mark.parametrize("code, body, expected", [
    (401, {"detail": "Invalid token."}, "refused the API token while pushing (Invalid token.): check --token"),
    (403, {"detail": "no"}, "forbids"),
    (404, "<!DOCTYPE html><html></html>", "is this the address of a Label Studio server?"),
    (400, {"detail": "Validation error", "validation_errors": {"title": ["too long"]}},
     "answered 400 while pushing: Validation error: {'title': ['too long']}"),
])
def test_api_errors_are_explained(code, body, expected):
    msg = str(explain("http://ls:8080", "pushing", ApiError(status_code=code, headers={}, body=body)))
    assert expected in msg and "http://ls:8080" in msg and "headers" not in msg


@pytest.mark.parametrize("code, body", [(None, None), (401, {"detail": "Invalid token."}), (500, "boom")])
def test_credentials_in_the_url_are_never_echoed(capsys, monkeypatch, code, body):
    url = f"http://admin:rah@sia@127.0.0.1:{closed_port()}"
    if code is None:  # a server that is down, through the CLI
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-token")
        assert main(["ls", "status", "--url", url]) == 1
        msg = capsys.readouterr().err
    else:
        msg = str(explain(url, "pushing", ApiError(status_code=code, headers={}, body=body)))
    assert "rah" not in msg and "sia" not in msg and "admin" not in msg
    # connect drops user:pass@ (the token authenticates); explain masks them where a URL still has them
    assert ("http://***@127.0.0.1:" if code else "http://127.0.0.1:") in msg


# --- checks before sending --------------------------------------------------------------------
def test_gold_export_has_no_problems(root):
    assert check_tasks(load_tasks(root / "annotations" / "seeds.json")) == ([], [])


def test_every_annotation_and_prediction_is_checked():
    bad_pred = task("b")
    bad_pred["predictions"] = [{"model_version": "m1", "score": "high",
                                "result": [dict(r, value={**r["value"], "labels": ["MEET"]}) if r.get("value") else r
                                           for r in bad_pred.pop("annotations")[0]["result"]]}]
    second = task("c")
    second["annotations"].append({"id": 9, "result": [{"id": "x", "from_name": "entity", "to_name": "text",
                                                       "type": "labels", "value": {"start": 0, "end": 6,
                                                                                   "text": "Putin ", "labels": ["PER"]}}]})
    cancelled = task("d")
    cancelled["annotations"].append({"was_cancelled": True, "result": [{"type": "nonsense"}]})
    problems, _ = check_tasks([task("a"), bad_pred, second, cancelled, {"data": {"doc_id": "e"}}, task("a")])
    text = "\n".join(map(str, problems))
    assert "#1 (b) prediction (m1): score must be a number or null" in text
    assert "#1 (b) prediction (m1)" in text and "unknown label 'MEET'" in text
    assert "#2 (c) annotation 9 at [0, 6)" in text and "whitespace" in text  # the second annotation too
    assert "(d)" not in text  # a cancelled annotation is nobody's answer
    assert "#4 (e): data.text is missing" in text
    assert "#5 (a): doc_id a also used by task #0 (a)" in text


def test_a_quick_export_with_prediction_ids_is_named():
    t = task("a", predictions=[17])
    problems, _ = check_tasks([t])
    assert len(problems) == 1 and "prediction is an id only" in str(problems[0])


def test_import_request_leaves_out_what_belongs_to_another_server():
    t = task("a", id=12, meta={"source": "x.txt"}, predictions=[
        {"id": 3, "task": 12, "project": 2, "model_version": "m", "score": 0.5, "result": [], "created_ago": "1h"}])
    t["annotations"][0].update(id=4, completed_by=1, task=12, project=2, ground_truth=True, lead_time=None)
    req = import_request(t)
    assert set(req) == {"data", "meta", "annotations", "predictions"}
    assert set(req["annotations"][0]) == {"result", "ground_truth"}
    assert req["predictions"] == [{"result": [], "model_version": "m", "score": 0.5}]


def test_invalid_export_is_refused_before_connecting_to_anything(tmp_path):
    bad = task("a")
    bad["annotations"][0]["result"][0]["value"]["end"] = 999
    studio = Studio(Untouchable(), "http://ls:8080")
    with pytest.raises(InvalidExport) as e:
        push(studio, write(tmp_path, [bad, task("b")]), "seeds")
    assert "nothing was sent to http://ls:8080" in str(e.value)
    first = e.value.problems[0]
    assert (first.where, first.start, first.end) == ("task #0 (a)", 0, 999) and "outside the text" in first.message
    assert {p.where for p in e.value.problems} == {"task #0 (a)"}  # task b is fine


def fake_studio(project, imported: list) -> Studio:
    """A server holding one project; import_tasks records what it is given."""
    def import_tasks(pid, request):
        imported.extend(request)
        return SimpleNamespace(task_count=len(request), annotation_count=sum(len(t.get("annotations", []))
                                                                               for t in request),
                               prediction_count=sum(len(t.get("predictions", [])) for t in request))
    projects = SimpleNamespace(list=lambda title: [project], get=lambda pid: project, import_tasks=import_tasks)
    tasks = SimpleNamespace(list=lambda **kw: [])
    return Studio(SimpleNamespace(projects=projects, tasks=tasks), "http://ls:8080")


def test_existing_project_with_another_config_is_refused(tmp_path):
    project = SimpleNamespace(id=3, title="seeds", label_config=render_config().replace('"DATE"', '"TIME"'))
    imported: list = []
    with pytest.raises(StudioError, match=r"project 3 \('seeds'\) at http://ls:8080 has a labeling config .*TIME"):
        push(fake_studio(project, imported), write(tmp_path, [task("a")]), "seeds")
    assert imported == []


def test_existing_project_with_schema_config_takes_the_tasks(tmp_path):
    project = SimpleNamespace(id=3, title="seeds", label_config=render_config())
    imported: list = []
    report = push(fake_studio(project, imported), write(tmp_path, [task("a"), task("b")]), "seeds", batch_size=1)
    assert (report.created, report.tasks, report.annotations) == (False, 2, 2)
    assert [t["data"]["doc_id"] for t in imported] == ["a", "b"]


def test_new_project_config_must_match_schema(tmp_path):
    config = tmp_path / "config.xml"
    config.write_text(render_config().replace("<Relations>", "<Relations>\n    <Relation value=\"owner\"/>"))
    with pytest.raises(StudioError, match="does not match schema v1.*owner"):
        push(Studio(Untouchable(), "http://ls:8080"), write(tmp_path, [task("a")]), "seeds", config=config)


# --- files ------------------------------------------------------------------------------------
def test_jsonl_tasks_name_the_bad_line(tmp_path):
    path = tmp_path / "predicted.jsonl"
    path.write_text(json.dumps(task("a")) + "\n\n" + '{"data": {"text": "x"},}\n', encoding="utf-8")
    with pytest.raises(ExportError, match=r"predicted.jsonl:3: malformed JSON at column \d+"):
        load_tasks(path)
    path.write_text(json.dumps(task("a")) + "\n" + json.dumps(task("b")) + "\n", encoding="utf-8")
    assert [t["data"]["doc_id"] for t in load_tasks(path)] == ["a", "b"]


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "sub" / "pulled.json"
    write_atomic(out, b"[1]")
    write_atomic(out, b"[1, 2]")
    assert out.read_bytes() == b"[1, 2]"
    assert sorted(p.name for p in out.parent.iterdir()) == ["pulled.json"]


def test_atomic_write_failing_keeps_the_old_file(tmp_path, monkeypatch):
    out = tmp_path / "pulled.json"
    out.write_bytes(b"old")

    def crash(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_atomic(out, b"new")
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["pulled.json"]


# --- export snapshot --------------------------------------------------------------------------
def exports_client(statuses: list[str], calls: list) -> Studio:
    jobs = iter(SimpleNamespace(id=5, status=s) for s in statuses)
    exports = SimpleNamespace(
        create=lambda pid, **kw: calls.append(("create", kw)) or next(jobs),
        get=lambda pid, pk: next(jobs),
        download=lambda pid, pk, export_type: calls.append(("download", export_type)) or iter([b"[", b"]"]),
        delete=lambda pid, pk: calls.append(("delete", pk)))
    return Studio(SimpleNamespace(projects=SimpleNamespace(exports=exports)), "http://ls:8080")


def test_snapshot_waits_asks_for_full_predictions_and_cleans_up():
    calls: list = []
    data = snapshot(exports_client(["queued", "in_progress", "completed"], calls), 3, sleep=lambda s: None)
    assert data == b"[]"
    assert calls[0] == ("create", {"title": "indoevent pull",
                                   "serialization_options": {"predictions": {"only_id": False}}})
    assert calls[1:] == [("download", "JSON"), ("delete", 5)]  # JSON only: never CONLL


def test_failed_snapshot_is_an_error():
    with pytest.raises(StudioError, match=r"failed exporting project 3 \(export 5\)"):
        snapshot(exports_client(["queued", "failed"], []), 3, sleep=lambda s: None)


def test_empty_export_is_refused(tmp_path):
    with pytest.raises(InvalidExport, match="no tasks; nothing was sent"):
        push(Studio(Untouchable(), "http://ls:8080"), write(tmp_path, []), "seeds")


# --- a run below the project's model version needs --force (issue 14 B3) -----------------------
def loop_studio(tasks: list[dict], sent: list, model_version: str = "") -> Studio:
    """A server holding project 3 with these tasks; import_predictions records what it is given."""
    project = SimpleNamespace(id=3, title="berita", label_config=render_config(), model_version=model_version)
    projects = SimpleNamespace(list=lambda title: [project], get=lambda pid: project,
                               import_predictions=lambda pid, request: sent.extend(request))
    listed = SimpleNamespace(list=lambda **kw: [SimpleNamespace(**{"annotations": [], "predictions": [], **t})
                                                for t in tasks])
    return Studio(SimpleNamespace(projects=projects, tasks=listed), "http://ls:8080")


class SpanlessExtractor:
    """A run that finds nothing: its dev F1 is 0."""

    version = "new-2"

    def extract_many(self, texts, batch_size=None, ids=None):
        from indoevent.events.extractor import Extraction
        from indoevent.model.predict import Prediction

        return [Extraction(Prediction(t, [], [], id=i)) for t, i in zip(texts, ids or [None] * len(texts), strict=True)]


def annotated_task(tid: int, doc_id: str, stored: dict[str, str]) -> dict:
    """A task annotated with MARKUP whose stored predictions (version -> date) equal the gold."""
    t = task(doc_id)
    preds = [{"model_version": v, "created_at": date, "result": t["annotations"][0]["result"]}
             for v, date in stored.items()]
    return {**t, "id": tid, "predictions": preds}


def test_a_run_below_the_projects_model_version_needs_force(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_info.json").write_text(json.dumps({"split": {"train": ["c"], "dev": ["a", "b", "d"]}}))
    tasks = [annotated_task(1, "a", {"old-1": "2025-01-01", "mid-1": "2025-02-01"}),
             annotated_task(2, "b", {"old-1": "2025-01-01", "mid-1": "2025-02-01"}),
             annotated_task(3, "c", {"old-1": "2025-01-01"}),           # a training article of the run
             {"id": 4, "data": {"text": "Putin.", "doc_id": "d"}}]       # a dev article nobody labelled
    sent: list = []
    monkeypatch.setattr("indoevent.cli.studio.connect", lambda url, token: loop_studio(tasks, sent))
    monkeypatch.setattr("indoevent.cli.studio.Extractor",
                        SimpleNamespace(from_pretrained=lambda *a, **k: SpanlessExtractor()))
    args = ["ls", "predict", "--project", "3", "--model", str(run)]
    assert main(args) == 1 and sent == []
    err = capsys.readouterr().err
    # Scored against the newest version (no setting) on the 2 dev articles that are annotated.
    assert "dev F1 0.000 for new-2 vs 1.000 for mid-1 (the project's model version) on the same 2 dev article(s)" \
        in err and "--force" in err
    assert main(args + ["--force"]) == 0 and len(sent) == 4
    assert "warning: dev F1 0.000 for new-2 vs 1.000 for mid-1" in capsys.readouterr().err
    # The project's setting wins over the newest version; a run without dev articles says so and goes on.
    monkeypatch.setattr("indoevent.cli.studio.connect", lambda url, token: loop_studio(tasks, sent, "old-1"))
    assert main(args) == 1 and "1.000 for old-1" in capsys.readouterr().err
    (run / "run_info.json").write_text(json.dumps({"split": {"dev": []}}))
    assert main(args) == 0
    assert "no dev F1 comparison with the project's model version: the run has no dev articles" \
        in capsys.readouterr().out


def test_the_dev_comparison_says_why_it_could_not_compare():
    from indoevent.studio.compare import compare_on_dev_tasks, version_in_use

    tasks = [annotated_task(1, "a", {"old-1": "2025-01-01"}), {"id": 2, "data": {"text": "Kim.", "doc_id": "b"}}]
    ex = SpanlessExtractor()
    assert version_in_use("", tasks, ex.version) == "old-1" and version_in_use("", tasks[1:], ex.version) is None
    said = {why: compare_on_dev_tasks(tasks, dev, ex, version).why_not for why, dev, version in (
        ("no dev", set(), "old-1"), ("no version", {"a"}, None), ("same", {"a"}, "new-2"),
        ("unannotated", {"b"}, "old-1"), ("unpredicted", {"a"}, "other-3"))}
    assert said == {"no dev": "the run has no dev articles (run_info.json)",
                    "no version": "the project has no predictions of another model version",
                    "same": "the project already uses new-2",
                    "unannotated": "none of the run's 1 dev article(s) is annotated in the project",
                    "unpredicted": "none of the run's 1 dev article(s) is annotated in the project with a "
                                   "prediction of other-3"}
    better = compare_on_dev_tasks([{**tasks[0], "predictions": [{"model_version": "old-1", "result": []}]}],
                                  {"a"}, ex, "old-1")
    assert (better.articles, better.f1_new, better.f1_used, better.worse) == (1, 0.0, 0.0, False)


def test_a_url_with_user_and_password_still_sends_the_token(monkeypatch):
    """httpx turns user:pass@ in the URL into basic auth in place of the token: Label Studio
    then answered 401 and the error blamed the token."""
    import label_studio_sdk

    built = {}

    class FakeClient:
        def __init__(self, **kwargs):
            built.update(kwargs)
            self.versions = SimpleNamespace(get=lambda **k: SimpleNamespace(release="1.23", edition="Community"))
            self.users = SimpleNamespace(whoami=lambda: SimpleNamespace(email="a@b", username=None, id=1))

    monkeypatch.setattr(label_studio_sdk, "LabelStudio", FakeClient)
    studio = connect("http://team:secret@localhost:8080", "the-token")
    assert built["base_url"] == "http://localhost:8080" and built["api_key"] == "the-token"
    assert "secret" not in studio.url
