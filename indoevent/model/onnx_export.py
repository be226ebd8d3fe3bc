"""``indoevent export-onnx``: a run's model as ONNX for ONNX Runtime, optionally int8.

Measured on a 2-core CPU with a BERT-base (PITFALLS.md): ONNX Runtime with dynamic int8
weights runs about 2x the Hugging Face pipeline and agrees with fp32 on about 99.6% of
labels, where torch's dynamic quantisation agreed on 95.5%. What makes it work:

* export with eager attention, ``dynamo=False``, opset 17, in ``eval()``: only that graph
  lets ONNX Runtime's optimiser fuse attention;
* fuse with ``onnxruntime.transformers.optimizer`` (model type ``bert``), then quantise the
  fused graph with ``DefaultTensorType`` set, else ``quantize_dynamic`` fails with
  "Unable to find data type for weight_name";
* quantise per channel and keep the classifier in fp32 (it is 768 x 43 weights, and it is
  where the label is decided): span agreement with fp32 rose from 98.9% to 99.6% here;
* quantise only the products (MatMul and the fused Attention's weights): the embedding table is a
  lookup, so int8 there (``QEmbedLayerNormalization``, per tensor) saves no time and moves every
  input (BERT-base, 2,938 spans: 37 moved instead of 39). Issue 19 compared this with static QDQ
  and QOperator (MinMax, Entropy, Percentile ranges calibrated on the run's training windows; U8S8,
  S8S8; QLinearMatMul), per tensor, reduce_range and 8-bit ``MatMulNBits``
  (``benchmarks/int8_variants.py``, idle log in ``benchmarks/results/``): static moved 47 to 92
  spans and ran no faster; MatMulNBits moved 24 to 28 but ran at 0.65x to 0.78x this speed.

Files go to ``RUN/onnx/``: ``model.onnx`` (fp32, fused), ``model.int8.onnx`` and
``export.json`` (what was exported from which weights, and the measured differences).
The folder is written beside and moved into place only when complete. The ``auto`` runtime
(the default of ``indoevent extract``) builds the fp32 export itself on first use
(:func:`ensure_export`), and again when the run's weights changed.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import building, sha256
from .checkpoint import read_config, read_tokenizer, read_weights

log = logging.getLogger("indoevent")
ONNX_DIR = "onnx"  # where `indoevent export-onnx` puts its files inside a run
OPSET = 17
# Model types whose graphs onnxruntime.transformers fuses as BERT.
_FUSABLE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "camembert": "bert", "electra": "bert",
            "distilbert": "bert"}


def softmax_max(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position, the best label id and its probability.

    >>> softmax_max(np.array([[[0.0, 0.0], [3.0, 1.0]]]))[0].tolist()
    [[0, 0]]
    """
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z, dtype=np.float32)
    best = logits.argmax(axis=-1)
    return best, np.take_along_axis(e, best[..., None], axis=-1)[..., 0] / e.sum(axis=-1)


def weights_file(run: Path) -> Path | None:
    f = run / "model.safetensors"
    return f if f.exists() else None


