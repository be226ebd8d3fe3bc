"""Apply a trained run to new articles: spans with scores, event frames, fast batch extraction.

Data flow, per article::

    text -> words (tokenize) -> windows (encode_windows, exactly as in training)
         -> length-sorted batches across articles -> forward -> per word, the tag from the
            window where the word is furthest from an edge -> spans -> event frames

Nothing is truncated: every word of every article gets a prediction (a word the tokenizer
turns into no sub-word at all is tagged O). Only a batch's logits are alive at any time;
per article the extractor keeps one tag id and one probability per word, so a
500,000-character article runs in bounded memory.

Usage (a trained run; the tests build one offline)::

    from indoevent import Extractor
    ex = Extractor.from_pretrained("models/my-run")          # device="cuda", quantize="int8" ...
    art = ex.extract("Presiden Rusia Vladimir Putin bertemu Kim Jong Un di Beijing.")
    [(s.label, s.text) for s in art.entities]   # [('GPE', 'Rusia'), ('PER', 'Vladimir Putin'), ...]
    art.events[0].arguments["actor"]            # (Span(..., 'PER', 'Vladimir Putin'),)
    for art in ex.extract_many(texts, batch_size=16): ...
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .bio import clean_tags, tags_to_word_spans
from .frames import Frame, frames_from_relations, link_rules
from .labels import TEXT_NAME, bio_tags, is_trigger
from .spans import Document, Relation, Span
from .tokenize import Word, tokenize
from .windows import Window, best_window, encode_windows, special_tokens

DEFAULT_MAX_LENGTH = 512
DEFAULT_OVERLAP = 64
RUN_KEY = "indoevent"  # the run's metadata in config.json (written by training)
ONNX_DIR = "onnx"      # where `indoevent export-onnx` puts its files inside a run
PRECISIONS = ("fp32", "fp16", "bf16")
PAD_SLACK = 0.1        # a batch's windows are at least 90% as long as its longest


# --- results ------------------------------------------------------------------------------------
@dataclass
class Article:
    """What the model found in one article. Offsets are code points into ``text``, end-exclusive."""

    text: str
    entities: list[Span]
    triggers: list[Span]
    events: list[Frame]
    id: str | None = None
    # Mean probability of the chosen tag over the article's words: low means worth a review.
    score: float | None = None
    stats: dict = field(default_factory=dict)  # words, windows, tokens, seconds

    @property
    def spans(self) -> list[Span]:
        return sorted(self.entities + self.triggers)

    def relations(self) -> list[Relation]:
        return [Relation(f.trigger.id, s.id, role) for f in self.events for role, args in f.arguments.items()
                for s in args]

    def to_dict(self, with_text: bool = False) -> dict:
        d: dict[str, Any] = {"id": self.id}
        if with_text:
            d["text"] = self.text
        d.update({"entities": [s.to_dict() for s in self.entities],
                  "triggers": [s.to_dict() for s in self.triggers],
                  "events": [f.to_dict() for f in self.events],
                  "score": None if self.score is None else round(self.score, 4)})
        return d

    def to_document(self) -> Document:
        """The article as a :class:`~indoevent.spans.Document` (spans and argument relations)."""
        return Document(doc_id=str(self.id), text=self.text, spans=self.spans, relations=self.relations())

    def to_label_studio(self, model_version: str, data: dict | None = None) -> dict:
        """A Label Studio task holding this article as a prediction (per-span scores,
        relations for the event arguments), ready to import next to the labeling config."""
        from .lsexport import document_to_results

        task_data = {TEXT_NAME: self.text, "doc_id": self.id, **(data or {})}
        return {"data": task_data,
                "predictions": [{"model_version": model_version,
                                 "score": None if self.score is None else round(self.score, 4),
                                 "result": document_to_results(self.to_document())}]}


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


# --- model runtimes -----------------------------------------------------------------------------
def _softmax_max(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position, the best label id and its probability."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z, dtype=np.float32)
    best = logits.argmax(axis=-1)
    return best, np.take_along_axis(e, best[..., None], axis=-1)[..., 0] / e.sum(axis=-1)


class TorchForward:
    """A ``transformers`` token-classification model on CPU or GPU (fp16/bf16 autocast on GPU only)."""

    def __init__(self, model: Any, device: str = "cpu", precision: str = "fp32"):
        import torch

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if precision != "fp32" and not str(device).startswith("cuda"):
            # Measured: bf16 matmuls on a CPU without native support run 4.5x slower.
            raise ValueError(f"precision {precision} is for GPUs only; use fp32 (or --quantize int8) on {device}")
        self.torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
        self.name = f"torch-{precision}-{self.device.type}"

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
            mask = torch.from_numpy(attention_mask).to(self.device, non_blocking=True)
            with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
                logits = self.model(input_ids=ids, attention_mask=mask).logits
            # Only the best label and its probability leave the device.
            probs = logits.float().softmax(-1)
            p, y = probs.max(-1)
            return y.cpu().numpy(), p.cpu().numpy()


class OnnxForward:
    """An ONNX Runtime session over a model written by :func:`indoevent.onnx_export.export_onnx`."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.name = f"onnxruntime-{Path(path).stem}"

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        (logits,) = self.session.run(["logits"], feed)
        return _softmax_max(logits)


