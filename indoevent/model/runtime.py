"""Model runtimes: the forward passes that prediction, extraction and ONNX export share.

A forward is any callable ``(input_ids, attention_mask) -> (label ids, probabilities)`` over
int64 arrays ``(batch, length)``: :class:`TorchForward` (CPU or GPU, fp16/bf16 autocast on GPU,
bf16 on CPUs with native bf16) or :class:`OnnxForward` (ONNX Runtime, CPU). :func:`load_run`
opens a run folder (or a Hugging Face checkpoint) and returns everything a predictor needs;
:func:`choose_runtime` decides what ``runtime="auto"`` (the default) runs on.

Why ``auto`` picks what it picks (measured with ``benchmarks/inference.py``, BERT-base, on a
2-core AMD EPYC Zen 5 with ``avx512_bf16``, idle): ONNX Runtime fp32 ran 1.2x the PyTorch fp32
forward with the same spans, int8 2.4x and PyTorch bf16 autocast 1.6x, but those two change
spans (99.33% and 98.92% agreement with fp32 there), and by how much depends on the run. So on
CPU ``auto`` reads the run's own measurement (:mod:`.gate`, ``RUN/runtime_gate.json``, written at
the end of ``train`` and by ``export-onnx --quantize int8``): int8 where it passes the gate, else
bf16 where it passes (native-bf16 CPUs only: on an AVX2-only CPU bf16 ran 4.5x *slower* than
fp32), else ONNX Runtime fp32; a run without a gate runs fp32.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import sha256
from .checkpoint import TOKENIZER_FILES, ModelLoadError, read_config, read_tokenizer, read_weights
from .gate import Gate, read_gate
from .onnx_export import ONNX_DIR, ensure_export, softmax_max, stale_export  # noqa: F401 (stale_export: API)

DEFAULT_MAX_LENGTH = 512  # sub-word positions per window, in training and inference alike
DEFAULT_OVERLAP = 64      # sub-words two neighbouring windows share
RUN_KEY = "indoevent"     # the run's metadata in config.json (written by training)
PRECISIONS = ("fp32", "fp16", "bf16")
RUNTIMES = ("auto", "torch", "onnx")
SPINNING = "0"  # ONNX Runtime's intra-op threads sleep when idle (OnnxForward)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of a native bf16 matmul
log = logging.getLogger("indoevent")

Forward = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty where there is no ``/proc/cpuinfo``, e.g. macOS)."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return set(line.split(":", 1)[1].split())
    return set()


def native_bf16(flags: set[str] | None = None) -> bool:
    """Whether the CPU multiplies bf16 matrices natively (AVX-512 BF16 or AMX).

    >>> native_bf16({"avx2", "avx512f", "avx512_bf16"}), native_bf16({"avx2", "fma"})
    (True, False)
    """
    return bool(set(CPU_BF16_FLAGS) & (cpu_flags() if flags is None else flags))


@dataclass(frozen=True)
class RuntimeChoice:
    """What a run is executed with, and why (logged, and recorded with every result)."""

    runtime: str            # "torch" or "onnx"
    device: str             # "cpu", "cuda", "cuda:1"
    precision: str          # fp32, bf16, fp16 (the ONNX models are fp32 or int8 weights)
    quantize: str | None
    reason: str

    @property
    def label(self) -> str:
        """``torch-bf16-cpu``, ``onnxruntime-int8-cpu`` ...: the runtime in a result's timing."""
        if self.runtime == "onnx":
            return f"onnxruntime-{self.quantize or 'fp32'}-cpu"
        return f"torch-{self.precision}-{self.device.split(':')[0]}"

    @property
    def lossy(self) -> str | None:
        """What changes the numbers against torch fp32 (int8, bf16, fp16), for the model version."""
        return self.quantize or (self.precision if self.precision != "fp32" else None)


