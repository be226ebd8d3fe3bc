"""Shared fixtures: the repository root and Label Studio exports written from inline markup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent.annotation.inline import parse
from indoevent.annotation.lsexport import document_to_results

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


def task_from_markup(markup: str, task_id: int = 1, doc_id: str | None = None) -> dict:
    """A Label Studio task with one annotation, from inline markup."""
    doc = parse(markup, doc_id or f"doc{task_id}")
    return {"id": task_id, "data": {"text": doc.text, "doc_id": doc.doc_id},
            "annotations": [{"id": task_id, "result": document_to_results(doc), "was_cancelled": False,
                             "created_at": "2025-09-03T00:00:00Z", "updated_at": "2025-09-03T00:00:00Z"}]}


@pytest.fixture
def make_export(tmp_path):
    """Write tasks (dicts, or inline markup strings) to an export file and return its path."""
    def make(*tasks, name: str = "export.json") -> Path:
        items = [task_from_markup(t, i + 1) if isinstance(t, str) else t for i, t in enumerate(tasks)]
        path = tmp_path / name
        path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        return path
    return make
