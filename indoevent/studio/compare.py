"""A new run against the model version a project already uses, scored on the same articles.

``ls predict`` and ``ls rank`` put a run's predictions in front of annotators (and ``rank``
makes it the project's model version); a run that scores below the version in use needs
``--force``. Both are scored on the run's dev articles (``run_info.json``) that the project has
annotated: the run by predicting them (``score_articles``), the version in use by its
predictions stored in the project (``score_spans``). Their own dev scores would be on different
articles, and the run never trained on its dev articles, while the version in use may have.

The version in use is the project's ``model_version`` setting, else the newest version among
its predictions (by ``created_at``), the run's own version left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..annotation.lsexport import choose_annotation, task_to_document
from ..document import Span
from ..model.metrics import score_articles, score_spans


def dev_ids(run: str | Path) -> set[str]:
    """The doc_ids of a run's dev articles (empty for a folder without ``run_info.json``)."""
    try:
        info = json.loads((Path(run) / "run_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(info.get("split", {}).get("dev") or [])


def all_f1(scores: dict) -> float:
    """The strict span micro F1 over all labels of ``score_spans`` scores, 0.0 where it has none."""
    return float(scores["all"]["micro"]["f1"] or 0.0)


def version_in_use(setting: str | None, tasks: Sequence[dict], new: str) -> str | None:
    """The project's ``model_version`` setting, else the newest other version among the
    predictions of ``tasks`` (plain task dicts); None when there is none.

    >>> tasks = [{"predictions": [{"model_version": "a", "created_at": "2025-01-02"},
    ...                           {"model_version": "b", "created_at": "2025-01-03"}]}]
    >>> version_in_use("", tasks, "b"), version_in_use("", tasks, "c"), version_in_use("x", tasks, "c")
    ('a', 'b', 'x')
    """
    if setting:
        return setting
    newest: dict[str, str] = {}
    for t in tasks:
        for p in t.get("predictions") or []:
            v = p.get("model_version")
            if v and v != new:
                newest[v] = max(newest.get(v, ""), str(p.get("created_at") or ""))
    return max(newest, key=lambda v: (newest[v], v)) if newest else None


def stored_spans(task: dict, version: str) -> list[Span] | None:
    """The spans of the task's latest stored prediction of ``version`` (None: it has none)."""
    preds = [p for p in task.get("predictions") or [] if p.get("model_version") == version]
    if not preds:
        return None
    latest = max(preds, key=lambda p: (str(p.get("created_at") or ""), p.get("id") or 0))
    doc = task_to_document({**task, "annotations": [latest]}, 0)[0]  # a prediction reads as an annotation
    return doc.spans if doc else []


@dataclass
class DevComparison:
    """The run and the version in use on the same dev articles, or why they could not be compared."""

    new_version: str
    version: str | None = None     # the project's version in use
    articles: int = 0              # dev articles both were scored on
    f1_new: float = 0.0
    f1_used: float = 0.0
    why_not: str = ""              # set when no comparison was possible

    @property
    def worse(self) -> bool:
        return self.articles > 0 and self.f1_new < self.f1_used

    def describe(self) -> str:
        if not self.articles:
            return f"no dev F1 comparison with the project's model version: {self.why_not}"
        return (f"dev F1 {self.f1_new:.3f} for {self.new_version} vs {self.f1_used:.3f} for {self.version} (the "
                f"project's model version) on the same {self.articles} dev article(s)")


def compare_on_dev_tasks(tasks: Sequence[dict], dev: set[str], extractor: Any, version: str | None) -> DevComparison:
    """Score the extractor and the stored predictions of ``version`` on the tasks that are
    annotated dev articles of the run (``tasks``: plain dicts with data, annotations and
    predictions, as Label Studio lists them)."""
    out = DevComparison(extractor.version, version)
    if not dev:
        out.why_not = "the run has no dev articles (run_info.json)"
    elif version is None:
        out.why_not = "the project has no predictions of another model version"
    elif version == extractor.version:
        out.why_not = f"the project already uses {version}"
    if out.why_not or version is None:  # version None: why_not says so
        return out
    mine = [t for t in tasks if str((t.get("data") or {}).get("doc_id")) in dev and choose_annotation(t)]
    found = [(task_to_document(t, i)[0], stored_spans(t, version)) for i, t in enumerate(mine)]
    pairs = [(doc, used) for doc, used in found if doc is not None and used is not None]
    if not pairs:
        out.why_not = (f"none of the run's {len(dev)} dev article(s) is annotated in the project with a "
                       f"prediction of {version}" if mine else
                       f"none of the run's {len(dev)} dev article(s) is annotated in the project")
        return out
    new, _ = score_articles(extractor.extract_many, [doc for doc, _ in pairs])
    used = score_spans([doc.spans for doc, _ in pairs], [u for _, u in pairs])
    out.articles, out.f1_new, out.f1_used = len(pairs), all_f1(new), all_f1(used)
    return out
