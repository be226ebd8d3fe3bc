"""Articles -> windowed, labelled training features.

Data flows one way: the gold Label Studio export (through the converter) and CoNLL column
files give word-level articles; :func:`encode_articles` cuts each article into the very
windows inference uses (:func:`indoevent.model.windows.encode_windows`) and labels each word's
first sub-word, -100 elsewhere. A word seen in two overlapping windows carries its label in
both. Nothing is truncated silently: words the tokenizer turns into no sub-word, and words
longer than a window, are counted in the report (and named when they carry a label).
No torch or transformers import at module level: the tokenizer is passed in.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..annotation.conll import ConllError, read_conll
from ..annotation.convert import ConversionError, convert_export
from ..annotation.lsexport import ExportError
from ..text.iob import TaggedWords
from ..schema import bio_tags
from .windows import Window, encode_windows, special_tokens

IGNORE = -100  # label of positions the loss skips (special tokens, padding, non-first sub-words)


class DataError(ValueError):
    """Training data that cannot be used as configured; the message names the file or article."""


@dataclass
class Corpus:
    """Everything the config's data section names, read and checked."""

    gold: list[TaggedWords]                       # split by article (dev, test, CV folds)
    extra: dict[str, list[TaggedWords]]           # CoNLL sentences by split: train, dev, test
    files: list[str]                          # every data file read, for run_info.json hashes
    report: dict = field(default_factory=dict)

    def by_id(self) -> dict[str, TaggedWords]:
        return {a.doc_id: a for a in self.gold}


def load_corpus(data: Any) -> Corpus:
    """Read the gold export and CoNLL files of a :class:`~indoevent.model.config.DataConfig`."""
    gold: list[TaggedWords] = []
    files: list[str] = []
    report: dict = {}
    exports = [data.export] if isinstance(data.export, str) else list(data.export or [])
    for export in exports:
        try:
            arts, conv = convert_export(export, data.annotation, data.strict, strict_name="data.strict")
        except (ExportError, ConversionError) as e:  # their messages start with the file's name
            raise DataError(str(e)) from None
        gold += arts
        files.append(str(export))
        rep = {k: conv[k] for k in ("tasks", "articles", "tag_counts")}
        rep["left_out"] = {"misaligned_spans": len(conv["misaligned_spans"]), "problems": len(conv["problems"]),
                           "skipped_tasks": sum(v["count"] for v in conv["skipped"].values())}
        if len(exports) == 1:
            report["export"] = rep
        else:
            report.setdefault("exports", {})[str(export)] = rep
    extra: dict[str, list[TaggedWords]] = {"train": [], "dev": [], "test": []}
    report["conll"] = []
    for src in data.conll:
        try:
            arts, rep = read_conll(src.path, src.label_map)
        except ConllError as e:
            raise DataError(str(e)) from None
        extra[src.split] += arts
        files.append(str(src.path))
        report["conll"].append({**rep.to_json(), "split": src.split})
    ids = [a.doc_id for a in gold + extra["train"] + extra["dev"] + extra["test"]]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise DataError(f"article ids are not unique across data sources: {', '.join(dup)}")
    return Corpus(gold, extra, files, report)


def _count(spec: float | int | Sequence[str], n: int) -> int:
    if isinstance(spec, float):
        return 0 if spec == 0 else max(1, round(n * spec))
    return int(spec)