def export_onnx(run: str | Path, quantize: str | None = None, out: str | Path | None = None,
                optimize: bool = True) -> Path:
    """Export ``run`` to ``out`` (default ``RUN/onnx``); returns the folder. ``quantize="int8"``
    also writes ``model.int8.onnx`` (dynamic int8: weights per channel, activations per call; the
    embeddings, LayerNorm, GELU, softmax, residual adds and the classifier stay fp32)."""
    if quantize not in (None, "int8"):
        raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
    run = Path(run)
    out = Path(out) if out is not None else run / ONNX_DIR
    # The tokenizer is checked against the model: without its files the export would answer
    # with a 5-token vocabulary ([UNK] for every word) and no error.
    tokenizer = read_tokenizer(run, read_config(run))
    # Eager attention: the SDPA graph is not recognised by the optimiser's attention fusion.
    model = read_weights(run, attn_implementation="eager").eval()
    names, args = _sample_inputs(tokenizer)

    with building(out) as tmp:
        raw, fp32 = tmp / "model.raw.onnx", tmp / "model.onnx"
        reference = _export_graph(model, names, args, raw)
        if optimize and model.config.model_type in _FUSABLE:
            fused = _fuse(raw, fp32, model.config)
        else:
            fused = False
            raw.rename(fp32)
        feed = {n: a.numpy() for n, a in zip(names, args, strict=True)}
        mask = feed["attention_mask"].astype(bool)
        weights = weights_file(run)
        info: dict[str, Any] = {"format": 1, "opset": OPSET, "inputs": names, "fused_attention": fused,
                "weights": weights.name if weights else None,
                "weights_sha256": sha256(weights) if weights else None,
                "sources_sha256": sources(run),
                "files": {"fp32": fp32.name}}
        info["max_abs_diff_fp32"] = _check(fp32, feed, reference, mask, tol=1e-3)
        if quantize == "int8":
            q = tmp / "model.int8.onnx"
            head = _quantise_int8(fp32, q)
            info["int8"] = {"method": "dynamic", "per_channel": True, "ops": list(INT8_OPS),
                            "fp32_nodes": [head] if head else []}
            info["files"]["int8"] = q.name
            # int8 changes logits by design; record how much, and how many labels move.
            info["max_abs_diff_int8"] = _check(q, feed, reference, mask, tol=None)
            info["label_agreement_int8_sample"] = _agreement(q, feed, reference, mask)
        (tmp / "export.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return out


def _sample_inputs(tokenizer) -> tuple[list[str], tuple]:
    """The model's input names and a padded batch of two sentences to trace it with."""
    import torch

    enc = tokenizer(["Presiden Rusia Vladimir Putin bertemu Kim Jong Un di Beijing.", "Xi hadir."],
                    padding=True, return_tensors="pt")
    with_types = "token_type_ids" in tokenizer.model_input_names
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    return names, tuple(enc[n] if n in enc else torch.zeros_like(enc["input_ids"]) for n in names)


def _export_graph(model, names: list[str], args: tuple, path: Path) -> np.ndarray:
    """Trace ``model`` to ONNX at ``path`` (batch and sequence dynamic); returns its logits on ``args``."""
    import torch

    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["logits"] = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), warnings.catch_warnings():
        # The tracer warns about Python control flow on shapes; _check verifies the graph.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), input_names=names, output_names=["logits"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False, do_constant_folding=True)
        return model(**dict(zip(names, args, strict=True))).logits.numpy()


def _fuse(raw: Path, fp32: Path, config) -> bool:
    """Fuse the raw graph into ``fp32`` (``raw`` removed); whether attention was fused."""
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    opt = optimize_model(str(raw), model_type=_FUSABLE[config.model_type], num_heads=config.num_attention_heads,
                         hidden_size=config.hidden_size, opt_level=1)
    opt.save_model_to_file(str(fp32))
    raw.unlink()
    return "Attention" in {n.op_type for n in onnx.load(str(fp32), load_external_data=False).graph.node}


# What int8 quantises: the products. Not EmbedLayerNormalization (a lookup: int8 there only adds error;
# measured on the benchmark's BERT-base, 99.34% -> 99.37% span agreement, at the same speed).
INT8_OPS = ("MatMul", "Attention")


