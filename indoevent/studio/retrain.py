"""Retrain from what the team annotated: pull projects, merge them, check, train.

::

    snapshot exports of projects P1, P2 ...
      -> one task per doc_id, with its latest non-cancelled annotation (conflicts reported)
      -> unannotated tasks left out (counted), the rest validated like `indoevent validate`
      -> annotations/merged.json -> model.train.train with data.export pointing at it

The merged file is what the run's ``run_info.json`` hashes, so a run says which annotations
it learned from.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..annotation.checks import Problem
from ..annotation.lsexport import choose_annotation, task_label, task_to_document
from ..atomic import write_text
from ..model.config import DataConfig, RunConfig, load_config
from ..model.data import split_ids
from ..model.metrics import score_spans
from ..model.runs import RunExistsError
from ..model.train import train
from .client import open_project, snapshot
from .connection import InvalidExport, Studio, StudioError


@dataclass
class Merged:
    """Tasks of several exports, one per doc_id, each with its one chosen annotation."""

    tasks: list[dict] = field(default_factory=list)
    unannotated: int = 0
    conflicts: list[str] = field(default_factory=list)   # doc_ids annotated differently in two places
    per_source: dict[str, int] = field(default_factory=dict)


def _stamp(ann: dict) -> tuple[str, int]:
    return str(ann.get("updated_at") or ann.get("created_at") or ""), int(ann.get("id") or 0)


def _spans(ann: dict) -> set:
    return {(r["value"]["start"], r["value"]["end"], tuple(r["value"]["labels"]))
            for r in ann.get("result") or [] if r.get("type") == "labels" and isinstance(r.get("value"), dict)}


def merge_exports(exports: Sequence[tuple[str, list[dict]]]) -> Merged:
    """Merge task lists (name, tasks): per doc_id the latest non-cancelled annotation wins,
    wherever it is; a doc_id whose annotations differ in their spans between sources is reported.

    >>> t = lambda ts, start: {"data": {"text": "Putin bertemu Kim.", "doc_id": "b1"}, "annotations": [
    ...     {"id": 1, "updated_at": ts, "result": [{"type": "labels", "value": {"start": start, "end": 5,
    ...      "labels": ["PER"]}}]}]}
    >>> m = merge_exports([("p1", [t("2025-01-01", 0)]), ("p2", [t("2025-02-01", 1)])])
    >>> m.tasks[0]["annotations"][0]["updated_at"], m.conflicts
    ('2025-02-01', ['b1 (p1, p2)'])
    """
    best: dict[str, tuple[dict, dict, str]] = {}
    seen: dict[str, list[tuple[str, set]]] = {}
    out = Merged()
    for name, tasks in exports:
        out.per_source[name] = len(tasks)
        for i, task in enumerate(tasks):
            data = task.get("data")
            if not isinstance(data, dict):
                data = {}
            key = str(data.get("doc_id") or f"{name} {task_label(task, i)}")
            ann = choose_annotation(task, "latest")
            if ann is None:
                continue
            seen.setdefault(key, []).append((name, _spans(ann)))
            if key not in best or _stamp(ann) > _stamp(best[key][1]):
                best[key] = (task, ann, name)
    keys = {str((t.get("data") or {}).get("doc_id") or "") for _, ts in exports for t in ts}
    out.unannotated = len({k for k in keys if k and k not in best})
    out.unannotated += sum(1 for _, ts in exports for t in ts if not (t.get("data") or {}).get("doc_id")
                           and choose_annotation(t, "latest") is None)
    for key, (task, ann, _) in best.items():
        kept = {k: task[k] for k in ("id", "data") if k in task}
        out.tasks.append({**kept, "annotations": [ann]})
        if len({frozenset(s) for _, s in seen[key]}) > 1:
            out.conflicts.append(f"{key} ({', '.join(n for n, _ in seen[key])})")
    return out


def pull_projects(studio: Studio, projects: Sequence[str | int]) -> list[tuple[str, list[dict]]]:
    """Snapshot exports (full predictions and annotations) of projects, as (name, tasks)."""
    out = []
    for p in projects:
        found, _ = open_project(studio, p, create=False, check=False)
        try:
            tasks = json.loads(snapshot(studio, found.id))
        except ValueError as e:
            raise StudioError(f"Label Studio at {studio.url} sent an export of project {found.id} that is not JSON") from e
        out.append((f"project {found.id}", tasks))
    return out


@dataclass
class RetrainReport:
    export: Path
    merged: Merged
    run: Path
    metrics: dict | None = None


def write_merged(merged: Merged, out: str | Path) -> Path:
    """Write the merged tasks (atomically), after checking them as training will read them:
    every problem is listed in :class:`InvalidExport`, and nothing is written."""
    problems: list[Problem] = []
    for i, task in enumerate(merged.tasks):
        problems += task_to_document(task, i)[1]
    if problems:
        raise InvalidExport(f"the merged annotations have {len(problems)} problem(s); nothing was trained", problems)
    if not merged.tasks:
        raise InvalidExport("no annotated task in the projects; nothing to train on", [])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text(out, json.dumps(merged.tasks, ensure_ascii=False, indent=1))


def retrain(studio: Studio, projects: Sequence[str | int], config: RunConfig | str | Path, out_dir: str | Path, *,
            overrides: Sequence[str] = (), cv: bool = False, overwrite: bool = False,
            callbacks: Sequence[Any] = ()) -> RetrainReport:
    """Pull, merge, validate and train: the run goes to ``out_dir/run`` (``out_dir/run-cv`` with
    ``cv``), the merged annotations to ``out_dir/annotations.json``."""
    out_dir = Path(out_dir)
    target = out_dir / ("run-cv" if cv else "run")
    if target.exists() and not overwrite:  # before anything is pulled or written
        raise RunExistsError(f"{target} already exists: pass --overwrite to replace it, or another --out-dir")
    if isinstance(config, RunConfig):
        cfg = copy.deepcopy(config)
    else:  # read (and checked) before the server is asked for anything
        cfg = load_config(config, overrides)
    merged = merge_exports(pull_projects(studio, projects))
    need = articles_needed(cfg.data)
    if not cv and len(merged.tasks) < need:
        raise InvalidExport(f"{len(merged.tasks)} annotated article(s) in the project(s); training needs at least "
                            f"{need} (data.dev {cfg.data.dev}, data.test {cfg.data.test}, one to train on): "
                            "annotate more, then retrain", [])
    export = write_merged(merged, out_dir / "annotations.json")
    cfg.data.export = str(export)
    run = train(cfg, target, cv=cv, overwrite=overwrite, callbacks=callbacks)
    metrics_path = Path(run) / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else None
    return RetrainReport(export, merged, Path(run), metrics)


def articles_needed(data: DataConfig, most: int = 1000) -> int:
    """The fewest annotated articles the split of ``data`` leaves one to train on.

    >>> from indoevent.model.config import from_dict
    >>> articles_needed(from_dict({"run_name": "t", "data": {"dev": 1, "test": 0}}).data)
    2
    """
    for n in range(1, most):
        try:
            if split_ids([str(i) for i in range(n)], data.dev, data.test, seed=0)[0]:
                return n
        except ValueError:  # DataError: nothing left, or named ids this many articles lack
            continue
    return most


def cv_f1(metrics: dict | None) -> float | None:
    """The pooled strict span micro F1 over the test folds of a cross-validation's metrics.json."""
    try:
        return float(metrics["cv"]["pooled"]["all"]["micro"]["f1"] or 0.0)  # type: ignore[index]
    except (TypeError, KeyError):
        return None


