"""The event corpus: real articles beyond the seeds, with their provenance.

Layout (README, "The data")::

    annotations/corpus/index.json      one entry per article: id, file, sha256, url, site, outlet, title,
                                       published (or null, with the reason in note), story, topic, trimmed
    annotations/corpus/texts/ID.txt    the article text as published (leading navigation trimmed)
    annotations/corpus/gold/ID.ann     its gold annotation (inline markup), compiled by `indoevent gold`
    annotations/corpus/second/ID.ann   independent second annotations (agreement)
    annotations/corpus/splits.json     train/dev/test by story, and cross-validation folds

An article's id is ``NNN_`` plus the first 16 hex digits of its text's sha256, as the seeds' are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

INDEX_FIELDS = ("id", "file", "sha256", "url", "site", "outlet", "title", "published", "story", "topic")


class CorpusError(ValueError):
    """The corpus index or a text does not match what it says; the message names the file."""


@dataclass(frozen=True)
class Article:
    """One corpus article: its index entry and its text."""

    entry: dict
    text: str

    @property
    def id(self) -> str:
        return self.entry["id"]


def load_index(index: str | Path) -> list[dict]:
    """The entries of an ``index.json``. Raises CorpusError naming the file and the entry at fault."""
    index = Path(index)
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CorpusError(f"{index}: cannot read the corpus index: {e}") from e
    if not isinstance(entries, list):
        raise CorpusError(f"{index}: expected a JSON list of articles")
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        missing = [k for k in INDEX_FIELDS if k not in entry] if isinstance(entry, dict) else list(INDEX_FIELDS)
        if missing:
            raise CorpusError(f"{index}: entry {n} lacks {', '.join(missing)}")
        if entry["id"] in seen:
            raise CorpusError(f"{index}: entry {n}: id {entry['id']} used twice")
        seen.add(entry["id"])
    return entries


def read_corpus(index: str | Path) -> list[Article]:
    """Every article of an index with its text, checked against the index's sha256 and id."""
    index = Path(index)
    out = []
    for e in load_index(index):
        path = index.parent / "texts" / e["file"]
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise CorpusError(f"{path}: cannot read ({err.strerror}), named by {index}") from err
        digest = hashlib.sha256(raw).hexdigest()
        if digest != e["sha256"] or not e["id"].endswith(digest[:16]):
            raise CorpusError(f"{path}: sha256 {digest[:16]}… does not match its entry {e['id']} in {index}")
        out.append(Article(e, raw.decode("utf-8")))
    return out


def corpus_lines(articles: list[Article]) -> list[str]:
    """JSONL lines with ``id``, ``url``, ``text`` (and story, outlet): what
    ``../shared/tools/not_heldout.py`` and ``indoevent ls import`` read.

    >>> corpus_lines([Article({"id": "005_ab", "url": "https://x.id/1", "story": "s", "site": "x.id"}, "Teks.")])
    ['{"id": "005_ab", "url": "https://x.id/1", "text": "Teks.", "story": "s", "site": "x.id"}']
    """
    return [json.dumps({"id": a.id, "url": a.entry["url"], "text": a.text, "story": a.entry["story"],
                        "site": a.entry["site"]}, ensure_ascii=False) for a in articles]
