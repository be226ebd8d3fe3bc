"""Model runtimes: the forward passes that prediction, extraction and ONNX export share.

A forward is any callable ``(input_ids, attention_mask) -> (label ids, probabilities)`` over
int64 arrays ``(batch, length)``: :class:`TorchForward` (CPU or GPU, fp16/bf16 autocast on GPU)
or :class:`OnnxForward` (ONNX Runtime, CPU). :func:`load_run` opens a run folder (or a
Hugging Face checkpoint) and returns everything a predictor needs.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..atomic import sha256

DEFAULT_MAX_LENGTH = 512  # sub-word positions per window, in training and inference alike
DEFAULT_OVERLAP = 64      # sub-words two neighbouring windows share
RUN_KEY = "indoevent"     # the run's metadata in config.json (written by training)
ONNX_DIR = "onnx"         # where `indoevent export-onnx` puts its files inside a run
PRECISIONS = ("fp32", "fp16", "bf16")

Forward = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def softmax_max(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    """An ONNX Runtime session over a model written by :func:`indoevent.model.onnx_export.export_onnx`."""

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
        return softmax_max(logits)


def run_info(config: Any) -> dict:
    """The run metadata written by training (``config.indoevent``), with defaults for a plain
    Hugging Face token-classification checkpoint."""
    meta = getattr(config, RUN_KEY, None) or {}
    if not isinstance(meta, dict):
        raise ValueError(f"config.{RUN_KEY} must be a mapping, got {type(meta).__name__}")
    return {"schema_version": meta.get("schema_version"), "max_length": int(meta.get("max_length", DEFAULT_MAX_LENGTH)),
            "overlap": int(meta.get("overlap", DEFAULT_OVERLAP)), "base_model": meta.get("base_model"),
            "run_name": meta.get("run_name"), "from_config": bool(meta)}


def onnx_model_path(run: str | Path, quantize: str | None = None) -> Path:
    """The ONNX file ``indoevent export-onnx`` wrote for a run; a clear error if it is missing."""
    path = Path(run) / ONNX_DIR / ("model.int8.onnx" if quantize == "int8" else "model.onnx")
    if not path.exists():
        flag = " --quantize int8" if quantize == "int8" else ""
        raise FileNotFoundError(f"{path} not found: run `indoevent export-onnx {run}{flag}` first")
    return path


# The files that make a tokenizer, whichever of them a run folder has.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt",
                   "special_tokens_map.json", "added_tokens.json", "sentencepiece.bpe.model", "spiece.model")


def model_version(run: str | Path, name: str, quantize: str | None = None, onnx: str | Path | None = None) -> str:
    """``run-name@<12 hex>`` (plus ``-int8``): which model wrote a result. The hash covers what
    runs: the weights (or the ``onnx`` file when ONNX Runtime runs), ``config.json`` (labels,
    windows) and the tokenizer files, so a changed tokenizer is a new version too.

    >>> model_version("no/such/run", "tiny", "int8")
    'tiny-int8'
    """
    run = Path(run)
    weights = Path(onnx) if onnx is not None else run / "model.safetensors"
    if weights.is_file():
        h = hashlib.sha256()
        for f in [weights, run / "config.json", *(run / n for n in TOKENIZER_FILES)]:
            if f.is_file():
                h.update(f"{f.name}:{sha256(f)}\n".encode())
        name = f"{name}@{h.hexdigest()[:12]}"
    return f"{name}-{quantize}" if quantize else name


def stale_export(run: str | Path) -> str | None:
    """Why the run's ONNX export no longer matches its weights (None if it does, or if there is
    no export record to compare with)."""
    run = Path(run)
    meta, weights = run / ONNX_DIR / "export.json", run / "model.safetensors"
    if not meta.is_file() or not weights.is_file():
        return None
    try:
        recorded = json.loads(meta.read_text(encoding="utf-8")).get("weights_sha256")
    except (OSError, ValueError, AttributeError):
        recorded = "unreadable"
    if recorded and recorded != sha256(weights):
        return (f"{run / ONNX_DIR}: exported from other weights than {weights} (retrained since?); run "
                f"`indoevent export-onnx {run}` again (with --quantize int8 for the int8 model)")
    return None


def check_vocabulary(run: str | Path, tokenizer: Any, config: Any) -> None:
    """The tokenizer must be the model's: with its files missing, transformers quietly builds a
    5-token vocabulary and every word becomes [UNK] (silent garbage, not an error)."""
    size, rows = len(tokenizer), getattr(config, "vocab_size", None)
    # Embeddings may be padded past the vocabulary (to a multiple of 64 or 128), never short of it.
    if rows is not None and not rows - 128 <= size <= rows:
        files = ", ".join(n for n in TOKENIZER_FILES if (Path(run) / n).is_file()) or "none"
        raise ValueError(f"{run}: the tokenizer has {size} tokens but the model's embeddings have {rows} rows (tokenizer "
                         f"files found: {files}); copy the tokenizer files (tokenizer.json ...) of the run's base "
                         f"model into the folder, or retrain")


@dataclass
class LoadedRun:
    """What a predictor needs from a run folder: the forward, the tokenizer, the labels and the windows."""

    forward: Forward
    tokenizer: Any
    id2label: dict[int, str]
    max_length: int
    overlap: int
    name: str
    version: str
    device: str


def load_run(run: str | Path, device: str | None = None, precision: str = "fp32", quantize: str | None = None,
             runtime: str = "torch", threads: int | None = None) -> LoadedRun:
    """Open a run directory (or a Hugging Face hub id) for prediction.

    ``device``: ``cpu``, ``cuda``, ``cuda:1``; default GPU when present. ``precision``:
    ``fp16``/``bf16`` autocast (GPU only). ``quantize="int8"``: the ONNX Runtime int8 model
    written by ``indoevent export-onnx RUN --quantize int8`` (CPU). ``runtime="onnx"``: the
    fp32 ONNX model.
    """
    import torch
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(run)
    info = run_info(config)
    if not info["from_config"]:
        warnings.warn(f"{run}: config.json has no '{RUN_KEY}' run metadata; using windows of "
                      f"{info['max_length']} sub-words with overlap {info['overlap']}", stacklevel=3)
    tokenizer = AutoTokenizer.from_pretrained(run)
    check_vocabulary(run, tokenizer, config)
    id2label = {int(k): v for k, v in config.id2label.items()}
    if quantize not in (None, "int8"):
        raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
    if runtime not in ("torch", "onnx"):
        raise ValueError(f"runtime must be 'torch' or 'onnx', got {runtime!r}")
    onnx = bool(quantize) or runtime == "onnx"
    if device is None:
        device = "cuda" if torch.cuda.is_available() and not onnx else "cpu"
    if onnx and not str(device).startswith("cpu"):
        raise ValueError("the ONNX Runtime models run on CPU; on a GPU use precision='fp16'")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no GPU")
    onnx_file = onnx_model_path(run, quantize) if onnx else None
    if onnx:
        stale = stale_export(run)
        if stale:
            raise ValueError(stale)
        forward: Forward = OnnxForward(onnx_file, threads=threads or torch.get_num_threads())
    else:
        from transformers import AutoModelForTokenClassification

        forward = TorchForward(AutoModelForTokenClassification.from_pretrained(run), device, precision)
    name = info["run_name"] or Path(str(run).rstrip("/")).name
    return LoadedRun(forward, tokenizer, id2label, info["max_length"], info["overlap"], name,
                     model_version(run, name, quantize, onnx_file), str(device))
