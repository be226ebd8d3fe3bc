"""Articles from files: ``.txt`` files, folders of them and JSONL with ``id`` and ``text``.

The one reader of article inputs: for ``indoevent extract`` (``events.batch``), the Ray engine
(which hands it the raw JSONL bytes), ``indoevent ls import`` and the unlabelled news that training
reads (self-training, distillation, pretraining). Articles come out lazily and in
order; an input that cannot be read comes out as an :class:`InputError` naming its path (or
``path:line``) and why, never silently dropped; a duplicate id or an empty text is such an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..jsonl import JsonlError, records


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

    def check(src: Source, folder: Path | None = None) -> Source | InputError:
        # a file read through a folder is named with it: `seeds/ seeds/000_x.txt` names one file twice
        given = f"{src.source} via the folder {folder}" if folder is not None else src.source
        if src.id in seen:
            return InputError(given, f"duplicate id {src.id!r} (also {seen[src.id]}); give each article once")
        seen[src.id] = given
        if not src.text.strip():
            return InputError(src.source, "empty text")
        return src

    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*.txt") if f.is_file())
            if not files:
                yield InputError(str(p), "folder holds no .txt files")
            for f in files:
                yield from _read_txt(f, f.relative_to(p).with_suffix("").as_posix(), check, p)
        elif not p.exists():
            yield InputError(str(p), "no such file or folder")
        elif p.suffix.lower() in (".jsonl", ".ndjson"):
            yield from _read_jsonl(p, check)
        elif p.suffix.lower() == ".txt":
            yield from _read_txt(p, p.stem, check)
        else:
            yield InputError(str(p), "unsupported input: give .txt files, folders of them, or .jsonl")


def _read_txt(path: Path, art_id: str, check, folder: Path | None = None) -> Iterator[Source | InputError]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        yield InputError(str(path), f"cannot read: {e.strerror}")
        return
    text = _decode(raw, str(path))
    yield text if isinstance(text, InputError) else check(Source(art_id, text, str(path)), folder)


def _read_jsonl(path: Path, check) -> Iterator[Source | InputError]:
    try:
        f = path.open("rb")
    except OSError as e:
        yield InputError(str(path), f"cannot read: {e.strerror}")
        return
    with f:
        empty = True
        for item in jsonl_sources(f, str(path), check):
            empty = False
            yield item
    if empty:
        yield InputError(str(path), "holds no articles (an empty file)")


def jsonl_sources(lines: Iterable[bytes], path: str, check=lambda s: s) -> Iterator[Source | InputError]:
    """The articles of a JSONL file's raw lines (also the Ray engine's reader, which gets the bytes)."""
    for where, obj in records(lines, path):
        yield InputError(obj.where, obj.message) if isinstance(obj, JsonlError) else record_source(obj, where, check)


def record_source(obj, where: str, check=lambda s: s) -> Source | InputError:
    """One input record (a parsed JSONL line, a Parquet row) as an article, or why not."""
    if not isinstance(obj, dict):
        return InputError(where, f"expected an object with id and text, got {type(obj).__name__}")
    if not isinstance(obj.get("text"), str):
        return InputError(where, "field 'text' is missing or not a string")
    if obj.get("id") is None or isinstance(obj.get("id"), (dict, list)) or str(obj["id"]) == "":
        return InputError(where, "field 'id' is missing (a string or number)")
    if not encodable(obj["text"]):
        return InputError(where, "text holds an unpaired surrogate escape (\\ud800-\\udfff): not valid Unicode")
    meta = {k: v for k, v in obj.items() if k not in ("id", "text")}
    return check(Source(str(obj["id"]), obj["text"], where, meta))


def encodable(text: str) -> bool:
    """Whether ``text`` is valid Unicode: JSON may escape lone surrogates ("\\ud83d") that no UTF-8 file can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
