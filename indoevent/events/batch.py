"""Batch extraction: articles from files and folders into a resumable JSONL of results.

Ids already in the output are skipped, so rerunning the same command resumes after a crash;
inputs that cannot be read are reported with their path or line and skipped. The output is
checked before anything is written to it (a results file of this command, never an input,
one writer at a time), and nothing in it is deleted but a last line cut short by a crash.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import lock_beside, replacing, try_lock, unlock
from ..jsonl import JsonlError, parse_line
from ..text.inputs import InputError, Source, read_inputs
from .extractor import Extractor


# --- the results file -----------------------------------------------------------------------------
class OutputError(ValueError):
    """``out`` cannot take results (a folder, an input, a file this command did not write, a
    corrupt results file, another run writing it, a full disk); the message says what to do."""


class ResultsConflict(OutputError):
    """The results file was written by another model version."""


# The fields each format writes first and always (json.dumps keeps key order, so a line
# of ours also starts with the first of them).
RESULT_KEYS = {"jsonl": ("id", "entities", "triggers", "events", "model_version"),
               "label-studio": ("data", "predictions")}


@dataclass
class Results:
    """What a results file holds: ids done, model versions and formats seen, the byte length
    of its good lines, whether its last line was cut short, and the lines that are not results."""

    done: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    formats: set[str] = field(default_factory=set)
    good: int = 0
    lines: int = 0
    results: int = 0
    cut: bool = False
    bad: list[tuple[int, str]] = field(default_factory=list)


def result_format(obj: object) -> str | None:
    """Which format of :func:`extract_files` wrote a parsed line (None: not a result).

    >>> result_format({"id": "a", "entities": [], "triggers": [], "events": [], "model_version": "m"})
    'jsonl'
    >>> result_format({"id": "a", "text": "Putin tiba di Beijing."}) is None
    True
    """
    if not isinstance(obj, dict):
        return None
    if all(k in obj for k in RESULT_KEYS["jsonl"]):
        return "jsonl"
    if isinstance(obj.get("data"), dict) and isinstance(obj.get("predictions"), list):
        return "label-studio"
    return None


def _cut_short(line: bytes) -> bool:
    """A last line without its newline that is the start of one of our lines and no whole JSON."""
    head = line.lstrip()[:9]
    if not any(p.startswith(head) or head.startswith(p) for p in (b'{"id": ', b'{"data": ')):
        return False
    try:
        parse_line(line, "")
    except JsonlError:
        return True
    return False


def read_results(path: str | Path) -> Results:
    """Scan a results file (a missing or empty one holds nothing). Only a last line without its
    newline that starts like a result counts as cut by a crash; every other line that is not a
    result is listed in ``bad`` (line number, why), for the caller to report."""
    res = Results()
    path = Path(path)
    if not path.exists():
        return res
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            res.lines = n
            if not line.endswith(b"\n") and _cut_short(line):
                res.cut = True
                break
            if not line.strip():
                res.good += len(line)
                continue
            try:
                obj = parse_line(line, f"{path}:{n}")
            except JsonlError as e:
                res.bad.append((n, e.message))
                continue
            fmt = result_format(obj)
            if fmt is None:
                what = "an object without the result fields" if isinstance(obj, dict) else f"a JSON {type(obj).__name__}"
                res.bad.append((n, f"{what}, not a result"))
                continue
            res.formats.add(fmt)
            res.results += 1
            res.done.add(str(obj["id"] if fmt == "jsonl" else obj["data"].get("doc_id")))
            pred = obj["predictions"][0] if fmt == "label-studio" and obj["predictions"] else {}
            v = obj.get("model_version") if fmt == "jsonl" else pred.get("model_version") if isinstance(pred, dict) else None
            if v is not None:
                res.versions.add(str(v))
            if line.endswith(b"\n"):
                res.good += len(line)
            else:
                res.bad.append((n, "the last line has no newline at its end"))
    return res


def check_results(out: Path, res: Results, fmt: str, version: str | None, overwrite: bool) -> None:
    """Refuse an ``out`` whose lines are not all results of this format and model version
    (``overwrite`` starts over on a results file of ours, never on another file; ``version``
    None: any)."""
    if res.bad and not res.results:
        n, why = res.bad[0]
        raise OutputError(f"{out}: not a results file of `indoevent extract` (line {n}: {why}); give --out a new "
                          f"file or one this command wrote")
    if overwrite:
        return
    if res.bad:
        where = ", ".join(str(n) for n, _ in res.bad[:5]) + (" ..." if len(res.bad) > 5 else "")
        n, why = res.bad[0]
        raise OutputError(f"{out}:{n}: {why}; nothing was changed: repair or delete line(s) {where} and rerun "
                          f"to resume, or pass --overwrite to start over")
    other = res.formats - {fmt}
    if other:
        raise OutputError(f"{out}: holds results in --format {', '.join(sorted(other))}, not {fmt}; rerun with "
                          f"that --format, choose another --out, or pass --overwrite to start over")
    if version is not None and res.versions - {version}:
        raise ResultsConflict(f"{out}: holds {len(res.done)} result(s) of model {', '.join(sorted(res.versions))}, "
                              f"not of {version}: resuming would mix two models; use another --out, or "
                              f"--overwrite to start over")


def _is_input(out: Path, inputs: Sequence[str | Path]) -> bool:
    """Whether writing ``out`` would write over an input (the file itself, or a .txt in an input folder)."""
    target = out.resolve()
    for p in map(Path, inputs):
        if p.is_dir():
            if target.suffix.lower() == ".txt" and target.is_relative_to(p.resolve()):
                return True
        elif p.exists() and (target == p.resolve() or (out.exists() and os.path.samefile(out, p))):
            return True
    return False


def _check_task_list(path: Path) -> None:
    """The Label Studio task list beside the JSONL is replaced: it must be one this command wrote."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    try:
        tasks = json.loads(path.read_bytes())
        ours = isinstance(tasks, list) and all(result_format(t) == "label-studio" and "annotations" not in t
                                               for t in tasks)
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise OutputError(f"{path}: not a task list written by `indoevent extract --format label-studio`, and "
                          f"--out {path.with_suffix('.jsonl').name} would replace it; choose another --out")


