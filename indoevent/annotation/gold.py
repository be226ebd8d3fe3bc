"""Compile the gold annotation, authored as inline markup (``annotations/gold/*.ann``),
into the Label Studio JSON export ``annotations/seeds.json``.

The markup is the reviewable source (one line per sentence, diffs show exactly what an
adjudication changed); the export is what Label Studio imports and what training reads.
A test keeps the two in sync.
"""

from __future__ import annotations

import json
from pathlib import Path

from .checks import check_document
from .inline import parse
from .lsexport import document_to_results

# Fixed timestamps keep the compiled export byte-stable.
STAMP = "2025-09-10T00:00:00.000000Z"


def markup_to_task(markup_path: Path, seeds_dir: Path, task_id: int) -> dict:
    """One ``.ann`` file -> one Label Studio task with one annotation. Raises ValueError on any problem."""
    stem = markup_path.stem
    doc = parse(markup_path.read_text(encoding="utf-8"), stem, name=str(markup_path))
    seed = seeds_dir / f"{stem}.txt"
    text = seed.read_bytes().decode("utf-8")
    if doc.text != text:
        i = next((k for k, (a, b) in enumerate(zip(doc.text, text)) if a != b), min(len(doc.text), len(text)))
        raise ValueError(f"{markup_path}: text without markup differs from {seed} at character {i}")
    problems = check_document(doc, str(markup_path))
    if problems:
        raise ValueError("\n".join(map(str, problems)))
    return {
        "id": task_id,
        "data": {"text": text, "doc_id": stem},
        "annotations": [{
            "id": task_id,
            "completed_by": 1,
            "result": document_to_results(doc, id_prefix=f"{stem[:3]}_"),
            "was_cancelled": False,
            "ground_truth": True,
            "created_at": STAMP,
            "updated_at": STAMP,
            "lead_time": None,
            "task": task_id,
        }],
        "predictions": [],
        "meta": {},
        "created_at": STAMP,
        "updated_at": STAMP,
        "inner_id": task_id,
        "total_annotations": 1,
        "cancelled_annotations": 0,
        "total_predictions": 0,
    }


def build_gold(markup_dir: str | Path, seeds_dir: str | Path) -> list[dict]:
    """All ``*.ann`` files of a folder, in name order, as a Label Studio export."""
    files = sorted(Path(markup_dir).glob("*.ann"))
    if not files:
        raise ValueError(f"{markup_dir}: no .ann files")
    return [markup_to_task(p, Path(seeds_dir), i + 1) for i, p in enumerate(files)]


def dumps_export(tasks: list[dict]) -> str:
    return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"
