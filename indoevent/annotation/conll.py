"""CoNLL-style column files (token TAB tag, a blank line between sentences) -> articles.

This is the format of IndoNLU's NERP and NERGrit, so public Indonesian NER data can add
actor training data. Their label sets differ from the project's, hence a label mapping
(NERP: ``PPL -> PER``, ``PLC -> LOC``, ``IND -> ORG``, ``EVT -> O``...). A label that is
neither mapped nor one of the project's labels is an error naming the file and line:
guessing would train the model on wrong tags. Each sentence becomes one
:class:`~indoevent.annotation.convert.TaggedWords` whose text is its tokens joined by single spaces.

Partial labels: a file annotates some labels only (NERP: people, organisations, places; no dates, no
triggers). Its ``O`` words may then be ``O`` or any tag of a label it does not annotate, and a label
mapped to several (``PLC: [GPE, LOC]``) leaves its words either: each article carries the labels it
annotates and each word its allowed tags (:func:`allowed_tags`), which the training loss reads
(:mod:`indoevent.model.partial`). The same sentences may come from ``datasets`` (:func:`read_hf`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..schema import ENTITY_LABELS, EVENT_LABELS, bio_tags
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
    annotated: list[str] | None = None  # labels the file annotates in full (None: all): partial labels

    def to_json(self) -> dict:
        return {"path": self.path, "sentences": self.sentences, "tokens": self.tokens, "mapped": self.mapped,
                "dropped": self.dropped, "repaired_i_tags": self.repaired_i,
                "annotated_labels": self.annotated if self.annotated is not None else "all"}


Target = str | Sequence[str] | None  # a project label, several (PLC: [GPE, LOC]), or O/None to drop


def _targets(label: str, label_map: Mapping[str, Target], where: str, k: int) -> tuple[str, ...]:
    """The project labels a source label maps to; () drops it."""
    if label in label_map:
        target = label_map[label]
        targets = (target,) if target is None or isinstance(target, str) else tuple(target)
        targets = tuple(t for t in targets if t not in (None, "O"))
    elif label in PROJECT_LABELS:
        targets = (label,)
    else:
        raise ConllError(f"{where}token {k + 1}: label {label!r} is not a project label "
                         f"({', '.join(sorted(PROJECT_LABELS))}); map it with label_map, e.g. {{{label}: PER}} "
                         f"or {{{label}: O}} to drop it")
    for t in targets:
        if t not in PROJECT_LABELS:
            raise ConllError(f"{where}label_map sends {label!r} to {t!r}, which is not a project label")
    return targets


def map_tag_choices(tags: list[str], label_map: Mapping[str, Target], where: str = "",
                    report: ConllReport | None = None) -> list[tuple[str, ...]]:
    """Map source IOB tags to the project IOB2 tags each word may take: one, or several where the
    map sends a label to a set; ``O``/``None`` targets drop the span.

    >>> map_tag_choices(["B-PLC", "I-PLC", "O", "B-PPL"], {"PLC": ["GPE", "LOC"], "PPL": "PER"})
    [('B-GPE', 'B-LOC'), ('I-GPE', 'I-LOC'), ('O',), ('B-PER',)]
    """
    out: list[tuple[str, ...]] = []
    prev: tuple[str, ...] = ()
    for k, tag in enumerate(tags):
        if tag == "O":
            out.append(("O",))
            prev = ()
            continue
        prefix, sep, label = tag.partition("-")
        if not sep or prefix not in ("B", "I") or not label:
            raise ConllError(f"{where}token {k + 1}: tag {tag!r} is not O, B-LABEL or I-LABEL")
        targets = _targets(label, label_map, where, k)
        if not targets:
            if report is not None and prefix == "B":
                report.dropped[label] = report.dropped.get(label, 0) + 1
            out.append(("O",))
            prev = ()
            continue
        if prefix == "I" and prev != targets:  # an I- that continues no span of its labels opens one
            prefix = "B"
            if report is not None:
                report.repaired_i += 1
        if prefix == "B" and report is not None:
            key = f"{label}->{'|'.join(targets)}"
            report.mapped[key] = report.mapped.get(key, 0) + 1
        out.append(tuple(f"{prefix}-{t}" for t in targets))
        prev = targets
    return out


def map_tags(tags: list[str], label_map: Mapping[str, Target], where: str = "",
             report: ConllReport | None = None) -> list[str]:
    """Map source IOB tags to project IOB2 tags (the first target of a label mapped to several);
    ``O``/``None`` targets drop the span.

    >>> map_tags(["B-PPL", "I-PPL", "O", "B-PLC", "B-EVT"], {"PPL": "PER", "PLC": "LOC", "EVT": None})
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'O']

    An ``I-`` that does not continue a span of its label opens one (IOB1 files), and is counted:

    >>> map_tags(["I-PER", "I-PER", "O", "I-GPE"], {})
    ['B-PER', 'I-PER', 'O', 'B-GPE']
    """
    return [c[0] for c in map_tag_choices(tags, label_map, where, report)]


def annotated_labels(labels: str | Sequence[str] | None, label_map: Mapping[str, Target],
                     used: Iterable[str] = ()) -> frozenset[str] | None:
    """The labels a source annotates in full: ``all`` (None), a list, or by default the targets of its
    label map and the project labels its tags use unmapped (``used``); None when that is every label.

    >>> sorted(annotated_labels(None, {"PPL": "PER", "PLC": ["GPE", "LOC"], "EVT": None}))
    ['GPE', 'LOC', 'PER']
    >>> annotated_labels("all", {"PPL": "PER"}) is None
    True
    """
    if labels == "all":
        return None
    chosen: set[str]
    if labels is None:
        found = {t for v in label_map.values() if v is not None for t in ((v,) if isinstance(v, str) else v)}
        chosen = (found | set(used)) - {"O"}
    else:
        chosen = {labels} if isinstance(labels, str) else set(labels)
    unknown = sorted(chosen - PROJECT_LABELS)
    if unknown:
        raise ConllError(f"labels: {unknown[0]!r} is not a project label ({', '.join(sorted(PROJECT_LABELS))})")
    return None if chosen >= PROJECT_LABELS else frozenset(chosen)


def allowed_tags(choices: Sequence[tuple[str, ...]], annotated: frozenset[str] | None) -> list[tuple[str, ...]]:
    """Per word, the tags a source leaves possible: a tagged word its tag(s); an ``O`` word ``O`` or
    any tag of a label the source does not annotate (for NERP: DATE and every trigger).

    >>> allowed_tags([("B-PER",), ("O",)], frozenset(ENTITY_LABELS + EVENT_LABELS[1:]))
    [('B-PER',), ('O', 'B-AGREE', 'I-AGREE')]
    >>> len(allowed_tags([("O",)], frozenset())[0]) == len(bio_tags())  # annotates nothing: any tag
    True
    """
    free = ("O",) + tuple(t for t in bio_tags() if t != "O" and t[2:] not in (PROJECT_LABELS if annotated is None else annotated))
    return [free if c == ("O",) else c for c in choices]


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


def read_conll(path: str | Path, label_map: Mapping[str, Target] | None = None,
               doc_prefix: str | None = None, labels: str | Sequence[str] | None = None,
               ) -> tuple[list[TaggedWords], ConllReport]:
    """Read a column file into one article per sentence (ids ``PREFIX:LINE``, the sentence's first line).

    Lines are ``token<TAB or spaces>...<tag>``: the first column is the token, the last its tag.
    ``-DOCSTART-`` lines are skipped. ``labels`` are the labels the file annotates (see
    :func:`annotated_labels`): where that is not every label, its articles are partially labelled.
    """
    path = Path(path)
    prefix = doc_prefix if doc_prefix is not None else path.stem
    report = ConllReport(str(path))
    sentences = list(_sentences(path))
    if not sentences:
        raise ConllError(f"{path}: no sentences")
    return tagged_sentences(sentences, label_map or {}, labels, prefix, report), report


def tagged_sentences(sentences: Sequence[tuple[int, list[str], list[str]]], label_map: Mapping[str, Target],
                     labels: str | Sequence[str] | None, prefix: str, report: ConllReport) -> list[TaggedWords]:
    """``(line, tokens, source tags)`` sentences -> articles (ids ``PREFIX:LINE``), their tags mapped;
    ``annotated`` and ``allowed`` set where the source leaves some words more than one tag."""
    choices = [map_tag_choices(tags, label_map, f"{report.path}:{line}: ", report) for line, _, tags in sentences]
    used = {t[2:] for cs in choices for c in cs for t in c if t != "O"}
    try:
        annotated = annotated_labels(labels, label_map, used)
    except ConllError as e:
        raise ConllError(f"{report.path}: {e}") from None
    report.annotated = sorted(annotated) if annotated is not None else None
    articles = []
    for (line, tokens, _), cs in zip(sentences, choices, strict=True):
        tags = [c[0] for c in cs]
        allowed = allowed_tags(cs, annotated)
        starts, pos = [], 0
        for t in tokens:
            starts.append(pos)
            pos += len(t) + 1
        ends = [s + len(t) for s, t in zip(starts, tokens, strict=True)]
        text = " ".join(tokens)
        spans = tags_to_spans([Word(a, b, t) for a, b, t in zip(starts, ends, tokens, strict=True)], tags, text)
        partial = any(len(a) > 1 for a in allowed)
        articles.append(TaggedWords(f"{prefix}:{line}", text, list(tokens), starts, ends, tags, [], spans,
                                    annotated=annotated, allowed=allowed if partial else None))
        report.sentences += 1
        report.tokens += len(tokens)
    return articles


def _sentences(path: Path):
    """``(first line, tokens, tags)`` of each sentence of a column file."""
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    for n, line in enumerate(_read_lines(path), 1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("-DOCSTART-"):
            if tokens:
                yield first_line, tokens, tags
            tokens, tags = [], []
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if len(cols) < 2 or not cols[0].strip():
            raise ConllError(f"{path}:{n}: expected 'token<TAB>tag', got {line!r}")
        if not tokens:
            first_line = n
        tokens.append(cols[0].strip())
        tags.append(cols[-1].strip())
    if tokens:
        yield first_line, tokens, tags


HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}  # the hub's names for our splits


def read_hf(name: str, config: str | None, split: str, label_map: Mapping[str, Target] | None = None,
            labels: str | Sequence[str] | None = None) -> tuple[list[TaggedWords], ConllReport]:
    """A token-classification dataset loaded with ``datasets.load_dataset`` (a hub id such as
    ``indonlp/indonlu`` with config ``nerp``, or a local folder of ``train``/``validation``/``test``
    files): rows with ``tokens`` and ``ner_tags`` (class ids or tag strings), read as :func:`read_conll`
    reads a file (ids ``NAME[/CONFIG]:ROW``)."""
    import datasets

    where = f"{name}{'/' + config if config else ''} ({HF_SPLITS[split]})"
    try:
        rows = datasets.load_dataset(name, config, split=HF_SPLITS[split])
    except Exception as e:  # noqa: BLE001 - datasets raises many types; each becomes one line naming the set
        raise ConllError(f"{where}: cannot load with datasets.load_dataset: {str(e).splitlines()[0]}") from None
    missing = {"tokens", "ner_tags"} - set(rows.column_names)
    if missing:
        raise ConllError(f"{where}: no {', '.join(sorted(missing))} column (has {', '.join(rows.column_names)})")
    feature = rows.features["ner_tags"].feature
    names = feature.names if hasattr(feature, "names") else None
    sentences = [(n + 1, [str(t) for t in r["tokens"]], [names[t] if names else str(t) for t in r["ner_tags"]])
                 for n, r in enumerate(rows) if r["tokens"]]
    if not sentences:
        raise ConllError(f"{where}: no sentences")
    report = ConllReport(where)
    prefix = f"{name.rstrip('/').split('/')[-1]}{'-' + config if config else ''}"
    return tagged_sentences(sentences, label_map or {}, labels, prefix, report), report