def dev_f1(metrics: dict | None) -> float | None:
    """The strict span micro F1 on dev of a run's metrics.json (None without a dev split)."""
    try:
        return float(metrics["dev"]["all"]["micro"]["f1"] or 0.0)  # type: ignore[index]
    except (TypeError, KeyError):
        return None


# --- how far pre-annotations were from what annotators made of them ---------------------------
def preannotation_scores(tasks: list[dict], model_version: str, doc_ids: Sequence[str]) -> dict:
    """Strict span scores (``model.metrics.score_spans``) of one model version's predictions against
    the corrected annotations of the given articles: the loop's curve, one point per batch. An
    article without an annotation or without that version's prediction is an error naming it.

    >>> res = lambda *s: [{"type": "labels", "from_name": "entity", "to_name": "text", "id": f"r{i}",
    ...     "value": {"start": a, "end": b, "labels": [lab], "text": "x"}} for i, (a, b, lab) in enumerate(s)]
    >>> task = {"data": {"text": "Putin bertemu Kim.", "doc_id": "b1"},
    ...         "annotations": [{"id": 1, "result": res((0, 5, "PER"), (14, 17, "PER"))}],
    ...         "predictions": [{"model_version": "m1", "result": res((0, 5, "PER"), (14, 17, "GPE"))}]}
    >>> m = preannotation_scores([task], "m1", ["b1"])
    >>> m["entities"]["micro"]["f1"], m["articles"]
    (0.5, 1)
    """
    by_id = {str((t.get("data") or {}).get("doc_id")): (i, t) for i, t in enumerate(tasks)}
    gold, pred = [], []
    for doc_id in doc_ids:
        if doc_id not in by_id:
            raise StudioError(f"article {doc_id} is not in the export")
        i, task = by_id[doc_id]
        doc, _, _, _ = task_to_document(task, i)
        preds = [p for p in task.get("predictions") or [] if p.get("model_version") == model_version]
        if doc is None or not preds:
            raise StudioError(f"article {doc_id}: {'no annotation' if doc is None else f'no prediction of {model_version}'}")
        pdoc, _, _, _ = task_to_document({**task, "annotations": [{"result": preds[-1]["result"]}]}, i)
        gold.append(doc.spans)
        pred.append(pdoc.spans if pdoc else [])
    return {**score_spans(gold, pred), "articles": len(doc_ids)}