# --- the extractor ------------------------------------------------------------------------------
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


def run_info(config: Any) -> dict:
    """The run metadata written by training (``config.indoevent``), with defaults for a plain
    Hugging Face token-classification checkpoint."""
    meta = getattr(config, RUN_KEY, None) or {}
    if not isinstance(meta, dict):
        raise ValueError(f"config.{RUN_KEY} must be a mapping, got {type(meta).__name__}")
    return {"schema_version": meta.get("schema_version"), "max_length": int(meta.get("max_length", DEFAULT_MAX_LENGTH)),
            "overlap": int(meta.get("overlap", DEFAULT_OVERLAP)), "base_model": meta.get("base_model"),
            "run_name": meta.get("run_name"), "from_config": bool(meta)}


class Extractor:
    """Entity and trigger spans plus event frames from raw article text.

    ``forward`` is any callable ``(input_ids, attention_mask) -> (label ids, probabilities)``
    over int64 arrays ``(batch, length)``; :meth:`from_pretrained` picks PyTorch or ONNX Runtime.
    """

    def __init__(self, forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], tokenizer: Any,
                 id2label: dict[int, str], max_length: int = DEFAULT_MAX_LENGTH, overlap: int = DEFAULT_OVERLAP,
                 name: str = "indoevent", batch_size: int = 8, linker: Callable | None = link_rules,
                 sort_windows: int | None = None, version: str | None = None):
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("the extractor needs a fast tokenizer (word ids per sub-word); "
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
        self.batch_size = batch_size
        self.linker = linker
        # How many windows are length-sorted together: more gives less padding, fewer give
        # results sooner (and less to redo after a crash).
        self.sort_windows = sort_windows or max(64, 8 * batch_size)
        self.specials = special_tokens(tokenizer)
        # Whole articles are tokenised before being cut into windows; the tokenizer's warning
        # about sequences longer than the model's limit does not apply.
        if isinstance(getattr(tokenizer, "deprecation_warnings", None), dict):
            tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.stats = ForwardStats()

    # -- loading --
    @classmethod
    def from_pretrained(cls, run: str | Path, device: str | None = None, precision: str = "fp32",
                        quantize: str | None = None, runtime: str = "torch", batch_size: int | None = None,
                        linker: Callable | str | None = "auto", threads: int | None = None) -> "Extractor":
        """Load a run directory (or a Hugging Face hub id).

        ``device``: ``cpu``, ``cuda``, ``cuda:1``; default GPU when present. ``precision``:
        ``fp16``/``bf16`` autocast (GPU only). ``quantize="int8"``: the ONNX Runtime int8 model
        written by ``indoevent export-onnx RUN --quantize int8`` (CPU). ``runtime="onnx"``: the
        fp32 ONNX model. ``batch_size``: windows per forward (default 8 on CPU, 32 on GPU).
        ``linker``: ``"auto"`` uses the learned linker in ``RUN/linker.json`` if there is one
        (``indoevent linker fit``), else the rules; ``None`` makes frames without
        arguments; or any callable ``(text, entities, triggers, words) -> relations``.
        """
        import torch
        from transformers import AutoConfig, AutoTokenizer

        config = AutoConfig.from_pretrained(run)
        info = run_info(config)
        if not info["from_config"]:
            warnings.warn(f"{run}: config.json has no '{RUN_KEY}' run metadata; using windows of "
                          f"{info['max_length']} sub-words with overlap {info['overlap']}", stacklevel=2)
        tokenizer = AutoTokenizer.from_pretrained(run)
        id2label = {int(k): v for k, v in config.id2label.items()}
        if quantize not in (None, "int8"):
            raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
        onnx = bool(quantize) or runtime == "onnx"
        if device is None:
            device = "cuda" if torch.cuda.is_available() and not onnx else "cpu"
        if onnx and not str(device).startswith("cpu"):
            raise ValueError("the ONNX Runtime models run on CPU; on a GPU use precision='fp16'")
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked for, but torch sees no GPU")
        if onnx:
            forward: Callable = OnnxForward(onnx_model_path(run, quantize), threads=threads or torch.get_num_threads())
        elif runtime == "torch":
            from transformers import AutoModelForTokenClassification

            model = AutoModelForTokenClassification.from_pretrained(run)
            forward = TorchForward(model, device, precision)
        else:
            raise ValueError(f"runtime must be 'torch' or 'onnx', got {runtime!r}")
        if linker == "auto":
            linker = load_linker(run)
        name = info["run_name"] or Path(str(run).rstrip("/")).name
        if batch_size is None:
            batch_size = 32 if str(device).startswith("cuda") else 8
        return cls(forward, tokenizer, id2label, info["max_length"], info["overlap"], name=name,
                   batch_size=batch_size, linker=linker, version=model_version(run, name, quantize))

    # -- extraction --
    def extract(self, text: str, id: str | None = None) -> Article:
        """Spans and frames of one article."""
        return next(self.extract_many([text], ids=None if id is None else [id]))

    def extract_many(self, texts: Iterable[str], batch_size: int | None = None,
                     ids: Iterable[str | None] | None = None) -> Iterator[Article]:
        """Articles in input order, lazily: windows of up to ``sort_windows`` at a time are
        sorted by length and batched (``batch_size`` windows per forward) across articles."""
        batch_size = batch_size or self.batch_size
        id_iter = iter(ids) if ids is not None else None
        pending: list[_Pending] = []
        n_windows = 0
        for index, text in enumerate(texts):
            art_id = next(id_iter) if id_iter is not None else None
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
                                 self.specials) if words else []
        best = np.asarray(best_window(windows, len(words)), dtype=np.int64)
        picks = []
        for k, w in enumerate(windows):
            fs = w.first_subword_positions()
            pos = np.fromiter((p for p, _ in fs), dtype=np.int64, count=len(fs))
            wid = np.fromiter((i for _, i in fs), dtype=np.int64, count=len(fs))
            keep = best[wid] == k
            picks.append((pos[keep], wid[keep]))
        n = len(words)
        p = _Pending(index, art_id, text, words, windows, picks,
                     np.full(n, -1, dtype=np.int32), np.zeros(n, dtype=np.float32))
        p.seconds = time.perf_counter() - t0
        self.stats.prepare_seconds += p.seconds
        return p

    def _run(self, pending: list[_Pending], batch_size: int) -> Iterator[Article]:
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

    def _finish(self, p: _Pending) -> Article:
        t0 = time.perf_counter()
        covered = p.tag >= 0
        # A word with no sub-word (characters the tokenizer drops) is O, never guessed.
        tags = clean_tags([self.labels[t] if t >= 0 else "O" for t in p.tag.tolist()], [w.text for w in p.words])
        entities: list[Span] = []
        triggers: list[Span] = []
        for i, j, label in tags_to_word_spans(tags):
            a, b = p.words[i].start, p.words[j - 1].end
            score = float(p.prob[i:j].mean())
            if is_trigger(label):
                triggers.append(Span(a, b, label, p.text[a:b], score, f"t{len(triggers) + 1}"))
            else:
                entities.append(Span(a, b, label, p.text[a:b], score, f"e{len(entities) + 1}"))
        relations = self.linker(p.text, entities, triggers, p.words) if self.linker and triggers and entities else []
        events = frames_from_relations(triggers, entities, relations)
        score = float(p.prob[covered].mean()) if covered.any() else None
        p.seconds += time.perf_counter() - t0
        self.stats.finish_seconds += time.perf_counter() - t0
        self.stats.articles += 1
        self.stats.words += len(p.words)
        art_id = p.id if p.id is not None else str(p.index)
        return Article(p.text, entities, triggers, events, art_id, score,
                       {"words": len(p.words), "windows": len(p.windows),
                        "tokens": sum(len(w.input_ids) for w in p.windows), "seconds": round(p.seconds, 4)})


