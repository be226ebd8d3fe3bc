"""An unlabelled Indonesian corpus, as id/text JSONL, from the sentences of public datasets.

The recipe behind ``training/unlabelled/build.py`` (issue 17, step 2). In order:

1. read each chosen source (``unlabelled_sources``) from a folder of clones: no network;
2. drop every sentence already seen, in any source, by its :func:`normalise`\\ d form (NERP and POSP
   share most sentences, BaPOS and UD-CSUI all of theirs; case and tokenisation differ);
3. group the sentences into documents: the source's own where it has them (a PUD story, a UD
   ``newdoc``), else chunks of consecutive sentences of about ``chunk_words`` words;
4. drop every document that shares a sentence with a held-out article (the corpus' dev and test
   articles, :func:`heldout_texts`), and say which sentence of which article;
5. count sentences and words per source, for the licence table (:func:`licence_table`).

A held-out sentence is matched only when it has at least ``MIN_WORDS`` words: a dateline or
"Baca juga:" is in every news site and says nothing about an article. The project's held-out
check (``../shared/tools/not_heldout.py``, 8-word runs) is run on the output by the script.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic import replacing
from .sentences import split_sentences
from .unlabelled_sources import Piece, SourceSpec, read_source

MIN_WORDS = 4
_WORD = re.compile(r"\w+")


def normalise(sentence: str) -> str:
    """A sentence's key for deduplication and the held-out match: NFKC, lowercase, its words joined
    by single spaces (punctuation and spacing dropped, so a tokenised copy matches its original).

    >>> normalise("Presiden Prabowo tiba di Beijing , Senin ( 12/8 ) .")
    'presiden prabowo tiba di beijing senin 12 8'
    """
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", sentence).lower()))


def words(text: str) -> int:
    """Words of a text (runs of letters and digits).

    >>> words("Kim Jong-un tiba, Selasa (2/9).")
    7
    """
    return len(_WORD.findall(text))


def sentence_keys(text: str, min_words: int = MIN_WORDS) -> list[str]:
    """The normalised sentences of ``text`` (the gold's splitter) with at least ``min_words`` words.

    >>> sentence_keys("Putin tiba di Beijing. Baca juga: Xi. Ia bertemu Xi Jinping hari ini.")
    ['putin tiba di beijing', 'ia bertemu xi jinping hari ini']
    """
    keys = (normalise(text[a:b]) for a, b in split_sentences(text))
    return [k for k in keys if len(k.split()) >= min_words]


def heldout_texts(splits: str | Path, text_dirs: Sequence[str | Path]) -> dict[str, str]:
    """The texts of the dev and test articles of a splits file (``annotations/corpus/splits.json``),
    each read from ``<id>.txt`` in the first of ``text_dirs`` that has it. Raises FileNotFoundError
    naming an article none has (an exclusion that silently skipped one would not be one)."""
    raw = json.loads(Path(splits).read_text(encoding="utf-8"))
    out = {}
    for art in [*raw["dev"], *raw["test"]]:
        path = next((Path(d) / f"{art}.txt" for d in text_dirs if (Path(d) / f"{art}.txt").is_file()), None)
        if path is None:
            raise FileNotFoundError(f"{splits}: article {art!r} (dev/test) has no {art}.txt in "
                                    f"{', '.join(map(str, text_dirs))}")
        out[art] = path.read_text(encoding="utf-8-sig")
    return out


@dataclass
class Doc:
    """One document of the corpus: its id, source and sentences (joined by a space in its text)."""

    id: str
    source: str
    sentences: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    def record(self, licence: str) -> dict:
        return {"id": self.id, "text": self.text, "source": self.source, "licence": licence}


@dataclass
class SourceStats:
    """What one source gave, after deduplication and the held-out exclusion."""

    name: str
    licence: str
    url: str
    domain: str
    read: int = 0            # sentences read
    duplicates: int = 0      # dropped: seen before (normalised), in this or an earlier source
    excluded_docs: int = 0   # dropped: shares a sentence with a held-out article
    sentences: int = 0       # kept
    words: int = 0           # kept
    documents: int = 0       # kept
    missing: list[str] = field(default_factory=list)  # files not found (only with missing_ok)


@dataclass(frozen=True)
class Exclusion:
    """A document left out, and why: the held-out article and the sentence it shares."""

    doc: str
    article: str
    sentence: str


@dataclass
class Built:
    docs: list[Doc] = field(default_factory=list)
    stats: list[SourceStats] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(s.words for s in self.stats)

    def drop(self, why: dict[str, tuple[str, str]]) -> None:
        """Leave out the documents of ``why`` (doc id -> (article, reason)), their counts with them."""
        stats = {s.name: s for s in self.stats}
        for d in self.docs:
            if d.id in why:
                st = stats[d.source]
                st.documents, st.sentences, st.excluded_docs = st.documents - 1, st.sentences - len(d.sentences), \
                    st.excluded_docs + 1
                st.words -= sum(words(s) for s in d.sentences)
                self.excluded.append(Exclusion(d.id, *why[d.id]))
        self.docs = [d for d in self.docs if d.id not in why]

    def licences(self) -> dict[str, str]:
        return {s.name: s.licence for s in self.stats}

    def report(self) -> dict:
        return {"documents": len(self.docs), "sentences": sum(s.sentences for s in self.stats),
                "words": self.words, "sources": [asdict(s) for s in self.stats],
                "excluded": [asdict(e) for e in self.excluded]}


def build_corpus(specs: Sequence[SourceSpec], root: str | Path, heldout: dict[str, str],
                 chunk_words: int = 250, min_words: int = MIN_WORDS, missing_ok: bool = False) -> Built:
    """Read, deduplicate, group and screen every source of ``specs`` under ``root`` (module docstring).
    ``heldout``: article id -> text of the articles whose sentences must not appear. ``missing_ok``:
    a source file that is not there is listed in its stats instead of raising FileNotFoundError."""
    banned = {k: art for art, text in heldout.items() for k in sentence_keys(text, min_words)}
    seen: set[str] = set()
    built = Built()
    for spec in specs:
        st = SourceStats(spec.name, spec.licence, spec.url, spec.domain)
        pieces = _unseen(read_source(spec, Path(root), st.missing if missing_ok else None), seen, st)
        for doc in group(spec.name, pieces, chunk_words):
            hit = _heldout_hit(doc, banned, min_words)
            if hit:
                built.excluded.append(Exclusion(doc.id, *hit))
                st.excluded_docs += 1
                continue
            built.docs.append(doc)
            st.documents += 1
            st.sentences += len(doc.sentences)
            st.words += sum(words(s) for s in doc.sentences)
        built.stats.append(st)
    return built


def _unseen(pieces: Iterable[Piece], seen: set[str], st: SourceStats) -> Iterable[Piece]:
    """The pieces whose normalised text was not seen before (empty ones dropped as duplicates)."""
    for p in pieces:
        st.read += 1
        key = normalise(p.text)
        if not key or key in seen:
            st.duplicates += 1
            continue
        seen.add(key)
        yield p


def group(source: str, pieces: Iterable[Piece], chunk_words: int) -> Iterable[Doc]:
    """Documents from pieces in order: by their document key where they have one, else chunks of
    consecutive sentences closed once they reach ``chunk_words`` words (chunks first, as they close;
    the keyed documents at the end, in the order they began).

    >>> [d.id for d in group("x", [Piece("a b", "s1"), Piece("c", "s1"), Piece("d e"), Piece("f")], 2)]
    ['x/chunk-00000', 'x/chunk-00001', 'x/s1']
    """
    docs: dict[str, Doc] = {}
    chunk: list[str] = []
    n = 0
    for p in pieces:
        if p.doc is not None:
            docs.setdefault(p.doc, Doc(f"{source}/{p.doc}", source, [])).sentences.append(p.text)
            continue
        chunk.append(p.text)
        if sum(words(s) for s in chunk) >= chunk_words:
            yield Doc(f"{source}/chunk-{n:05d}", source, chunk)
            chunk, n = [], n + 1
    if chunk:
        yield Doc(f"{source}/chunk-{n:05d}", source, chunk)
    yield from docs.values()


def _heldout_hit(doc: Doc, banned: dict[str, str], min_words: int) -> tuple[str, str] | None:
    for s in doc.sentences:
        for k in sentence_keys(s, min_words):
            if k in banned:
                return banned[k], s
    return None


def write_corpus(docs: Iterable[Doc], licences: dict[str, str], out: str | Path) -> int:
    """Write documents as JSONL (id, text, source, licence), atomically; returns the bytes written."""
    size = 0
    with replacing(out, "w", encoding="utf-8", newline="\n") as f:
        for d in docs:
            line = json.dumps(d.record(licences[d.source]), ensure_ascii=False) + "\n"
            f.write(line)
            size += len(line.encode("utf-8"))
    return size


def sample(docs: Sequence[Doc], licences: dict[str, str], max_bytes: int) -> list[Doc]:
    """A small, varied sample: documents taken from each source in turn (round robin, in order), as
    long as their JSONL lines fit in ``max_bytes`` together."""
    by_source: dict[str, list[Doc]] = {}
    for d in docs:
        by_source.setdefault(d.source, []).append(d)
    queues = [iter(v) for v in by_source.values()]
    out: list[Doc] = []
    size = 0
    while queues:
        for q in list(queues):
            nxt = next(q, None)
            n = 0 if nxt is None else len((json.dumps(nxt.record(licences[nxt.source]), ensure_ascii=False) + "\n").encode())
            if nxt is None or size + n > max_bytes:
                queues.remove(q)  # exhausted, or its next document does not fit: stop taking from it
                continue
            out.append(nxt)
            size += n
    return out


def licence_table(stats: Sequence[SourceStats]) -> str:
    """The Markdown table of sources: licence, URL, sentences and words kept (and a total row)."""
    lines = ["| source | domain | licence | URL | sentences | words | documents | duplicates dropped | "
             "documents excluded (held out) |", "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for s in stats:
        lines.append(f"| {s.name} | {s.domain} | {s.licence} | {s.url} | {s.sentences:,} | {s.words:,} | "
                     f"{s.documents:,} | {s.duplicates:,} | {s.excluded_docs:,} |")
    lines.append(f"| **total** | | | | {sum(s.sentences for s in stats):,} | {sum(s.words for s in stats):,} | "
                 f"{sum(s.documents for s in stats):,} | {sum(s.duplicates for s in stats):,} | "
                 f"{sum(s.excluded_docs for s in stats):,} |")
    return "\n".join(lines)