def check_output(out: str | Path, inputs: Sequence[str | Path], fmt: str = "jsonl", overwrite: bool = False,
                 version: str | None = None) -> Path:
    """Every check of :func:`extract_files` on ``out`` that needs no model (``version`` None),
    so that a command can refuse before it spends seconds loading one: an
    :class:`OutputError` if ``out`` is a folder, an input, a file this command did not write,
    a corrupt results file, results in the other format, or another run is writing it."""
    out = _check_path(out, inputs, fmt)
    if out.exists():
        check_results(out, read_results(out), fmt, version, overwrite)
        with exclusive(out):
            pass  # only to fail now if another run holds it
    return out


def _check_path(out: str | Path, inputs: Sequence[str | Path], fmt: str) -> Path:
    """The checks on ``out`` that need not read it."""
    if fmt not in ("jsonl", "label-studio"):
        raise ValueError(f"format must be jsonl or label-studio, got {fmt!r}")
    out = Path(out)
    if fmt == "label-studio" and out.suffix == ".json":
        raise OutputError(f"{out}: give --out a .jsonl name; the .json task list is written next to it")
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; give --out a file name, e.g. {out / 'results.jsonl'}")
    if _is_input(out, inputs):
        raise OutputError(f"{out}: is one of the inputs; give --out another file")
    if fmt == "label-studio":
        _check_task_list(out.with_suffix(".json"))
    return out


@contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Hold the lock of ``out`` (``.NAME.lock`` beside it; ``out`` is created empty if missing)
    for the block; a second writer fails at once. The system releases the lock when the process
    ends, even on a crash. The lock is a file of its own: Windows locks are mandatory, and one on
    ``out`` itself would stop its own writes."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        open(out, "ab").close()  # appends nothing
        held = try_lock(lock_beside(out))
    except OSError as e:
        raise OutputError(f"{out}: cannot open: {e.strerror}; choose another --out") from None
    if held is None:
        raise OutputError(f"{out}: another `indoevent extract` is writing it; wait for it to finish, or "
                          f"choose another --out")
    try:
        yield
    finally:
        unlock(held)


# --- the batch command (its inputs: :mod:`.inputs`) --------------------------------------------------------------------------
@dataclass
class BatchReport:
    """What :func:`extract_files` did."""

    out: Path
    written: int = 0
    skipped_done: int = 0
    errors: list[InputError] = field(default_factory=list)
    words: int = 0
    seconds: float = 0.0
    truncated_line: bool = False
    tasks_json: Path | None = None
    stats: dict = field(default_factory=dict)


def extract_files(extractor: Extractor, inputs: Sequence[str | Path], out: str | Path, fmt: str = "jsonl",
                  batch_size: int | None = None, with_text: bool = False, progress: bool = True,
                  on_error: Callable[[InputError], None] | None = None, overwrite: bool = False) -> BatchReport:
    """Extract every readable input into ``out`` (JSONL, one line per article, appended and
    flushed as each article is done). Ids already in ``out`` are skipped, so a rerun resumes
    after a crash; a last line cut by a crash is dropped and redone. ``fmt="label-studio"``
    writes Label Studio tasks with predictions, and when done also ``out`` with suffix
    ``.json`` (a list of tasks, for Label Studio's Import dialog).

    ``out`` must be new, empty or a results file of this function in the same format and of
    the same model version, and no input; one process writes it at a time. Anything else is
    an :class:`OutputError` (:class:`ResultsConflict` for another model version) before a byte
    is written. ``overwrite`` starts a results file over: the fresh results go to a temporary
    file that replaces ``out`` only when every input is done, so a crash loses no old result."""
    out = _check_path(out, inputs, fmt)
    with exclusive(out):
        res = read_results(out)  # under the lock: no one else writes it now
        check_results(out, res, fmt, extractor.version, overwrite)
        return _extract_into(extractor, inputs, out, fmt, res, batch_size, with_text, progress, on_error, overwrite)


