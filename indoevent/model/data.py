"""Articles -> windowed, labelled training features.

Data flows one way: the gold Label Studio export (through the converter) and CoNLL column
files give word-level articles; :func:`encode_articles` puts them in a ``datasets.Dataset`` (the
features ``indoevent convert`` writes) and :func:`encode_dataset` cuts each article into the very
windows inference uses (:func:`indoevent.model.windows.encode_windows`) with ``Dataset.map``,
labelling each word's first sub-word, -100 elsewhere. A word seen in two overlapping windows carries
its label in both. The windows live in Arrow tables, not Python lists, and are cached by
fingerprint (the articles, the tokenizer, the window sizes): a rerun on the same data reads them back,
and a corpus larger than memory flows through. Nothing is truncated silently: words the tokenizer
turns into no sub-word, and words longer than a window, are counted in the report (and named when
they carry a label).
No torch, transformers or datasets import at module level: the tokenizer is passed in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..annotation.conll import ConllError, read_conll, read_hf
from ..annotation.convert import ConversionError, articles_dataset, convert_export
from ..annotation.lsexport import ExportError
from ..schema import bio_tags
from ..text.iob import TaggedWords
from .partial import n_chunks, tag_bits, unpack_bits
from .splits import FrozenSplits, load_splits
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
    weights: dict[str, float] = field(default_factory=dict)  # loss weight by article id, where not 1.0

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
    weights: dict[str, float] = {}
    report["conll"] = []
    for src in data.conll:
        try:
            arts, conll_rep = (read_hf(src.hf, src.hf_config, src.split, src.label_map, src.labels) if src.hf
                               else read_conll(src.path, src.label_map, labels=src.labels))
        except ConllError as e:
            raise DataError(str(e)) from None
        extra[src.split] += arts
        weights |= {a.doc_id: src.weight for a in arts if src.weight != 1.0}
        if src.path:  # a dataset loaded by datasets is named in the report, not hashed
            files.append(str(src.path))
        report["conll"].append({**conll_rep.to_json(), "split": src.split, "weight": src.weight})
    ids = [a.doc_id for a in gold + extra["train"] + extra["dev"] + extra["test"]]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise DataError(f"article ids are not unique across data sources: {', '.join(dup)}")
    return Corpus(gold, extra, files, report, weights)


def _count(spec: float | int | Sequence[str], n: int) -> int:
    """How many articles a dev or test spec takes: a share (float) or a number (int); a list of ids
    is taken by :func:`split_ids` itself."""
    if isinstance(spec, float):
        return 0 if spec == 0 else max(1, round(n * spec))
    if isinstance(spec, int):
        return spec
    raise TypeError(f"a share or a number of articles, got {spec!r}")


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


def split_corpus(corpus: Corpus, data: Any) -> dict[str, list[TaggedWords]]:
    """Gold articles split by article (data.splits, else data.dev and data.test), plus CoNLL
    sentences by their own split."""
    by_id = corpus.by_id()
    if data.splits and corpus.gold:
        frozen = frozen_splits(corpus, data.splits)
        ids = (frozen.train, frozen.dev, frozen.test)
    else:
        ids = split_ids(list(by_id), data.dev, data.test, data.split_seed) if corpus.gold else ((), (), ())
    return {name: [by_id[i] for i in part] + corpus.extra[name]
            for name, part in zip(("train", "dev", "test"), ids, strict=True)}


def frozen_splits(corpus: Corpus, path: str) -> FrozenSplits:
    """data.splits, checked against the gold: every gold article is in exactly one split."""
    try:
        frozen = load_splits(path)
    except ValueError as e:
        raise DataError(f"data.splits: {e}") from e
    gold = {a.doc_id for a in corpus.gold}
    listed = set(frozen.train) | set(frozen.dev) | set(frozen.test)
    if gold != listed:
        raise DataError(f"data.splits {path} does not match data.export: in no split: "
                        f"{', '.join(sorted(gold - listed)) or 'none'}; not in the export: "
                        f"{', '.join(sorted(listed - gold)) or 'none'}")
    return frozen


@dataclass
class Features:
    """Windows of a list of articles, as rows the Trainer batches, and the way back to words."""

    articles: list[TaggedWords]
    rows: Any                                 # datasets.Dataset: {"input_ids", "labels"} per window
    by_article: Any                           # datasets.Dataset: each article's windows (see encode_dataset)
    report: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]

    @property
    def windows(self) -> list[list[Window]]:
        """Each article's windows (built on access: a large corpus keeps them in Arrow)."""
        return [[Window(a, b, ids, [None if w < 0 else w for w in wids])
                 for a, b, ids, wids in zip(r["first_word"], r["last_word"], r["input_ids"], r["word_ids"],
                                            strict=True)]
                for r in self.by_article]

    @property
    def index(self) -> list[tuple[int, int]]:
        """``(article, window)`` of each row."""
        return [(a, k) for a, n in enumerate(self.by_article["n_windows"]) for k in range(n)]


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


