"""A Label Studio ML backend: pre-annotations from a run, and retraining on the "Start training" button.

The protocol (label-studio-ml-backend 2.x, as Label Studio 1.23 speaks it)::

    GET  /health   -> {"status": "UP", "model_version", "training": {...}}
    POST /setup    {project, schema, ...}       -> {"model_version"}; 400 for a config that is not schema v1's
    POST /predict  {tasks: [...], ...}          -> {"results": [one prediction per task, in order]}
    POST /webhook  {action, project, ...}       -> ANNOTATION_* recorded; START_TRAINING retrains

Every route is also served under ``/secret/<secret>/``: ``indoevent ls connect`` registers the
backend at that URL when ``$INDOEVENT_WEBHOOK_SECRET`` is set, and Label Studio 1.23 builds the
training webhook by appending ``/webhook`` to the backend's URL (``ml/models.py``,
``create_ml_webhook``) and calls the others with ``urljoin``: a path segment survives both, a
query string would not. Webhooks carry no basic auth, so /webhook is accepted only under that
prefix, and only for the project whose /setup came through it.

Label Studio drops a whole batch when the number of results differs from the number of tasks,
so every task gets exactly one entry, an empty text an empty result. A retrain pulls a fresh
export of the project (the server's address and token come from $LABEL_STUDIO_URL and
$LABEL_STUDIO_API_KEY, never from the command line), trains in a background thread, scores
the new and the served model on the new run's dev articles, and swaps only if the new one is
better. A swap is recorded in the work folder (``served.json``), so a restart with the same
``--model`` and work folder serves the swapped run. Everything is logged on the
``indoevent.serve`` logger. The web app and the server around this class are in :mod:`.webapp`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..annotation.lsexport import read_export
from ..events.extractor import Extractor
from ..model.metrics import score_articles
from .compare import all_f1, dev_ids
from .connection import TOKEN_ENV, URL_ENV, connect
from .retrain import dev_f1, retrain
from .tasks import check_labeling_config, predict_tasks

log = logging.getLogger("indoevent.serve")

ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATION_DELETED",
                     "ANNOTATIONS_DELETED")
# The counters in /health are keyed by these only: anything else is "(other)", so a client
# sending made-up actions cannot grow the server's memory.
KNOWN_ACTIONS = ANNOTATION_EVENTS + ("START_TRAINING", "TASKS_CREATED", "TASKS_DELETED", "PROJECT_CREATED",
                                     "PROJECT_UPDATED", "PROJECT_DELETED")
SECRET_ENV = "INDOEVENT_WEBHOOK_SECRET"
SECRET_PREFIX = "/secret/"
STATE_FILE = "served.json"



def secret_url(url: str, secret: str) -> str:
    """The backend URL that carries the webhook secret as a path segment.

    >>> secret_url("http://127.0.0.1:9090/", "abc")
    'http://127.0.0.1:9090/secret/abc'
    """
    return f"{url.rstrip('/')}{SECRET_PREFIX}{secret}"


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
                 studio_factory: Callable[[], Any] = connect, secret: str | None = None, relations: bool = True):
        self.model = Path(run)  # what --model named; a swap changes self.run, never this
        self.run = self.model
        self.device = device
        self.batch_size = batch_size
        self.relations = relations
        # The shared secret of the webhook URL (`ls connect` puts it there); none: webhooks refused.
        self.secret = (secret if secret is not None else os.environ.get(SECRET_ENV)) or None
        # Retraining repeats the served run's own recipe unless told otherwise.
        self.config = Path(config) if config else self.model / "training_config.yaml"
        self.overrides = overrides
        self.work_dir = Path(work_dir) if work_dir else self.model.parent / f"{self.model.name}-retrain"
        self.project: int | None = None
        self.swapped_from: str | None = None   # set when a recorded swap is served at start
        self._read_state()
        self.extractor = Extractor.from_pretrained(self.run, device=device)
        self.studio_factory = studio_factory  # $LABEL_STUDIO_URL and $LABEL_STUDIO_API_KEY
        self.events: Counter = Counter()
        self.training = Training()
        self._train_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def model_version(self) -> str:
        return self.extractor.version

    # --- the work folder's record: the project set up, the run a swap put in service ----------
    def _read_state(self) -> None:
        path = self.work_dir / STATE_FILE
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        self.project = state.get("project") if isinstance(state.get("project"), int) else None
        run = Path(str(state.get("run") or ""))
        # Only a swap recorded for this --model counts: the folder may be shared by mistake.
        if state.get("model") == str(self.model.resolve()) and state.get("run") and run.is_dir():
            self.run, self.swapped_from = run, str(self.model)

    def _write_state(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        state = {"model": str(self.model.resolve()), "run": str(Path(self.run).resolve()), "project": self.project}
        tmp = self.work_dir / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(self.work_dir / STATE_FILE)

    def health(self) -> dict:
        return {"status": "UP", "model_version": self.model_version, "model_dir": str(self.run),
                "project": self.project, "training": self.training.to_dict(), "events": dict(self.events)}

    def setup(self, data: dict, secret_ok: bool) -> str | None:
        """Check a /setup; through the secret URL the first one fixes the backend's project.
        Returns why it is refused, or None."""
        problems = check_labeling_config(str(data.get("schema") or ""))
        if problems:
            return "the project's labeling config does not match schema v1: " + "; ".join(problems)
        pid = project_id(data.get("project"))
        if secret_ok and pid is not None:
            if self.project is None:
                self.project = pid
                self._write_state()
                log.info("set up for project %s", pid)
            elif pid != self.project:
                return f"this backend serves project {self.project}, not {pid}: start another `indoevent serve`"
        return None

    def predict(self, tasks: list[dict]) -> list[dict]:
        """Exactly one prediction per task, in order."""
        t0 = time.monotonic()
        extractor = self.extractor  # a swap mid-batch must not mix two models in one answer
        out = predict_tasks(extractor, [t if isinstance(t, dict) else {} for t in tasks], self.batch_size,
                            relations=self.relations, warn=lambda m: log.warning("predict: %s", m))
        log.info("predict: %d task(s) in %.2f s, model %s", len(tasks), time.monotonic() - t0, extractor.version)
        return out

    def webhook(self, payload: dict, secret_ok: bool) -> tuple[int, dict]:
        """(HTTP status, answer) of a webhook: refused without the secret or for another project."""
        action = str(payload.get("action") or "")
        pid = project_id(payload.get("project"))
        refused = self._refuse_webhook(pid, secret_ok)
        if refused:
            self.events["(refused)"] += 1
            log.warning("webhook %s refused: %s", action[:40] or "(none)", refused)
            return 403, {"status": "error", "error": refused}
        self.events[action if action in KNOWN_ACTIONS else "(other)"] += 1
        if action == "START_TRAINING":
            log.info("webhook START_TRAINING for project %s", pid)
            started = self.start_training(pid)  # type: ignore[arg-type]
            return 200, {"status": "started" if started else "busy", "training": self.training.to_dict()}
        return 200, {"status": "ok", "action": action}

    def _refuse_webhook(self, pid: int | None, secret_ok: bool) -> str | None:
        if not self.secret:
            return f"webhooks are off: start serve with ${SECRET_ENV} and connect with the same"
        if not secret_ok:
            return "a webhook must come through the secret URL that `indoevent ls connect` registers"
        if self.project is None:
            return "no project set up yet: `indoevent ls connect` sets the backend up for one"
        if pid != self.project:
            return f"webhook for project {pid}; this backend was set up for project {self.project}"
        return None

    # --- retraining ---------------------------------------------------------------------------
    def start_training(self, project: int) -> bool:
        """Start a retrain from a fresh export of ``project`` in the background; False while one runs."""
        if not self._train_lock.acquire(blocking=False):
            log.info("retrain: busy, one is already running")
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
            log.info("retrain: %s", describe(self.training.last))
        except Exception as e:  # noqa: BLE001 - the server must survive a failed retrain and say why
            self.training.last = {"error": f"{type(e).__name__}: {e}"}
            self.training.state = "failed"
            log.error("retrain: failed: %s", e)
        finally:
            self.training.finished = time.time()
            self._train_lock.release()

    def _retrain_and_compare(self, project: int) -> dict:
        if not self.config.is_file():  # said before the server is asked for anything
            raise FileNotFoundError(f"config {self.config} not found: pass `serve --config` a training config")
        out = self.work_dir / time.strftime("%Y%m%d-%H%M%S")
        log.info("retrain: started for project %s with %s into %s", project, self.config, out)
        studio = self.studio_factory()
        report = retrain(studio, [project], self.config, out, overrides=self.overrides,
                         callbacks=[_progress_callback(self.training)])
        new = Extractor.from_pretrained(report.run, device=self.device)
        old = self.extractor
        cmp = compare_on_dev(old, new, report.run, report.export)
        swapped = cmp["dev_articles"] > 0 and cmp["dev_f1_new"] > cmp["dev_f1_served"]
        result = {"project": project, "run": str(report.run), "model_version": new.version, **cmp,
                  "dev_f1_training": dev_f1(report.metrics), "swapped": swapped,
                  "served_model_version": (new if swapped else old).version,
                  "conflicts": report.merged.conflicts, "unannotated": report.merged.unannotated}
        if swapped:
            self.extractor, self.run = new, Path(report.run)
            self._write_state()
        return result


def compare_on_dev(old: Extractor, new: Extractor, run: Path, export: Path) -> dict:
    """Strict span micro F1 of the served and the new model on the new run's dev articles (the
    same articles for both: the served model's own dev score is on other ones), and how many of
    them are labelled exactly as the served model predicted them: accepted pre-annotations, on
    which the served model scores perfectly (the comparison then leans towards keeping it)."""
    dev = dev_ids(run)
    docs = [d for d in read_export(export).documents if d.doc_id in dev]
    out = {"dev_articles": len(docs), "dev_f1_new": 0.0, "dev_f1_served": 0.0, "dev_accepted_predictions": 0}
    if not docs:
        return out
    served, served_x = score_articles(old.extract_many, docs)
    key = lambda spans: sorted((s.start, s.end, s.label) for s in spans)  # noqa: E731
    out["dev_accepted_predictions"] = sum(key(d.spans) == key(x.spans) for d, x in zip(docs, served_x, strict=True))
    out["dev_f1_served"] = all_f1(served)
    out["dev_f1_new"] = all_f1(score_articles(new.extract_many, docs)[0])
    return out


def describe(last: dict) -> str:
    """One line on a finished retrain: the two F1s on the same articles, and what is served now."""
    n, acc = last.get("dev_articles", 0), last.get("dev_accepted_predictions", 0)
    tilt = (f"; {acc} of them labelled exactly as the served model predicted (accepted pre-annotations favour "
            "keeping it)") if acc else ""
    what = f"swapped, now serving {last['served_model_version']}" if last.get("swapped") else \
        f"kept {last.get('served_model_version')}"
    return (f"done: run {last.get('run')}, dev F1 new {last.get('dev_f1_new', 0):.3f} vs served "
            f"{last.get('dev_f1_served', 0):.3f} on the same {n} dev article(s){tilt}: {what}")


def _progress_callback(training: Training) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            training.step, training.steps = state.global_step, state.max_steps or 0
            tenth = max(1, training.steps // 10)  # about ten lines a retrain
            if training.step % tenth == 0 or training.step == training.steps:
                log.info("retrain: step %d of %d", training.step, training.steps)

    return Progress()


def environment_problem() -> str | None:
    """Why a retrain could not fetch its data, if it could not (checked at start, said once)."""
    missing = [v for v in (URL_ENV, TOKEN_ENV) if not os.environ.get(v)]
    if missing:
        return (f"{' and '.join('$' + m for m in missing)} not set: predictions work, but START_TRAINING cannot "
                "fetch the project's annotations")
    return None

