"""CoNLL-style column files (token TAB tag, a blank line between sentences) -> articles.

This is the format of IndoNLU's NERP and NERGrit, so public Indonesian NER data can add
actor training data. Their label sets differ from the project's, hence a label mapping
(NERP: ``PPL -> PER``, ``PLC -> LOC``, ``IND -> ORG``, ``EVT -> O``...). A label that is
neither mapped nor one of the project's labels is an error naming the file and line:
guessing would train the model on wrong tags. Each sentence becomes one
:class:`~indoevent.annotation.convert.TaggedWords` whose text is its tokens joined by single spaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..schema import ENTITY_LABELS, EVENT_LABELS
from ..text.iob import TaggedWords, tags_to_spans
from ..text.tokenize import Word

PROJECT_LABELS = frozenset(ENTITY_LABELS + EVENT_LABELS)


class ConllError(ValueError):
    """A CoNLL file that cannot be read; the message names the file and line."""


@dataclass
class ConllReport:
    """What reading a file changed, so that nothing is dropped or repaired silently."""

    path: str
    sentences: int = 0
    tokens: int = 0
    mapped: dict[str, int] = field(default_factory=dict)    # "PPL->PER": spans
    dropped: dict[str, int] = field(default_factory=dict)   # source label -> spans tagged O by the mapping
    repaired_i: int = 0  # I- tags that did not continue a span (IOB1 or errors), read as B-

    def to_json(self) -> dict:
        return {"path": self.path, "sentences": self.sentences, "tokens": self.tokens, "mapped": self.mapped,
                "dropped": self.dropped, "repaired_i_tags": self.repaired_i}


def map_tags(tags: list[str], label_map: Mapping[str, str | None], where: str = "",
             report: ConllReport | None = None) -> list[str]:
    """Map source IOB tags to project IOB2 tags; ``O``/``None`` targets drop the span.

    >>> map_tags(["B-PPL", "I-PPL", "O", "B-PLC", "B-EVT"], {"PPL": "PER", "PLC": "LOC", "EVT": None})
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'O']

    An ``I-`` that does not continue a span of its label opens one (IOB1 files), and is counted:

    >>> map_tags(["I-PER", "I-PER", "O", "I-GPE"], {})
    ['B-PER', 'I-PER', 'O', 'B-GPE']
    """
    out: list[str] = []
    prev = "O"
    for k, tag in enumerate(tags):
        if tag == "O":
            out.append("O")
            prev = "O"
            continue
        prefix, sep, label = tag.partition("-")
        if not sep or prefix not in ("B", "I") or not label:
            raise ConllError(f"{where}token {k + 1}: tag {tag!r} is not O, B-LABEL or I-LABEL")
        if label in label_map:
            target = label_map[label]
            target = None if target in (None, "O") else target
        elif label in PROJECT_LABELS:
            target = label
        else:
            raise ConllError(f"{where}token {k + 1}: label {label!r} is not a project label "
                             f"({', '.join(sorted(PROJECT_LABELS))}); map it with label_map, e.g. {{{label}: PER}} "
                             f"or {{{label}: O}} to drop it")
        if target is not None and target not in PROJECT_LABELS:
            raise ConllError(f"{where}label_map sends {label!r} to {target!r}, which is not a project label")
        if target is None:
            if report is not None and prefix == "B":
                report.dropped[label] = report.dropped.get(label, 0) + 1
            out.append("O")
            prev = "O"
            continue
        new = tag if prefix == "B" else f"I-{target}"
        if prefix == "I" and prev != f"B-{target}" and prev != f"I-{target}":
            new = f"B-{target}"
            if report is not None:
                report.repaired_i += 1
        elif prefix == "B":
            new = f"B-{target}"
        if new.startswith("B-") and report is not None:
            key = f"{label}->{target}"
            report.mapped[key] = report.mapped.get(key, 0) + 1
        out.append(new)
        prev = new
    return out


def _read_lines(path: Path) -> list[str]:
    """The file's lines, decoded as UTF-8 (a byte-order mark, as Windows editors write, is dropped
    so that it does not stick to the first token). Errors say which file, where, and what to do."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConllError(f"{path}: no such CoNLL file") from None
    except IsADirectoryError:
        raise ConllError(f"{path}: is a folder; give the CoNLL file itself (e.g. {path}/train.txt)") from None
    except OSError as e:
        raise ConllError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConllError(f"{path}:{line}: not UTF-8 (byte {raw[e.start:e.start + 1]!r}); convert the file, e.g. "
                         f"iconv -f latin1 -t utf-8 {path} > {path.stem}.utf8{path.suffix}") from None
    return text.split("\n")  # not splitlines(): U+2028 or \x85 inside a token is no line break


def read_conll(path: str | Path, label_map: Mapping[str, str | None] | None = None,
               doc_prefix: str | None = None) -> tuple[list[TaggedWords], ConllReport]:
    """Read a column file into one article per sentence (ids ``PREFIX:LINE``, the sentence's first line).

    Lines are ``token<TAB or spaces>...<tag>``: the first column is the token, the last its tag.
    ``-DOCSTART-`` lines are skipped.
    """
    path = Path(path)
    label_map = dict(label_map or {})
    prefix = doc_prefix if doc_prefix is not None else path.stem
    report = ConllReport(str(path))
    articles: list[TaggedWords] = []
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0

    def flush() -> None:
        if not tokens:
            return
        where = f"{path}:{first_line}: "
        mapped = map_tags(tags, label_map, where, report)
        starts, pos = [], 0
        for t in tokens:
            starts.append(pos)
            pos += len(t) + 1
        ends = [s + len(t) for s, t in zip(starts, tokens, strict=True)]
        text = " ".join(tokens)
        spans = tags_to_spans([Word(a, b, t) for a, b, t in zip(starts, ends, tokens, strict=True)], mapped, text)
        articles.append(TaggedWords(f"{prefix}:{first_line}", text, list(tokens), starts, ends, mapped, [], spans))
        report.sentences += 1
        report.tokens += len(tokens)
        tokens.clear()
        tags.clear()

    for n, line in enumerate(_read_lines(path), 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            flush()
            continue
        if line.startswith("-DOCSTART-"):
            flush()
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if len(cols) < 2 or not cols[0].strip():
            raise ConllError(f"{path}:{n}: expected 'token<TAB>tag', got {line!r}")
        if not tokens:
            first_line = n
        tokens.append(cols[0].strip())
        tags.append(cols[-1].strip())
    flush()
    if not articles:
        raise ConllError(f"{path}: no sentences")
    return articles, report