# --- run directories ----------------------------------------------------------------------------
def load_linker(run: str | Path) -> Callable:
    """The argument linker of a run: ``RUN/linker.json`` (learned) if present, else the rules."""
    from .frames import LearnedLinker

    path = Path(run) / "linker.json"
    if path.is_file():
        return LearnedLinker.from_json(json.loads(path.read_text(encoding="utf-8")))
    return link_rules


def onnx_model_path(run: str | Path, quantize: str | None = None) -> Path:
    """The ONNX file ``indoevent export-onnx`` wrote for a run; a clear error if it is missing."""
    path = Path(run) / ONNX_DIR / ("model.int8.onnx" if quantize == "int8" else "model.onnx")
    if not path.exists():
        flag = " --quantize int8" if quantize == "int8" else ""
        raise FileNotFoundError(f"{path} not found: run `indoevent export-onnx {run}{flag}` first")
    return path


def init_run(base: str | Path, out: str | Path, max_length: int = DEFAULT_MAX_LENGTH,
             overlap: int = DEFAULT_OVERLAP, run_name: str | None = None, seed: int = 0,
             wire: dict[str, str] | None = None) -> Path:
    """Write a run directory with an untrained token-classification head on a base checkpoint,
    in the format training writes: for smoke tests and speed benchmarks before a trained run
    exists. ``wire`` hard-wires the head instead ({sub-word: tag}, see :func:`wire_head`)."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    tags = bio_tags()
    torch.manual_seed(seed)
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new head is "missing" from the base checkpoint, as intended
    try:
        model = AutoModelForTokenClassification.from_pretrained(
            base, id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)})
    finally:
        hf_logging.set_verbosity(level)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if wire:
        wire_head(model, tokenizer, wire)
    out = Path(out)
    model.config.indoevent = {"schema_version": 1, "max_length": max_length, "overlap": overlap,
                              "base_model": str(base), "run_name": run_name or out.name}
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def wire_head(model: Any, tokenizer: Any, wire: dict[str, str]) -> None:
    """Make a BERT predict fixed tags: each sub-word in ``wire`` always gets its tag, every
    other sub-word ``O``, whatever the context. A model whose output is known in advance
    tests everything around it (windows, offsets, frames, formats) without training.

    The encoder layers are turned into identities (their output projections zeroed, so the
    residual passes through), position and type embeddings zeroed, and one embedding
    dimension per wired tag flags its sub-words for the classifier."""
    import torch

    bert = model.base_model
    label2id = model.config.label2id
    targets = sorted(set(wire.values()))
    hidden = model.config.hidden_size
    if len(targets) >= hidden:
        raise ValueError("more wired tags than hidden dimensions")
    with torch.no_grad():
        for layer in bert.encoder.layer:
            for lin in (layer.attention.output.dense, layer.output.dense):
                lin.weight.zero_()
                lin.bias.zero_()
        emb = bert.embeddings
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        words = emb.word_embeddings.weight
        words[:, : len(targets)] = 0.0
        head = model.classifier
        head.weight.zero_()
        head.bias.fill_(-10.0)
        head.bias[label2id["O"]] = 0.0
        for d, tag in enumerate(targets):
            for token, t in wire.items():
                if t != tag:
                    continue
                tid = tokenizer.convert_tokens_to_ids(token)
                if tid == tokenizer.unk_token_id:
                    raise ValueError(f"sub-word {token!r} is not in the vocabulary")
                words[tid, d] = 1.0  # after LayerNorm this dimension stands out (about +11)
            head.weight[label2id[tag], d] = 2.0
        # Other words have that dimension at about 0 after LayerNorm: O wins by 10.


def model_version(run: str | Path, name: str, quantize: str | None = None) -> str:
    """``run-name@<first 12 hex of the weights' sha256>`` (plus ``-int8``): which model wrote a result.

    >>> model_version("no/such/run", "tiny", "int8")
    'tiny-int8'
    """
    from .runs import sha256

    weights = Path(run) / "model.safetensors"
    tag = f"{name}@{sha256(weights)[:12]}" if weights.is_file() else name
    return f"{tag}-{quantize}" if quantize else tag


def read_jsonl_ids(path: str | Path, versions: set[str] | None = None) -> tuple[set[str], int]:
    """Ids already in a results file and the byte length of its complete lines (a line cut
    by a crash is not counted and gets overwritten); the model versions found go to ``versions``."""
    done: set[str] = set()
    good = 0
    path = Path(path)
    if not path.exists():
        return done, 0
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                obj = json.loads(line)
            except ValueError:
                break
            key = obj.get("id") if "id" in obj else (obj.get("data") or {}).get("doc_id")
            if key is not None:
                done.add(str(key))
            if versions is not None:
                preds = obj.get("predictions") or [{}]
                v = obj.get("model_version", preds[0].get("model_version") if isinstance(preds[0], dict) else None)
                if v is not None:
                    versions.add(str(v))
            good += len(line)
    return done, good


# --- the batch command --------------------------------------------------------------------------
class ResultsConflict(ValueError):
    """The results file was written by another model version."""


@dataclass(frozen=True)
class Source:
    """One input article: its id, text and where it came from (``path`` or ``path:line``)."""

    id: str
    text: str
    source: str
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InputError:
    """An input that could not be read, with where and why."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _decode(raw: bytes, where: str) -> str | InputError:
    try:
        # utf-8-sig: a byte-order mark is not part of the article. Newlines are kept as they
        # are (no universal-newline translation), so offsets hold for the file's own text.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return InputError(where, f"not UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r}); convert it to UTF-8")


