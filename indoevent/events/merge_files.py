"""The output side of ``indoevent merge``: a :class:`~.merge.MergeResult` written as
events.jsonl, mentions.jsonl, events.csv and mentions.csv, as one unit."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from ..atomic import building, locked, replacing
from .merge import MergeResult


def _actor_cell(actors: list[dict]) -> str:
    return "; ".join(f"{a['code'] or '?'} {a['name']}" for a in actors)


MERGE_FILES = ("events.jsonl", "mentions.jsonl", "events.csv", "mentions.csv")


def write_merge(result: MergeResult, out: str | Path) -> list[Path]:
    """events.jsonl, mentions.jsonl, events.csv and mentions.csv in ``out``, as one unit: the
    folder is built beside and swapped into place under a lock (``.NAME.lock``), so a crash,
    a full disk or a second merge never leaves the files of two runs side by side."""
    out = Path(out)
    with locked(out, "`indoevent merge`"), building(out) as tmp:
        _write_merge_files(result, tmp)
    return [out / name for name in MERGE_FILES]


def _write_merge_files(result: MergeResult, out: Path) -> None:
    def jsonl(name: str, rows: list[dict]) -> None:
        with replacing(out / name, "w", encoding="utf-8", newline="\n") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    def table(name: str, header: list[str], rows: Iterable[list]) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        with replacing(out / name, "w", encoding="utf-8", newline="") as f:
            f.write(buf.getvalue())

    jsonl("events.jsonl", result.events)
    jsonl("mentions.jsonl", result.mentions)
    table("events.csv", ["event", "type", "date", "date_source", "actors", "recipients", "place", "place_country",
                         "mentions", "sources", "articles"],
          ([e["event"], e["type"], e["date"], e["date_source"], _actor_cell(e["actors"]), _actor_cell(e["recipients"]),
            (e["place"] or {}).get("name", ""), (e["place"] or {}).get("country", ""), e["mentions"], e["sources"],
            " ".join(e["articles"])] for e in result.events))
    table("mentions.csv", ["event", "article", "type", "trigger", "start", "end", "date", "date_source", "actors",
                           "recipients", "places", "reason"],
          ([m["event"] or "", m["article"], m["type"], m["trigger"]["text"], m["trigger"]["start"], m["trigger"]["end"],
            m["date"], m["date_source"], _actor_cell(m["actors"]), _actor_cell(m["recipients"]),
            "; ".join(p["name"] for p in m["places"]), m["reason"]] for m in result.mentions))