def window_bits(window: Window, bits: Sequence[list[int]]) -> list[list[int]]:
    """Allowed-tag bits of one window: the word's bits at its first sub-word, none elsewhere (as
    :func:`window_labels` puts -100 there).

    >>> w = Window(0, 2, [2, 10, 11, 12, 3], [None, 0, 0, 1, None])
    >>> window_bits(w, [[2], [5]])
    [[0], [2], [0], [5], [0]]
    """
    row = [[0] * len(bits[0]) if bits else [0]] * len(window.input_ids)
    for pos, word in window.first_subword_positions():
        row[pos] = bits[word]
    return row


def encode_articles(tokenizer: Any, articles: Sequence[TaggedWords], max_length: int, overlap: int,
                    tags: Sequence[str] | None = None, weights: Mapping[str, float] | None = None) -> Features:
    """Cut articles into windows exactly as inference does and label the first sub-words: the
    articles as a ``Dataset`` of ``indoevent convert``'s features, through :func:`encode_dataset`.
    ``weights`` (article id -> loss weight, 1.0 if absent) gives each window its article's weight."""
    unknown = sorted({t for a in articles for t in a.tags} - set(bio_tags()))
    if unknown:
        doc = next(a.doc_id for a in articles if unknown[0] in a.tags)
        raise DataError(f"{doc}: tag {unknown[0]!r} is not one of the model's labels")
    dataset = articles_dataset(list(articles))
    if any(a.allowed for a in articles):  # partial labels: each word's allowed tags as bits (see partial.py)
        dataset = dataset.add_column("allowed_bits", [allowed_bits(a, tags or bio_tags()) for a in articles])
    if weights and any(a.doc_id in weights for a in articles):  # only then: unweighted runs keep their windows
        dataset = dataset.add_column("weight", [float(weights.get(a.doc_id, 1.0)) for a in articles])
    return encode_dataset(tokenizer, dataset, max_length, overlap, tags, list(articles))


def allowed_bits(article: TaggedWords, tags: Sequence[str]) -> list[list[int]]:
    """Per word, the bit set of the tags it may take: its ``allowed`` tags, else its own tag only.

    >>> a = TaggedWords("x", "Joko datang", ["Joko", "datang"], [0, 5], [4, 11], ["B-PER", "O"],
    ...                 allowed=[("B-PER",), ("O", "B-AGREE")])
    >>> allowed_bits(a, ["O", "B-PER", "B-AGREE"])
    [[2], [5]]
    """
    index = {t: i for i, t in enumerate(tags)}
    words = article.allowed or [(t,) for t in article.tags]
    if len(words) != len(article.tags):
        raise DataError(f"{article.doc_id}: {len(words)} allowed tag sets for {len(article.tags)} words")
    try:
        return [tag_bits((index[t] for t in w), len(tags)) for w in words]
    except KeyError as e:
        raise DataError(f"{article.doc_id}: allowed tag {e.args[0]!r} is not one of the model's labels") from None


