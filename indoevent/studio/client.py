"""Talk to a Label Studio server: push exports and model predictions, pull snapshots, count.

A thin layer over ``label-studio-sdk`` (connecting and its errors: :mod:`.connection`). The
server checks nothing (it stores out-of-range offsets, unknown labels and wrong control names
without a word), so everything is validated here, with the project's own validator, before it
is sent and after it comes back. Every failure becomes a :class:`~.connection.StudioError`
whose message names the server's URL and says what to check.

Only Label Studio's JSON export is used: its CONLL2003 export tokenises with an
English tokenizer and keeps the first Labels control only (event triggers come out O).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..annotation.checks import Problem
from ..annotation.labelconfig import check_config, render_config
from ..annotation.lsexport import choose_annotation, load_tasks, task_label, task_to_document
from ..atomic import write_bytes as write_atomic
from ..schema import TEXT_NAME
from .connection import InvalidExport, Studio, StudioError, redact

# What an imported annotation or prediction keeps. Ids, task and project numbers belong to
# the server that exported them; ``completed_by`` names a user of that server, and Label
# Studio refuses an import naming a user it does not know, so the token's user becomes the
# annotator.
ANNOTATION_KEYS = ("result", "was_cancelled", "ground_truth", "lead_time")
PREDICTION_KEYS = ("result", "model_version", "score")


# --- reading and checking tasks ---------------------------------------------------------------
def task_key(data: dict) -> str:
    """What makes two tasks the same article: its doc_id, else a hash of its text.

    >>> task_key({"text": "Putin bertemu Kim", "doc_id": "berita-1"})
    'doc_id berita-1'
    """
    if data.get("doc_id") not in (None, ""):
        return f"doc_id {data['doc_id']}"
    given = data.get(TEXT_NAME)
    text = given if isinstance(given, str) else json.dumps(data, sort_keys=True)
    return "text sha1 " + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def check_tasks(tasks: list[dict]) -> tuple[list[Problem], list[Problem]]:
    """Schema problems and warnings of every annotation and every prediction of every task
    (the validator itself checks one chosen annotation per task), and of task data."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    seen: dict[str, str] = {}
    for i, task in enumerate(tasks):
        where = task_label(task, i)
        data = task.get("data")
        bare = {k: v for k, v in task.items() if k not in ("annotations", "predictions")}
        # Text checks once per task, then each annotation and prediction against that text.
        _, found, _, _ = task_to_document(bare, i)
        problems += found
        if found or not isinstance(data, dict):
            continue
        key = task_key(data)
        if key in seen:
            problems.append(Problem(where, f"{key} also used by {seen[key]}"))
        seen[key] = where
        items = [("annotation", a) for a in task.get("annotations") or []] + \
                [("prediction", p) for p in task.get("predictions") or []]
        for kind, item in items:
            if not isinstance(item, dict):
                if kind == "prediction" and isinstance(item, int):
                    problems.append(Problem(where, "prediction is an id only (a quick export): pull with "
                                                   "`indoevent ls pull`, whose snapshot holds full predictions"))
                else:
                    problems.append(Problem(where, f"{kind} is not an object: {item!r:.60}"))
                continue
            if kind == "annotation" and item.get("was_cancelled"):
                continue
            label = where if kind == "annotation" and item.get("id") is None else \
                f"{where} {kind} {item.get('id') or ''}".rstrip()
            if kind == "prediction":
                label += f" ({item.get('model_version') or 'no model_version'})"
                score = item.get("score")
                if score is not None and not isinstance(score, (int, float)):
                    problems.append(Problem(label, f"score must be a number or null, got {score!r}"))
            one = {**bare, "annotations": [{"result": item.get("result")}]}
            _, found, warned, _ = task_to_document(one, i)
            problems += [Problem(label, p.message, p.start, p.end) for p in found]
            warnings += [Problem(label, p.message, p.start, p.end) for p in warned]
    return problems, warnings


def import_request(task: dict) -> dict:
    """The task as Label Studio's import API takes it (server-specific fields left out)."""
    out: dict = {"data": task["data"]}
    if task.get("meta"):
        out["meta"] = task["meta"]
    anns = [{k: a[k] for k in ANNOTATION_KEYS if a.get(k) is not None} for a in task.get("annotations") or []]
    preds = [{k: p[k] for k in PREDICTION_KEYS if k in p} for p in task.get("predictions") or []]
    if anns:
        out["annotations"] = anns
    if preds:
        out["predictions"] = preds
    return out


# --- projects ---------------------------------------------------------------------------------
def find_project(studio: Studio, project: str | int) -> Any | None:
    """The project with this id (a number) or exact title; None if there is none.
    Raises StudioError if several projects have the title."""
    if isinstance(project, int) or str(project).isdigit():
        from label_studio_sdk.core.api_error import ApiError

        try:
            with studio.talking(f"reading project {project}"):
                return studio.client.projects.get(int(project))
        except StudioError as e:
            if isinstance(e.__cause__, ApiError) and e.__cause__.status_code == 404:
                return None
            raise
    with studio.talking(f"looking for project {project!r}"):
        # The title filter matches substrings: keep exact titles only.
        found = [p for p in studio.client.projects.list(title=str(project)) if p.title == project]
    if len(found) > 1:
        ids = ", ".join(str(p.id) for p in found)
        raise StudioError(f"{len(found)} projects at {studio.url} are titled {project!r} (ids {ids}): give an id")
    return found[0] if found else None


