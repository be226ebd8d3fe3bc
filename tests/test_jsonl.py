"""The one JSONL reader (indoevent/jsonl.py): errors name path:line, and the package has no second one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indoevent.jsonl import JsonlError, read_jsonl, records

PACKAGE = Path(__file__).resolve().parent.parent / "indoevent"


def test_a_bad_middle_line_is_named_by_path_and_line(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('{"id": 1}\n\n{"id": 2,}\n{"id": 3}\n', encoding="utf-8")
    with pytest.raises(JsonlError) as e:
        read_jsonl(p)
    assert str(e.value) == f"{p}:3: malformed JSON at column 10: Expecting property name enclosed in double quotes"
    assert e.value.where == f"{p}:3"
    # records() hands the bad line over and reads on
    with p.open("rb") as f:
        got = list(records(f, p))
    assert [w for w, _ in got] == [f"{p}:1", f"{p}:3", f"{p}:4"] and isinstance(got[1][1], JsonlError)
    p.write_bytes(b'{"id": 1}\n{"id": "Caf\xe9"}\n')
    with pytest.raises(JsonlError, match=rf"^{re.escape(str(p))}:2: not UTF-8 \(byte 11: b'\\xe9'\)"):
        read_jsonl(p)


def test_an_empty_file_holds_no_records_and_a_missing_one_is_an_error(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_bytes(b"")
    assert read_jsonl(p) == []
    p.write_bytes(b"\n  \n")
    assert read_jsonl(p) == []
    with pytest.raises(JsonlError, match=rf"^{re.escape(str(tmp_path / 'gone.jsonl'))}: cannot read"):
        read_jsonl(tmp_path / "gone.jsonl")


def test_a_line_that_is_not_an_object(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('\ufeff{"id": 1}\n["a", "list"]\n', encoding="utf-8")  # the byte-order mark is dropped
    with pytest.raises(JsonlError, match=rf"^{re.escape(str(p))}:2: expected an object, got list \['a', 'list'\]$"):
        read_jsonl(p)
    assert [v for _, v in read_jsonl(p, expected=None)] == [{"id": 1}, ["a", "list"]]
    # a line separator inside a string is no end of line
    p.write_text('{"text": "a\u2028b"}\n', encoding="utf-8")
    assert read_jsonl(p) == [(f"{p}:1", {"text": "a\u2028b"})]


# A JSONL line reader: json.loads of a line, or of each of a text's lines.
SECOND_READER = re.compile(r"json\.loads\(\s*(line|raw|l)\b|json\.loads\([^)]*\bfor\b[^)]*\bin\b[^)]*(lines|splitlines)")


def test_the_package_has_one_jsonl_reader():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "jsonl.py":
            continue
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            if SECOND_READER.search(line) or ("json.loads" in line and "splitlines()" in line):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}")
    assert not found, "read JSONL with indoevent.jsonl (read_jsonl, records, parse_line):\n" + "\n".join(found)