def choose_runtime(device: str | None = None, precision: str = "auto", quantize: str | None = None,
                   runtime: str = "auto", *, cuda: bool = False, cuda_bf16: bool = False,
                   cpu_bf16: bool = False, onnx_ready: Callable[[], bool] = lambda: False,
                   gate: Callable[[], Gate] = Gate) -> RuntimeChoice:
    """The runtime for the arguments of :func:`load_run`, given the machine: ``cuda`` (torch
    sees a GPU), ``cuda_bf16`` (it supports bf16), ``cpu_bf16`` (:func:`native_bf16`),
    ``onnx_ready`` (called only when wanted: an up-to-date fp32 ONNX export exists or was just built),
    ``gate`` (called only for ``auto`` on CPU: the run's measured :class:`~.gate.Gate`).

    >>> choose_runtime(cuda=True, cuda_bf16=True).label
    'torch-bf16-cuda'
    >>> choose_runtime(onnx_ready=lambda: True).label
    'onnxruntime-fp32-cpu'
    >>> choose_runtime(cpu_bf16=True, precision="bf16").label, choose_runtime().label
    ('torch-bf16-cpu', 'torch-fp32-cpu')
    """
    if quantize not in (None, "int8"):
        raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if precision not in ("auto",) + PRECISIONS:
        raise ValueError(f"precision must be auto or one of {', '.join(PRECISIONS)}, got {precision!r}")
    onnx = bool(quantize) or runtime == "onnx"
    if device is None:
        device = "cuda" if cuda and not onnx else "cpu"
    gpu = str(device).startswith("cuda")
    if onnx:
        if gpu:
            raise ValueError("the ONNX Runtime models run on CPU; on a GPU use precision='fp16' or 'bf16'")
        if precision not in ("auto", "fp32"):
            raise ValueError(f"precision {precision} is for the torch runtime; the ONNX models are fp32 "
                             "(or int8 with quantize='int8')")
        return RuntimeChoice("onnx", "cpu", "fp32", quantize, "asked for (--quantize int8)" if quantize
                             else "asked for (--runtime onnx)")
    if gpu:
        if not cuda:
            raise ValueError(f"device {device!r} asked for, but torch sees no GPU")
        if precision == "auto":
            p = "bf16" if cuda_bf16 else "fp16"
            return RuntimeChoice("torch", str(device), p, None, f"GPU: {p} autocast")
        return RuntimeChoice("torch", str(device), precision, None, "asked for")
    if precision == "fp16":
        raise ValueError("precision fp16 is for GPUs only; on CPU use fp32, bf16 (native bf16 CPUs) or "
                         "--quantize int8")
    if precision == "bf16" and not cpu_bf16:
        raise ValueError("precision bf16 on this CPU would be slower than fp32: it has no native bf16 "
                         f"({' or '.join(CPU_BF16_FLAGS)}); use fp32 or --quantize int8")
    if precision != "auto":
        return RuntimeChoice("torch", "cpu", precision, None, "asked for")
    g = gate()  # torch with precision auto: bf16 where the gate allows it
    if runtime == "auto" and g.passes("int8"):
        return RuntimeChoice("onnx", "cpu", "fp32", "int8", f"CPU: ONNX Runtime int8, {g.describe('int8')}")
    if cpu_bf16 and g.passes("bf16"):
        return RuntimeChoice("torch", "cpu", "bf16", None, f"CPU with native bf16: torch bf16, {g.describe()}")
    if runtime == "auto" and onnx_ready():
        return RuntimeChoice("onnx", "cpu", "fp32", None, f"CPU: ONNX Runtime fp32 ({g.describe()})")
    return RuntimeChoice("torch", "cpu", "fp32", None, f"CPU: torch fp32 ({g.describe()})")