def _article_windows(batch: dict, tokenizer: Any, max_length: int, overlap: int, tag_ids: list[int]) -> dict:
    """``map`` function of :func:`encode_dataset`: each article's windows, labels (and, with partial labels,
    each labelled position's allowed tags as bits) and the words they lose."""
    specials = special_tokens(tokenizer)
    budget = max_length - len(specials[0]) - len(specials[1])
    bits = batch.get("allowed_bits")
    out: dict[str, list] = {k: [] for k in ("first_word", "last_word", "input_ids", "word_ids", "labels",
                                            "n_windows", "n_words", "n_subwords", "no_subword", "too_long")}
    if bits is not None:
        out["label_bits"] = []
    if "weight" in batch:
        out["weight"] = []
    for k, (tokens, tags) in enumerate(zip(batch["tokens"], batch["tags"], strict=True)):
        ids = [tag_ids[t] for t in tags]
        ws = encode_windows(tokenizer, tokens, max_length, overlap, specials)
        seen = [False] * len(tokens)
        for w in ws:
            for _, word in w.first_subword_positions():
                seen[word] = True
        out["first_word"].append([w.first_word for w in ws])
        out["last_word"].append([w.last_word for w in ws])
        out["input_ids"].append([list(w.input_ids) for w in ws])
        out["word_ids"].append([[-1 if x is None else x for x in w.word_ids] for w in ws])
        out["labels"].append([window_labels(w, ids) for w in ws])
        if bits is not None:
            out["label_bits"].append([window_bits(w, bits[k]) for w in ws])
        if "weight" in batch:  # every window of a source weighs as its source
            out["weight"].append([batch["weight"][k]] * len(ws))
        out["n_windows"].append(len(ws))
        out["n_words"].append(len(tokens))
        out["n_subwords"].append(sum(len(w.input_ids) for w in ws))
        out["no_subword"].append([{"word": k, "text": tokens[k], "tag": tags[k]}
                                  for k, ok in enumerate(seen) if not ok])
        out["too_long"].append(sum(1 for w in ws if w.last_word - w.first_word == 1
                                   and len(w.input_ids) - len(specials[0]) - len(specials[1]) >= budget))
    return out


def _rows(batch: dict) -> dict:
    """``map`` function of :func:`encode_dataset`: one row per window, in article order."""
    out = {"input_ids": [x for ws in batch["input_ids"] for x in ws],
           "labels": [x for ws in batch["labels"] for x in ws]}
    for key in ("label_bits", "weight"):
        if key in batch:
            out[key] = [x for ws in batch[key] for x in ws]
    return out


def _code_version() -> list:
    """What the cached windows depend on besides the data: this module's and ``windows.py``'s code
    (``datasets`` hashes a module's function by name, so an edit would not change the key) and the
    tokenizer libraries' versions."""
    import tokenizers
    import transformers

    return [Path(__file__).read_bytes(), Path(encode_windows.__code__.co_filename).read_bytes(),
            tokenizers.__version__, transformers.__version__]


def _cache_file(fingerprint: str) -> str | None:
    """Where the windows of an in-memory dataset are kept (``datasets`` caches only datasets read
    from files, next to them); None where the cache folder cannot be written."""
    from datasets import config

    folder = Path(config.HF_DATASETS_CACHE) / "indoevent-windows"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return str(folder / f"{fingerprint}.arrow")


