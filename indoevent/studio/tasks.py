"""Raw articles into a project, model predictions onto its tasks, and the order tasks are served in.

The live half of the annotation loop (``indoevent ls import|predict|rank|connect``)::

    articles (.txt, folders, id/text JSONL) -> tasks (data.text, data.doc_id, metadata)
    run -> predictions of its model version on every task without one -> task score
    task score (low = look at me) -> uncertainty sampling, or a Data Manager view sorted by it

Tasks are the same article when their doc_id is (``client.task_key``), so importing twice adds
nothing. Everything sent is checked with the project's own validator first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..annotation.checks import Problem
from ..annotation.labelconfig import check_config
from ..events.extractor import Extraction, Extractor
from ..schema import TEXT_NAME
from ..text.inputs import InputError, Source, read_inputs
from .client import check_tasks, existing_keys, import_request, open_project, task_key
from .compare import DevComparison, compare_on_dev_tasks, dev_ids, version_in_use
from .connection import InvalidExport, Studio, StudioError

UNCERTAINTY = "Uncertainty sampling"
SCORE_VIEW = "indoevent: lowest score first"
# The tab shows these Data Manager columns only: the raw text and result columns fill the screen.
SCORE_COLUMNS = ("tasks:id", "tasks:data.doc_id", "tasks:predictions_score", "tasks:predictions_model_versions")
# A text longer than this gets an empty prediction and a warning (news articles stay far below):
# one 1M-character text once made a 19 MB answer.
MAX_TEXT = 200_000

# What a loopback backend needs on the Label Studio server (../shared/PITFALLS.md): without the
# first three the backend is refused as a "reserved network address" (403, a half-made backend),
# without the last the training webhook is silently not created.
LOOPBACK_SETTINGS = (
    ("ML_BLOCK_LOCAL_IP", "false", "lets Label Studio call a backend on 127.0.0.1 or a private address"),
    ("LABEL_STUDIO_ML_BLOCK_LOCAL_IP", "false", "the same, under its older name"),
    ("LABEL_STUDIO_SSRF_PROTECTION_ENABLED", "false", "else the backend URL is refused (403)"),
    ("USE_DEFAULT_BANNED_SUBNETS", "false", "else the START_TRAINING webhook to the backend is not created"),
)


# --- articles -> tasks ------------------------------------------------------------------------
def article_task(src: Source) -> dict:
    """The Label Studio task of one article: its text, its doc_id, and its metadata fields.

    >>> article_task(Source("berita-1", "Putin bertemu Kim.", "a.jsonl:1", {"date": "2024-08-12"}))
    {'data': {'date': '2024-08-12', 'text': 'Putin bertemu Kim.', 'doc_id': 'berita-1'}}
    """
    return {"data": {**src.meta, TEXT_NAME: src.text, "doc_id": src.id}}


def read_article_tasks(paths: Sequence[str | Path]) -> tuple[list[dict], list[InputError]]:
    """Tasks from ``.txt`` files, folders of them and id/text JSONL (``text.inputs.read_inputs``),
    and every input that could not be read."""
    tasks, errors = [], []
    for item in read_inputs(paths):
        if isinstance(item, InputError):
            errors.append(item)
        else:
            tasks.append(article_task(item))
    return tasks, errors


# --- predictions ------------------------------------------------------------------------------
def task_score(art: Extraction) -> float | None:
    """How sure the model is of an article, low meaning "look at me": the lowest confidence
    among its predicted spans (one doubtful span is what an annotator must fix), else, with no
    span at all, the mean confidence of its words (that all of them are O). None for no words.
    The mean over all words, most of them O, hides the one doubtful span."""
    scores = [s.score for s in art.spans if s.score is not None]
    if scores:
        return round(min(scores), 4)
    return None if art.score is None else round(art.score, 4)


def prediction(art: Extraction, model_version: str, relations: bool = True) -> dict:
    """A Label Studio prediction of one article: regions with ids and scores, relations for the
    event arguments (``Extraction.to_label_studio``; left out with ``relations=False``, since a
    long article gets 50-190 arrows over its words), the task score and the model version."""
    pred = art.to_label_studio(model_version)["predictions"][0]
    if not relations:
        pred["result"] = [r for r in pred["result"] if r.get("type") != "relation"]
    return {**pred, "score": task_score(art)}


def task_text(task: dict) -> str:
    """The article text of a task ("" when it has none: it still gets its one prediction)."""
    data = task.get("data")
    if not isinstance(data, dict):
        data = {}
    text = data.get(TEXT_NAME)
    return text if isinstance(text, str) else ""


def unreadable(text: str) -> str | None:
    """Why a text cannot be predicted (None: it can).

    >>> unreadable("Putin \\ud800"), unreadable("Putin")
    ('it holds a lone surrogate (not UTF-8)', None)
    """
    if len(text) > MAX_TEXT:
        return f"{len(text)} characters, over the {MAX_TEXT} served"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "it holds a lone surrogate (not UTF-8)"
    return None


def predict_tasks(extractor: Extractor, tasks: Sequence[dict], batch_size: int | None = None, *,
                  relations: bool = True, warn: Callable[[str], None] | None = None) -> list[dict]:
    """One prediction per task, in order, batched through the extractor (an empty text gets
    an empty result, never a missing entry). A text the model cannot take (a lone surrogate,
    an enormous one) gets an empty result and a ``warn``: one task never fails the batch."""
    ids = [str((t.get("data") or {}).get("doc_id") or t.get("id") or i) for i, t in enumerate(tasks)]
    texts = [task_text(t) for t in tasks]
    for i, text in enumerate(texts):
        why = unreadable(text)
        if why:
            texts[i] = ""
            if warn is not None:
                warn(f"task {ids[i]}: empty result: {why}")
    arts = extractor.extract_many(texts, batch_size=batch_size, ids=ids)
    return [prediction(a, extractor.version, relations) for a in arts]


# --- projects ---------------------------------------------------------------------------------
def _bar(total: int, desc: str, progress: bool):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="task", desc=desc, dynamic_ncols=True)


@dataclass
class ImportReport:
    """What ``import_articles`` did."""

    project_id: int
    title: str
    created: bool
    url: str
    tasks: int = 0
    predictions: int = 0
    already: int = 0          # articles whose doc_id the project already had
    model_version: str | None = None


def import_articles(studio: Studio, paths: Sequence[str | Path], project: str | int, *,
                    extractor: Extractor | None = None, batch_size: int = 100,
                    progress: bool = True) -> ImportReport:
    """Import raw articles as tasks; those whose doc_id is already in the project are left out,
    so a second run adds nothing. With ``extractor`` each new task comes with its prediction.

    Every input is read and checked before anything is sent: an unreadable file or line raises
    :class:`InvalidExport` listing them all, and the server is not touched.
    """
    tasks, errors = read_article_tasks(paths)
    if errors:
        raise InvalidExport(f"{len(errors)} input(s) could not be read; nothing was sent to {studio.url}",
                            [Problem(e.where, e.message) for e in errors])
    if not tasks:
        raise InvalidExport(f"no articles in {', '.join(map(str, paths))}; nothing was sent", [])
    found, created = open_project(studio, project)
    have = {} if created else existing_keys(studio, found.id)
    todo = [t for t in tasks if task_key(t["data"]) not in have]
    report = ImportReport(found.id, found.title or str(project), created, f"{studio.url}/projects/{found.id}/data",
                          already=len(tasks) - len(todo), model_version=extractor.version if extractor else None)
    bar = _bar(len(todo), "import", progress and bool(todo))
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        if extractor is not None:
            for t, p in zip(batch, predict_tasks(extractor, batch), strict=True):
                t["predictions"] = [p]
            problems, _ = check_tasks(batch)
            if problems:  # a model writing what the schema forbids is a bug: say which task
                raise InvalidExport(f"the predictions of {extractor.version} break the schema; tasks "
                                    f"{start + 1}-{start + len(batch)} were not sent", problems)
        with studio.talking(f"importing tasks {start + 1}-{start + len(batch)} into project {found.id}"):
            answer = studio.client.projects.import_tasks(found.id, request=[import_request(t) for t in batch])
        report.tasks += answer.task_count or 0
        report.predictions += answer.prediction_count or 0
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return report


def _plain(item: Any) -> dict:
    """An SDK object (a prediction) as the dict Label Studio sent."""
    return item if isinstance(item, dict) else item.model_dump(mode="json")


def project_tasks(studio: Studio, project_id: int, full: Container[str] = ()) -> list[dict]:
    """Every task of a project with its data, the model versions of its predictions and, in
    ``predictions``, each one's version and date. Tasks whose doc_id is in ``full`` keep their
    annotations and whole predictions (the others' would fill memory on a large project)."""
    with studio.talking(f"listing the tasks of project {project_id}"):
        out = []
        for t in studio.client.tasks.list(project=project_id, fields="all", page_size=100):
            data = t.data or {}
            preds = [_plain(p) for p in (t.predictions or [])]
            task = {"id": t.id, "data": data, "model_versions": {p.get("model_version") for p in preds}}
            if str(data.get("doc_id")) in full:
                task |= {"annotations": [_plain(a) for a in (t.annotations or [])], "predictions": preds}
            else:
                task["predictions"] = [{k: p.get(k) for k in ("model_version", "created_at")} for p in preds]
            out.append(task)
        return out


class WorseRun(StudioError):
    """A run that scores below the project's model version on the same dev articles (``--force``)."""


def guard_run(found: Any, tasks: Sequence[dict], extractor: Extractor, dev: set[str], force: bool) -> DevComparison:
    """The run (``extractor``, its ``dev`` doc_ids) against the version the project uses, on
    the same annotated dev articles (``compare.py``); :class:`WorseRun` if it scores below it,
    unless ``force``."""
    used = version_in_use(getattr(found, "model_version", None), tasks, extractor.version)
    cmp = compare_on_dev_tasks(tasks, dev, extractor, used)
    if cmp.worse and not force:
        raise WorseRun(f"{cmp.describe()}: {extractor.version} scores below the version project {found.id} uses; "
                       "nothing was changed (pass --force to use it anyway)")
    return cmp


@dataclass
class PredictReport:
    project_id: int
    model_version: str
    predicted: int = 0
    had_it: int = 0           # tasks that already held a prediction of this version
    scores: list[float] = field(default_factory=list)
    comparison: DevComparison | None = None


def predict_project(studio: Studio, project: str | int, extractor: Extractor, *, batch_size: int = 32,
                    progress: bool = True, run: str | Path | None = None, force: bool = False) -> PredictReport:
    """Add a prediction of the extractor's model version to every task of a project that has
    none from it (new tasks and old ones alike), ``batch_size`` tasks at a time: an interrupted
    run keeps what it sent, and running it again finishes the rest. With ``run`` (the
    extractor's folder) a run that scores below the project's model version is refused
    (:func:`guard_run`) unless ``force``."""
    found, _ = open_project(studio, project, create=False)
    dev = dev_ids(run) if run is not None else set()
    tasks = project_tasks(studio, found.id, full=dev)
    cmp = guard_run(found, tasks, extractor, dev, force) if run is not None else None
    todo = [t for t in tasks if extractor.version not in t["model_versions"]]
    report = PredictReport(found.id, extractor.version, had_it=len(tasks) - len(todo), comparison=cmp)
    bar = _bar(len(todo), "predict", progress and bool(todo))
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        preds = predict_tasks(extractor, batch)
        problems, _ = check_tasks([{"id": t["id"], "data": t["data"], "predictions": [p]}
                                   for t, p in zip(batch, preds, strict=True)])
        if problems:
            raise InvalidExport(f"the predictions of {extractor.version} break the schema; "
                                f"{report.predicted} task(s) were predicted before this batch", problems)
        with studio.talking(f"adding predictions to tasks {start + 1}-{start + len(batch)} of project {found.id}"):
            studio.client.projects.import_predictions(found.id, request=[{**p, "task": t["id"]}
                                                                         for t, p in zip(batch, preds, strict=True)])
        report.predicted += len(batch)
        report.scores += [p["score"] for p in preds if p["score"] is not None]
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return report


# --- ranking ----------------------------------------------------------------------------------
def api(studio: Studio, method: str, path: str, what: str, **kwargs) -> Any:
    """A call the SDK has no method for (Data Manager actions, the next task), as JSON."""
    with studio.talking(what):
        r = studio.client._client_wrapper.httpx_client.request(path, method=method, **kwargs)
        if r.status_code >= 400:
            from label_studio_sdk.core.api_error import ApiError

            try:
                body = r.json()
            except ValueError:
                body = r.text
            raise ApiError(status_code=r.status_code, headers=dict(r.headers), body=body)
        return r.json() if r.content else None


@dataclass
class RankReport:
    project_id: int
    model_version: str
    sampling: str
    view_id: int
    comparison: DevComparison | None = None


def rank(studio: Studio, project: str | int, model_version: str, *, extractor: Extractor | None = None,
         run: str | Path | None = None, force: bool = False) -> RankReport:
    """Serve the tasks of a project lowest score first, for one model version.

    Label Studio's uncertainty sampling is set through the API (its Community UI offers only
    sequential and random, but the API takes it once predictions of that version exist), so
    "Label All Tasks" and ``/api/projects/{id}/next`` give the least certain task next. As a
    fallback a Data Manager tab sorted by prediction score, lowest first, showing only
    :data:`SCORE_COLUMNS`, is created (or updated). With ``run`` and its ``extractor`` a run
    that scores below the project's model version is refused (:func:`guard_run`) unless ``force``.
    """
    found, _ = open_project(studio, project, create=False)
    with studio.talking(f"reading the model versions of project {found.id}"):
        versions = api(studio, "GET", f"api/projects/{found.id}/model-versions", "listing model versions") or {}
    if isinstance(versions, dict) and "static" in versions:  # {"static": [...], "live": [...]}
        versions = {v if isinstance(v, str) else v.get("model_version"): 1 for v in versions["static"]}
    if model_version not in versions:
        raise StudioError(f"project {found.id} at {studio.url} has no predictions of model version {model_version!r} "
                          f"(it has {', '.join(map(str, versions)) or 'none'}): run `indoevent ls predict` first")
    cmp = None
    if run is not None and extractor is not None:  # before the project's model version is changed
        dev = dev_ids(run)
        cmp = guard_run(found, project_tasks(studio, found.id, full=dev), extractor, dev, force)
    with studio.talking(f"turning on uncertainty sampling in project {found.id}"):
        studio.client.projects.update(found.id, sampling=UNCERTAINTY, model_version=model_version)
    tab = score_tab(column_ids(studio, found.id))
    view = next((v for v in _views(studio, found.id) if (v.data or {}).get("title") == SCORE_VIEW), None)
    with studio.talking(f"writing the Data Manager tab {SCORE_VIEW!r} of project {found.id}"):
        if view is None:
            view = studio.client.views.create(project=found.id, data=tab)
        else:  # a tab made by an older version shows every raw column
            view = studio.client.views.update(str(view.id), project=found.id, data=tab)
    return RankReport(found.id, model_version, UNCERTAINTY, view.id, cmp)


def column_ids(studio: Studio, project_id: int) -> list[str]:
    """The ids of the project's Data Manager columns as tabs name them (``tasks:data.doc_id``)."""
    answer = api(studio, "GET", "api/dm/columns", f"listing the Data Manager columns of project {project_id}",
                 params={"project": project_id}) or {}
    out = []
    for c in answer.get("columns", []) if isinstance(answer, dict) else []:
        if c.get("children"):  # "data" only groups the data.* columns
            continue
        name = f"{c['parent']}.{c['id']}" if c.get("parent") else c["id"]
        out.append(f"{c.get('target', 'tasks')}:{name}")
    return out


def score_tab(columns: Sequence[str]) -> dict:
    """The data of the score tab: lowest score first, every column but :data:`SCORE_COLUMNS` hidden.

    >>> score_tab(["tasks:id", "tasks:data.text"])["hiddenColumns"]
    {'explore': ['tasks:data.text'], 'labeling': ['tasks:data.text']}
    """
    hidden = [c for c in columns if c not in SCORE_COLUMNS]
    return {"title": SCORE_VIEW, "ordering": ["tasks:predictions_score"],
            "hiddenColumns": {"explore": hidden, "labeling": list(hidden)}}


def _views(studio: Studio, project_id: int) -> list:
    with studio.talking(f"listing the Data Manager tabs of project {project_id}"):
        return list(studio.client.views.list(project=project_id))


def next_task(studio: Studio, project_id: int) -> dict:
    """The task Label Studio serves next to this token's user (as "Label All Tasks" does)."""
    return api(studio, "GET", f"api/projects/{project_id}/next", f"asking project {project_id} for its next task")


# --- the ML backend ---------------------------------------------------------------------------
def connect_backend(studio: Studio, project: str | int, url: str, title: str = "indoevent",
                    basic_auth: tuple[str, str] | None = None) -> Any:
    """Register an ML backend (``indoevent serve``) with a project, interactive, or update the one
    already registered at that URL. Label Studio calls its /health and /setup on the way."""
    found, _ = open_project(studio, project, create=False)
    url = url.rstrip("/")
    auth: dict = {}
    if basic_auth:
        auth = {"auth_method": "BASIC_AUTH", "basic_auth_user": basic_auth[0], "basic_auth_pass": basic_auth[1]}
    with studio.talking(f"listing the ML backends of project {found.id}"):
        have = [b for b in studio.client.ml.list(project=found.id) if (b.url or "").rstrip("/") == url]
    with studio.talking(f"connecting the ML backend at {url} to project {found.id}"):
        if have:
            return studio.client.ml.update(have[0].id, project=found.id, url=url, is_interactive=True, title=title,
                                           **auth)
        return studio.client.ml.create(project=found.id, url=url, is_interactive=True, title=title,
                                       extra_params=json.dumps({}), **auth)


def retrieve_predictions(studio: Studio, project_id: int, task_ids: Iterable[int] | None = None) -> Any:
    """Label Studio's own "Retrieve predictions" action: it asks the project's ML backend for
    predictions of the given tasks (all tasks by default) and stores them."""
    items = {"all": True, "excluded": []} if task_ids is None else {"all": False, "included": list(task_ids)}
    return api(studio, "POST", "api/dm/actions", f"retrieving predictions for project {project_id}",
               params={"id": "retrieve_tasks_predictions", "project": project_id}, json={"selectedItems": items})


def check_labeling_config(xml: str) -> list[str]:
    """Differences between a labeling config and schema v1 (empty: the backend can serve it)."""
    return check_config(xml or "")