def _extract_into(extractor: Extractor, inputs, out: Path, fmt: str, res: Results, batch_size, with_text: bool,
                  progress: bool, on_error, overwrite: bool) -> BatchReport:
    report = BatchReport(out)
    done = set() if overwrite else res.done
    todo = _todo(inputs, done, report, on_error)
    lines = _result_lines(extractor, todo, fmt, with_text, batch_size)
    bar = _bar(progress)
    t0 = time.perf_counter()
    fwd0 = extractor.stats.forward_seconds
    # Fresh results go beside ``out`` when starting over, into ``out`` itself when resuming.
    target = out.with_name(f".{out.name}.{os.getpid()}.tmp") if overwrite else out
    size = 0 if overwrite else res.good  # bytes of whole lines in target
    try:
        if res.cut and not overwrite:
            report.truncated_line = True  # a crash cut the last line: drop it, its article is redone
            os.truncate(out, res.good)
        with open(target, "wb" if overwrite else "ab") as f:
            for data, words in lines:
                f.write(data)
                f.flush()
                size += len(data)
                report.written += 1
                report.words += words
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(words_per_s=f"{report.words / (time.perf_counter() - t0):.0f}", refresh=False)
            if overwrite:
                os.fsync(f.fileno())
        if fmt == "label-studio":
            report.tasks_json = write_task_list(target, out.with_suffix(".json"))
        if overwrite:
            os.replace(target, out)
    except OSError as e:
        if not overwrite:
            os.truncate(out, size)  # no half line left behind
        kept = ("nothing was changed" if overwrite else
                f"the {len(done) + report.written} result(s) written are kept: rerun the same command to resume")
        raise OutputError(f"{out}: cannot write: {e.strerror or e}; {kept} once there is room (or choose another "
                          f"--out)") from None
    finally:
        if overwrite:
            target.unlink(missing_ok=True)
        if bar is not None:
            bar.close()
    report.seconds = time.perf_counter() - t0
    report.stats = {"forward_seconds": round(extractor.stats.forward_seconds - fwd0, 3)}
    return report


def _todo(inputs, done: set[str], report: BatchReport, on_error) -> Iterator[Source]:
    """The readable inputs not done yet; errors and skipped ones are counted in ``report``."""
    for item in read_inputs(inputs):
        if isinstance(item, InputError):
            report.errors.append(item)
            if on_error:
                on_error(item)
        elif item.id in done:
            report.skipped_done += 1
        else:
            yield item


def _result_lines(extractor: Extractor, sources: Iterable[Source], fmt: str, with_text: bool,
                  batch_size) -> Iterator[tuple[bytes, int]]:
    """The line of each article (UTF-8, with its newline) and its word count, in input order."""
    pending: dict[str | None, Source] = {}  # by id; an Extraction's id is typed str | None

    def articles() -> Iterator[tuple[str, str]]:
        for src in sources:
            pending[src.id] = src
            yield src.id, src.text

    for art in extractor.extract_pairs(articles(), batch_size=batch_size):
        obj = result_record(art, pending.pop(art.id), extractor.name, extractor.version, fmt, with_text)
        yield (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8"), art.stats["words"]


def _bar(progress: bool):
    if not progress:
        return None
    from tqdm.auto import tqdm  # only when a bar is shown

    return tqdm(unit="article", desc="extract", dynamic_ncols=True)


def result_record(art, src: Source, name: str, version: str, fmt: str = "jsonl", with_text: bool = False) -> dict:
    """The line written for one article: the same for the local and the Ray engine."""
    if fmt == "jsonl":
        return {**art.to_dict(with_text=with_text), "source": src.source, "model": name, "model_version": version,
                "timing": art.stats, **({"meta": src.meta} if src.meta else {})}
    return art.to_label_studio(version, {"source": src.source, **src.meta})


def write_task_list(jsonl: Path, target: Path) -> Path:
    """Turn a JSONL of Label Studio tasks into the JSON list Label Studio imports (atomically)."""
    with jsonl.open("r", encoding="utf-8") as src, replacing(target, "w", encoding="utf-8") as dst:
        dst.write("[\n")
        first = True
        for line in src:
            if line.strip():
                dst.write(("" if first else ",\n") + line.rstrip("\n"))
                first = False
        dst.write("\n]\n")
    return target