class TorchForward:
    """A ``transformers`` token-classification model on CPU or GPU: fp16/bf16 autocast on GPU,
    bf16 autocast on CPUs with native bf16 (:func:`native_bf16`)."""

    def __init__(self, model: Any, device: str = "cpu", precision: str = "fp32"):
        import torch

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if precision != "fp32" and not str(device).startswith("cuda") and not (precision == "bf16" and native_bf16()):
            # Measured: bf16 matmuls on a CPU without native support run 4.5x slower than fp32.
            raise ValueError(f"precision {precision} on {device} needs a GPU (or, for bf16, a CPU with native "
                             f"bf16: {' or '.join(CPU_BF16_FLAGS)}); use fp32 or --quantize int8")
        self.torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
        self.name = f"torch-{precision}-{self.device.type}"
        self.key_mask = self._key_mask_is_exact()

    def _key_mask_is_exact(self) -> bool:
        """Whether the model may get the padding mask as ``(batch, 1, 1, length)`` booleans (one row per
        window, broadcast over the queries) instead of ``(batch, length)``, which ``transformers`` expands
        to a ``(batch, 1, length, length)`` mask. Why: with SDPA attention that full mask cost 16% of a
        forward at 128-position windows (measured, 1 thread, 32 windows); the broadcast one gave the
        same logits. Checked here on a padded probe batch, so a model or version that reads the mask
        otherwise keeps the 2-d mask."""
        torch = self.torch
        if getattr(self.model.config, "_attn_implementation", None) != "sdpa":
            return False
        ids = np.array([[5, 6, 7, 8, 9], [5, 6, 7, 8, 8]], dtype=np.int64) % self.model.config.vocab_size
        mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=np.int64)
        with torch.inference_mode():
            full = self._logits(ids, mask, key_mask=False)
            try:
                broadcast = self._logits(ids, mask, key_mask=True)
            except Exception:  # noqa: BLE001 (a model that refuses 4-d masks keeps the 2-d one)
                return False
        return bool(torch.allclose(full[mask == 1], broadcast[mask == 1], rtol=1e-5, atol=1e-5))

    def _logits(self, input_ids: np.ndarray, attention_mask: np.ndarray, key_mask: bool) -> Any:
        torch = self.torch
        ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
        mask = torch.from_numpy(attention_mask).to(self.device, non_blocking=True)
        if key_mask:
            mask = mask.bool()[:, None, None, :]
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            return self.model(input_ids=ids, attention_mask=mask).logits.float()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            logits = self._logits(input_ids, attention_mask, self.key_mask)
            # Only the best label and its probability leave the device.
            probs = logits.softmax(-1)
            p, y = probs.max(-1)
            return y.cpu().numpy(), p.cpu().numpy()


