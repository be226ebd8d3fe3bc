"""``indoevent convert``: Label Studio export -> word-level IOB2 (JSONL + Hugging Face DatasetDict).

Data flows one way: export -> documents with spans -> words with offsets -> IOB2.
Nothing is dropped silently: spans that do not fall on word edges, tasks without an
annotation and schema problems go to ``conversion_report.json``; under ``strict`` any of
them fails the conversion. Output is written to a temporary folder and moved into place
only when complete, so a failed run never leaves a half-written directory.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import atomic
from ..atomic import OutputExistsError, building
from ..document import Document
from ..jsonl import read_jsonl
from ..schema import bio_tags
from ..text.iob import TaggedWords, spans_to_tags, tags_to_spans
from ..text.tokenize import Word, tokenize
from .lsexport import read_export


class ConversionError(RuntimeError):
    """Conversion refused (strict mode, or nothing to convert); ``report`` says why."""

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


def document_to_article(doc: Document) -> tuple[TaggedWords, list[dict]]:
    """Tokenise one document and tag its words; returns the article and its misaligned spans.

    >>> from indoevent.annotation.inline import parse
    >>> art, bad = document_to_article(parse("⟦e1:PER Putin⟧ tiba di ⟦e2:GPE Beijing⟧.", "d"))
    >>> list(zip(art.tokens, art.tags))
    [('Putin', 'B-PER'), ('tiba', 'O'), ('di', 'O'), ('Beijing', 'B-GPE'), ('.', 'O')]
    """
    cuts = {o for s in doc.spans for o in (s.start, s.end)}
    words = tokenize(doc.text, cuts)
    tags, misaligned = spans_to_tags(words, doc.spans)
    bad = []
    for s in misaligned:
        inside = [w.text for w in words if w.start < s.end and s.start < w.end]
        bad.append({"doc_id": doc.doc_id, "task_id": doc.task_id, "start": s.start, "end": s.end,
                    "label": s.label, "text": doc.text[s.start:s.end], "words": inside})
    # Relations in word indices [first, last + 1), for the argument linker.
    first_word = {w.start: k for k, w in enumerate(words)}
    after_word = {w.end: k + 1 for k, w in enumerate(words)}
    by_id = {s.id: s for s in doc.spans}
    aligned = {id(s) for s in doc.spans} - {id(s) for s in misaligned}
    rels = []
    for r in doc.relations:
        t, e = by_id.get(r.trigger_id), by_id.get(r.entity_id)
        if t is None or e is None or id(t) not in aligned or id(e) not in aligned:
            continue
        rels.append({"role": r.role,
                     "trigger": [first_word[t.start], after_word[t.end]], "trigger_label": t.label,
                     "argument": [first_word[e.start], after_word[e.end]], "argument_label": e.label})
    art = TaggedWords(doc.doc_id, doc.text, [w.text for w in words], [w.start for w in words],
                      [w.end for w in words], tags, rels, sorted(doc.spans))
    return art, bad


def convert_export(export: str | Path, choose: str = "latest", strict: bool = False,
                   strict_name: str = "--strict") -> tuple[list[TaggedWords], dict]:
    """Convert an export in memory: the articles and a report of everything left out.

    Under ``strict`` any problem fails, with a message that lists them and names the setting
    that asked for it (``strict_name``: the flag, or ``data.strict`` in a training config)."""
    result = read_export(export, choose)
    articles, misaligned = [], []
    for doc in result.documents:
        art, bad = document_to_article(doc)
        articles.append(art)
        misaligned += bad
    report = {
        "export": str(export),
        "annotation_choice": choose,
        "tasks": result.n_tasks,
        "articles": len(articles),
        "skipped": {k: {"count": len(v), "tasks": v} for k, v in result.skipped.items()},
        "problems": [str(p) for p in result.problems],
        "warnings": [str(w) for w in result.warnings],
        "misaligned_spans": misaligned,
        "tag_counts": _tag_counts(articles),
    }
    if strict and (result.problems or misaligned or result.skipped):
        n = len(result.problems) + len(misaligned) + sum(len(v) for v in result.skipped.values())
        lines = problem_lines(report)
        listed = "".join(f"\n  {line}" for line in lines[:20]) + (f"\n  ... {len(lines) - 20} more"
                                                                  if len(lines) > 20 else "")
        raise ConversionError(f"{export}: {n} problem(s) under {strict_name}; nothing written:{listed}", report)
    if not articles:
        raise ConversionError(f"{export}: no annotated task to convert", report)
    return articles, report


def problem_lines(report: dict) -> list[str]:
    """Every problem of a conversion report, one line each (what strict mode refuses)."""
    lines = list(report["problems"])
    for m in report["misaligned_spans"]:
        lines.append(f"{m['doc_id']} (task {m['task_id']}) at [{m['start']}, {m['end']}): {m['label']} "
                     f"{m['text']!r:.60} does not fall on word edges (words: {m['words'][:6]})")
    for reason, s in report["skipped"].items():
        more = " ..." if s["count"] > 10 else ""
        lines.append(f"{s['count']} task(s) {reason}: {', '.join(s['tasks'][:10])}{more}")
    return lines


def _tag_counts(articles: list[TaggedWords]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in articles:
        for t in a.tags:
            if t.startswith("B-"):
                counts[t[2:]] = counts.get(t[2:], 0) + 1
    return dict(sorted(counts.items()))


def to_dataset_dict(articles: list[TaggedWords]):
    """A ``DatasetDict`` with one ``train`` split (splits by article come later) and ClassLabel tags."""
    from datasets import DatasetDict

    return DatasetDict({"train": articles_dataset(articles)})


def articles_dataset(articles: list[TaggedWords]):
    """One split of :func:`to_dataset_dict`: an article per row (``doc_id``, ``tokens``, ``starts``,
    ``ends``, ``tags`` as ClassLabel ids over :func:`~indoevent.schema.bio_tags`). Training builds its
    splits with it, so what it windows is what ``indoevent convert`` writes."""
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    names = bio_tags()
    features = Features({
        "doc_id": Value("string"),
        "tokens": Sequence(Value("string")),
        "starts": Sequence(Value("int32")),
        "ends": Sequence(Value("int32")),
        "tags": Sequence(ClassLabel(names=names)),
    })
    index = {t: i for i, t in enumerate(names)}
    rows = {"doc_id": [a.doc_id for a in articles], "tokens": [a.tokens for a in articles],
            "starts": [a.starts for a in articles], "ends": [a.ends for a in articles],
            "tags": [[index[t] for t in a.tags] for a in articles]}
    return Dataset.from_dict(rows, features=features)


# What a conversion folder holds: how an earlier one is told from a folder of someone else's files.
OUTPUT_FILES = ("articles.jsonl", "labels.json", "conversion_report.json")
OUTPUT_DIRS = ("dataset",)


def check_output(out: str | Path, overwrite: bool = False) -> None:
    """Refuse an ``out`` that holds anything but an earlier conversion, and an earlier conversion
    without ``overwrite``; a missing or empty folder is fine. Raises OutputExistsError."""
    out = Path(out)
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise OutputExistsError(f"{out}: is the current folder or holds it; give --out a new folder, e.g. data/seeds")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} is a file, not a conversion folder; give --out a new folder")
    if out.exists() and not is_conversion(out) and any(out.iterdir()):
        names = {p.name for p in out.iterdir()}
        foreign = sorted(names - set(OUTPUT_FILES) - set(OUTPUT_DIRS))
        shown = ", ".join((foreign or sorted(names))[:3]) + (" ..." if len(foreign) > 3 else "")
        raise OutputExistsError(f"{out} holds files that `indoevent convert` did not write ({shown}); it is "
                                "never replaced, even with --overwrite: give --out a new folder")
    atomic.check_output(out, overwrite=overwrite, ours=is_conversion, kind="an earlier conversion")


def is_conversion(out: Path) -> bool:
    """A folder that holds an earlier conversion and nothing else."""
    names = {p.name for p in out.iterdir()}
    return set(OUTPUT_FILES) <= names and not names - set(OUTPUT_FILES) - set(OUTPUT_DIRS)


def write_conversion(articles: list[TaggedWords], report: dict, out: str | Path, overwrite: bool = False) -> Path:
    """Write ``articles.jsonl``, ``dataset/``, ``labels.json`` and ``conversion_report.json`` atomically,
    into a new or empty folder, or over an earlier conversion with ``overwrite`` (see :func:`check_output`)."""
    out = Path(out)
    check_output(out, overwrite)
    empty = out.is_dir() and not any(out.iterdir())
    with building(out, overwrite=overwrite or empty) as tmp:
        with open(tmp / "articles.jsonl", "w", encoding="utf-8") as f:
            for a in articles:
                f.write(json.dumps(a.to_json(), ensure_ascii=False) + "\n")
        to_dataset_dict(articles).save_to_disk(str(tmp / "dataset"))
        (tmp / "labels.json").write_text(json.dumps(bio_tags(), indent=1) + "\n", encoding="utf-8")
        (tmp / "conversion_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n",
                                                    encoding="utf-8")
    return out


def read_articles(path: str | Path) -> list[TaggedWords]:
    """Read ``articles.jsonl`` written by :func:`write_conversion`."""
    arts = []
    for _, d in read_jsonl(path):
        words = [Word(a, b, t) for a, b, t in zip(d["starts"], d["ends"], d["tokens"], strict=True)]
        text = d.get("text", "")
        # The file holds word tags only: spans that fell inside a word are in conversion_report.json.
        arts.append(TaggedWords(d["doc_id"], text, d["tokens"], d["starts"], d["ends"], d["tags"],
                                d.get("relations", []), tags_to_spans(words, d["tags"], text)))
    return arts
