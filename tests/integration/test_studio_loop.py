"""The live annotation loop against a real Label Studio and a real `indoevent serve`: import,
predict, rank, retrain, predict again; the ML backend called by Label Studio itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from indoevent.annotation.labelconfig import render_config
from indoevent.annotation.lsexport import read_export
from indoevent.cli import main
from indoevent.events.extractor import Extractor
from indoevent.studio.client import find_project, pull, push
from indoevent.studio.tasks import SCORE_VIEW, next_task, project_tasks, retrieve_predictions

pytestmark = pytest.mark.labelstudio

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "annotations" / "seeds.json"
EMOJI = "😀 Kim bertemu Putin 👍🏽 di Beijing."
WEBHOOK_SECRET = "integration-secret"


@pytest.fixture(scope="module")
def tiny_config(base, tmp_path_factory) -> Path:
    """training/configs/tiny.yaml cut to a few steps: the retraining path, not a good model."""
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(f"run_name: tiny-retrain\nmodel:\n  name_or_path: {base}\n"
                    "data:\n  max_length: 128\n  overlap: 32\n  dev: 1\n"
                    "train:\n  epochs: 1\n  max_steps: 3\n  batch_size: 8\n  learning_rate: 1.0e-3\n"
                    "  logging_steps: 1\n  seed: 42\n", encoding="utf-8")
    return path


def ls_args(label_studio) -> list[str]:
    return ["--url", label_studio.url, "--token", label_studio.token]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def versions_per_task(studio, project_id: int) -> dict[str, set]:
    return {t["data"]["doc_id"]: t["model_versions"] for t in project_tasks(studio, project_id)}


def test_import_twice_adds_nothing(label_studio, studio, tmp_path, capsys, title):
    extra = write_jsonl(tmp_path / "more.jsonl", [{"id": "x1", "text": "Kim bertemu Putin.", "source": "kompas"}])
    args = ["ls", "import", str(ROOT / "seeds"), str(extra), "--project", title, *ls_args(label_studio)]
    assert main(args) == 0
    assert "imported 6 tasks" in capsys.readouterr().out
    assert main(args) == 0
    assert "nothing to import: all 6 articles are already in project" in capsys.readouterr().out
    project = find_project(studio, title)
    assert project.task_number == 6
    data = {t["data"]["doc_id"]: t["data"] for t in project_tasks(studio, project.id)}
    assert data["x1"] == {"text": "Kim bertemu Putin.", "doc_id": "x1", "source": "kompas"}
    assert (ROOT / "seeds" / f"{sorted(data)[0]}.txt").read_bytes().decode("utf-8") == data[sorted(data)[0]]["text"]


def test_import_with_a_wrong_token_is_one_line_and_sends_nothing(label_studio, studio, capsys, title):
    assert main(["ls", "import", str(ROOT / "seeds"), "--project", title, "--url", label_studio.url,
                 "--token", "wrong"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused the API token" in err[0]
    assert find_project(studio, title) is None


def test_predict_retrain_predict_again(label_studio, studio, wired_run, tiny_config, tmp_path, capsys, title):
    first = push(studio, SEEDS, title, progress=False)
    unannotated = write_jsonl(tmp_path / "new.jsonl", [{"id": "baru-1", "text": "Putin bertemu Kim di Beijing."}])
    assert main(["ls", "import", str(unannotated), "--project", title, *ls_args(label_studio)]) == 0
    assert main(["ls", "predict", "--project", title, "--model", str(wired_run), *ls_args(label_studio)]) == 0
    v1 = Extractor.from_pretrained(wired_run, device="cpu").version
    assert f"added predictions of {v1} to 6 tasks (0 already had one)" in capsys.readouterr().out

    out = tmp_path / "retrained"
    assert main(["ls", "retrain", "--project", title, "--config", str(tiny_config), "--out-dir", str(out),
                 *ls_args(label_studio)]) == 0
    said = capsys.readouterr().out
    assert "merged 5 annotated articles" in said and "left out 1 unannotated" in said
    v2 = Extractor.from_pretrained(out / "run", device="cpu").version
    assert v2 != v1 and (out / "run" / "metrics.json").is_file()

    # Three steps from a random head score below the wired model on the run's dev article: --force.
    again = ["ls", "predict", "--project", title, "--model", str(out / "run"), *ls_args(label_studio)]
    assert main(again) == 1
    err = capsys.readouterr().err
    assert f"for {v1} (the project's model version) on the same 1 dev article(s)" in err and "--force" in err
    assert set(map(frozenset, versions_per_task(studio, first.project_id).values())) == {frozenset({v1})}
    assert main(again + ["--force"]) == 0
    assert "to 6 tasks (0 already had one)" in capsys.readouterr().out
    assert main(["ls", "rank", "--project", title, "--model", str(out / "run"), *ls_args(label_studio)]) == 1
    assert "--force" in capsys.readouterr().err
    assert set(map(frozenset, versions_per_task(studio, first.project_id).values())) == {frozenset({v1, v2})}
    assert main(["ls", "predict", "--project", title, "--model", str(wired_run), *ls_args(label_studio)]) == 0
    assert "to 0 tasks (6 already had one)" in capsys.readouterr().out

    r = pull(studio, title, tmp_path / "pulled.json")
    assert r.predictions == 12 and not r.problems  # every prediction passes the project's validator


def test_uncertainty_sampling_serves_the_lowest_score_next(label_studio, studio, capsys, title):
    texts = {"a": "Putin bertemu Kim.", "b": "Kim di Beijing.", "c": "Putin di Rusia."}
    project = studio.client.projects.create(title=title, label_config=render_config())
    studio.client.projects.import_tasks(project.id, request=[{"data": {"text": t, "doc_id": k}} for k, t in texts.items()])
    ids = {t["data"]["doc_id"]: t["id"] for t in project_tasks(studio, project.id)}
    scores = {"a": 0.9, "b": 0.31, "c": 0.6}
    studio.client.projects.import_predictions(project.id, request=[
        {"task": ids[k], "model_version": "m-1", "score": s, "result": []} for k, s in scores.items()])
    # A tab an older `ls rank` made showed every raw column: it is updated, not doubled.
    studio.client.views.create(project=project.id, data={"title": SCORE_VIEW, "ordering": [],
                                                         "hiddenColumns": {"explore": [], "labeling": []}})
    assert main(["ls", "rank", "--project", title, "--model-version", "m-1", *ls_args(label_studio)]) == 0
    assert "Uncertainty sampling" in capsys.readouterr().out
    assert next_task(studio, project.id)["id"] == ids["b"]
    views = [v for v in studio.client.views.list(project=project.id) if v.data.get("title") == SCORE_VIEW]
    assert len(views) == 1 and views[0].data["ordering"] == ["tasks:predictions_score"]
    # Only id, doc_id, score and model version show: every other column the server lists is hidden.
    assert "tasks:data.text" in views[0].data["hiddenColumns"]["explore"]
    from indoevent.studio.tasks import SCORE_COLUMNS, column_ids

    columns = column_ids(studio, project.id)
    assert set(SCORE_COLUMNS) <= set(columns) and "tasks:data.text" in columns
    for mode in ("explore", "labeling"):
        assert sorted(views[0].data["hiddenColumns"][mode]) == sorted(set(columns) - set(SCORE_COLUMNS))
    assert main(["ls", "rank", "--project", title, "--model-version", "m-2", *ls_args(label_studio)]) == 1
    assert "no predictions of model version 'm-2'" in capsys.readouterr().err


def _health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
        return json.loads(r.read())


@pytest.fixture
def backend_url(label_studio, wired_run, tiny_config, tmp_path):
    """`indoevent serve` as a subprocess on a free port, retraining with the tiny config."""
    from start_label_studio import free_port

    port = free_port()
    env = {**os.environ, "LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": label_studio.token,
           "INDOEVENT_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "indoevent", "serve", "--model", str(wired_run), "--port", str(port),
                             "--config", str(tiny_config), "--work-dir", str(tmp_path / "retrain")],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if _health(url)["status"] == "UP":
                    break
            except OSError:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_label_studio_gets_predictions_from_the_backend_and_start_training_retrains(
        label_studio, studio, backend_url, wired_run, capsys, title, monkeypatch):
    monkeypatch.setenv("INDOEVENT_WEBHOOK_SECRET", WEBHOOK_SECRET)  # connect puts it in the backend's URL
    project = push(studio, SEEDS, title, progress=False)
    assert main(["ls", "connect", "--project", title, "--url", backend_url, "--ls-url", label_studio.url,
                 "--token", label_studio.token]) == 0
    out = capsys.readouterr().out
    assert "ML_BLOCK_LOCAL_IP=false" in out and "USE_DEFAULT_BANNED_SUBNETS=false" in out
    assert "connected (interactive)" in out
    assert main(["ls", "connect", "--project", title, "--url", backend_url, "--ls-url", label_studio.url,
                 "--token", label_studio.token]) == 0  # again: the same backend, updated, not a second one
    capsys.readouterr()
    (ml,) = list(studio.client.ml.list(project=project.project_id))
    assert ml.is_interactive and ml.model_version == _health(backend_url)["model_version"]

    retrieve_predictions(studio, project.project_id)  # Label Studio's own "Retrieve predictions"
    version = Extractor.from_pretrained(wired_run, device="cpu").version
    assert set(map(frozenset, versions_per_task(studio, project.project_id).values())) == {frozenset({version})}

    studio.client.ml.train(ml.id)  # the "Start training" button: a START_TRAINING webhook
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        h = _health(backend_url)
        if h["training"]["state"] in ("done", "failed"):
            break
        time.sleep(1)
    assert h["events"].get("START_TRAINING") == 1
    assert h["training"]["state"] == "done", h["training"]
    last = h["training"]["last"]
    assert last["project"] == project.project_id and last["dev_articles"] == 1 and Path(last["run"]).is_dir()
    assert _health(backend_url)["project"] == project.project_id  # set up through the secret URL
    # Swapped only if better on the same dev article: the served version says which one won.
    assert h["model_version"] == (last["model_version"] if last["swapped"] else version)


def test_an_emoji_task_labelled_through_the_api_round_trips(label_studio, studio, tmp_path, title):
    art = write_jsonl(tmp_path / "emoji.jsonl", [{"id": "emoji-1", "text": EMOJI}])
    assert main(["ls", "import", str(art), "--project", title, *ls_args(label_studio)]) == 0
    project = find_project(studio, title)
    (task,) = project_tasks(studio, project.id)
    start = EMOJI.index("Putin")  # code points: the emoji before it count one each
    studio.client.annotations.create(id=task["id"], result=[
        {"id": "e1", "from_name": "entity", "to_name": "text", "type": "labels",
         "value": {"start": start, "end": start + 5, "text": "Putin", "labels": ["PER"]}}])
    r = pull(studio, title, tmp_path / "pulled.json")
    assert not r.problems
    (doc,) = read_export(r.path).documents
    assert [(s.start, s.end, s.text) for s in doc.spans] == [(start, start + 5, "Putin")]
    assert doc.text[start:start + 5] == "Putin"
