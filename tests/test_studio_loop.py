"""The annotation loop without a server: articles -> tasks, predictions and their task score, the
ML backend's protocol (FastAPI TestClient on the real app and a wired tiny model), merging
projects' annotations, and training data from several exports."""

from __future__ import annotations

import base64
import json
import socket
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from indoevent.annotation.labelconfig import render_config  # noqa: E402
from indoevent.cli import main  # noqa: E402
from indoevent.document import Span  # noqa: E402
from indoevent.events.extractor import Extraction  # noqa: E402
from indoevent.model.config import from_dict  # noqa: E402
from indoevent.model.data import DataError, load_corpus  # noqa: E402
from indoevent.model.predict import Prediction  # noqa: E402
from indoevent.studio.backend import Backend, project_id  # noqa: E402
from indoevent.studio.client import check_tasks  # noqa: E402
from indoevent.studio.connection import InvalidExport, Studio, StudioError  # noqa: E402
from indoevent.studio.retrain import merge_exports  # noqa: E402
from indoevent.studio.tasks import import_articles, read_article_tasks, task_score  # noqa: E402
from indoevent.studio.webapp import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["Putin bertemu Kim Jong Un di Beijing pada Rabu.", "", "😀 Kim bertemu Putin 👍🏽 di Beijing."]


@pytest.fixture(scope="module")
def backend(wired_run) -> Backend:
    return Backend(wired_run, device="cpu")


@pytest.fixture
def client(backend) -> TestClient:
    return TestClient(create_app(backend))


def ls_task(i: int, text: str) -> dict:
    return {"id": 100 + i, "data": {"text": text, "doc_id": f"d{i}"}}


# --- articles -> tasks ------------------------------------------------------------------------
def test_articles_from_txt_folders_and_jsonl_keep_their_metadata(tmp_path):
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "a.txt").write_text("Putin bertemu Kim.", encoding="utf-8")
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text(json.dumps({"id": 7, "text": "Kim 😀 di Beijing.", "date": "2024-08-12"}) + "\n", encoding="utf-8")
    tasks, errors = read_article_tasks([tmp_path / "news", jsonl])
    assert not errors
    assert tasks == [{"data": {"text": "Putin bertemu Kim.", "doc_id": "a"}},
                     {"data": {"date": "2024-08-12", "text": "Kim 😀 di Beijing.", "doc_id": "7"}}]