def read_inputs(paths: Sequence[str | Path]) -> Iterator[Source | InputError]:
    """Articles from ``.txt`` files, folders of them (recursively, sorted) and JSONL files with
    ``id`` and ``text`` (other fields are kept as metadata), lazily, in order. Unreadable
    inputs come out as :class:`InputError` (path or path:line, and why), never silently."""
    seen: dict[str, str] = {}

    def check(src: Source) -> Source | InputError:
        if src.id in seen:
            return InputError(src.source, f"duplicate id {src.id!r} (also {seen[src.id]})")
        seen[src.id] = src.source
        if not src.text.strip():
            return InputError(src.source, "empty text")
        return src

    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*.txt") if f.is_file())
            if not files:
                yield InputError(str(p), "folder holds no .txt files")
            for f in files:
                yield from _read_txt(f, f.relative_to(p).with_suffix("").as_posix(), check)
        elif not p.exists():
            yield InputError(str(p), "no such file or folder")
        elif p.suffix.lower() in (".jsonl", ".ndjson"):
            yield from _read_jsonl(p, check)
        elif p.suffix.lower() == ".txt":
            yield from _read_txt(p, p.stem, check)
        else:
            yield InputError(str(p), "unsupported input: give .txt files, folders of them, or .jsonl")


def _read_txt(path: Path, art_id: str, check) -> Iterator[Source | InputError]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        yield InputError(str(path), f"cannot read: {e.strerror}")
        return
    text = _decode(raw, str(path))
    yield text if isinstance(text, InputError) else check(Source(art_id, text, str(path)))