def config_problems(project: Any) -> list[str]:
    """Differences between a project's labeling config and schema v1 (empty: it agrees)."""
    return check_config(project.label_config or "")


def open_project(studio: Studio, project: str | int, create: bool = True, config: str | None = None,
                 check: bool = True) -> tuple[Any, bool]:
    """The project (id or exact title, :func:`find_project`) and whether it was just created,
    with the labeling config ``config`` (default schema v1's). With ``check`` an existing project
    whose labeling config differs from schema v1 is refused: its annotations could not be read back."""
    found = find_project(studio, project)
    if found is None:
        if not create or isinstance(project, int) or str(project).isdigit():
            raise StudioError(f"no project {project!r} at {studio.url}: `indoevent ls status` lists them"
                              + ("; give a title to create a new one" if create else ""))
        with studio.talking(f"creating project {project!r}"):
            xml = render_config() if config is None else config
            return studio.client.projects.create(title=str(project), label_config=xml), True
    bad = config_problems(found) if check else []
    if bad:
        raise StudioError(f"project {found.id} ({found.title!r}) at {studio.url} has a labeling config that does not "
                          "match schema v1, so its annotations could not be read back; nothing was sent. "
                          "Differences: " + "; ".join(bad))
    return found, False


def existing_keys(studio: Studio, project_id: int) -> dict[str, int]:
    """task_key -> task id of every task in a project."""
    with studio.talking(f"listing the tasks of project {project_id}"):
        tasks = studio.client.tasks.list(project=project_id, fields="task_only", include="id,data", page_size=500)
        return {task_key(t.data or {}): t.id for t in tasks}


@dataclass
class PushReport:
    """What ``push`` did."""

    project_id: int
    title: str
    created: bool
    url: str
    tasks: int = 0
    annotations: int = 0
    predictions: int = 0
    skipped_existing: int = 0
    warnings: list[Problem] = field(default_factory=list)


def push(studio: Studio, export: str | Path, project: str | int, *, config: str | Path | None = None,
         skip_existing: bool = False, batch_size: int = 250, progress: bool = True) -> PushReport:
    """Import an export's tasks, with their annotations and predictions, into a project.

    The export is validated first (every annotation and prediction): with any problem,
    :class:`InvalidExport` is raised and nothing is sent. ``project`` is an id or a title;
    a missing title is created with ``config`` (default: schema v1's labeling config, as in
    annotations/label_config.xml). An existing project must have schema v1's config, and
    tasks already in it (same doc_id, else same text) are refused, or with ``skip_existing``
    left out. Annotations are recorded as made by the token's user.
    """
    export = Path(export)
    tasks, warnings = _checked_export(studio, export)
    xml = render_config() if config is None else Path(config).read_text(encoding="utf-8")
    bad = check_config(xml)
    if bad:
        raise StudioError(f"{config}: the labeling config does not match schema v1: " + "; ".join(bad))
    found, created = open_project(studio, project, config=xml)
    todo = tasks if created else _new_tasks(studio, found, tasks, export, skip_existing)
    report = PushReport(found.id, found.title or str(project), created, redact(f"{studio.url}/projects/{found.id}/data"),
                        skipped_existing=len(tasks) - len(todo), warnings=warnings)
    bar = None
    if progress and len(todo) > batch_size:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), unit="task", desc="push", dynamic_ncols=True)
    for start in range(0, len(todo), batch_size):
        batch = [import_request(t) for t in todo[start:start + batch_size]]
        with studio.talking(f"importing tasks {start + 1}-{start + len(batch)} of {export} into project {found.id}"):
            answer = studio.client.projects.import_tasks(found.id, request=batch)
        sent = (len(batch), sum(len(t.get("annotations", [])) for t in batch),
                sum(len(t.get("predictions", [])) for t in batch))
        got = (answer.task_count or 0, answer.annotation_count or 0, answer.prediction_count or 0)
        report.tasks += got[0]
        report.annotations += got[1]
        report.predictions += got[2]
        if got != sent:
            raise StudioError(f"project {found.id} at {studio.url} took {got[0]} tasks, {got[1]} annotations and "
                              f"{got[2]} predictions of {sent[0]}, {sent[1]} and {sent[2]} sent "
                              f"(tasks {start + 1}-{start + len(batch)} of {export}); check the project")
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return report


def _checked_export(studio: Studio, export: Path) -> tuple[list[dict], list[Problem]]:
    """The tasks of an export to push and their warnings; :class:`InvalidExport` if it has none or any problem."""
    tasks = load_tasks(export)
    if not tasks:
        raise InvalidExport(f"{export}: no tasks; nothing was sent to {studio.url}", [])
    problems, warnings = check_tasks(tasks)
    if problems:
        raise InvalidExport(f"{export}: {len(problems)} problem(s); nothing was sent to {studio.url}", problems)
    return tasks, warnings


