"""``indoevent validate``: check a Label Studio export against schema v1 and count its labels."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..schema import CONTROL_OF, ENTITY_LABELS, EVENT_LABELS, ROLES
from .checks import Problem
from .lsexport import ReadResult, check_choice, load_tasks, read_tasks_of, task_label, task_to_document


def label_table(result: ReadResult) -> str:
    """A per-label table: spans and articles per label, then relations per role."""
    spans = Counter(s.label for d in result.documents for s in d.spans)
    docs = Counter(label for d in result.documents for label in {s.label for s in d.spans})
    roles = Counter(r.role for d in result.documents for r in d.relations)
    lines = [f"{'label':<10} {'control':<7} {'spans':>6} {'articles':>8}"]
    for label in ENTITY_LABELS + EVENT_LABELS:
        lines.append(f"{label:<10} {CONTROL_OF[label]:<7} {spans[label]:>6} {docs[label]:>8}")
    lines.append(f"{'relation':<18} {'count':>6}")
    for role in ROLES:
        lines.append(f"{role:<18} {roles[role]:>6}")
    return "\n".join(lines)


def check_predictions(tasks: list[dict]) -> tuple[int, list[Problem], list[Problem]]:
    """Check every prediction of every task like an annotation, against the task's text:
    ``(predictions checked, problems, warnings)``. Tasks whose own data is wrong are left to
    the annotation check, which reports them once."""
    n, problems, warnings = 0, [], []
    for i, task in enumerate(tasks):
        preds = task.get("predictions") or []
        if not isinstance(preds, list):
            problems.append(Problem(task_label(task, i), "predictions must be a list"))
            continue
        bare = {k: v for k, v in task.items() if k not in ("annotations", "predictions")}
        if preds and task_to_document(bare, i)[1]:
            continue
        for k, pred in enumerate(preds):
            where = f"{task_label(task, i)} prediction {k}"
            if not isinstance(pred, dict):
                problems.append(Problem(where, "is an id only (a quick export): pull with `indoevent ls pull`, whose "
                                               "snapshot holds full predictions" if isinstance(pred, int)
                                        else f"is not an object: {pred!r:.60}"))
                continue
            where += f" ({pred.get('model_version') or 'no model_version'})"
            score = pred.get("score")
            if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
                problems.append(Problem(where, f"score must be a number or null, got {score!r}"))
            _, found, warned, _ = task_to_document({**bare, "annotations": [{"result": pred.get("result")}]}, i)
            n += 1
            problems += [Problem(where, p.message, p.start, p.end) for p in found]
            warnings += [Problem(where, p.message, p.start, p.end) for p in warned]
    return n, problems, warnings


def validate(export: str | Path, choose: str = "latest") -> ReadResult:
    """Read and check an export (JSON or JSONL): the chosen annotation of each task and every
    prediction. Problems are in the result (an unreadable file raises ExportError)."""
    check_choice(choose)
    tasks = load_tasks(export)
    result = read_tasks_of(tasks, choose)
    result.n_predictions, problems, warnings = check_predictions(tasks)
    result.problems += problems
    result.warnings += warnings
    return result