def encode_dataset(tokenizer: Any, dataset: Any, max_length: int, overlap: int, tags: Sequence[str] | None = None,
                   articles: Sequence[TaggedWords] = ()) -> Features:
    """Window a ``datasets.Dataset`` of articles (a split of what ``indoevent convert`` writes, or
    :func:`~indoevent.annotation.convert.articles_dataset`) with two ``map`` calls: articles -> their
    windows (``by_article``), then one row per window (``rows``). Each result is cached under a
    fingerprint of its input and of the tokenizer, window sizes and labels, so a rerun reads it back.
    ``articles`` (the same articles as :class:`TaggedWords`) are kept for scoring on raw text."""
    import datasets
    from datasets.fingerprint import Hasher

    tags = list(tags or bio_tags())
    tag_id = {t: i for i, t in enumerate(tags)}
    names = dataset.features["tags"].feature.names
    missing = [n for n in names if n not in tag_id]
    if missing:  # the dataset's labels must all be the model's (an article may use any of them)
        raise DataError(f"tag {missing[0]!r} is not one of the model's labels")
    tag_ids = [tag_id[n] for n in names]
    keep_bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        key = Hasher.hash([dataset._fingerprint, tokenizer, max_length, overlap, tag_ids, _code_version()])
        cached = {} if dataset.cache_files else {"cache_file_name": _cache_file(key)}
        by_article = dataset.map(_article_windows, batched=True, remove_columns=dataset.column_names,
                                 fn_kwargs={"tokenizer": tokenizer, "max_length": max_length, "overlap": overlap,
                                            "tag_ids": tag_ids}, new_fingerprint=key, **cached)
        key = Hasher.hash([key, "rows"])
        cached = {} if dataset.cache_files else {"cache_file_name": _cache_file(key)}
        rows = by_article.map(_rows, batched=True, remove_columns=by_article.column_names, new_fingerprint=key,
                              **cached)
    finally:
        if keep_bars:
            datasets.enable_progress_bars()
    report = _report(dataset, by_article, rows)
    return Features(list(articles), rows, by_article, report)


def _report(dataset: Any, by_article: Any, rows: Any) -> dict:
    """What windowing kept and lost, from per-article counts (no column of the corpus is read whole)."""
    names = dataset.features["tags"].feature.names
    lost = [{"doc_id": dataset[i]["doc_id"], **w, "tag": names[w["tag"]]}
            for i, ws in enumerate(by_article["no_subword"]) for w in ws]
    return {
        "articles": len(dataset), "words": sum(by_article["n_words"]), "windows": len(rows),
        "subwords": sum(by_article["n_subwords"]),
        "words_without_subwords": len(lost),
        "labelled_words_without_subwords": [x for x in lost if x["tag"] != "O"],
        "words_longer_than_window": sum(by_article["too_long"]),
    }


class Collator:
    """Pads a batch of rows to its longest window (a multiple of ``pad_to_multiple_of`` on GPUs).

    Written out rather than ``DataCollatorForTokenClassification``: rows are already ids, so
    padding is two tensor fills, with no per-batch trip through the tokenizer.
    """

    def __init__(self, pad_id: int, pad_to_multiple_of: int | None = None, n_tags: int | None = None):
        self.pad_id = pad_id
        self.multiple = pad_to_multiple_of
        self.n_tags = n_tags or len(bio_tags())

    def __call__(self, rows: Sequence[dict]) -> dict:
        import torch

        n = max(len(r["input_ids"]) for r in rows)
        if self.multiple:
            n = math.ceil(n / self.multiple) * self.multiple
        ids = torch.full((len(rows), n), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        has_labels = "labels" in rows[0]
        labels = torch.full((len(rows), n), IGNORE, dtype=torch.long) if has_labels else None  # None: no labels
        for i, r in enumerate(rows):
            k = len(r["input_ids"])
            ids[i, :k] = torch.tensor(r["input_ids"], dtype=torch.long)
            mask[i, :k] = 1
            if labels is not None:
                labels[i, :k] = torch.tensor(r["labels"], dtype=torch.long)
        batch = {"input_ids": ids, "attention_mask": mask}
        if labels is not None:
            batch["labels"] = labels
        if "label_bits" in rows[0]:  # partial labels: the trainer's loss reads the allowed tags
            bits = torch.zeros((len(rows), n, n_chunks(self.n_tags)), dtype=torch.long)
            for i, r in enumerate(rows):
                bits[i, : len(r["label_bits"])] = torch.tensor(r["label_bits"], dtype=torch.long)
            batch["label_mask"] = unpack_bits(bits, self.n_tags)
        if "weight" in rows[0]:  # per-source loss weights: the trainer's loss weighs each window's words
            batch["loss_weight"] = torch.tensor([r["weight"] for r in rows], dtype=torch.float)
        return batch

