"""The one prediction path: raw article text -> entity and trigger spans with scores.

Data flow, per article::

    text -> words (tokenize) -> windows (encode_windows, exactly as in training; each word's
            sub-words remembered across articles, windows.WordPieces)
         -> length-sorted batches across articles -> forward -> per word, the tag from the
            window where the word is furthest from an edge -> clean IOB2 -> character spans

Dev scoring during training, ``indoevent evaluate``, ``indoevent extract`` and the Label
Studio backend all predict through :class:`Predictor`, so every score is the score of the
spans users get. Nothing is truncated: every word of every article gets a prediction (a word
the tokenizer turns into no sub-word at all is tagged O). Only a batch's logits are alive at
any time; per article the predictor keeps one tag id and one probability per word, so a
500,000-character article runs in bounded memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..document import Span
from ..schema import is_trigger
from ..text.iob import clean_word_spans, tags_to_word_spans
from ..text.tokenize import Word, tokenize
from .runtime import DEFAULT_MAX_LENGTH, DEFAULT_OVERLAP, Forward, load_run
from .windows import Window, WordPieces, best_window, encode_windows, special_tokens

PAD_SLACK = 0.1  # a batch's windows are at least 90% as long as its longest
# Positions per forward on CPU (8 windows of 512): at short windows 8 windows left each forward's
# fixed cost (masks, Python, small matmuls) at 10% of prediction time (128-position windows, measured
# with benchmarks/predict_parts.py); the same spans, probabilities within 1e-6.
CPU_BATCH_POSITIONS = 4096


@dataclass
class Prediction:
    """The spans the model found in one article. Offsets are code points into ``text``, end-exclusive."""

    text: str
    entities: list[Span]
    triggers: list[Span]
    id: str | None = None
    # Mean probability of the chosen tag over the article's words: low means worth a review.
    score: float | None = None
    stats: dict = field(default_factory=dict)  # words, windows, tokens, seconds
    words: list[Word] = field(default_factory=list, repr=False)

    @property
    def spans(self) -> list[Span]:
        return sorted(self.entities + self.triggers)


def id_text_pairs(texts: Iterable[str], ids: Iterable[str | None] | None = None) -> Iterator[tuple[str | None, str]]:
    """``(id, text)`` pairs of texts and their ids (None for each when there are none)."""
    return iter(zip(ids, texts, strict=True)) if ids is not None else ((None, t) for t in texts)


@dataclass
class ForwardStats:
    """Where the time went, summed over all calls of an :class:`Extractor`."""

    articles: int = 0
    words: int = 0
    windows: int = 0
    tokens: int = 0          # real sub-word positions fed to the model
    padded_tokens: int = 0   # positions including padding
    batches: int = 0
    forward_seconds: float = 0.0
    prepare_seconds: float = 0.0  # word tokenizer, sub-word tokenizer, windows
    finish_seconds: float = 0.0   # decoding spans, linking frames

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}



@dataclass
class _Pending:
    """One article between preparation and decoding."""

    index: int
    id: str | None
    text: str
    words: list[Word]
    windows: list[Window]
    picks: list[tuple[np.ndarray, np.ndarray]]  # per window: (positions, word indices) it decides
    tag: np.ndarray    # per word: label id, -1 until predicted
    prob: np.ndarray   # per word: probability of that label
    seconds: float = 0.0



class Predictor:
    """Entity and trigger spans from raw article text.

    ``forward`` is any callable ``(input_ids, attention_mask) -> (label ids, probabilities)``
    over int64 arrays ``(batch, length)`` (:mod:`indoevent.model.runtime`); :meth:`from_pretrained`
    opens a run folder with PyTorch or ONNX Runtime.
    """

    def __init__(self, forward: Forward, tokenizer: Any, id2label: dict[int, str],
                 max_length: int = DEFAULT_MAX_LENGTH, overlap: int = DEFAULT_OVERLAP, name: str = "indoevent",
                 batch_size: int = 8, sort_windows: int | None = None, version: str | None = None,
                 runtime: str | None = None):
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("prediction needs a fast tokenizer (word ids per sub-word); "
                             "save the run's tokenizer with tokenizer.json")
        self.forward = forward
        self.tokenizer = tokenizer
        self.labels = [id2label[i] for i in range(len(id2label))]
        for lab in self.labels:
            if lab != "O" and lab[:2] not in ("B-", "I-"):
                raise ValueError(f"label {lab!r} is not IOB2 (O, B-X, I-X)")
        self.max_length = max_length
        self.overlap = overlap
        self.name = name
        # What produced a result: the run and its weights (and int8 or not). A results file
        # holds one version only, so a resumed extraction never mixes two models.
        self.version = version or name
        # What runs the model (torch-fp32-cpu, onnxruntime-fp32-cpu ...), in every result's stats.
        self.runtime: str = runtime if runtime else getattr(forward, "name", type(forward).__name__)
        self.batch_size = batch_size
        # How many windows are length-sorted together: more gives less padding, fewer give
        # results sooner (and less to redo after a crash).
        self.sort_windows = sort_windows or max(64, 8 * batch_size)
        self.specials = special_tokens(tokenizer)
        self.pieces = WordPieces(tokenizer)  # each word's sub-words, remembered across articles
        self.o_id = self.labels.index("O") if "O" in self.labels else -1
        # Whole articles are tokenised before being cut into windows; the tokenizer's warning
        # about sequences longer than the model's limit does not apply.
        if isinstance(getattr(tokenizer, "deprecation_warnings", None), dict):
            tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.stats = ForwardStats()

    @classmethod
    def from_pretrained(cls, run: str | Path, device: str | None = None, precision: str = "auto",
                        quantize: str | None = None, runtime: str = "auto", batch_size: int | None = None,
                        threads: int | None = None) -> Predictor:
        """Load a run directory (or a Hugging Face hub id); see :func:`~indoevent.model.runtime.load_run`.
        ``batch_size``: windows per forward (default 32 on GPU; on CPU 4,096 positions: 8 windows of 512)."""
        r = load_run(run, device, precision, quantize, runtime, threads)
        if batch_size is None:
            batch_size = 32 if r.device.startswith("cuda") else max(8, CPU_BATCH_POSITIONS // r.max_length)
        return cls(r.forward, r.tokenizer, r.id2label, r.max_length, r.overlap, name=r.name,
                   batch_size=batch_size, version=r.version, runtime=r.runtime)

    def predict(self, text: str, id: str | None = None) -> Prediction:
        """Spans of one article."""
        return next(self.predict_many([text], ids=None if id is None else [id]))

    def predict_many(self, texts: Iterable[str], batch_size: int | None = None,
                     ids: Iterable[str | None] | None = None) -> Iterator[Prediction]:
        """Articles in input order, lazily (see :meth:`predict_pairs`); ``ids`` default to the
        articles' positions."""
        return self.predict_pairs(id_text_pairs(texts, ids), batch_size)

    def predict_pairs(self, articles: Iterable[tuple[str | None, str]],
                      batch_size: int | None = None) -> Iterator[Prediction]:
        """``(id, text)`` articles in input order, lazily: windows of up to ``sort_windows`` at a
        time are sorted by length and batched (``batch_size`` windows per forward) across articles."""
        batch_size = batch_size or self.batch_size
        pending: list[_Pending] = []
        n_windows = 0
        for index, (art_id, text) in enumerate(articles):
            p = self._prepare(index, art_id, text)
            pending.append(p)
            n_windows += len(p.windows)
            if n_windows >= self.sort_windows:
                yield from self._run(pending, batch_size)
                pending, n_windows = [], 0
        if pending:
            yield from self._run(pending, batch_size)

    def _prepare(self, index: int, art_id: str | None, text: str) -> _Pending:
        if not isinstance(text, str):
            raise TypeError(f"article {art_id if art_id is not None else index}: text must be str, "
                            f"got {type(text).__name__}")
        t0 = time.perf_counter()
        words = tokenize(text)
        windows = encode_windows(self.tokenizer, [w.text for w in words], self.max_length, self.overlap,
                                 self.specials, self.pieces) if words else []
        best = np.asarray(best_window(windows, len(words)), dtype=np.int64)
        picks = [self._picks(w, k, best) for k, w in enumerate(windows)]
        n = len(words)
        p = _Pending(index, art_id, text, words, windows, picks,
                     np.full(n, -1, dtype=np.int32), np.zeros(n, dtype=np.float32))
        p.seconds = time.perf_counter() - t0
        self.stats.prepare_seconds += p.seconds
        return p

    def _picks(self, window: Window, k: int, best: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of window ``k`` that decide a word (its first sub-word, where ``k`` is the
        word's best window) and those words: ``Window.first_subword_positions`` on arrays."""
        before, after = len(self.specials[0]), len(self.specials[1])
        wid = np.asarray(window.word_ids[before : len(window.word_ids) - after], dtype=np.int64)
        first = np.flatnonzero(np.diff(wid, prepend=-1) != 0)
        words = wid[first]
        keep = best[words] == k
        return first[keep] + before, words[keep]

    def _run(self, pending: list[_Pending], batch_size: int) -> Iterator[Prediction]:
        for batch in self._batches(pending, batch_size):
            wins = [pending[a].windows[k] for a, k in batch]
            width = max(len(w.input_ids) for w in wins)
            ids = np.full((len(wins), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(wins), width), dtype=np.int64)
            for r, w in enumerate(wins):
                ids[r, : len(w.input_ids)] = w.input_ids
                mask[r, : len(w.input_ids)] = 1
            t0 = time.perf_counter()
            tags, probs = self.forward(ids, mask)
            dt = time.perf_counter() - t0
            self.stats.forward_seconds += dt
            self.stats.batches += 1
            self.stats.windows += len(wins)
            self.stats.tokens += int(mask.sum())
            self.stats.padded_tokens += ids.size
            for r, (a, k) in enumerate(batch):
                p = pending[a]
                pos, wid = p.picks[k]
                p.tag[wid] = tags[r, pos]
                p.prob[wid] = probs[r, pos]
                p.seconds += dt / len(wins)
        for p in pending:
            yield self._finish(p)

    def _batches(self, pending: list[_Pending], batch_size: int) -> list[list[tuple[int, int]]]:
        """(article, window) pairs sorted by length, cut into batches of at most ``batch_size``
        whose windows are within :data:`PAD_SLACK` of the longest: padding is compute thrown
        away (on a CPU, one 512-token window already keeps the cores busy)."""
        # Longest first: a GPU out-of-memory error shows up on the first batch, not the last.
        order = sorted(((len(p.windows[k].input_ids), a, k) for a, p in enumerate(pending)
                        for k in range(len(p.windows))), key=lambda x: -x[0])
        batches: list[list[tuple[int, int]]] = []
        longest = 0
        for n, a, k in order:
            if not batches or len(batches[-1]) == batch_size or n < (1 - PAD_SLACK) * longest:
                batches.append([])
                longest = n
            batches[-1].append((a, k))
        return batches

    def _finish(self, p: _Pending) -> Prediction:
        t0 = time.perf_counter()
        covered = p.tag >= 0
        entities: list[Span] = []
        triggers: list[Span] = []
        for i, j, label in self._word_spans(p):
            a, b = p.words[i].start, p.words[j - 1].end
            score = float(p.prob[i] if j - i == 1 else p.prob[i:j].mean())  # the same float32 value
            if is_trigger(label):
                triggers.append(Span(a, b, label, p.text[a:b], score, f"t{len(triggers) + 1}"))
            else:
                entities.append(Span(a, b, label, p.text[a:b], score, f"e{len(entities) + 1}"))
        art_score = float(p.prob[covered].mean()) if covered.any() else None
        p.seconds += time.perf_counter() - t0
        self.stats.finish_seconds += time.perf_counter() - t0
        self.stats.articles += 1
        self.stats.words += len(p.words)
        art_id = p.id if p.id is not None else str(p.index)
        return Prediction(p.text, entities, triggers, art_id, art_score,
                          {"words": len(p.words), "windows": len(p.windows),
                           "tokens": sum(len(w.input_ids) for w in p.windows), "seconds": round(p.seconds, 4),
                           "runtime": self.runtime},
                          p.words)

    def _word_spans(self, p: _Pending) -> list[tuple[int, int, str]]:
        """Clean word spans ``(first, last + 1, label)`` of an article's predicted tags: what
        ``clean_tags`` then ``tags_to_word_spans`` give, decoded only where a word is not O (a span
        never crosses an O word, so the O words between two runs of tagged words read as one O)."""
        # A word with no sub-word (characters the tokenizer drops) is O, never guessed.
        tagged = np.flatnonzero((p.tag >= 0) & (p.tag != self.o_id)).tolist()
        seq: list[str] = []   # the tags of the tagged words, an O wherever untagged words were left out
        where: list[int] = []  # the word of each tag in seq
        prev = -2
        for k, t in zip(tagged, p.tag[tagged].tolist(), strict=True):
            if k != prev + 1:
                seq.append("O")
                where.append(-1)
            seq.append(self.labels[t])
            where.append(k)
            prev = k
        spans = [(where[i], where[j - 1] + 1, label) for i, j, label in tags_to_word_spans(seq)]
        return clean_word_spans(spans, {k: p.words[k].text for k in tagged})
