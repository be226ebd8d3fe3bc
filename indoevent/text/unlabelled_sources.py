"""Where the unlabelled corpus' sentences come from: public Indonesian datasets, each with its licence.

Each :class:`SourceSpec` names the repository folder a user cloned (under one ``--sources`` folder:
``indonlu/``, ``indolem/``, ``UD_Indonesian-GSD/``, ...), the files to read in it, their format and
the source's licence. A reader yields :class:`Piece` values, one per sentence or text of the source
with the document it belongs to where the source has documents (a UD ``newdoc``, a PUD story), else
``None``: the builder then groups consecutive sentences (or reviews) into chunks.

Word-tokenised sources (CoNLL, FacQA's token lists) are joined back into text by :func:`detokenize`:
not the original spelling, but what a tokenizer and a masked-LM need. Nothing here reaches the
network: the recipe reads clones a user made (``training/unlabelled/README.md`` says how).
"""

from __future__ import annotations

import ast
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INDONLU = "https://github.com/IndoNLP/indonlu"
INDONLU_LICENCE = "Apache-2.0"  # the LICENSE file; the README badge says MIT (training/unlabelled/README.md)
UD = "https://github.com/UniversalDependencies/"


@dataclass(frozen=True)
class Piece:
    """One sentence (or short text) of a source, and the key of its document (None: no documents)."""

    text: str
    doc: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """A source: its name, the cloned repository folder, the files (globs) in it and how to read them."""

    name: str
    repo: str
    files: tuple[str, ...]
    fmt: str                      # conll | conllu | tsv | csv
    licence: str
    url: str
    domain: str
    column: str = ""              # csv: the text column
    default: bool = True          # in the corpus unless left out; False: only when asked for by name
    note: str = ""


def _nlu(name: str, folder: str, ext: str, fmt: str, domain: str, column: str = "", default: bool = True,
         note: str = "") -> SourceSpec:
    files = tuple(f"dataset/{folder}/{split}_preprocess.{ext}" for split in ("train", "valid", "test"))
    return SourceSpec(name, "indonlu", files, fmt, INDONLU_LICENCE, f"{INDONLU}/tree/master/dataset/{folder}",
                      domain, column, default, note)


SOURCES: tuple[SourceSpec, ...] = (
    _nlu("indonlu-nerp", "nerp_ner-prosa", "txt", "conll", "news (lowercased)"),
    _nlu("indonlu-posp", "posp_pos-prosa", "txt", "conll", "news (lowercased; mostly NERP's sentences)"),
    _nlu("indonlu-bapos", "bapos_pos-idn", "txt", "conll", "news (IDN Tagged Corpus)"),
    _nlu("indonlu-nergrit", "nergrit_ner-grit", "txt", "conll", "wikipedia, news"),
    _nlu("indonlu-facqa", "facqa_qa-factoid-itb", "csv", "csv", "news (QA passages)", column="passage"),
    _nlu("indonlu-wrete", "wrete_entailment-ui", "csv", "csv", "wikipedia (revision pairs: sent_A only)",
         column="sent_A"),
    _nlu("indonlu-smsa", "smsa_doc-sentiment-prosa", "tsv", "tsv", "reviews, comments"),
    _nlu("indonlu-casa", "casa_absa-prosa", "csv", "csv", "car reviews", column="sentence"),
    _nlu("indonlu-hoasa", "hoasa_absa-airy", "csv", "csv", "hotel reviews", column="review"),
    _nlu("indonlu-terma", "terma_term-extraction-airy", "txt", "conll", "hotel reviews"),
    _nlu("indonlu-emot", "emot_emotion-twitter", "csv", "csv", "tweets", column="tweet", default=False,
         note="off by default: tweets (X/Twitter's terms; Indo4B left tweets out for the same reason)"),
    _nlu("indonlu-keps", "keps_keyword-extraction-prosa", "txt", "conll", "tweets", default=False,
         note="off by default: tweets"),
    SourceSpec("ud-gsd", "UD_Indonesian-GSD", ("id_gsd-ud-train.conllu", "id_gsd-ud-dev.conllu",
                                               "id_gsd-ud-test.conllu"), "conllu", "CC BY-SA 4.0",
               UD + "UD_Indonesian-GSD", "wikipedia, blogs (shuffled sentences)"),
    SourceSpec("ud-pud", "UD_Indonesian-PUD", ("id_pud-ud-test.conllu",), "conllu", "CC BY-SA 3.0",
               UD + "UD_Indonesian-PUD", "news, wikipedia (translated; 1-5 sentences a story)"),
    SourceSpec("ud-csui", "UD_Indonesian-CSUI", ("id_csui-ud-train.conllu", "id_csui-ud-test.conllu"), "conllu",
               "CC BY-SA 4.0", UD + "UD_Indonesian-CSUI", "news (mostly economic; BaPOS's sentences)"),
    SourceSpec("indolem-nerui", "indolem", ("ner/data/nerui/nergithub.txt",), "conll",
               "not stated in the repository", "https://github.com/indolem/indolem/tree/master/ner", "news",
               default=False, note="off by default: no licence stated"),
    SourceSpec("indolem-nerugm", "indolem", ("ner/data/nerugm/nerugm.txt",), "conll",
               "not stated in the repository", "https://github.com/indolem/indolem/tree/master/ner", "news",
               default=False, note="off by default: no licence stated"),
)

