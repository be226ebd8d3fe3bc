"""The input side of ``indoevent merge``: frames records (read from ``indoevent extract`` or
``indoevent frames`` output, or built from gold relations) become :class:`Article` objects, and
their frames normalised :class:`Mention` objects, which :mod:`.merge` joins into events.

Reading checks every record and reports all bad ones at once (:class:`FramesError`, path:line
and why); an article without a usable date is one of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..document import Span
from ..jsonl import JsonlError, read_jsonl, records
from ..model.predict import Prediction
from ..schema import EVENT_LABELS
from .actors import Actor, AliasTable, ArticleActors, Place, chain_names
from .dates import DateRange, article_date, normalise_date
from .extractor import Extraction  # the record format itself (no torch at import)
from .frames import Frame, frames_from_relations


class FramesError(ValueError):
    """Records that cannot be merged; ``problems`` holds one line per bad record."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s); first: {problems[0]}")
        self.problems = problems


@dataclass
class Article:
    """One input record: its id, where it came from, its date, entities and frames."""

    id: str
    where: str  # path:line
    date: DateRange
    entities: list[Span]
    events: list[Frame]
    frames: list[dict]  # the events as the record gives them, for the mention records


@dataclass
class Mention:
    """One frame, normalised."""

    article: Article
    index: int  # the frame's position in its record
    type: str
    trigger: Span
    frame: dict
    actors: tuple[Actor, ...]
    recipients: tuple[Actor, ...]
    places: tuple[Place, ...]
    own_date: DateRange | None
    date_notes: tuple[str, ...] = ()  # time arguments that could not be read

    @property
    def participants(self) -> frozenset[str]:
        return frozenset(a.key for a in self.actors + self.recipients)

    @property
    def place_countries(self) -> frozenset[str]:
        return frozenset(p.country for p in self.places if p.country)

    @property
    def date(self) -> DateRange:
        """Its own date, else its article's."""
        return self.own_date or self.article.date

    @property
    def order(self) -> tuple:
        return self.article.id, self.trigger.start, self.index


# --- reading ----------------------------------------------------------------------------------
def _span(d, where: str) -> Span:
    try:
        return Span.from_dict(d)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _frame(f, where: str) -> Frame:
    try:
        frame = Frame.from_dict(f)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    if frame.type not in EVENT_LABELS:
        raise ValueError(f"{where}: type {frame.type!r} is not an event type of the schema ({', '.join(EVENT_LABELS)})")
    return frame


def read_indexes(paths: Sequence[str | Path]) -> dict[str, str]:
    """Article dates from several indexes (the seeds' and the corpus'), the later winning."""
    dates: dict[str, str] = {}
    for p in paths:
        dates.update(read_index(p))
    return dates


def read_index(path: str | Path) -> dict[str, str]:
    """Article dates from a seeds-style index (a list of ``{id, published, date_text}``):
    ``published`` when printed, else ``date`` (the corpus' ISO date inferred from the text, with
    its reason in ``note``), else the date the text gives."""
    path = Path(path)
    if path.is_dir():
        raise FramesError([f"{path}: is a folder; give its index file (e.g. {path / 'index.json'})"])
    try:
        data = path.read_bytes()
        items = json.loads(data.decode("utf-8"))
    except OSError as e:
        raise FramesError([f"{path}: cannot read the index: {e.strerror or e}"]) from e
    except UnicodeDecodeError as e:
        raise FramesError([f"{path}: not UTF-8 (byte {e.start}: {data[e.start:e.start + 1]!r}); "
                           "convert the index to UTF-8"]) from e
    except ValueError as e:
        raise FramesError([f"{path}: cannot read the index: {e}"]) from e
    if not isinstance(items, list):
        raise FramesError([f"{path}: expected a list of {{id, published, date_text}}"])
    dates = {str(i["id"]): when for i in items
             if isinstance(i, dict) and "id" in i and (when := i.get("published") or i.get("date") or i.get("date_text"))}
    # checked here, so that a bad date is blamed on the index, not on the frames line that used it
    bad = [f"{path}: article {aid!r}: cannot read its date {when!r} (give an ISO date, e.g. 2025-09-03)"
           for aid, when in dates.items() if article_date(when) is None]
    if bad:
        raise FramesError(bad)
    return dates


def read_frames(paths: Sequence[str | Path], dates: dict[str, str] | None = None) -> list[Article]:
    """The articles of frames files (JSONL as ``indoevent extract`` or ``indoevent frames``
    write them), with their dates from the record's ``date`` (or ``meta.date``/``published``)
    or else from ``dates`` (article id -> date). Raises :class:`FramesError` listing every bad
    record (path:line and why) and every article without a usable date."""
    articles: list[Article] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in map(Path, paths):
        try:
            f = path.open("rb")
        except OSError as e:
            problems.append(f"{path}: cannot read: {e.strerror}")
            continue
        with f:
            if f.readline().removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"["):
                problems.append(f"{path}: a JSON list (a Label Studio export?), not a frames file: "
                                f"run `indoevent frames {path} --out frames.jsonl` first")
                continue
            f.seek(0)
            for where, rec in records(f, path, expected="a frames record (an object)"):
                try:
                    if isinstance(rec, JsonlError):
                        raise rec
                    art = _article(rec, where, dates or {})
                except ValueError as e:
                    problems.append(str(e))
                    continue
                if art.id in seen:
                    problems.append(f"{where}: article {art.id!r} also at {seen[art.id]}")
                    continue
                seen[art.id] = where
                articles.append(art)
    if problems:
        raise FramesError(problems)
    return articles


