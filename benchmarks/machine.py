"""The machine a benchmark ran on, how loaded it was, and whether its targets may be judged.

Every benchmark under ``benchmarks/`` prints, through :class:`Machine`:

* the CPU model and the flags that decide the runtimes (avx2, avx512f, avx512_vnni, avx_vnni,
  avx512_bf16, amx_*);
* the load average before the run and after it, and a short calibration matmul's GFLOP/s before
  and after (fp32; bf16 on CPUs with native bf16; int8 on CPUs with VNNI or AMX int8): 1024 x 1024,
  about 0.15 s per precision, torch's threads;
* whether targets may be judged (:func:`busy_reasons`): only when the load per core is under 0.5
  before and after, and the two fp32 calibrations agree within 10%. Else it prints
  ``machine busy: rerun`` and every target reads ``not judged``. Int8 targets are judged only on
  CPUs with VNNI (avx512_vnni or avx_vnni) and only reported elsewhere (:func:`judge`).

Why these rules: on a 2-core machine torch's threads lose most of their speed when another process
takes a core, ONNX Runtime's hardly any, so a ratio between them measured under load says more
about the load than about the code (issue 19: auto read 3.5x to 4x the pipeline under load, 1.4x
idle). The calibration catches what the load average misses (a throttled or shared host; steal).

The load average "after" counts the benchmark's own threads, which stay in the 1-minute average
for a minute after they stop (2 busy threads on 2 cores read 1.0 per core). So before reading it,
:meth:`Machine.end` waits, up to ``settle`` seconds, for the 1-minute average to fall under the
limit: an idle machine gets there in about 45 s, a loaded one never does. It also prints the CPU
that other processes used during the run (``/proc/stat`` less this process and its children), for
load that came and went in the middle; that figure is information, not a rule.

Peak fractions (:func:`flops_per_position`, :func:`peak_fractions`): a runtime's positions per
second of forward times the model's FLOPs per position, over the calibration's GFLOP/s. The
calibration is a small matmul, not the machine's true peak, so a fused runtime may read above 1.

The pure parts (rules, arithmetic) are tested in ``tests/test_bench_rules.py``; timing is not.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_LOAD_PER_CORE = 0.5   # 1-minute load average per core, before and after
MAX_CALIBRATION_DRIFT = 0.10  # fp32 calibration after vs before: |a - b| / max(a, b)
CALIBRATION_SIZE = 1024   # n of the n x n calibration matmul
CALIBRATION_SECONDS = 0.15  # per timed trial; the best of CALIBRATION_TRIALS, after a warm-up of the same length
WARM_UP_SECONDS = 1.0    # once per calibration, before any timed trial
CALIBRATION_TRIALS = 3    # a cold core (clock ramping up, caches empty) made a single trial 17% slow
SHOWN_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
VNNI_FLAGS = ("avx512_vnni", "avx_vnni")          # int8 targets are judged only with one of these
BF16_FLAGS = ("avx512_bf16", "amx_bf16")          # as indoevent.model.runtime.CPU_BF16_FLAGS
INT8_FLAGS = (*VNNI_FLAGS, "amx_int8")            # an int8 calibration is worth printing
BUSY = "machine busy: rerun"


# --- pure rules ----------------------------------------------------------------------------------
def precisions(flags: set[str]) -> list[str]:
    """The precisions this CPU multiplies natively, so worth a calibration (fp32 always)."""
    out = ["fp32"]
    if set(BF16_FLAGS) & flags:
        out.append("bf16")
    if set(INT8_FLAGS) & flags:
        out.append("int8")
    return out


def has_vnni(flags: set[str]) -> bool:
    return bool(set(VNNI_FLAGS) & flags)


def drift(a: float, b: float) -> float:
    """How far two calibrations disagree: |a - b| / max(a, b) (0 when both are 0)."""
    top = max(a, b)
    return abs(a - b) / top if top > 0 else 0.0


@dataclass(frozen=True)
class Snapshot:
    """The load average (1, 5, 15 minutes) and the calibration's GFLOP/s per precision, at one moment."""

    load: tuple[float, float, float]
    cores: int
    gflops: dict[str, float] = field(default_factory=dict)

    @property
    def load_per_core(self) -> float:
        return self.load[0] / self.cores


