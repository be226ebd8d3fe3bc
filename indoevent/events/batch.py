"""Batch extraction: articles from files and folders into a resumable JSONL of results.

Ids already in the output are skipped, so rerunning the same command resumes after a crash;
inputs that cannot be read are reported with their path or line and skipped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..atomic import replacing
from .extractor import Extractor


def read_jsonl_ids(path: str | Path, versions: set[str] | None = None) -> tuple[set[str], int]:
    """Ids already in a results file and the byte length of its complete lines (a line cut
    by a crash is not counted and gets overwritten); the model versions found go to ``versions``."""
    done: set[str] = set()
    good = 0
    path = Path(path)
    if not path.exists():
        return done, 0
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                obj = json.loads(line)
            except ValueError:
                break
            key = obj.get("id") if "id" in obj else (obj.get("data") or {}).get("doc_id")
            if key is not None:
                done.add(str(key))
            if versions is not None:
                preds = obj.get("predictions") or [{}]
                v = obj.get("model_version", preds[0].get("model_version") if isinstance(preds[0], dict) else None)
                if v is not None:
                    versions.add(str(v))
            good += len(line)
    return done, good


# --- the batch command --------------------------------------------------------------------------
class ResultsConflict(ValueError):
    """The results file was written by another model version."""


@dataclass(frozen=True)
class Source:
    """One input article: its id, text and where it came from (``path`` or ``path:line``)."""

    id: str
    text: str
    source: str
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InputError:
    """An input that could not be read, with where and why."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _decode(raw: bytes, where: str) -> str | InputError:
    try:
        # utf-8-sig: a byte-order mark is not part of the article. Newlines are kept as they
        # are (no universal-newline translation), so offsets hold for the file's own text.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return InputError(where, f"not UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r}); convert it to UTF-8")


def read_inputs(paths: Sequence[str | Path]) -> Iterator[Source | InputError]:
    """Articles from ``.txt`` files, folders of them (recursively, sorted) and JSONL files with
    ``id`` and ``text`` (other fields are kept as metadata), lazily, in order. Unreadable
    inputs come out as :class:`InputError` (path or path:line, and why), never silently."""
    seen: dict[str, str] = {}

    def check(src: Source) -> Source | InputError:
        if src.id in seen:
            return InputError(src.source, f"duplicate id {src.id!r} (also {seen[src.id]})")
        seen[src.id] = src.source
        if not src.text.strip():
            return InputError(src.source, "empty text")
        return src

    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*.txt") if f.is_file())
            if not files:
                yield InputError(str(p), "folder holds no .txt files")
            for f in files:
                yield from _read_txt(f, f.relative_to(p).with_suffix("").as_posix(), check)
        elif not p.exists():
            yield InputError(str(p), "no such file or folder")
        elif p.suffix.lower() in (".jsonl", ".ndjson"):
            yield from _read_jsonl(p, check)
        elif p.suffix.lower() == ".txt":
            yield from _read_txt(p, p.stem, check)
        else:
            yield InputError(str(p), "unsupported input: give .txt files, folders of them, or .jsonl")


def _read_txt(path: Path, art_id: str, check) -> Iterator[Source | InputError]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        yield InputError(str(path), f"cannot read: {e.strerror}")
        return
    text = _decode(raw, str(path))
    yield text if isinstance(text, InputError) else check(Source(art_id, text, str(path)))


def _read_jsonl(path: Path, check) -> Iterator[Source | InputError]:
    try:
        f = path.open("rb")
    except OSError as e:
        yield InputError(str(path), f"cannot read: {e.strerror}")
        return
    with f:
        for n, raw in enumerate(f, 1):
            where = f"{path}:{n}"
            line = _decode(raw, where)
            if isinstance(line, InputError):
                yield line
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield InputError(where, f"malformed JSON at column {e.colno}: {e.msg}")
                continue
            if not isinstance(obj, dict):
                yield InputError(where, f"expected an object with id and text, got {type(obj).__name__}")
            elif not isinstance(obj.get("text"), str):
                yield InputError(where, "field 'text' is missing or not a string")
            elif obj.get("id") is None or isinstance(obj.get("id"), (dict, list)) or str(obj["id"]) == "":
                yield InputError(where, "field 'id' is missing (a string or number)")
            elif not _encodable(obj["text"]):
                yield InputError(where, "text holds an unpaired surrogate escape (\\ud800-\\udfff): not valid Unicode")
            else:
                meta = {k: v for k, v in obj.items() if k not in ("id", "text")}
                yield check(Source(str(obj["id"]), obj["text"], where, meta))


def _encodable(text: str) -> bool:
    """JSON may escape lone surrogates ("\\ud83d") that no UTF-8 file can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    ``.json`` (a list of tasks, for Label Studio's Import dialog). Results of another model
    version in ``out`` are an error (:class:`ResultsConflict`) unless ``overwrite`` starts over."""
    if fmt not in ("jsonl", "label-studio"):
        raise ValueError(f"format must be jsonl or label-studio, got {fmt!r}")
    out = Path(out)
    if fmt == "label-studio" and out.suffix == ".json":
        raise ValueError(f"{out}: give --out a .jsonl name; the .json task list is written next to it")
    report = BatchReport(out)
    if overwrite and out.exists():
        out.unlink()
    versions: set[str] = set()
    done, good = read_jsonl_ids(out, versions)
    if versions - {extractor.version}:
        raise ResultsConflict(f"{out} holds {len(done)} result(s) of model {', '.join(sorted(versions))}, not of "
                              f"{extractor.version}: resuming would mix two models. Use another --out, or "
                              f"--overwrite to start over")
    if out.exists() and out.stat().st_size > good:
        report.truncated_line = True  # a crash cut the last line: drop it, its article is redone
        with out.open("r+b") as f:
            f.truncate(good)
    out.parent.mkdir(parents=True, exist_ok=True)
    sources: dict[str, Source] = {}
    current: list[Source] = []

    def texts() -> Iterator[str]:
        for item in read_inputs(inputs):
            if isinstance(item, InputError):
                report.errors.append(item)
                if on_error:
                    on_error(item)
            elif item.id in done:
                report.skipped_done += 1
            else:
                sources[item.id] = item
                current[:] = [item]
                yield item.text

    def ids() -> Iterator[str]:
        while True:
            yield current[0].id

    bar = None
    if progress:
        from tqdm.auto import tqdm  # only when a bar is shown

        bar = tqdm(unit="article", desc="extract", dynamic_ncols=True)
    t0 = time.perf_counter()
    fwd0 = extractor.stats.forward_seconds
    with out.open("a", encoding="utf-8", newline="\n") as f:
        for art in extractor.extract_many(texts(), batch_size=batch_size, ids=ids()):
            src = sources.pop(art.id)
            if fmt == "jsonl":
                line = {**art.to_dict(with_text=with_text), "source": src.source, "model": extractor.name,
                        "model_version": extractor.version,
                        "timing": art.stats, **({"meta": src.meta} if src.meta else {})}
            else:
                line = art.to_label_studio(extractor.version, {"source": src.source, **src.meta})
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            f.flush()
            report.written += 1
            report.words += art.stats["words"]
            if bar is not None:
                elapsed = time.perf_counter() - t0
                bar.update(1)
                bar.set_postfix(words_per_s=f"{report.words / elapsed:.0f}", refresh=False)
    if bar is not None:
        bar.close()
    report.seconds = time.perf_counter() - t0
    report.stats = {"forward_seconds": round(extractor.stats.forward_seconds - fwd0, 3)}
    if fmt == "label-studio":
        report.tasks_json = write_task_list(out, out.with_suffix(".json"))
    return report


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