def article_of(rec: dict, where: str = "record") -> Article:
    """One frames record (as ``indoevent extract`` writes it, with its ``date``) as an
    :class:`Article`; a ValueError says what is wrong, naming ``where``."""
    return _article(rec, where, {})


def _article(rec: dict, where: str, dates: dict[str, str]) -> Article:
    if "predictions" in rec or "annotations" in rec:
        raise ValueError(f"{where}: a Label Studio task, not a frames record: use `indoevent extract` "
                         "(--format jsonl) or `indoevent frames` output")
    if rec.get("id") in (None, "") or not isinstance(rec.get("events"), list):
        raise ValueError(f"{where}: not a frames record: needs 'id' and an 'events' list "
                         "(the output of `indoevent extract` or `indoevent frames`)")
    aid = str(rec["id"])
    events = [_frame(f, f"{where}: event {i}") for i, f in enumerate(rec["events"])]
    entities = [_span(s, f"{where}: entity") for s in rec.get("entities") or []]
    meta = rec.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    raw = rec.get("date") or meta.get("date") or rec.get("published") or meta.get("published") or dates.get(aid)
    if raw is None:
        raise ValueError(f"{where}: article {aid!r} has no date: add a 'date' field (e.g. \"2025-09-03\") "
                         "or pass --index with the articles' dates")
    d = article_date(raw)
    if d is None:
        raise ValueError(f"{where}: article {aid!r}: cannot read its date {raw!r} (give an ISO date, e.g. 2025-09-03)")
    return Article(aid, where, d, entities, events, rec["events"])


def mentions_of(article: Article, table: AliasTable) -> list[Mention]:
    """The article's frames, normalised: actors through the table and the article's coreference,
    the first readable time argument against the article's date, places to countries."""
    args_spans = [s for f in article.events for spans in f.arguments.values() for s in spans]
    norm = ArticleActors(table, article.entities or args_spans)
    out = []
    for i, f in enumerate(article.events):
        args = f.arguments
        own, notes = None, []
        for s in args.get("time", []):
            d = normalise_date(s.text, article.date.start)
            if d is None:
                notes.append(f"cannot read time {s.text!r}")
            elif own is None:
                own = d
            else:
                notes.append(f"second time {s.text!r} ({d.iso}) not used")
        out.append(Mention(article, i, f.type, f.trigger, article.frames[i],
                           tuple(norm.actor(s) for s in args.get("actor", [])),
                           tuple(norm.actor(s) for s in args.get("recipient", [])),
                           tuple(norm.place(s) for s in args.get("place", [])), own, tuple(notes)))
    return out


def chain_unknown_names(mentions: Sequence[Mention]) -> list[Mention]:
    """The mentions with the names the table does not know chained across articles
    (:func:`.actors.chain_names`): "PDIP" in one report and "Partai Demokrasi Indonesia
    Perjuangan" in another become one actor, so that their mentions can meet; without this an
    unseen story's actors, which no table lists, match only when spelled alike."""
    names = [a.name for m in mentions for a in m.actors + m.recipients if a.country is None]
    full = chain_names(names)

    def one(a: Actor) -> Actor:
        return a if a.country is not None or full[a.name] == a.name else replace(a, name=full[a.name])

    return [replace(m, actors=tuple(map(one, m.actors)), recipients=tuple(map(one, m.recipients)))
            for m in mentions]


def is_gold_frames(path: Path) -> bool:
    """Whether ``path`` is a frames file of ``indoevent frames`` (every record says ``model_version: gold``)."""
    try:
        found = read_jsonl(path)
    except JsonlError:
        return False
    return all(r.get("model_version") == "gold" for _, r in found)


def gold_records(documents, dates: dict[str, str] | None = None, source: str = "gold") -> list[dict]:
    """Frames from annotated relations, in the record format ``indoevent extract`` writes (one
    dict per article: id, entities, triggers, events, score), plus the article's ``date`` when
    ``dates`` has it, so merging can be checked on gold apart from any model."""
    out = []
    for doc in documents:
        frames = frames_from_relations(doc.triggers, doc.entities, doc.relations)
        rec = Extraction(Prediction(doc.text, doc.entities, doc.triggers, doc.doc_id), frames).to_dict()
        rec.update({"source": f"{source}:{doc.task_id if doc.task_id is not None else doc.doc_id}",
                    "model": "gold", "model_version": "gold"})
        if dates and doc.doc_id in dates:
            rec["date"] = dates[doc.doc_id]
        out.append(rec)
    return out