# Where sentence ids name their document: PUD's n01001011 is sentence 11 of news story n01001 (w: wikipedia).
_DOC_OF_SENT_ID = {"ud-pud": re.compile(r"^([nw]\d{5})\d{3}$")}

_NO_SPACE_BEFORE = re.compile(r" ([.,;:!?%)\]}»”’])")
_NO_SPACE_AFTER = re.compile(r"([(\[{«“‘]) ")


def detokenize(tokens: list[str]) -> str:
    """Words joined back into text: no space before closing punctuation nor after an opening bracket.

    >>> detokenize(["kata", "Jokowi", "(", "Presiden", ")", ",", "di", "Jakarta", "."])
    'kata Jokowi (Presiden), di Jakarta.'
    """
    text = " ".join(t for t in tokens if t)
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))


def read_source(spec: SourceSpec, root: Path, missing: list[str] | None = None) -> Iterator[Piece]:
    """The pieces of every file of ``spec`` under ``root/spec.repo``, in file order. A listed file
    that is missing raises FileNotFoundError naming it (a partial clone would shrink the corpus
    silently), unless a ``missing`` list is given: the file's path is then added to it."""
    for rel in spec.files:
        path = root / spec.repo / rel
        if not path.is_file() and missing is not None:
            missing.append(str(path))
            continue
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing (source {spec.name}; clone {spec.url.split('/tree/')[0]} "
                                    f"into {root / spec.repo}, or leave the source out with --skip {spec.name})")
        yield from _READERS[spec.fmt](spec, path)


def _conll(spec: SourceSpec, path: Path) -> Iterator[Piece]:
    words: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            cells = line.rstrip("\r\n").split("\t")
            if not line.strip():
                if words:
                    yield Piece(detokenize(words))
                words = []
            elif not line.startswith("-DOCSTART-"):
                words.append(cells[0].strip())
    if words:
        yield Piece(detokenize(words))


def _conllu(spec: SourceSpec, path: Path) -> Iterator[Piece]:
    doc: str | None = None
    sent_doc: str | None = None
    pattern = _DOC_OF_SENT_ID.get(spec.name)
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("# newdoc id"):
                doc = f"{path.stem}:{line.split('=', 1)[-1].strip()}"
            elif line.startswith("# sent_id") and pattern:
                m = pattern.match(line.split("=", 1)[-1].strip())
                sent_doc = m.group(1) if m else None
            elif line.startswith("# text ="):
                yield Piece(line.split("=", 1)[1].strip(), sent_doc or doc)


def _tsv(spec: SourceSpec, path: Path) -> Iterator[Piece]:
    # One text a line, its label after the last tab. Texts (reviews) have no documents: chunked.
    with path.open(encoding="utf-8") as f:
        for line in f:
            text = line.rsplit("\t", 1)[0].strip()
            if text:
                yield Piece(text)


def _csv(spec: SourceSpec, path: Path) -> Iterator[Piece]:
    with path.open(encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.DictReader(f), 2):
            if spec.column not in row:
                raise ValueError(f"{path}:{n}: no column {spec.column!r} (source {spec.name})")
            text = row[spec.column].strip()
            if text.startswith("['"):  # FacQA: a Python list of words
                text = detokenize(ast.literal_eval(text))
            if text:
                yield Piece(text)


_READERS = {"conll": _conll, "conllu": _conllu, "tsv": _tsv, "csv": _csv}


def select(names: list[str] | None = None, skip: list[str] | None = None) -> list[SourceSpec]:
    """The sources to read: ``names`` (any, defaults or not) or every default one, less ``skip``.
    An unknown name raises ValueError listing the known ones."""
    known = {s.name: s for s in SOURCES}
    for n in [*(names or []), *(skip or [])]:
        if n not in known:
            raise ValueError(f"unknown source {n!r}: known are {', '.join(known)}")
    chosen = [known[n] for n in names] if names else [s for s in SOURCES if s.default]
    return [s for s in chosen if s.name not in set(skip or [])]