def _quantise_int8(fp32: Path, q: Path) -> str | None:
    """Dynamic int8 weights of ``fp32``'s products (:data:`INT8_OPS`) into ``q``, the classifier left
    in fp32; returns the classifier's node."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs "consider pre-processing" on root
    head = _output_matmul(onnx.load(str(fp32), load_external_data=False))
    try:
        # Per-channel scales, and the classifier left in fp32: it is tiny, and it is where
        # the label is decided (measured: span agreement with fp32 98.9% -> 99.6%).
        quantize_dynamic(str(fp32), str(q), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=list(INT8_OPS), nodes_to_exclude=[head] if head else [],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    return head


def _output_matmul(model) -> str | None:
    """The MatMul that computes the logits (the classifier), walking back from the output."""
    producer = {out: node for node in model.graph.node for out in node.output}
    name = "logits"
    for _ in range(8):
        node = producer.get(name)
        if node is None:
            return None
        if node.op_type in ("MatMul", "Gemm"):
            return node.name
        name = node.input[0] if node.op_type != "Add" else next(
            (i for i in node.input if i in producer and producer[i].op_type in ("MatMul", "Gemm")), node.input[0])
    return None


def _run(path: Path, feed: dict) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in sess.get_inputs()}
    return sess.run(["logits"], {k: v for k, v in feed.items() if k in wanted})[0]


def _check(path: Path, feed: dict, reference: np.ndarray, mask: np.ndarray, tol: float | None) -> float:
    """Largest logit difference to PyTorch on real (unpadded) positions; fail above ``tol``."""
    diff = float(np.abs(_run(path, feed) - reference)[mask].max())
    if tol is not None and diff > tol:
        raise RuntimeError(f"{path.name}: logits differ from PyTorch by {diff:.2e} (> {tol}); export is wrong")
    return round(diff, 6)


def _agreement(path: Path, feed: dict, reference: np.ndarray, mask: np.ndarray) -> float:
    got, _ = softmax_max(_run(path, feed))
    return round(float((got == reference.argmax(-1))[mask].mean()), 4)


def check_fresh(run: str | Path) -> str | None:
    """Why the run's weights changed since the ONNX export (None if up to date): loading the
    export then fails (:func:`~indoevent.model.runtime.load_run`) with this message."""
    return stale_export(run)


# What an export is made from: the weights, and the config and tokenizer that decide what the
# labels and the sub-words mean (a changed id2label or vocabulary silently breaks an old export).
SOURCES = ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt")


def sources(run: Path) -> dict[str, str]:
    """sha256 of each of the run's :data:`SOURCES` that exists."""
    return {name: sha256(run / name) for name in SOURCES if (run / name).is_file()}


def _changed(run: Path) -> list[str] | None:
    """The run's files that differ from what its export records (None: no export record to compare)."""
    meta = run / ONNX_DIR / "export.json"
    weights = weights_file(run)
    if not meta.is_file() or weights is None:
        return None
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict):
        return ["export.json"]
    if "sources_sha256" not in info:  # an export of an older version: it recorded the weights only
        return [] if info.get("weights_sha256") == sha256(weights) else ["model.safetensors"]
    now, then = sources(run), info["sources_sha256"]
    return sorted(name for name in set(now) | set(then) if now.get(name) != then.get(name))


def stale_export(run: str | Path) -> str | None:
    """Why the run's ONNX export no longer matches its weights, config or tokenizer (None if it
    does, or if there is no export record to compare with)."""
    run = Path(run)
    changed = _changed(run)
    if changed:
        return (f"{run / ONNX_DIR}: exported from other weights, config or tokenizer than {run} has now "
                f"({', '.join(changed)} changed since); run `indoevent export-onnx {run}` again (with "
                f"--quantize int8 for the int8 model)")
    return None


def is_fresh(run: str | Path) -> bool:
    """True if ``RUN/onnx`` holds a complete fp32 export of the run's current weights, config and tokenizer."""
    run = Path(run)
    return (run / ONNX_DIR / "model.onnx").is_file() and _changed(run) == []


def ensure_export(run: str | Path) -> Path | None:
    """The fp32 ONNX model of ``run`` for the ``auto`` runtime, exported on first use (once,
    into ``RUN/onnx``, atomically: a crash leaves no half folder) and again when the weights
    changed. None where the run cannot hold one: not a local folder with ``model.safetensors``,
    or a folder this process may not write."""
    import os
    import time

    run = Path(run)
    if weights_file(run) is None:
        return None
    if is_fresh(run):
        return run / ONNX_DIR / "model.onnx"
    if not os.access(run, os.W_OK):
        log.warning("%s: no up-to-date ONNX export and the folder is read-only: not using ONNX Runtime", run)
        return None
    log.warning("%s: exporting the model to ONNX once for the fast CPU runtime (into %s; "
                "`indoevent export-onnx` does the same)", run, run / ONNX_DIR)
    t0 = time.perf_counter()
    export_onnx(run)
    log.warning("%s: ONNX export done in %.0fs", run, time.perf_counter() - t0)
    return run / ONNX_DIR / "model.onnx"