def _read_jsonl(path: Path, check) -> Iterator[Source | InputError]:
    try:
        f = path.open("rb")
    except OSError as e:
        yield InputError(str(path), f"cannot read: {e.strerror}")
        return
    with f:
        for n, raw in enumerate(f, 1):
            where = f"{path}:{n}"
            line = _decode(raw, where)
            if isinstance(line, InputError):
                yield line
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield InputError(where, f"malformed JSON at column {e.colno}: {e.msg}")
                continue
            if not isinstance(obj, dict):
                yield InputError(where, f"expected an object with id and text, got {type(obj).__name__}")
            elif not isinstance(obj.get("text"), str):
                yield InputError(where, "field 'text' is missing or not a string")
            elif obj.get("id") is None or isinstance(obj.get("id"), (dict, list)) or str(obj["id"]) == "":
                yield InputError(where, "field 'id' is missing (a string or number)")
            elif not _encodable(obj["text"]):
                yield InputError(where, "text holds an unpaired surrogate escape (\\ud800-\\udfff): not valid Unicode")
            else:
                meta = {k: v for k, v in obj.items() if k not in ("id", "text")}
                yield check(Source(str(obj["id"]), obj["text"], where, meta))


def _encodable(text: str) -> bool:
    """JSON may escape lone surrogates ("\\ud83d") that no UTF-8 file can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class BatchReport:
    """What :func:`extract_files` did."""

    out: Path
    written: int = 0
    skipped_done: int = 0
    errors: list[InputError] = field(default_factory=list)
    words: int = 0
    seconds: float = 0.0
    truncated_line: bool = False
    tasks_json: Path | None = None
    stats: dict = field(default_factory=dict)


def extract_files(extractor: Extractor, inputs: Sequence[str | Path], out: str | Path, fmt: str = "jsonl",
                  batch_size: int | None = None, with_text: bool = False, progress: bool = True,
                  on_error: Callable[[InputError], None] | None = None, overwrite: bool = False) -> BatchReport:
    """Extract every readable input into ``out`` (JSONL, one line per article, appended and
    flushed as each article is done). Ids already in ``out`` are skipped, so a rerun resumes
    after a crash; a last line cut by a crash is dropped and redone. ``fmt="label-studio"``
    writes Label Studio tasks with predictions, and when done also ``out`` with suffix
    ``.json`` (a list of tasks, for Label Studio's Import dialog). Results of another model
    version in ``out`` are an error (:class:`ResultsConflict`) unless ``overwrite`` starts over."""
    if fmt not in ("jsonl", "label-studio"):
        raise ValueError(f"format must be jsonl or label-studio, got {fmt!r}")
    out = Path(out)
    if fmt == "label-studio" and out.suffix == ".json":
        raise ValueError(f"{out}: give --out a .jsonl name; the .json task list is written next to it")
    report = BatchReport(out)
    if overwrite and out.exists():
        out.unlink()
    versions: set[str] = set()
    done, good = read_jsonl_ids(out, versions)
    if versions - {extractor.version}:
        raise ResultsConflict(f"{out} holds {len(done)} result(s) of model {', '.join(sorted(versions))}, not of "
                              f"{extractor.version}: resuming would mix two models. Use another --out, or "
                              f"--overwrite to start over")
    if out.exists() and out.stat().st_size > good:
        report.truncated_line = True  # a crash cut the last line: drop it, its article is redone
        with out.open("r+b") as f:
            f.truncate(good)
    out.parent.mkdir(parents=True, exist_ok=True)
    sources: dict[str, Source] = {}
    current: list[Source] = []

    def texts() -> Iterator[str]:
        for item in read_inputs(inputs):
            if isinstance(item, InputError):
                report.errors.append(item)
                if on_error:
                    on_error(item)
            elif item.id in done:
                report.skipped_done += 1
            else:
                sources[item.id] = item
                current[:] = [item]
                yield item.text

    def ids() -> Iterator[str]:
        while True:
            yield current[0].id

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(unit="article", desc="extract", dynamic_ncols=True)
    t0 = time.perf_counter()
    fwd0 = extractor.stats.forward_seconds
    with out.open("a", encoding="utf-8", newline="\n") as f:
        for art in extractor.extract_many(texts(), batch_size=batch_size, ids=ids()):
            src = sources.pop(art.id)
            if fmt == "jsonl":
                line = {**art.to_dict(with_text=with_text), "source": src.source, "model": extractor.name,
                        "model_version": extractor.version,
                        "timing": art.stats, **({"meta": src.meta} if src.meta else {})}
            else:
                line = art.to_label_studio(extractor.version, {"source": src.source, **src.meta})
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            f.flush()
            report.written += 1
            report.words += art.stats["words"]
            if bar is not None:
                elapsed = time.perf_counter() - t0
                bar.update(1)
                bar.set_postfix(words_per_s=f"{report.words / elapsed:.0f}", refresh=False)
    if bar is not None:
        bar.close()
    report.seconds = time.perf_counter() - t0
    report.stats = {"forward_seconds": round(extractor.stats.forward_seconds - fwd0, 3)}
    if fmt == "label-studio":
        report.tasks_json = write_task_list(out, out.with_suffix(".json"))
    return report


def write_task_list(jsonl: Path, target: Path) -> Path:
    """Turn a JSONL of Label Studio tasks into the JSON list Label Studio imports (atomically)."""
    from .atomic import replacing

    with jsonl.open("r", encoding="utf-8") as src, replacing(target, "w", encoding="utf-8") as dst:
        dst.write("[\n")
        first = True
        for line in src:
            if line.strip():
                dst.write(("" if first else ",\n") + line.rstrip("\n"))
                first = False
        dst.write("\n]\n")
    return target
