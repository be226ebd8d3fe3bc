"""What the view shows, as one JSON-able dict: articles (text already highlighted, frames
pointing at their spans), merged events and their mentions (each with its sentence).

Articles come from the results of ``indoevent extract`` (or ``indoevent frames``), their texts
from the records (``extract --with-text``) or from the inputs given to ``extract`` (read with
the one article reader). Every problem is a :class:`ViewError` naming ``path:line``: a result
without its text, a span that is not where the text says it is (the wrong ``--texts``).

Text is rendered once, here, by :func:`.spans.highlight`; the page only inserts it when an
article is opened, so 2,000 articles cost the browser nothing until one is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from ..document import Span
from ..events.batch import result_format
from ..events.frames import Frame
from ..jsonl import JsonlError, read_jsonl, records
from ..schema import ROLES
from ..text.inputs import InputError, read_inputs
from ..text.sentences import split_sentences
from .spans import highlight


class ViewError(ValueError):
    """Inputs the view cannot show; the message names the file and line and says what to do."""


def read_texts(paths: Sequence[str | Path]) -> dict[str, str]:
    """Article id -> text of the inputs given to ``indoevent extract`` (``.txt``, folders, JSONL)."""
    out: dict[str, str] = {}
    for item in read_inputs(paths):
        if isinstance(item, InputError):
            raise ViewError(f"--texts {item}")
        out[item.id] = item.text
    return out


def _spans(rec: dict, key: str, where: str) -> list[Span]:
    try:
        return [Span.from_dict(s) for s in rec.get(key) or []]
    except ValueError as e:
        raise ViewError(f"{where}: {key}: {e}") from None


def _check_spans(text: str, spans: Iterable[Span], where: str, aid: str) -> None:
    for s in spans:
        if not 0 <= s.start < s.end <= len(text):
            raise ViewError(f"{where}: article {aid!r}: span {s.label} [{s.start}, {s.end}) lies outside its "
                            f"text of {len(text)} characters (the wrong --texts?)")
        if s.text and text[s.start:s.end] != s.text:
            raise ViewError(f"{where}: article {aid!r}: span {s.label} [{s.start}, {s.end}) is {s.text!r} in the "
                            f"result but {text[s.start:s.end]!r} in the text (the wrong --texts?)")


def article_view(rec: dict, text: str, where: str) -> tuple[dict, dict[tuple[int, int], int]]:
    """One article for the page (id, source, date, highlighted text, its frames) and the index of
    each span by its offsets (for mentions to find their trigger's mark).

    A frame is ``[type, trigger span, {role: [span, ...]}]`` with spans as indexes of the
    article's spans (``data-s`` of the marks), so a row can light up its words.
    """
    aid = str(rec["id"])
    spans = sorted(_spans(rec, "entities", where) + _spans(rec, "triggers", where), key=lambda s: (s.start, -s.end, s.label))
    try:
        frames = [Frame.from_dict(f) for f in rec.get("events") or []]
    except ValueError as e:
        raise ViewError(f"{where}: event frame: {e}") from None
    index = {(s.start, s.end, s.label): i for i, s in enumerate(spans)}
    by_offsets = {(s.start, s.end): i for i, s in reversed(list(enumerate(spans)))}

    def find(s: Span) -> int:
        # A frame names its spans by offsets; an argument the record lists nowhere else is added.
        i = index.get((s.start, s.end, s.label), by_offsets.get((s.start, s.end)))
        if i is None:
            spans.append(s)
            i = index[(s.start, s.end, s.label)] = by_offsets[(s.start, s.end)] = len(spans) - 1
        return i

    rows = [[f.type, find(f.trigger), {r: [find(s) for s in f.arguments[r]] for r in ROLES if f.arguments.get(r)}]
            for f in frames]
    _check_spans(text, spans, where, aid)
    # No titles and no span list: the page reads a span's words from its marks (the size at 2,000 articles).
    html, _ = highlight(text, spans)
    meta: dict = rec["meta"] if isinstance(rec.get("meta"), dict) else {}
    return {"id": aid, "source": str(rec.get("source") or where), "date": str(rec.get("date") or meta.get("date") or ""),
            "html": html, "frames": rows,
            "n_entities": len(rec.get("entities") or []), "n_triggers": len(rec.get("triggers") or [])}, by_offsets


class Articles:
    """The articles of a results file for the page, their texts and span indexes by offsets."""

    def __init__(self) -> None:
        self.views: list[dict] = []
        self.texts: dict[str, str] = {}
        self.marks: dict[str, dict[tuple[int, int], int]] = {}

    def add(self, view: dict, text: str, marks: dict[tuple[int, int], int]) -> None:
        self.views.append(view)
        self.texts[view["id"]] = text
        self.marks[view["id"]] = marks


def read_results(path: str | Path, texts: dict[str, str] | None = None) -> Articles:
    """The articles of a results file (JSONL of ``indoevent extract``) for the page; texts from
    the records or else from ``texts`` (id -> text)."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise ViewError(f"{path}: cannot read: {e.strerror}") from None
    with f:
        out = articles_of(records(f, path, expected="a result (an object)"), texts or {})
    if not out.views:
        raise ViewError(f"{path}: holds no results")
    return out


def articles_of(items: Iterable[tuple[str, dict | JsonlError]], texts: dict[str, str]) -> Articles:
    """:class:`Articles` of ``(path:line, record)`` pairs (a record may be the reader's error)."""
    out, seen = Articles(), dict[str, str]()
    for where, rec in items:
        if isinstance(rec, JsonlError):
            raise ViewError(str(rec))
        if result_format(rec) == "label-studio":
            raise ViewError(f"{where}: a Label Studio task: give `indoevent extract --format jsonl` output")
        if rec.get("id") in (None, "") or not isinstance(rec.get("events"), list):
            raise ViewError(f"{where}: not a result of `indoevent extract` (needs 'id' and an 'events' list)")
        aid = str(rec["id"])
        if aid in seen:
            raise ViewError(f"{where}: article {aid!r} also at {seen[aid]}")
        seen[aid] = where
        text = rec["text"] if isinstance(rec.get("text"), str) else texts.get(aid)
        if text is None:
            raise ViewError(f"{where}: article {aid!r} has no text: extract with --with-text, or give the "
                            "inputs of `indoevent extract` with --texts")
        view, marks = article_view(rec, text, where)
        out.add(view, text, marks)
    return out


def _actors(items: list[dict] | None) -> list[list]:
    return [[a.get("code") or "", a.get("name") or "", a.get("country") or ""] for a in items or []]


def event_view(e: dict) -> dict:
    """One merged event for the page (``events.jsonl``'s row, the fields the table shows)."""
    place = e.get("place") or {}
    return {"id": e["event"], "type": e["type"], "date": e.get("date") or "", "start": e.get("date_start") or "",
            "end": e.get("date_end") or "", "actors": _actors(e.get("actors")),
            "recipients": _actors(e.get("recipients")), "place": place.get("name") or "",
            "country": place.get("country") or "", "mentions": e.get("mentions", 0),
            "sources": e.get("sources", 0), "m": []}


@lru_cache(maxsize=64)  # mentions come grouped by event, not by article: a few articles at a time
def _sentences(text: str) -> list[tuple[int, int]]:
    return split_sentences(text)


def mention_view(m: dict, articles: dict[str, int], marks: dict[str, dict[tuple[int, int], int]],
                 texts: dict[str, str]) -> dict:
    """One mention: its article (an index into the articles, -1 when the view lacks it), its
    trigger's span there, why it was merged, and its sentence with the trigger highlighted."""
    t = m["trigger"]
    aid = m["article"]
    text = texts.get(aid)
    sentence = ""
    if text is not None and 0 <= t["start"] < t["end"] <= len(text):
        a, b = next(((a, b) for a, b in _sentences(text) if a <= t["start"] < b), (t["start"], t["end"]))
        b = max(b, t["end"])
        sentence, _ = highlight(text[a:b], [Span(t["start"] - a, t["end"] - a, m["type"])])
    out = {"event": m.get("event"), "a": articles.get(aid, -1),
           "s": marks.get(aid, {}).get((t["start"], t["end"]), -1), "type": m["type"], "trigger": t["text"],
           "date": m.get("date") or "", "reason": m.get("reason") or "", "sentence": sentence}
    if out["a"] < 0:
        out["article"] = aid  # else the article's index names it (20,000 ids fewer in the page)
    return out


def read_merged(folder: str | Path, articles: Articles) -> tuple[list[dict], list[dict]]:
    """Events and mentions of a ``merge --out`` folder for the page; each event lists its mentions."""
    folder = Path(folder)
    try:
        events = [e for _, e in read_jsonl(folder / "events.jsonl")]
        mentions = read_jsonl(folder / "mentions.jsonl")
    except JsonlError as e:
        raise ViewError(f"{e} (give --merged the folder `indoevent merge --out` wrote)") from None
    return merged_view(events, mentions, articles, str(folder / "events.jsonl"))


def merged_view(events: Sequence[dict], mentions: Sequence[tuple[str, dict]], articles: Articles,
                where: str = "events") -> tuple[list[dict], list[dict]]:
    """Merged events (rows of ``events.jsonl``) and ``(path:line, mention)`` pairs for the page."""
    try:
        views = [event_view(e) for e in events]
    except (KeyError, TypeError, AttributeError) as e:
        raise ViewError(f"{where}: an event without {e}: not `indoevent merge` output") from None
    index = {a["id"]: i for i, a in enumerate(articles.views)}
    by_id = {e["id"]: e for e in views}
    out: list[dict] = []
    for at, m in mentions:
        try:
            mv = mention_view(m, index, articles.marks, articles.texts)
        except (KeyError, TypeError) as e:
            raise ViewError(f"{at}: not a mention of `indoevent merge` (no {e})") from None
        if mv["event"] is not None and mv["event"] not in by_id:
            raise ViewError(f"{at}: event {mv['event']!r} is not in {where}")
        if mv["event"] is not None:
            by_id[mv["event"]]["m"].append(len(out))
        out.append(mv)
    return views, out
