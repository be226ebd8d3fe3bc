"""Label Studio JSON export -> documents with spans and relations.

Reads the export produced by Label Studio's "JSON" export (a list of tasks), picks
one annotation per task, resolves span offsets (converting UTF-16 offsets, which
the browser may produce for texts with emoji) and reports every problem with its
task id and offset. Nothing here imports torch or transformers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..document import Document, Relation, Span
from ..jsonl import JsonlError, json_type, read_jsonl
from ..schema import CONTROL_OF, ENTITY_CONTROL, EVENT_CONTROL, ROLES, TEXT_NAME
from .checks import Problem, check_document


class ExportError(ValueError):
    """The export file cannot be read at all (not JSON, not a list of tasks)."""


@dataclass
class ReadResult:
    """What reading an export gave: documents, problems, and tasks left out (with why)."""

    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> task labels
    n_tasks: int = 0
    n_predictions: int = 0  # predictions checked (by validate)


def load_tasks(path: str | Path) -> list[dict]:
    """Load the tasks of an export: Label Studio JSON (a list of tasks, or one task) or JSONL (one
    task a line, as ``indoevent extract --format label-studio`` writes and ``indoevent ls push``
    takes). Errors name the file, line and column, or the task."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ExportError(f"{path}: cannot read: {e.strerror}") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ExportError(f"{path}: not UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r}); "
                          "re-export from Label Studio or convert the file to UTF-8") from e
    if path.suffix == ".jsonl":
        return _jsonl_tasks(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data" and text.lstrip().startswith("{"):  # JSONL under another name
            return _jsonl_tasks(path)
        raise ExportError(f"{path}:{e.lineno}:{e.colno}: malformed JSON: {e.msg}") from e
    if isinstance(data, dict) and "data" in data:  # a single task
        data = [data]
    if not isinstance(data, list):
        raise ExportError(f"{path}: expected a Label Studio JSON export (a list of tasks), got "
                          f"{json_type(data)}")
    for i, t in enumerate(data):
        if not isinstance(t, dict):
            raise ExportError(f"{path}: task {i}: expected an object, got {json_type(t)} {t!r:.40}")
    return data


def _jsonl_tasks(path: Path) -> list[dict]:
    try:
        return [task for _, task in read_jsonl(path, expected="a task object")]
    except JsonlError as e:
        raise ExportError(str(e)) from e


def is_id(value: object) -> bool:
    """A task id or doc_id is a string or an integer (JSON ``true`` is neither).

    >>> is_id(12), is_id("berita-1"), is_id(True), is_id(1.5)
    (True, True, False, False)
    """
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def task_label(task: dict, index: int) -> str:
    """How problems name a task: its id and doc_id when present (its position when the id is unusable)."""
    tid = task.get("id")
    data = task.get("data")
    doc = data.get("doc_id") if isinstance(data, dict) else None
    return (f"task {tid}" if is_id(tid) else f"task #{index}") + (f" ({doc})" if is_id(doc) and doc != "" else "")


CHOICES = "latest (the latest non-cancelled annotation), first, or annotator=ID (a user id or email)"


def check_choice(choose: str) -> str:
    """``choose`` if it names a way to pick an annotation, else a ValueError saying which ones do.

    >>> check_choice("annotator=3")
    'annotator=3'
    """
    if choose in ("latest", "first") or (choose.startswith("annotator=") and len(choose) > len("annotator=")):
        return choose
    raise ValueError(f"unknown annotation choice {choose!r}: use {CHOICES}")


def choose_annotation(task: dict, choose: str = "latest") -> dict | None:
    """Pick one non-cancelled annotation: ``latest`` (by updated_at, then id), ``first``,
    or ``annotator=N`` (the latest by that ``completed_by`` user)."""
    anns = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if choose.startswith("annotator="):
        who = choose.split("=", 1)[1]
        anns = [a for a in anns if str(a.get("completed_by")) == who
                or str((a.get("completed_by") or {}).get("email", "") if isinstance(a.get("completed_by"), dict) else "") == who]
        choose = "latest"
    if not anns:
        return None
    key = lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0)  # noqa: E731
    anns.sort(key=key)
    if choose == "first":
        return anns[0]
    if choose == "latest":
        return anns[-1]
    raise ValueError(f"unknown annotation choice {choose!r}: use {CHOICES}")


def utf16_to_codepoints(text: str) -> list[int]:
    """Map each UTF-16 offset of ``text`` to its code-point offset (length = UTF-16 length + 1).

    >>> utf16_to_codepoints("a😀b")
    [0, 1, 1, 2, 3]
    """
    table = []
    for i, ch in enumerate(text):
        table.append(i)
        if ord(ch) > 0xFFFF:
            table.append(i)  # the second surrogate maps to the same character
    table.append(len(text))
    return table


def result_to_span(item: dict, text: str, where: str, u16: list[int] | None,
                   problems: list[Problem], warnings: list[Problem]) -> Span | None:
    """Turn one ``labels`` result into a Span, resolving UTF-16 offsets; None if unusable."""
    v = item.get("value")
    rid = item.get("id")
    if not isinstance(v, dict) or not all(k in v for k in ("start", "end", "labels")):
        problems.append(Problem(where, f"result {rid!r}: value needs start, end and labels"))
        return None
    start, end, labels = v["start"], v["end"], v["labels"]
    if not isinstance(start, int) or not isinstance(end, int):
        problems.append(Problem(where, f"result {rid!r}: start/end must be integers, got {start!r}, {end!r}"))
        return None
    if not isinstance(labels, list) or len(labels) != 1:
        problems.append(Problem(where, f"result {rid!r}: expected exactly one label, got {labels!r}", start, end))
        return None
    label = labels[0]
    control = item.get("from_name")
    if label not in CONTROL_OF:
        problems.append(Problem(where, f"result {rid!r}: unknown label {label!r}", start, end))
        return None
    if control != CONTROL_OF[label]:
        problems.append(Problem(where, f"result {rid!r}: label {label} belongs to control "
                                       f"{CONTROL_OF[label]!r}, not {control!r}", start, end))
    if item.get("to_name") != TEXT_NAME:
        problems.append(Problem(where, f"result {rid!r}: to_name is {item.get('to_name')!r}, expected {TEXT_NAME!r}", start, end))
    given = v.get("text")
    if u16 is not None and given is not None and text[start:end] != given:
        # The browser counts UTF-16 units: characters beyond U+FFFF count twice.
        if 0 <= start < end < len(u16) and text[u16[start]:u16[end]] == given:
            warnings.append(Problem(where, f"result {rid!r}: UTF-16 offsets converted to code points "
                                           f"[{u16[start]}, {u16[end]})", start, end))
            start, end = u16[start], u16[end]
    return Span(start, end, label, given if given is not None else "", id=str(rid) if rid is not None else None)


def task_to_document(task: dict, index: int, choose: str = "latest") -> tuple[Document | None, list[Problem], list[Problem], str | None]:
    """One task -> (document, problems, warnings, reason it was skipped)."""
    where = task_label(task, index)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    data = task.get("data")
    if not isinstance(data, dict) or not isinstance(data.get(TEXT_NAME), str):
        return None, [Problem(where, f"data.{TEXT_NAME} is missing or not a string")], [], None
    text = data[TEXT_NAME]
    for key, value in (("id", task.get("id")), ("data.doc_id", data.get("doc_id"))):
        if value is not None and not is_id(value):
            problems.append(Problem(where, f"{key} must be a string or an integer, got {json.dumps(value)}"))
    ann = choose_annotation(task, choose)
    if ann is None:
        return None, problems, [], "unannotated"
    results = ann.get("result")
    if not isinstance(results, list):
        return None, problems + [Problem(where, "annotation has no result list")], [], None
    u16 = utf16_to_codepoints(text) if any(ord(c) > 0xFFFF for c in text) else None
    spans, relations = [], []
    rejected: set[str] = set()  # ids of regions already reported as unusable
    for item in results:
        if not isinstance(item, dict):
            problems.append(Problem(where, f"result entry is not an object: {item!r:.60}"))
            continue
        kind = item.get("type")
        if kind == "labels":
            if item.get("from_name") not in (ENTITY_CONTROL, EVENT_CONTROL):
                problems.append(Problem(where, f"result {item.get('id')!r}: unknown control name {item.get('from_name')!r}"))
            span = result_to_span(item, text, where, u16, problems, warnings)
            if span is not None:
                spans.append(span)
            else:
                rejected.add(str(item.get("id")))
        elif kind == "relation":
            labels = item.get("labels") or []
            if len(labels) != 1:
                problems.append(Problem(where, f"relation {item.get('from_id')} -> {item.get('to_id')}: "
                                               f"expected exactly one role label ({', '.join(ROLES)}), got {labels!r}"))
                continue
            src, dst = str(item.get("from_id")), str(item.get("to_id"))
            if item.get("direction") == "left":  # the annotator turned the arrow: it points to from_id
                src, dst = dst, src
            relations.append(Relation(src, dst, labels[0]))
        else:
            problems.append(Problem(where, f"result {item.get('id')!r}: unsupported result type {kind!r}"))
    # A relation to a region reported above is not a second problem ("points to missing span").
    relations = [r for r in relations if r.trigger_id not in rejected and r.entity_id not in rejected]
    doc_id = next((str(v) for v in (data.get("doc_id"), task.get("id")) if is_id(v) and v != ""), f"task{index}")
    doc = Document(doc_id=doc_id, text=text, spans=spans, relations=relations,
                   task_id=task.get("id") if is_id(task.get("id")) else None, meta={k: v for k, v in data.items() if k != TEXT_NAME})
    problems += check_document(doc, where)
    return doc, problems, warnings, None


def read_export(path: str | Path, choose: str = "latest") -> ReadResult:
    """Read a whole export. Raises :class:`ExportError` only if the file is unreadable."""
    check_choice(choose)
    return read_tasks_of(load_tasks(path), choose)


def read_tasks_of(tasks: list[dict], choose: str = "latest") -> ReadResult:
    """The documents, problems and skipped tasks of tasks already loaded (see :func:`read_export`)."""
    out = ReadResult(n_tasks=len(tasks))
    seen_ids: dict[str, str] = {}
    for i, task in enumerate(tasks):
        doc, problems, warnings, skipped = task_to_document(task, i, choose)
        out.problems += problems
        out.warnings += warnings
        if skipped:
            out.skipped.setdefault(skipped, []).append(task_label(task, i))
        if doc is not None:
            if doc.doc_id in seen_ids:
                out.problems.append(Problem(task_label(task, i), f"doc_id {doc.doc_id!r} also used by {seen_ids[doc.doc_id]}"))
            seen_ids[doc.doc_id] = task_label(task, i)
            out.documents.append(doc)
    return out


def document_to_results(doc: Document, id_prefix: str = "") -> list[dict]:
    """The Label Studio ``result`` list of a document (spans, then relations)."""
    results: list[dict] = []
    for s in sorted(doc.spans):
        results.append({
            "id": f"{id_prefix}{s.id}",
            "from_name": CONTROL_OF[s.label],
            "to_name": TEXT_NAME,
            "type": "labels",
            "origin": "manual" if s.score is None else "prediction",
            "value": {"start": s.start, "end": s.end, "text": doc.text[s.start:s.end], "labels": [s.label]},
            **({"score": round(s.score, 4)} if s.score is not None else {}),
        })
    for r in doc.relations:
        results.append({"from_id": f"{id_prefix}{r.trigger_id}", "to_id": f"{id_prefix}{r.entity_id}",
                        "type": "relation", "direction": "right", "labels": [r.role]})
    return results
