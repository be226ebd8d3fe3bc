"""Annotating task by task through the API, without a browser: the ``.ann`` file workflow.

An annotator (a person with an editor, or a helper program) works like this::

    indoevent ls next --project berita --out work/        # the next task, lowest score first,
                                                          # as work/<doc_id>.ann with its pre-annotations
    $EDITOR work/<doc_id>.ann                             # correct spans and arguments in the markup
    indoevent ls submit work/<doc_id>.ann --project berita  # validated, then stored as the annotation
    indoevent ls pull berita --ann annotations/corpus/gold  # the project back as .ann files

The markup is the one ``annotations/gold/*.ann`` uses (``annotation/inline.py``). A submitted file
is refused, with one line per problem and nothing sent, when its text without markup is not the
task's text byte for byte, or when it breaks schema v1 (``annotation/checks.py``). Label Studio
serves ``/next`` per user, so each annotator works with an own token and two annotators never get
the same task at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..annotation.checks import Problem, check_document
from ..annotation.inline import MarkupError, parse, render
from ..annotation.lsexport import choose_annotation, document_to_results, task_to_document
from ..atomic import OutputExistsError, write_text
from ..document import Document, Relation, Span
from ..schema import TEXT_NAME
from .client import open_project
from .connection import InvalidExport, Studio, StudioError
from .tasks import api, next_task


def renumber(doc: Document) -> Document:
    """The same document with span ids ``e1, e2, ...`` (entities) and ``t1, ...`` (triggers) in
    text order, so markup made from Label Studio regions (ids such as ``a7Xk_2``) reads like the gold.

    >>> d = Document("d", "Putin bertemu Kim", [Span(14, 17, "PER", "Kim", id="x9"),
    ...     Span(0, 5, "PER", "Putin", id="q"), Span(6, 13, "CONSULT", "bertemu", id="z")],
    ...     [Relation("z", "q", "actor")])
    >>> render(renumber(d))
    '⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1⟧ ⟦e2:PER Kim⟧'
    """
    new: dict[str, str] = {}
    spans, counts = [], {"e": 0, "t": 0}
    for s in sorted(doc.spans):
        kind = "t" if s.is_trigger else "e"
        counts[kind] += 1
        new_id = f"{kind}{counts[kind]}"
        if s.id is not None:
            new[s.id] = new_id
        spans.append(Span(s.start, s.end, s.label, s.text, s.score, new_id))
    relations = [Relation(new[r.trigger_id], new[r.entity_id], r.role) for r in doc.relations
                 if r.trigger_id in new and r.entity_id in new]
    return Document(doc.doc_id, doc.text, spans, relations, doc.task_id, doc.meta)


def doc_id_of(task: dict) -> str:
    """The file name an article's markup gets: its doc_id, else ``task<id>``."""
    data = task.get("data") or {}
    return str(data.get("doc_id") or f"task{task.get('id')}")


def prediction_document(task: dict) -> Document | None:
    """The newest prediction of a task as a document (None when it has none)."""
    preds = [p for p in task.get("predictions") or [] if isinstance(p, dict) and isinstance(p.get("result"), list)]
    if not preds:
        return None
    newest = max(preds, key=lambda p: (str(p.get("created_at") or ""), p.get("id") or 0))
    doc, _, _, _ = task_to_document({**task, "annotations": [{"result": newest["result"]}]}, 0)
    return doc


def task_markup(task: dict, with_predictions: bool = True) -> str:
    """A task as inline markup: its pre-annotation (the newest prediction) or its bare text."""
    doc = prediction_document(task) if with_predictions else None
    if doc is None:
        return (task.get("data") or {}).get(TEXT_NAME) or ""
    return render(renumber(doc))


@dataclass
class Fetched:
    """The task ``ls next`` wrote: where, its id, and the pre-annotation it holds."""

    task_id: int
    doc_id: str
    path: Path
    model_version: str | None
    score: float | None


def fetch_next(studio: Studio, project: str | int, out_dir: str | Path, with_predictions: bool = True) -> Fetched | None:
    """Ask the project for this token's user's next task (uncertainty order once ``ls rank`` has
    turned it on) and write it to ``out_dir/<doc_id>.ann``. None when no task is left.
    An existing file of that name is never replaced: it may hold unsubmitted work."""
    found, _ = open_project(studio, project, create=False)
    try:
        task = next_task(studio, found.id)
    except StudioError as e:
        if "404" in str(e) or "no more tasks" in str(e).lower() or "not found" in str(e).lower():
            return None
        raise
    if not task or not isinstance(task, dict) or "id" not in task:
        return None
    full = api(studio, "GET", f"api/tasks/{task['id']}", f"reading task {task['id']}")
    path = Path(out_dir) / f"{doc_id_of(full)}.ann"
    if path.exists():
        raise OutputExistsError(f"{path} exists (unsubmitted work?): submit it with `indoevent ls submit {path}` "
                                "or move it away, then ask again")
    write_text(path, task_markup(full, with_predictions))
    preds = full.get("predictions") or []
    newest = max(preds, key=lambda p: (str(p.get("created_at") or ""), p.get("id") or 0)) if preds else {}
    return Fetched(full["id"], doc_id_of(full), path, newest.get("model_version") if with_predictions else None,
                   newest.get("score") if with_predictions else None)