def test_unreadable_inputs_are_named_and_nothing_is_sent(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "Putin"}\n{"id": 2}\nnot json\n', encoding="utf-8")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "t")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # A down server: the reading error would come first if there were one; here the inputs are fine
    # but the server is not, and the CLI says so in one line.
    good = tmp_path / "a.txt"
    good.write_text("Putin bertemu Kim.", encoding="utf-8")
    assert main(["ls", "import", str(good), "--project", "x", "--url", f"http://127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach Label Studio" in err[0] and str(port) in err[0]
    _, errors = read_article_tasks([bad])
    assert [str(e) for e in errors] == [f"{bad}:2: field 'text' is missing or not a string",
                                        f"{bad}:3: malformed JSON at column 1: Expecting value"]

    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the server was called ({name}) though the inputs are broken")

    with pytest.raises(InvalidExport) as e:
        import_articles(Studio(Untouchable(), "http://127.0.0.1:1"), [good, bad], "x", progress=False)
    assert [p.where for p in e.value.problems] == [f"{bad}:2", f"{bad}:3"] and "nothing was sent" in str(e.value)


# --- predictions and the task score -----------------------------------------------------------
def test_task_score_is_the_least_sure_span_not_the_mean_over_words():
    text = "Putin bertemu Kim."
    ents = [Span(0, 5, "PER", "Putin", 0.95, "e1"), Span(14, 17, "PER", "Kim", 0.41, "e2")]
    trig = [Span(6, 13, "CONSULT", "bertemu", 0.8, "t1")]
    assert task_score(Extraction(Prediction(text, ents, trig, "a", score=0.97))) == 0.41
    assert task_score(Extraction(Prediction(text, [], [], "a", score=0.97))) == 0.97  # no span: sure it is all O
    assert task_score(Extraction(Prediction("", [], [], "a", score=None))) is None


# --- the ML backend ---------------------------------------------------------------------------
def test_predict_gives_one_valid_result_per_task_even_for_empty_text(client, backend, tmp_path):
    tasks = [ls_task(i, t) for i, t in enumerate(TEXTS)]
    r = client.post("/predict", json={"tasks": tasks, "project": "3.1712345678", "label_config": render_config()})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 3
    assert results[1]["result"] == []
    for res in results:
        assert res["model_version"] == backend.model_version
        regions = [x for x in res["result"] if x["type"] == "labels"]
        ids = [x["id"] for x in regions]
        assert len(set(ids)) == len(ids)
        assert all(0 < x["score"] <= 1 for x in regions)
        for rel in (x for x in res["result"] if x["type"] == "relation"):
            assert rel["from_id"] in ids and rel["to_id"] in ids
        if regions:
            assert res["score"] == min(x["score"] for x in regions)
    first = {(x["value"]["text"], x["value"]["labels"][0]) for x in results[0]["result"] if x["type"] == "labels"}
    assert {("Putin", "PER"), ("Kim Jong Un", "PER"), ("bertemu", "CONSULT"), ("Beijing", "GPE")} <= first
    assert any(x["type"] == "relation" for x in results[0]["result"])
    emoji = {(x["value"]["start"], x["value"]["end"], x["value"]["text"]) for x in results[2]["result"]
             if x["type"] == "labels"}
    assert (2, 5, "Kim") in emoji  # code points, as Label Studio stores them

    # The project's validator takes them as predictions, and `indoevent validate` as annotations.
    with_preds = [{**t, "predictions": [p]} for t, p in zip(tasks, results, strict=True)]
    assert check_tasks(with_preds) == ([], [])
    as_annotations = tmp_path / "predicted.json"
    as_annotations.write_text(json.dumps([{**t, "annotations": [{"result": p["result"]}]}
                                          for t, p in zip(tasks, results, strict=True)], ensure_ascii=False),
                              encoding="utf-8")
    assert main(["validate", str(as_annotations)]) == 0


def test_predict_with_a_task_without_text_still_answers_for_every_task(client):
    r = client.post("/predict", json={"tasks": [{"id": 1, "data": {}}, {"id": 2, "data": {"text": "Putin."}}]})
    assert [len(x["result"]) for x in r.json()["results"]] == [0, 1]
    assert client.post("/predict", json={"no": "tasks"}).status_code == 400


def test_health_and_setup_refuse_a_config_that_is_not_the_schema(client, backend):
    h = client.get("/health").json()
    assert h["status"] == "UP" and h["model_version"] == backend.model_version
    assert h["training"]["state"] == "idle"
    ok = client.post("/setup", json={"project": "1.17", "schema": render_config()})
    assert ok.status_code == 200 and ok.json() == {"model_version": backend.model_version}
    bad = client.post("/setup", json={"project": "1.17", "schema": render_config().replace('"ASSAULT"', '"ATTACK"')})
    assert bad.status_code == 400 and "ATTACK" in bad.json()["error"]


SECRET = "s3cret-abc"
HOOK = f"/secret/{SECRET}/webhook"


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("INDOEVENT_WEBHOOK_SECRET", SECRET)


def set_up(c: TestClient, project: int = 4, **kw) -> None:
    """The /setup Label Studio sends through the URL `ls connect` registered."""
    r = c.post(f"/secret/{SECRET}/setup", json={"project": f"{project}.1712345678", "schema": render_config()}, **kw)
    assert r.status_code == 200, r.text


def test_basic_auth_guards_everything_but_the_webhook(wired_run, secret_env, tmp_path):
    b = Backend(wired_run, device="cpu", work_dir=tmp_path)
    c = TestClient(create_app(b, basic_auth=("tim", "rahasia")))
    good = {"Authorization": "Basic " + base64.b64encode(b"tim:rahasia").decode()}
    wrong = {"Authorization": "Basic " + base64.b64encode(b"tim:salah").decode()}
    assert c.get("/health").status_code == 401
    assert c.get("/health", headers=wrong).status_code == 401
    assert c.get("/health", headers=good).status_code == 200
    assert c.post("/predict", json={"tasks": []}).status_code == 401
    set_up(c, 1, headers=good)
    assert c.post(HOOK, json={"action": "ANNOTATION_CREATED", "project": {"id": 1}}).status_code == 200


def test_webhook_needs_the_secret_and_the_project_the_backend_was_set_up_for(wired_run, secret_env, tmp_path, caplog):
    # Anyone who reached the port could start retrains (and swap the model) for any project id.
    b = Backend(wired_run, device="cpu", work_dir=tmp_path, studio_factory=lambda: 1 / 0)
    c = TestClient(create_app(b))
    train = {"action": "START_TRAINING", "project": {"id": 4}}
    assert c.post("/webhook", json=train).status_code == 403          # no secret in the URL
    assert c.post(HOOK, json=train).status_code == 403                # no project set up yet
    assert c.post("/secret/wrong/setup", json={"project": "9.1", "schema": render_config()}).status_code == 404
    set_up(c, 4)
    assert c.post("/secret/wrong/webhook", json=train).status_code == 404
    assert c.post(HOOK, json={**train, "project": {"id": 5}}).status_code == 403
    assert c.post(f"/secret/{SECRET}/setup", json={"project": "5.1", "schema": render_config()}).status_code == 400
    assert b.training.state == "idle" and c.get("/health").json()["project"] == 4
    for i in range(50):  # made-up actions must not grow the counters
        c.post(HOOK, json={"action": f"MADE_UP_{i}", "project": {"id": 4}})
    assert len(c.get("/health").json()["events"]) <= 3
    assert c.post(HOOK, json=train).json()["status"] == "started"
    b.wait(10)
    # Without the secret configured at all, no webhook is taken.
    assert TestClient(create_app(Backend(wired_run, device="cpu", work_dir=tmp_path, secret=""))).post(
        HOOK, json=train).status_code in (403, 404)


def test_webhook_records_annotations_and_runs_one_retrain_at_a_time(wired_run, secret_env, tmp_path, caplog):
    release = threading.Event()
    calls = []

    def studio():  # stands in for connect(): holds the retrain until released, then fails like a down server
        calls.append(1)
        release.wait(10)
        raise StudioError("cannot reach Label Studio at http://127.0.0.1:1")

    caplog.set_level("INFO", logger="indoevent.serve")
    b = Backend(wired_run, device="cpu", studio_factory=studio, work_dir=tmp_path,
                config=ROOT / "training/configs/tiny.yaml")
    c = TestClient(create_app(b))
    set_up(c, 4)
    assert c.post(HOOK, json={"action": "ANNOTATION_CREATED", "project": {"id": 4}}).json()["status"] == "ok"
    assert c.post(HOOK, json={"action": "START_TRAINING", "project": {"id": 4}}).json()["status"] == "started"
    assert c.post(HOOK, json={"action": "START_TRAINING", "project": {"id": 4}}).json()["status"] == "busy"
    assert c.get("/health").json()["training"]["state"] == "running"
    release.set()
    b.wait(10)
    h = c.get("/health").json()
    assert h["events"] == {"ANNOTATION_CREATED": 1, "START_TRAINING": 2}
    assert h["training"]["state"] == "failed" and "cannot reach Label Studio" in h["training"]["last"]["error"]
    assert h["model_version"] == b.model_version and len(calls) == 1  # still serving, trained once
    said = [r.getMessage() for r in caplog.records if r.name == "indoevent.serve"]
    assert any(m.startswith("retrain: started for project 4") for m in said)
    assert any(m.startswith("retrain: failed: cannot reach Label Studio") for m in said)
    assert c.post(HOOK, json={"action": "START_TRAINING", "project": {"id": 4}}).json()["status"] == "started"
    b.wait(10)


def test_project_ids_in_every_shape_label_studio_sends():
    assert [project_id(v) for v in ({"id": 3}, "3.1712345678", 3, "x", None)] == [3, 3, 3, None, None]


# --- merging projects and training data from several exports ----------------------------------
def annotated(doc_id: str, text: str, spans: list[tuple[int, int, str]], when: str, cancelled=False) -> dict:
    result = [{"id": f"r{k}", "from_name": "entity", "to_name": "text", "type": "labels",
               "value": {"start": a, "end": b, "text": text[a:b], "labels": [lab]}} for k, (a, b, lab) in enumerate(spans)]
    return {"data": {"text": text, "doc_id": doc_id},
            "annotations": [{"id": 1, "result": result, "updated_at": when, "was_cancelled": cancelled}]}


def test_merge_keeps_the_latest_annotation_reports_conflicts_and_counts_unannotated():
    text = "Putin bertemu Kim."
    p1 = [annotated("a", text, [(0, 5, "PER")], "2025-01-01"), annotated("b", text, [(0, 5, "PER")], "2025-01-01"),
          {"data": {"text": text, "doc_id": "c"}, "annotations": []}]
    p2 = [annotated("a", text, [(0, 5, "PER"), (14, 17, "PER")], "2025-03-01"),
          annotated("b", text, [], "2025-05-01", cancelled=True)]
    m = merge_exports([("project 1", p1), ("project 2", p2)])
    by = {t["data"]["doc_id"]: t for t in m.tasks}
    assert sorted(by) == ["a", "b"]
    assert len(by["a"]["annotations"][0]["result"]) == 2          # the later one, from project 2
    assert by["b"]["annotations"][0]["updated_at"] == "2025-01-01"  # a cancelled annotation never wins
    assert m.conflicts == ["a (project 1, project 2)"]
    assert m.unannotated == 1


def test_training_data_from_a_list_of_exports_and_strict_failures_list_their_problems(make_export, tmp_path):
    one = make_export("⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1⟧ Kim.", name="one.json")
    two = make_export({"id": 9, "data": {"text": "Kim di Beijing.", "doc_id": "z"}, "annotations": []}, name="two.json")
    cfg = from_dict({"run_name": "t", "data": {"export": [str(one)]}})
    assert [a.doc_id for a in load_corpus(cfg.data).gold] == ["doc1"]
    with pytest.raises(DataError) as e:
        load_corpus(from_dict({"run_name": "t", "data": {"export": [str(one), str(two)]}}).data)
    assert "1 problem(s) under data.strict" in str(e.value) and "1 task(s) unannotated: task 9 (z)" in str(e.value)


def test_retrain_into_an_existing_run_is_refused_before_the_server_is_asked(tmp_path):
    from indoevent.model.runs import RunExistsError
    from indoevent.studio.retrain import retrain

    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the server was called ({name})")

    (tmp_path / "run").mkdir()
    with pytest.raises(RunExistsError, match="--overwrite"):
        retrain(Studio(Untouchable(), "http://127.0.0.1:1"), ["p"], ROOT / "training/configs/tiny.yaml", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no annotations.json either


# --- serve: bad input, busy port, logs (issue 14) ---------------------------------------------
def test_a_lone_surrogate_or_an_enormous_text_empties_its_task_not_the_batch(backend, caplog, monkeypatch):
    c = TestClient(create_app(backend), raise_server_exceptions=False)
    caplog.set_level("INFO", logger="indoevent.serve")
    body = '{"tasks": [{"id": 1, "data": {"text": "Putin \\ud800 bertemu"}}, {"id": 2, "data": {"text": "Putin."}}]}'
    r = c.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and [len(x["result"]) for x in r.json()["results"]] == [0, 1]
    said = [r.getMessage() for r in caplog.records if r.name == "indoevent.serve"]
    assert any("task 1: empty result: it holds a lone surrogate" in m for m in said)
    # Every call is logged at the default level: tasks, seconds, model version.
    assert any(m.startswith("predict: 2 task(s) in ") and backend.model_version in m for m in said)
    monkeypatch.setattr("indoevent.studio.tasks.MAX_TEXT", 20, raising=False)
    r = c.post("/predict", json={"tasks": [{"id": 3, "data": {"text": "Putin bertemu Kim di Beijing."}}]})
    assert r.json()["results"][0]["result"] == []


def test_a_request_over_the_limit_is_refused_before_it_is_read(backend):
    c = TestClient(create_app(backend))
    assert c.post("/predict", json={"tasks": "x" * 5_000_000}).status_code == 413


def test_relations_none_leaves_the_arrows_out(wired_run, tmp_path, capsys):
    assert "--relations" in main_help(["serve", "--help"], capsys)
    b = Backend(wired_run, device="cpu", work_dir=tmp_path)
    b.relations = False
    (res,) = TestClient(create_app(b)).post("/predict", json={"tasks": [ls_task(0, TEXTS[0])]}).json()["results"]
    assert res["result"] and not [x for x in res["result"] if x["type"] == "relation"]


def main_help(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit):
        main(args)
    return capsys.readouterr().out


def test_serve_on_a_busy_port_says_so_in_one_line(wired_run, tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        try:
            rc = main(["serve", "--model", str(wired_run), "--port", str(port), "--work-dir", str(tmp_path)])
        except SystemExit as e:  # uvicorn exits when it cannot bind
            rc = e.code
    out, err = capsys.readouterr()
    assert rc == 1 and "http://" not in out
    assert len(err.strip().splitlines()) == 1 and f"cannot listen on 127.0.0.1:{port}" in err


def test_a_retrain_that_cannot_start_says_why_in_one_line(wired_run, tmp_path, caplog):
    caplog.set_level("INFO", logger="indoevent.serve")
    one = [annotated("a", "Putin bertemu Kim.", [(0, 5, "PER")], "2025-01-01")]
    b = Backend(wired_run, device="cpu", work_dir=tmp_path, config=ROOT / "training/configs/tiny.yaml",
                studio_factory=lambda: Studio(FakeClient(one), "http://fake"))
    b.start_training(4)
    b.wait(30)
    assert b.training.state == "failed"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "1 annotated article(s)" in errors[0] and "needs at least 2" in errors[0]
    caplog.clear()
    b.config = tmp_path / "nowhere.yaml"
    b.start_training(4)
    b.wait(30)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "nowhere.yaml not found" in errors[0]


class FakeClient:
    """Label Studio's SDK client, as far as a snapshot export of one project goes."""

    def __init__(self, tasks: list[dict]):
        from types import SimpleNamespace as NS

        done = NS(status="completed", id=1)
        exports = NS(create=lambda *a, **k: done, get=lambda *a, **k: done, delete=lambda *a, **k: None,
                     download=lambda *a, **k: iter([json.dumps(tasks).encode()]))
        self.projects = NS(get=lambda pid: NS(id=pid, title="berita", label_config=render_config()), exports=exports)


def test_every_label_studio_start_shown_binds_to_this_machine():
    # The same commands turn SSRF protection off: the server must not listen on every interface.
    for doc in (ROOT / "README.md", ROOT / "annotations" / "guidelines.md"):
        starts = [line for line in doc.read_text(encoding="utf-8").splitlines() if "label-studio start" in line]
        assert starts and all("--internal-host 127.0.0.1" in line for line in starts), (doc, starts)


def test_the_readme_loop_section_says_what_serve_logs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    loop = text[text.index("## Annotating with Label Studio"):text.index("## Speed")]
    for said in ("predict: 3 task(s) in", "retrain: started for project", "retrain: step", "retrain: done: run",
                 "on the same 12 dev article(s)", "retrain: failed:", "served.json", "INDOEVENT_WEBHOOK_SECRET",
                 "indoevent serve --model models/berita-r1/run"):
        assert said in loop, said


def test_a_swap_is_recorded_and_a_restart_serves_the_swapped_run(wired_run, tmp_path, monkeypatch, caplog):
    import shutil

    from indoevent.studio.retrain import Merged, RetrainReport

    new_run = shutil.copytree(wired_run, tmp_path / "new-run")
    monkeypatch.setattr("indoevent.studio.backend.retrain",
                        lambda *a, **k: RetrainReport(tmp_path / "a.json", Merged(), new_run, None))
    monkeypatch.setattr("indoevent.studio.backend.compare_on_dev", lambda *a: {
        "dev_articles": 3, "dev_f1_new": 0.9, "dev_f1_served": 0.5, "dev_accepted_predictions": 2}, raising=False)
    caplog.set_level("INFO", logger="indoevent.serve")
    work = tmp_path / "work"
    b = Backend(wired_run, device="cpu", work_dir=work, config=ROOT / "training/configs/tiny.yaml",
                studio_factory=lambda: None)
    b.start_training(4)
    b.wait(30)
    assert b.training.state == "done" and b.training.last["swapped"], b.training.last
    done = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrain: done")]
    assert done and "on the same 3 dev article(s)" in done[0] and "2 of them labelled exactly as" in done[0]
    again = Backend(wired_run, device="cpu", work_dir=work)
    assert again.run == Path(new_run).resolve() and again.swapped_from == str(wired_run)
