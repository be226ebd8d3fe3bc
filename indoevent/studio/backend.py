"""A Label Studio ML backend: pre-annotations from a run, and retraining on the "Start training" button.

The protocol (label-studio-ml-backend 2.x, as Label Studio 1.23 speaks it)::

    GET  /health   -> {"status": "UP", "model_version", "training": {...}}
    POST /setup    {project, schema, ...}       -> {"model_version"}; 400 for a config that is not schema v1's
    POST /predict  {tasks: [...], ...}          -> {"results": [one prediction per task, in order]}
    POST /webhook  {action, project, ...}       -> ANNOTATION_* recorded; START_TRAINING retrains

Label Studio drops a whole batch when the number of results differs from the number of tasks,
so every task gets exactly one entry, an empty text an empty result. A retrain pulls a fresh
export of the project (the server's address and token come from $LABEL_STUDIO_URL and
$LABEL_STUDIO_API_KEY, never from the command line), trains in a background thread, scores
the new and the served model on the new run's dev articles, and swaps only if the new one is
better. FastAPI and uvicorn are imported by :func:`create_app` and :func:`serve` only.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route functions' annotations
# (``request: Request``, imported inside create_app) at run time, and strings it cannot resolve
# would turn ``request`` into a required query parameter (422 on every call).
import base64
import os
import hmac
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..annotation.lsexport import read_export
from ..events.extractor import Extractor
from ..model.metrics import score_spans
from .client import TOKEN_ENV, URL_ENV, connect
from .retrain import dev_f1, retrain
from .tasks import check_labeling_config, predict_tasks

ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATION_DELETED",
                     "ANNOTATIONS_DELETED")


def project_id(value: Any) -> int | None:
    """The project id in what Label Studio sends: ``{"id": 3, ...}``, ``"3.1712345678"`` or 3.

    >>> project_id({"id": 3, "title": "berita"}), project_id("3.1712345678"), project_id(None)
    (3, 3, None)
    """
    if isinstance(value, dict):
        value = value.get("id")
    try:
        return int(str(value).split(".")[0])
    except (TypeError, ValueError):
        return None


@dataclass
class Training:
    """What /health says about retraining."""

    state: str = "idle"                   # idle, running, done, failed
    project: int | None = None
    started: float | None = None
    finished: float | None = None
    step: int = 0
    steps: int = 0
    last: dict = field(default_factory=dict)  # the last finished retrain: F1s, run, swapped or not, or the error

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["progress"] = round(self.step / self.steps, 3) if self.steps else None
        return d


class Backend:
    """The served model, the webhook log and the one retrain that may run."""

    def __init__(self, run: str | Path, *, config: str | Path | None = None, work_dir: str | Path | None = None,
                 overrides: tuple[str, ...] = (), device: str | None = "cpu", batch_size: int | None = None,
                 studio_factory: Callable[[], Any] = connect):
        self.run = Path(run)
        self.device = device
        self.batch_size = batch_size
        self.extractor = Extractor.from_pretrained(self.run, device=device)
        # Retraining repeats the served run's own recipe unless told otherwise.
        self.config = Path(config) if config else self.run / "training_config.yaml"
        self.overrides = overrides
        self.work_dir = Path(work_dir) if work_dir else self.run.parent / f"{self.run.name}-retrain"
        self.studio_factory = studio_factory  # $LABEL_STUDIO_URL and $LABEL_STUDIO_API_KEY
        self.events: Counter = Counter()
        self.training = Training()
        self._train_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def model_version(self) -> str:
        return self.extractor.version

    def health(self) -> dict:
        return {"status": "UP", "model_version": self.model_version, "model_dir": str(self.run),
                "training": self.training.to_dict(), "events": dict(self.events)}

    def predict(self, tasks: list[dict]) -> list[dict]:
        """Exactly one prediction per task, in order."""
        extractor = self.extractor  # a swap mid-batch must not mix two models in one answer
        return predict_tasks(extractor, [t if isinstance(t, dict) else {} for t in tasks], self.batch_size)

    def webhook(self, payload: dict) -> dict:
        action = str(payload.get("action") or "")
        self.events[action or "(none)"] += 1
        if action == "START_TRAINING":
            pid = project_id(payload.get("project"))
            if pid is None:
                return {"status": "error", "error": "START_TRAINING without a project id"}
            return {"status": "started" if self.start_training(pid) else "busy", "training": self.training.to_dict()}
        return {"status": "ok", "action": action}

    # --- retraining ---------------------------------------------------------------------------
    def start_training(self, project: int) -> bool:
        """Start a retrain from a fresh export of ``project`` in the background; False while one runs."""
        if not self._train_lock.acquire(blocking=False):
            return False
        self.training = Training("running", project, time.time(), last=self.training.last)
        self._thread = threading.Thread(target=self._retrain, args=(project,), daemon=True, name="indoevent-retrain")
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Until the running retrain (if any) has finished."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _retrain(self, project: int) -> None:
        try:
            self.training.last = self._retrain_and_compare(project)
            self.training.state = "done"
        except Exception as e:  # noqa: BLE001 - the server must survive a failed retrain and say why
            self.training.last = {"error": f"{type(e).__name__}: {e}"}
            self.training.state = "failed"
        finally:
            self.training.finished = time.time()
            self._train_lock.release()

    def _retrain_and_compare(self, project: int) -> dict:
        studio = self.studio_factory()
        out = self.work_dir / time.strftime("%Y%m%d-%H%M%S")
        report = retrain(studio, [project], self.config, out, overrides=self.overrides,
                         callbacks=[_progress_callback(self.training)])
        new = Extractor.from_pretrained(report.run, device=self.device)
        old_f1, new_f1, n_dev = self._compare(self.extractor, new, report.run, report.export)
        swapped = n_dev > 0 and new_f1 > old_f1
        result = {"project": project, "run": str(report.run), "model_version": new.version, "dev_articles": n_dev,
                  "dev_f1_new": new_f1, "dev_f1_served": old_f1, "dev_f1_training": dev_f1(report.metrics),
                  "swapped": swapped, "served_model_version": (new if swapped else self.extractor).version,
                  "conflicts": report.merged.conflicts, "unannotated": report.merged.unannotated}
        if swapped:
            self.extractor, self.run = new, Path(report.run)
        return result

    @staticmethod
    def _compare(old: Extractor, new: Extractor, run: Path, export: Path) -> tuple[float, float, int]:
        """Strict span micro F1 of the served and the new model on the new run's dev articles
        (the same articles for both: the served model's own dev score is on other ones)."""
        import json

        info = json.loads((Path(run) / "run_info.json").read_text(encoding="utf-8"))
        dev = set(info.get("split", {}).get("dev") or [])
        docs = [d for d in read_export(export).documents if d.doc_id in dev]
        if not docs:
            return 0.0, 0.0, 0
        gold = [d.spans for d in docs]

        def f1(ex: Extractor) -> float:
            pred = [a.spans for a in ex.extract_many([d.text for d in docs])]
            return float(score_spans(gold, pred)["all"]["micro"]["f1"] or 0.0)

        return f1(old), f1(new), len(docs)


def _progress_callback(training: Training) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            training.step, training.steps = state.global_step, state.max_steps or 0

    return Progress()


# --- the web app ------------------------------------------------------------------------------
def create_app(backend: Backend, basic_auth: tuple[str, str] | None = None) -> Any:
    """The FastAPI app of a backend. With ``basic_auth`` every route but /webhook asks for it
    (Label Studio's webhooks carry no credentials; bind to 127.0.0.1, the default)."""
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse

    app = FastAPI(title="indoevent ML backend", version=backend.model_version)

    if basic_auth is not None:
        want = "Basic " + base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()

        @app.middleware("http")
        async def check_auth(request: Request, call_next):
            if request.url.path != "/webhook" and not hmac.compare_digest(request.headers.get("authorization", ""),
                                                                            want):
                return JSONResponse({"status": "error", "error": "basic auth required"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Basic realm="indoevent"'})
            return await call_next(request)

    async def body(request: Request) -> dict:
        try:
            data = await request.json()
        except ValueError:
            data = None
        return data if isinstance(data, dict) else {}

    @app.get("/")
    @app.get("/health")
    async def health():
        return backend.health()

    @app.post("/setup")
    async def setup(request: Request):
        data = await body(request)
        problems = check_labeling_config(str(data.get("schema") or ""))
        if problems:
            return JSONResponse({"status": "error", "error": "the project's labeling config does not match "
                                 "schema v1: " + "; ".join(problems)}, status_code=400)
        return {"model_version": backend.model_version}

    @app.post("/predict")
    async def predict(request: Request):
        data = await body(request)
        tasks = data.get("tasks")
        if not isinstance(tasks, list):
            return JSONResponse({"status": "error", "error": "expected {\"tasks\": [...]}"}, status_code=400)
        results = await run_in_threadpool(backend.predict, tasks)
        return {"results": results, "model_version": backend.model_version}

    @app.post("/webhook")
    async def webhook(request: Request):
        return backend.webhook(await body(request))

    return app


def serve(backend: Backend, host: str = "127.0.0.1", port: int = 9090,
          basic_auth: tuple[str, str] | None = None, log_level: str = "warning") -> None:
    """Run the backend under uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(backend, basic_auth), host=host, port=port, log_level=log_level)


def environment_problem() -> str | None:
    """Why a retrain could not fetch its data, if it could not (checked at start, said once)."""
    missing = [v for v in (URL_ENV, TOKEN_ENV) if not os.environ.get(v)]
    if missing:
        return (f"{' and '.join('$' + m for m in missing)} not set: predictions work, but START_TRAINING cannot "
                "fetch the project's annotations")
    return None