def find_task(studio: Studio, project_id: int, doc_id: str) -> dict:
    """The one task of a project whose data.doc_id is ``doc_id`` (with its text and annotations)."""
    with studio.talking(f"looking for doc_id {doc_id!r} in project {project_id}"):
        hits = [t for t in studio.client.tasks.list(project=project_id, fields="task_only", include="id,data",
                                                    page_size=500)
                if str((t.data or {}).get("doc_id")) == doc_id]
    if not hits:
        raise StudioError(f"project {project_id} at {studio.url} has no task with doc_id {doc_id!r} "
                          "(the .ann file is named after it)")
    if len(hits) > 1:
        raise StudioError(f"project {project_id} at {studio.url} has {len(hits)} tasks with doc_id {doc_id!r} "
                          f"(ids {', '.join(str(t.id) for t in hits)})")
    return api(studio, "GET", f"api/tasks/{hits[0].id}", f"reading task {hits[0].id}")


def check_markup(path: Path, task_text: str) -> Document:
    """Parse an edited ``.ann`` file and check it against its task's text and schema v1.
    Raises :class:`InvalidExport` listing every problem (a markup error is one)."""
    where = str(path)
    try:
        doc = parse(path.read_text(encoding="utf-8"), path.stem, name=where)
    except MarkupError as e:
        raise InvalidExport(f"{path}: not valid markup; nothing was sent", [Problem(where, str(e))]) from e
    if doc.text != task_text:
        # strict=False: the texts may differ in length; then they differ where the shorter one ends.
        i = next((k for k, (a, b) in enumerate(zip(doc.text, task_text, strict=False)) if a != b),
                 min(len(doc.text), len(task_text)))
        near = task_text[max(0, i - 20):i + 20].replace("\n", "\\n")
        raise InvalidExport(f"{path}: text without markup differs from the task's text; nothing was sent",
                            [Problem(where, f"first difference at character {i} (task text there: {near!r}); "
                                            f"lengths {len(doc.text)} vs {len(task_text)}", i, i)])
    problems = check_document(doc, where)
    if problems:
        raise InvalidExport(f"{path}: {len(problems)} problem(s) against schema v1; nothing was sent", problems)
    return doc


@dataclass
class Submitted:
    task_id: int
    annotation_id: int
    updated: bool
    spans: int
    relations: int


def submit_markup(studio: Studio, project: str | int, path: str | Path) -> Submitted:
    """Store an edited ``.ann`` file as its task's annotation by this token's user (the task is the
    one whose doc_id is the file's stem). Validated first; the user's earlier annotation of the task,
    if any, is replaced rather than doubled."""
    path = Path(path)
    found, _ = open_project(studio, project, create=False)
    task = find_task(studio, found.id, path.stem)
    doc = check_markup(path, (task.get("data") or {}).get(TEXT_NAME) or "")
    result = document_to_results(doc)
    me = studio.client.users.whoami().id
    mine = [a for a in task.get("annotations") or [] if _author(a) == me and not a.get("was_cancelled")]
    with studio.talking(f"storing the annotation of task {task['id']}"):
        if mine:
            ann = api(studio, "PATCH", f"api/annotations/{mine[-1]['id']}", "updating an annotation",
                      json={"result": result})
        else:
            ann = api(studio, "POST", f"api/tasks/{task['id']}/annotations", "creating an annotation",
                      json={"result": result, "was_cancelled": False})
    return Submitted(task["id"], ann["id"], bool(mine), len(doc.spans), len(doc.relations))


def _author(annotation: dict) -> Any:
    who = annotation.get("completed_by")
    return who.get("id") if isinstance(who, dict) else who


@dataclass
class MarkupPull:
    written: list[Path]
    unannotated: int
    problems: list[Problem]


def export_markup(tasks: list[dict], out_dir: str | Path, choose: str = "latest",
                  overwrite: bool = False) -> MarkupPull:
    """Write the chosen annotation of every annotated task as ``out_dir/<doc_id>.ann``. A task whose
    annotation breaks the schema is reported and not written; an existing file needs ``overwrite``."""
    out_dir = Path(out_dir)
    report = MarkupPull([], 0, [])
    for i, task in enumerate(tasks):
        if choose_annotation(task, choose) is None:
            report.unannotated += 1
            continue
        doc, problems, _, _ = task_to_document(task, i, choose)
        if doc is None or problems:
            report.problems += problems
            continue
        path = out_dir / f"{doc_id_of(task)}.ann"
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path} exists: pass --overwrite to replace the .ann files in {out_dir}")
        write_text(path, render(renumber(doc)))
        report.written.append(path)
    return report