def busy_reasons(before: Snapshot, after: Snapshot, max_load: float = MAX_LOAD_PER_CORE,
                 max_drift: float = MAX_CALIBRATION_DRIFT) -> list[str]:
    """Why targets may not be judged; empty when they may."""
    reasons = []
    for when, s in (("before", before), ("after", after)):
        if s.load_per_core >= max_load:
            reasons.append(f"load {s.load_per_core:.2f} per core {when} (limit {max_load})")
    a, b = before.gflops.get("fp32"), after.gflops.get("fp32")
    if a is None or b is None:
        reasons.append("no fp32 calibration")
    elif drift(a, b) > max_drift:
        reasons.append(f"fp32 calibration {a:.0f} before, {b:.0f} after GFLOP/s: {drift(a, b):.0%} apart "
                       f"(limit {max_drift:.0%})")
    return reasons


def judge(met: bool, reasons: list[str], int8: bool = False, flags: set[str] = frozenset()) -> str:
    """A target's verdict: ``met`` or ``NOT met`` only on an idle machine (and, for an int8 target,
    a CPU with VNNI); else why it is not judged."""
    if reasons:
        return "not judged (machine busy)"
    if int8 and not has_vnni(flags):
        return "reported, not judged (no VNNI: int8 targets are for CPUs with avx512_vnni or avx_vnni)"
    return "met" if met else "NOT met"


def flops_per_position(config: Any, context: float) -> float:
    """FLOPs of one sub-word position through a BERT-like token classifier: 2 x the matmul
    parameters (per layer Q, K, V, output 4H^2 and the feed-forward 2HI; the classifier HC;
    embeddings are lookups, not products), plus attention's QK^T and AV, 4 H ``context`` per layer,
    ``context`` being the window length the position attends over (padding included).
    BERT-base at 512: 0.170 + 0.019 = 0.189 GFLOP."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    h, layers = get("hidden_size"), get("num_hidden_layers")
    inner = get("intermediate_size") or 4 * h
    labels = get("num_labels") or len(get("id2label") or {}) or 2
    matmul_params = layers * (4 * h * h + 2 * h * inner) + h * labels
    return 2.0 * matmul_params + layers * 4.0 * h * context


def peak_fractions(positions_per_s: float, flop_per_position: float, peaks: dict[str, float]) -> dict[str, float]:
    """Achieved GFLOP/s over each calibrated peak (GFLOP/s), per precision."""
    achieved = positions_per_s * flop_per_position / 1e9
    return {p: achieved / g for p, g in peaks.items() if g > 0}


def format_fractions(fractions: dict[str, float]) -> str:
    return " ".join(f"{p} {f:.2f}" for p, f in fractions.items())


# --- measuring ----------------------------------------------------------------------------------
def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    import platform

    try:
        for line in Path(cpuinfo).read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def calibrate(precs: list[str], size: int = CALIBRATION_SIZE, seconds: float = CALIBRATION_SECONDS) -> dict[str, float]:
    """GFLOP/s of an n x n matmul per precision, with torch's threads (int8: ``torch._int_mm``)."""
    import torch

    g = torch.Generator().manual_seed(0)
    # The process's first products run slow (thread pool start, kernel choice, the clock ramping up):
    # one second of fp32 first, or the "before" calibration reads ~17% under the "after" one.
    x = torch.randn(size, size, generator=g)
    _rate(lambda: x @ x, WARM_UP_SECONDS)
    out = {}
    for p in precs:
        if p == "int8":
            a = torch.randint(-127, 127, (size, size), dtype=torch.int8, generator=g)
            b = torch.randint(-127, 127, (size, size), dtype=torch.int8, generator=g)
            fn: Callable = lambda a=a, b=b: torch._int_mm(a, b)
        else:
            dtype = torch.bfloat16 if p == "bf16" else torch.float32
            a = torch.randn(size, size, generator=g).to(dtype)
            b = torch.randn(size, size, generator=g).to(dtype)
            fn = lambda a=a, b=b: a @ b
        try:
            _rate(fn, seconds)  # warm-up: the clock and the caches, not timed
            best = max(_rate(fn, seconds) for _ in range(CALIBRATION_TRIALS))
        except RuntimeError:  # a kernel this build lacks
            continue
        out[p] = 2.0 * size**3 * best / 1e9
    return out


