"""The runtime gate: how far int8 (and bf16) move a run's spans, measured once on its dev articles.

``auto`` must not pick a lossy runtime on a hunch: a default of 99.33% span agreement on one
benchmark says nothing about the next run. So at the end of ``train`` (``train.runtime_gate``,
on by default) and at ``indoevent export-onnx --quantize int8``, :func:`measure_gate` predicts the
run's dev articles (``run_info.json``'s split; never articles it trained on) through the one
prediction path with ONNX Runtime fp32, ONNX Runtime int8 and, on CPUs with native bf16, torch
bf16 autocast, and writes ``RUN/runtime_gate.json``:

* strict span agreement with fp32, ``2|A and B| / (|A| + |B|)`` over (start, end, label);
* strict span F1 against the gold (:func:`~indoevent.model.metrics.score_spans`) and its drop
  from fp32's, in points;
* the sha256 of what was measured: the run's weights, config and tokenizer (the sources of its
  ONNX export) and the ONNX files. A gate whose hashes differ from the run's files now is stale:
  :func:`read_gate` ignores it with a log line.

:func:`~indoevent.model.runtime.choose_runtime` only reads the file (:func:`read_gate`); nothing is
measured at first use (:mod:`.gate_measure` measures), so Ray actors, read-only shared run folders and ``serve`` never race on it.
Its rule (:meth:`Gate.passes`): int8 if span agreement >= 99% and F1 drops <= 0.5 points, else
bf16 under the same rule (native-bf16 CPUs only), else ONNX Runtime fp32.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from ..atomic import sha256
from .onnx_export import ONNX_DIR, sources

log = logging.getLogger("indoevent")
GATE_FILE = "runtime_gate.json"
MIN_AGREEMENT = 0.99   # strict span agreement with fp32
MAX_F1_DROP = 0.5      # points of strict span F1 against the gold (F1 in %)
FORMAT = 1


def span_agreement(a: Sequence[Iterable[Any]], b: Sequence[Iterable[Any]]) -> float:
    """``2|A and B| / (|A| + |B|)`` over (article, start, end, label); 1.0 when both have no span.

    >>> from indoevent.document import Span
    >>> span_agreement([[Span(0, 5, "PER"), Span(6, 9, "GPE")]], [[Span(0, 5, "PER")]])
    0.6666666666666666
    """
    sa = {(i, s.start, s.end, s.label) for i, spans in enumerate(a) for s in spans}
    sb = {(i, s.start, s.end, s.label) for i, spans in enumerate(b) for s in spans}
    return 1.0 if not sa and not sb else 2 * len(sa & sb) / (len(sa) + len(sb))


@dataclass(frozen=True)
class Figures:
    """One runtime's figures against fp32 on the run's dev articles."""

    runtime: str            # onnxruntime-int8-cpu, torch-bf16-cpu
    span_agreement: float   # with fp32's spans, 0..1
    f1: float               # strict span F1 against the gold, in points (0..100)
    f1_drop: float          # fp32's F1 minus this one's, in points

    @property
    def passes(self) -> bool:
        return self.span_agreement >= MIN_AGREEMENT and self.f1_drop <= MAX_F1_DROP

    def describe(self) -> str:
        return (f"span agreement {100 * self.span_agreement:.2f}% with fp32, F1 {self.f1:.2f} "
                f"(drop {self.f1_drop:+.2f} points)")


@dataclass(frozen=True)
class Gate:
    """What ``auto`` reads from a run: the figures per lossy runtime (``int8``, ``bf16``), or why there are none."""

    figures: dict[str, Figures] = field(default_factory=dict)
    articles: int = 0
    why_none: str | None = None   # no gate file, stale, no dev articles ...

    def passes(self, kind: str) -> bool:
        f = self.figures.get(kind)
        return f is not None and f.passes

    def describe(self, kind: str | None = None) -> str:
        """The figures, for the log line of ``auto``'s choice."""
        if self.why_none:
            return self.why_none
        shown = [kind] if kind else sorted(self.figures)
        return f"gate on {self.articles} dev article(s): " + "; ".join(
            f"{k} {self.figures[k].describe()}" for k in shown if k in self.figures)


def onnx_hashes(run: Path) -> dict[str, str]:
    return {name: sha256(run / ONNX_DIR / name) for name in ("model.onnx", "model.int8.onnx")
            if (run / ONNX_DIR / name).is_file()}


def read_gate(run: str | Path) -> Gate:
    """The run's gate (never measures): empty, with the reason, when there is no file, no dev
    articles were measured, or it is stale (other weights, config, tokenizer or ONNX files)."""
    run = Path(run)
    path = run / GATE_FILE
    if not path.is_file():
        return Gate(why_none=f"no {GATE_FILE} (measured at the end of train or by "
                             "`indoevent export-onnx --quantize int8`)")
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        if rec.get("format") != FORMAT:
            raise ValueError(f"format {rec.get('format')!r}")
    except (OSError, ValueError, AttributeError) as e:
        log.warning("%s: unreadable, ignored (%s)", path, e)
        return Gate(why_none=f"{GATE_FILE} unreadable")
    if rec.get("why_none"):
        return Gate(why_none=rec["why_none"])
    changed = sorted(k for k in set(rec.get("sources_sha256", {})) | set(sources(run))
                     if rec.get("sources_sha256", {}).get(k) != sources(run).get(k))
    now = onnx_hashes(run)
    changed += [f"onnx/{k}" for k, v in rec.get("onnx_sha256", {}).items() if now.get(k) != v]
    if changed:
        log.info("%s: stale gate ignored (%s changed since it was measured)", path, ", ".join(changed))
        return Gate(why_none=f"stale {GATE_FILE} ignored ({', '.join(changed)} changed)")
    figures = {k: Figures(**v) for k, v in rec.get("figures", {}).items()}
    return Gate(figures, int(rec.get("articles", 0)))


def write_no_gate(run: str | Path, why: str) -> None:
    """Record that the run has nothing to measure on (e.g. no dev articles): ``auto`` stays fp32 and says why."""
    log.info("%s: no runtime gate: %s; auto stays fp32", run, why)
    atomic.write_text(Path(run) / GATE_FILE, json.dumps({"format": FORMAT, "why_none": why}, indent=1) + "\n")
