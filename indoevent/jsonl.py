"""JSONL, one JSON value a line: the one reader of the package.

Every JSONL file is read here: the articles ``indoevent extract`` takes and the results it
writes, frames files, Label Studio tasks a line, converted ``articles.jsonl``, the test
predictions of cross-validation. So every such file has the same rules and its errors the same
form, ``path:line: why``:

- lines are read as bytes and decoded one by one, so a bad byte is reported with its line (a
  byte-order mark is dropped); lines are split at ``\\n`` only, never at a Unicode line
  separator inside a string;
- blank lines are skipped;
- a line that is not UTF-8 or not JSON is "not UTF-8 (byte N: ...)" or "malformed JSON at column N: ...".

:func:`records` hands a bad line to the caller as a :class:`JsonlError` value and reads on (a
batch reports every bad input and goes on); :func:`read_jsonl` raises the first one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class JsonlError(ValueError):
    """A JSONL line (or file) that cannot be read: ``where`` is ``path:line`` (or ``path``)."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def json_type(value: object) -> str:
    """JSON's name for a parsed value's type.

    >>> json_type(1), json_type(True), json_type({})
    ('int', 'true/false', 'object')
    """
    if isinstance(value, bool):
        return "true/false"
    names = {dict: "object", list: "list", str: "string", int: "int", float: "float", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def parse_line(raw: bytes | str, where: str, last: bool = False) -> Any:
    """The JSON value of one line; a :class:`JsonlError` if it is not UTF-8 or not JSON. The
    ``last`` line of a file, with no newline and JSON that stops short, is said to be cut short.

    >>> parse_line(b'{"id": 1}\\n', "a.jsonl:1")
    {'id': 1}
    >>> parse_line(b'{"id": 1,}', "a.jsonl:2")
    Traceback (most recent call last):
    ...
    indoevent.jsonl.JsonlError: a.jsonl:2: malformed JSON at column 10: Expecting property name enclosed in double quotes
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")  # a byte-order mark is no part of the record
        except UnicodeDecodeError as e:
            raise JsonlError(where, f"not UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r}); "
                                    "convert the file to UTF-8") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        cut = last and not raw.endswith("\n") and (e.msg.startswith("Unterminated string")
                                                   or e.pos >= len(raw.rstrip()))
        why = "; the line looks cut short (an interrupted write?)" if cut else ""
        raise JsonlError(where, f"malformed JSON at column {e.colno}: {e.msg}{why}") from None


def records(lines: Iterable[bytes | str], path: str | Path,
            expected: str | None = None) -> Iterator[tuple[str, Any]]:
    """``(path:line, value)`` for each non-blank line of ``lines`` (a file opened ``"rb"``, or
    lines already split). A line that cannot be read gives a :class:`JsonlError` as its value,
    and reading goes on. With ``expected`` (what the caller needs, e.g. ``"a task object"``),
    a value that is not a JSON object is such an error too."""
    it = iter(lines)
    ahead = next(it, None)  # one line ahead: the last line may be one a crash cut short
    n = 0
    while ahead is not None:
        raw, ahead, n = ahead, next(it, None), n + 1
        where = f"{path}:{n}"
        if not raw.strip():
            continue
        try:
            value = parse_line(raw, where, last=ahead is None)
        except JsonlError as e:
            yield where, e
            continue
        if expected is not None and not isinstance(value, dict):
            value = JsonlError(where, f"expected {expected}, got {json_type(value)} {value!r:.40}")
        yield where, value


def read_jsonl(path: str | Path, expected: str | None = "an object") -> list[tuple[str, Any]]:
    """``(path:line, value)`` of every record of a JSONL file (an empty file holds none);
    raises the first :class:`JsonlError` (a file that cannot be opened is one too). With
    ``expected`` None the values may be any JSON, else they must be objects."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise JsonlError(str(path), f"cannot read: {e.strerror}") from e
    out = []
    with f:
        for where, value in records(f, path, expected):
            if isinstance(value, JsonlError):
                raise value
            out.append((where, value))
    return out