def split_ids(doc_ids: Sequence[str], dev: float | int | Sequence[str], test: float | int | Sequence[str],
              seed: int = 0) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Split article ids into ``(train, dev, test)``: each of dev and test is a fraction, a count
    or a list of ids. The same inputs always give the same split, whatever the order of the ids.

    >>> split_ids(["a", "b", "c", "d", "e"], dev=["b"], test=0)
    (('a', 'c', 'd', 'e'), ('b',), ())
    >>> [len(p) for p in split_ids(["a", "b", "c", "d", "e"], dev=0.2, test=1)]
    [3, 1, 1]
    """
    ids = sorted(doc_ids)
    known = set(ids)
    chosen: dict[str, tuple[str, ...]] = {}
    for name, spec in (("test", test), ("dev", dev)):
        if isinstance(spec, (list, tuple)):
            unknown = [x for x in spec if x not in known]
            if unknown:
                raise DataError(f"data.{name}: unknown article id(s) {', '.join(unknown)}; "
                                f"known: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}")
            chosen[name] = tuple(sorted(spec))
    pool = [x for x in random.Random(seed).sample(ids, len(ids)) if x not in {y for v in chosen.values() for y in v}]
    for name, spec in (("test", test), ("dev", dev)):
        if name not in chosen:
            k = _count(spec, len(ids))
            chosen[name], pool = tuple(sorted(pool[:k])), pool[k:]
    if set(chosen["dev"]) & set(chosen["test"]):
        raise DataError(f"data.dev and data.test share articles: {sorted(set(chosen['dev']) & set(chosen['test']))}")
    train = tuple(x for x in ids if x not in set(chosen["dev"]) | set(chosen["test"]))
    if not train:
        raise DataError(f"no article left to train on ({len(ids)} articles, dev {len(chosen['dev'])}, "
                        f"test {len(chosen['test'])})")
    return train, chosen["dev"], chosen["test"]


@dataclass
class Features:
    """Windows of a list of articles, as rows the Trainer batches, and the way back to words."""

    articles: list[TaggedWords]
    windows: list[list[Window]]               # per article
    rows: list[dict]                          # {"input_ids": [...], "labels": [...]} per window
    index: list[tuple[int, int]]              # (article, window) of each row
    report: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]


def window_labels(window: Window, tag_ids: Sequence[int]) -> list[int]:
    """Labels of one window: the word's tag id at its first sub-word, -100 elsewhere.

    >>> w = Window(0, 2, [2, 10, 11, 12, 3], [None, 0, 0, 1, None])  # "Prabowo" -> 2 sub-words
    >>> window_labels(w, [1, 0])
    [-100, 1, -100, 0, -100]
    """
    labels = [IGNORE] * len(window.input_ids)
    for pos, word in window.first_subword_positions():
        labels[pos] = tag_ids[word]
    return labels


def encode_articles(tokenizer: Any, articles: Sequence[TaggedWords], max_length: int, overlap: int,
                    tags: Sequence[str] | None = None) -> Features:
    """Cut articles into windows exactly as inference does and label the first sub-words."""
    tags = list(tags or bio_tags())
    tag_id = {t: i for i, t in enumerate(tags)}
    specials = special_tokens(tokenizer)
    budget = max_length - len(specials[0]) - len(specials[1])
    windows, rows, index = [], [], []
    no_subword: list[dict] = []
    too_long = 0
    for a_i, art in enumerate(articles):
        try:
            ids = [tag_id[t] for t in art.tags]
        except KeyError as e:
            raise DataError(f"{art.doc_id}: tag {e.args[0]!r} is not one of the model's labels") from None
        ws = encode_windows(tokenizer, art.tokens, max_length, overlap, specials)
        seen = [False] * len(art.tokens)
        for w_i, w in enumerate(ws):
            rows.append({"input_ids": list(w.input_ids), "labels": window_labels(w, ids)})
            index.append((a_i, w_i))
            for _, word in w.first_subword_positions():
                seen[word] = True
            if w.last_word - w.first_word == 1 and len(w.input_ids) - len(specials[0]) - len(specials[1]) >= budget:
                too_long += 1
        for k, ok in enumerate(seen):
            if not ok:
                no_subword.append({"doc_id": art.doc_id, "word": k, "text": art.tokens[k], "tag": art.tags[k]})
        windows.append(ws)
    report = {
        "articles": len(articles), "words": sum(len(a.tokens) for a in articles), "windows": len(rows),
        "subwords": sum(len(r["input_ids"]) for r in rows),
        "words_without_subwords": len(no_subword),
        "labelled_words_without_subwords": [x for x in no_subword if x["tag"] != "O"],
        "words_longer_than_window": too_long,
    }
    return Features(list(articles), windows, rows, index, report)


class Collator:
    """Pads a batch of rows to its longest window (a multiple of ``pad_to_multiple_of`` on GPUs).

    Written out rather than ``DataCollatorForTokenClassification``: rows are already ids, so
    padding is two tensor fills, with no per-batch trip through the tokenizer.
    """

    def __init__(self, pad_id: int, pad_to_multiple_of: int | None = None):
        self.pad_id = pad_id
        self.multiple = pad_to_multiple_of

    def __call__(self, rows: Sequence[dict]) -> dict:
        import torch

        n = max(len(r["input_ids"]) for r in rows)
        if self.multiple:
            n = math.ceil(n / self.multiple) * self.multiple
        ids = torch.full((len(rows), n), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        has_labels = "labels" in rows[0]
        labels = torch.full((len(rows), n), IGNORE, dtype=torch.long) if has_labels else None
        for i, r in enumerate(rows):
            k = len(r["input_ids"])
            ids[i, :k] = torch.tensor(r["input_ids"], dtype=torch.long)
            mask[i, :k] = 1
            if has_labels:
                labels[i, :k] = torch.tensor(r["labels"], dtype=torch.long)
        batch = {"input_ids": ids, "attention_mask": mask}
        if has_labels:
            batch["labels"] = labels
        return batch