def _new_tasks(studio: Studio, found: Any, tasks: list[dict], export: Path, skip_existing: bool) -> list[dict]:
    """The tasks not yet in the project; a :class:`StudioError` if some are, unless ``skip_existing``."""
    have = existing_keys(studio, found.id)
    todo = [t for t in tasks if task_key(t["data"]) not in have]
    skipped = len(tasks) - len(todo)
    if skipped and not skip_existing:
        dup = [f"{task_key(t['data'])} (task {have[task_key(t['data'])]})" for t in tasks
               if task_key(t["data"]) in have]
        raise StudioError(f"{skipped} of {len(tasks)} tasks of {export} are already in project {found.id} "
                          f"({found.title!r}) at {studio.url}, e.g. {', '.join(dup[:3])}; nothing was sent. "
                          "Pass --skip-existing to push only the new ones")
    return todo


# --- pulling ----------------------------------------------------------------------------------
@dataclass
class PullReport:
    """What ``pull`` wrote, and what the validator found in it."""

    project_id: int
    title: str
    path: Path
    tasks: int = 0
    annotated: int = 0
    annotations: int = 0
    predictions: int = 0
    spans: int = 0
    relations: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def snapshot(studio: Studio, project_id: int, timeout: float = 600.0,
             sleep: Callable[[float], None] = time.sleep) -> bytes:
    """A JSON snapshot export of a project, with full predictions (the quick export holds
    prediction ids only). The server builds it, maybe in the background: wait for it."""
    where = f"exporting project {project_id}"
    with studio.talking(where):
        job = studio.client.projects.exports.create(
            project_id, title="indoevent pull", serialization_options={"predictions": {"only_id": False}})
        t0 = time.monotonic()
        while job.status != "completed":
            if job.status == "failed":
                raise StudioError(f"Label Studio at {studio.url} failed {where} (export {job.id}): see its log")
            if time.monotonic() - t0 > timeout:
                raise StudioError(f"Label Studio at {studio.url} did not finish {where} in {timeout:.0f} s "
                                  f"(export {job.id} is {job.status!r})")
            sleep(1.0)
            job = studio.client.projects.exports.get(project_id, job.id)
        data = b"".join(studio.client.projects.exports.download(project_id, job.id, export_type="JSON"))
    try:  # the snapshot's file stays in the server's data folder otherwise
        studio.client.projects.exports.delete(project_id, job.id)
    except Exception:  # noqa: BLE001 - cleaning up is a courtesy; the export is already here
        pass
    return data


def is_task_list(path: Path) -> bool:
    """Whether ``path`` holds a Label Studio export (a JSON list of tasks): what ``ls pull --overwrite`` replaces."""
    try:
        tasks = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(tasks, list) and all(isinstance(t, dict) and isinstance(t.get("data"), dict) for t in tasks)


def pull(studio: Studio, project: str | int, out: str | Path, choose: str = "latest") -> PullReport:
    """Export a project (snapshot JSON with full predictions) to ``out``, written atomically,
    then validate and count it. Problems are reported in the result, not raised: the file
    is the server's data as it is, and is written even when it breaks the schema."""
    found, _ = open_project(studio, project, create=False, check=False)
    data = snapshot(studio, found.id)
    try:
        tasks = json.loads(data)
    except ValueError as e:
        raise StudioError(f"Label Studio at {studio.url} sent an export of project {found.id} that is not JSON: {e}") from e
    if not isinstance(tasks, list):
        raise StudioError(f"Label Studio at {studio.url} sent an export of project {found.id} that is not a task list")
    path = write_atomic(out, data)
    problems, warnings = check_tasks(tasks)
    report = PullReport(found.id, found.title or "", path, tasks=len(tasks), problems=problems, warnings=warnings)
    for i, task in enumerate(tasks):
        report.annotations += sum(1 for a in task.get("annotations") or [] if not a.get("was_cancelled"))
        report.predictions += len(task.get("predictions") or [])
        if choose_annotation(task, choose) is not None:
            report.annotated += 1
            doc, _, _, _ = task_to_document(task, i, choose)
            if doc is not None:
                report.spans += len(doc.spans)
                report.relations += len(doc.relations)
    return report


# --- status -----------------------------------------------------------------------------------
@dataclass
class ProjectCount:
    id: int
    title: str
    tasks: int
    annotated: int
    annotations: int
    predictions: int
    config_ok: bool


def status(studio: Studio) -> list[ProjectCount]:
    """Every project the token's user sees, with its counts and whether its config is schema v1's."""
    with studio.talking("listing projects"):
        projects = list(studio.client.projects.list(page_size=100))
    return [ProjectCount(p.id, p.title or "", p.task_number or 0, p.finished_task_number or 0,
                         p.total_annotations_number or 0, p.total_predictions_number or 0,
                         not check_config(p.label_config or ""))
            for p in sorted(projects, key=lambda p: p.id)]
