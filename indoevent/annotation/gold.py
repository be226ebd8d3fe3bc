"""Compile the gold annotation, authored as inline markup (``annotations/gold/*.ann`` for the
seeds, ``annotations/corpus/gold/*.ann`` for the corpus), into a Label Studio JSON export
(``annotations/seeds.json``, ``annotations/corpus.json``).

Each ``.ann`` file names its article by its stem; the article's text is looked up in the text
folders given (``seeds/``, ``annotations/corpus/texts/``), and the ``index.json`` beside such a
folder adds the article's ``url`` and ``story`` to the task's data.

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


# Index fields a task carries: where the article came from and which story it belongs to.
TASK_FIELDS = ("url", "story")


def find_text(stem: str, text_dirs: list[Path]) -> Path:
    """The article file ``<stem>.txt`` in the first folder that has it."""
    for folder in text_dirs:
        if (folder / f"{stem}.txt").is_file():
            return folder / f"{stem}.txt"
    raise ValueError(f"{stem}.ann: cannot read its text: no {stem}.txt in {', '.join(map(str, text_dirs))}")


def index_fields(text_file: Path) -> dict:
    """``url`` and ``story`` of an article from the ``index.json`` beside its folder
    (``annotations/corpus/index.json`` for ``annotations/corpus/texts/``); {} when there is none."""
    index = text_file.parent.parent / "index.json"
    if not index.is_file():
        return {}
    entries = json.loads(index.read_text(encoding="utf-8"))
    entry: dict = next((e for e in entries if e.get("id") == text_file.stem), {})
    return {k: entry[k] for k in TASK_FIELDS if entry.get(k) is not None}


def markup_to_task(markup_path: Path, text_dirs: Path | list[Path], task_id: int) -> dict:
    """One ``.ann`` file -> one Label Studio task with one annotation. Raises ValueError on any problem."""
    stem = markup_path.stem
    doc = parse(markup_path.read_text(encoding="utf-8"), stem, name=str(markup_path))
    seed = find_text(stem, [text_dirs] if isinstance(text_dirs, Path) else text_dirs)
    text = seed.read_bytes().decode("utf-8")
    if doc.text != text:
        # strict=False: the texts may differ in length; then they differ where the shorter one ends.
        i = next((k for k, (a, b) in enumerate(zip(doc.text, text, strict=False)) if a != b),
                 min(len(doc.text), len(text)))
        raise ValueError(f"{markup_path}: text without markup differs from {seed} at character {i}")
    problems = check_document(doc, str(markup_path))
    if problems:
        raise ValueError("\n".join(map(str, problems)))
    return {
        "id": task_id,
        "data": {"text": text, "doc_id": stem, **index_fields(seed)},
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


def build_gold(markup_dirs: str | Path | list, text_dirs: str | Path | list) -> list[dict]:
    """All ``*.ann`` files of one or more folders, in name order, as a Label Studio export."""
    markup_dirs = [Path(markup_dirs)] if isinstance(markup_dirs, (str, Path)) else [Path(d) for d in markup_dirs]
    text_dirs = [Path(text_dirs)] if isinstance(text_dirs, (str, Path)) else [Path(d) for d in text_dirs]
    files = sorted((p for d in markup_dirs for p in d.glob("*.ann")), key=lambda p: p.name)
    if not files:
        raise ValueError(f"{', '.join(map(str, markup_dirs))}: no .ann files")
    stems = [p.stem for p in files]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise ValueError(f"articles annotated in two markup folders: {', '.join(twice)}")
    return [markup_to_task(p, text_dirs, i + 1) for i, p in enumerate(files)]


def dumps_export(tasks: list[dict]) -> str:
    return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"