def _rate(fn: Callable, seconds: float) -> float:
    """Calls of ``fn`` per second over at least ``seconds``."""
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n == 0:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def busy_cpu_seconds(stat: str | Path = "/proc/stat") -> float | None:
    """CPU seconds all processes have used since boot (user, nice, system, irq, softirq, steal)."""
    try:
        fields = Path(stat).read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in (fields + ["0"] * 8)[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Machine:
    """``begin()`` before the measured work, ``end()`` after it, then :meth:`judge` each target."""

    def __init__(self, settle: float = 90.0, flags: set[str] | None = None):
        from indoevent.model.runtime import cpu_flags

        self.flags = cpu_flags() if flags is None else flags
        self.cores = cores()
        self.precisions = precisions(self.flags)
        self.settle = settle
        self.before: Snapshot | None = None
        self.after: Snapshot | None = None
        self.reasons: list[str] = []

    def describe(self) -> str:
        import torch

        shown = [f for f in SHOWN_FLAGS if f in self.flags]
        missing = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx") if
                   f not in self.flags and not (f == "amx" and any(x.startswith("amx") for x in self.flags))]
        return (f"{cpu_model()}, {self.cores} cores, flags {' '.join(shown) or '-'}"
                f"{' (not: ' + ' '.join(missing) + ')' if missing else ''}; torch {torch.__version__}, "
                f"{torch.get_num_threads()} threads")

    def snapshot(self) -> Snapshot:
        load = os.getloadavg()  # read before calibrating: the calibration's own threads would raise it
        return Snapshot(load, self.cores, calibrate(self.precisions))

    def begin(self) -> Snapshot:
        print(f"machine: {self.describe()}")
        self.before = self.snapshot()
        self._t0, self._busy0, self._own0 = time.perf_counter(), busy_cpu_seconds(), own_cpu_seconds()
        print(f"before: {self._line(self.before)}")
        return self.before

    def end(self) -> list[str]:
        """Read the after snapshot, print it and the verdict; return why targets are not judged."""
        elapsed = time.perf_counter() - self._t0
        busy1, own1 = busy_cpu_seconds(), own_cpu_seconds()
        waited = 0.0
        while os.getloadavg()[0] / self.cores >= MAX_LOAD_PER_CORE and waited < self.settle:
            time.sleep(5)
            waited += 5
        self.after = self.snapshot()
        print(f"after: {self._line(self.after)}; waited {waited:.0f}s (at most {self.settle:.0f}) for this "
              f"benchmark's own threads to leave the 1-minute average")
        if self._busy0 is not None and busy1 is not None and elapsed > 0:
            others = max(0.0, (busy1 - self._busy0) - (own1 - self._own0)) / elapsed
            print(f"other processes during the run: {others:.2f} of {self.cores} cores on average over "
                  f"{elapsed:.0f}s (/proc/stat less this benchmark; information, not a rule)")
        self.reasons = busy_reasons(self.before, self.after)
        if self.reasons:
            print(f"{BUSY} ({'; '.join(self.reasons)}): targets are not judged")
        else:
            print(f"machine idle (load under {MAX_LOAD_PER_CORE} per core before and after, fp32 calibrations "
                  f"within {MAX_CALIBRATION_DRIFT:.0%}): targets judged")
        return self.reasons

    def _line(self, s: Snapshot) -> str:
        cal = ", ".join(f"{p} {g:.0f}" for p, g in s.gflops.items())
        return (f"load average {s.load[0]:.2f} {s.load[1]:.2f} {s.load[2]:.2f} ({s.load_per_core:.2f} per core); "
                f"calibration matmul {CALIBRATION_SIZE}x{CALIBRATION_SIZE} GFLOP/s: {cal}")

    @property
    def peaks(self) -> dict[str, float]:
        """Per precision the better of the two calibrations (GFLOP/s)."""
        snaps = [s for s in (self.before, self.after) if s is not None]
        return {p: max(s.gflops.get(p, 0.0) for s in snaps) for p in self.precisions if any(p in s.gflops for s in snaps)}

    def judge(self, met: bool, int8: bool = False) -> str:
        return judge(met, self.reasons, int8=int8, flags=self.flags)

    def to_dict(self) -> dict:
        return {"cpu": cpu_model(), "cores": self.cores, "flags": [f for f in SHOWN_FLAGS if f in self.flags],
                "before": self.before and {"load": self.before.load, "gflops": self.before.gflops},
                "after": self.after and {"load": self.after.load, "gflops": self.after.gflops},
                "busy": self.reasons}


def results_json(obj: Any) -> str:
    """``obj`` as the JSON of a file under ``benchmarks/results/``: paths inside the repository are
    written relative to it, so a committed result never names this machine's checkout."""
    root = str(Path(__file__).resolve().parents[1]) + os.sep
    return json.dumps(obj, indent=1, ensure_ascii=False).replace(root, "") + "\n"