class OnnxForward:
    """An ONNX Runtime session over a model written by :func:`indoevent.model.onnx_export.export_onnx`."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn a core while they wait. Measured on an idle 2-core Zen CPU with BERT-base
        # (benchmarks/results/threads-under-load-*): as fast idle (1,367 vs 1,374 positions/s in fp32) and
        # faster with one busy process per core (617 vs 594), and extract, serve and Ray share machines.
        opts.add_session_config_entry("session.intra_op.allow_spinning", SPINNING)
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


def config_run_meta(config: Any) -> dict:
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
    runtime: str = "torch-fp32-cpu"  # RuntimeChoice.label: what runs the model


def load_run(run: str | Path, device: str | None = None, precision: str = "auto", quantize: str | None = None,
             runtime: str = "auto", threads: int | None = None) -> LoadedRun:
    """Open a run directory (or a Hugging Face hub id) for prediction.

    ``runtime="auto"`` (default) picks the fastest runtime that keeps the spans
    (:func:`choose_runtime`): on a GPU torch with bf16 (or fp16) autocast; on CPU ONNX Runtime
    int8 or torch bf16 where the run's gate (:mod:`.gate`) allows it, else ONNX Runtime fp32,
    exporting the run to ``RUN/onnx`` on first use (once, with a message), else torch fp32
    (bf16 where the gate allows it). ``runtime="torch"`` or
    ``"onnx"`` (the fp32 model of ``indoevent export-onnx RUN``) choose by hand;
    ``quantize="int8"``: the ONNX Runtime int8 model of ``indoevent export-onnx RUN --quantize
    int8`` (CPU). ``device``: ``cpu``, ``cuda``, ``cuda:1``; default GPU when present.
    ``precision``: ``auto``, ``fp32``, ``bf16`` (GPU, or CPU with native bf16), ``fp16`` (GPU).
    The choice is logged (logger ``indoevent``) and goes into the result's ``model_version``
    when it changes the numbers (``-int8``, ``-bf16``, ``-fp16``) and into ``runtime``.
    """
    import torch

    config = read_config(run)
    info = config_run_meta(config)
    if not info["from_config"]:
        warnings.warn(f"{run}: config.json has no '{RUN_KEY}' run metadata; using windows of "
                      f"{info['max_length']} sub-words with overlap {info['overlap']}", stacklevel=3)
    tokenizer = read_tokenizer(run, config)
    id2label = {int(k): v for k, v in config.id2label.items()}
    cuda = torch.cuda.is_available()
    choice = choose_runtime(device, precision, quantize, runtime, cuda=cuda,
                            cuda_bf16=cuda and torch.cuda.is_bf16_supported(), cpu_bf16=native_bf16(),
                            onnx_ready=lambda: onnx_export_ready(run), gate=lambda: read_gate(run))
    log.info("%s: runtime %s (%s)", run, choice.label, choice.reason)
    onnx_file = onnx_model_path(run, choice.quantize) if choice.runtime == "onnx" else None
    if onnx_file is not None:
        stale = stale_export(run)  # auto has just rebuilt a stale export; by hand it is an error
        if stale:
            raise ValueError(stale)
        forward: Forward = OnnxForward(onnx_file, threads=threads or torch.get_num_threads())
    else:
        # SDPA attention: measured here 1.5x the eager attention on padded batches (fp32, CPU).
        model = read_weights(run, attn_implementation="sdpa")
        forward = TorchForward(model, choice.device, choice.precision)
    name = info["run_name"] or Path(str(run).rstrip("/")).name
    return LoadedRun(forward, tokenizer, id2label, info["max_length"], info["overlap"], name,
                     model_version(run, name, choice.lossy, onnx_file), choice.device, choice.label)


def onnx_export_ready(run: str | Path) -> bool:
    """An up-to-date fp32 ONNX export of ``run`` exists or was just built (needs onnxruntime and onnx)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        log.info("onnxruntime or onnx not installed: the auto runtime uses torch")
        return False
    try:
        return ensure_export(run) is not None
    except ModelLoadError:
        raise  # a damaged run: torch cannot load it either, so say so once
    except Exception as e:  # an export that fails must not stop extraction: torch still works
        log.warning("%s: ONNX export failed (%s: %s); using torch", run, type(e).__name__, e)
        return False


_BF16_TRAINING: dict[str, bool] = {}


def cpu_bf16_trains_faster(width: int = 768, length: int = 128, batch: int = 4, repeats: int = 2) -> bool:
    """A short check (a few seconds, once per process): on a CPU with native bf16, does a
    forward and backward of one BERT-base-wide encoder layer run faster under bf16 autocast
    than in fp32? False at once on CPUs without native bf16 (there it is 4.5x slower)."""
    if not native_bf16():
        return False
    if "cpu" not in _BF16_TRAINING:
        import time

        import torch

        layer = torch.nn.TransformerEncoderLayer(width, width // 64, 4 * width, batch_first=True)
        x = torch.randn(batch, length, width)

        def step(bf16: bool) -> float:
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    loss = layer(x).float().pow(2).mean()
                loss.backward()
                best = min(best, time.perf_counter() - t0)
            return best

        step(True), step(False)  # warm-up: kernels, allocator
        # Measured on the Zen 5 machine: 1116 ms fp32 against 1015 ms bf16 (batch 8): not a clear
        # win, unlike inference (2.6x), so auto trains in fp32 there.
        fp32, bf16 = step(False), step(True)
        # A clear win only (1.6x): bf16 also costs some accuracy, and a shared machine's noise
        # must not flip the choice from run to run.
        _BF16_TRAINING["cpu"] = bf16 < 0.6 * fp32
        log.info("bf16 check: one encoder layer step %.0f ms in fp32, %.0f ms in bf16", 1e3 * fp32, 1e3 * bf16)
    return _BF16_TRAINING["cpu"]
