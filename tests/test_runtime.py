"""`runtime="auto"`: what runs a model where, the ONNX export built on first use, bf16 on CPU."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from indoevent.cli import main  # noqa: E402
from indoevent.events.extractor import Extractor  # noqa: E402
from indoevent.model import (
    onnx_export,  # noqa: E402
    )
from indoevent.model.gate import Figures, Gate  # noqa: E402
from indoevent.model.runtime import TorchForward, choose_runtime, cpu_flags, native_bf16  # noqa: E402
from scaffold import WIRE, init_run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
HAS_ORT = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime"))


def texts() -> list[str]:
    return [f.read_bytes().decode("utf-8") for f in SEEDS] + ["Putin bertemu Kim Jong Un di Beijing, Rabu."]


def spans(ex: Extractor) -> list[list[tuple]]:
    return [[(s.start, s.end, s.label) for s in a.spans] for a in ex.extract_many(texts())]


# --- the decision -------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, machine, label", [
    ({}, dict(cuda=True, cuda_bf16=False), "torch-fp16-cuda"),
    ({}, dict(cuda=True, cuda_bf16=True, onnx_ready=lambda: True), "torch-bf16-cuda"),
    ({"device": "cpu"}, dict(cuda=True, onnx_ready=lambda: True), "onnxruntime-fp32-cpu"),
    ({}, dict(cpu_bf16=True, onnx_ready=lambda: True), "onnxruntime-fp32-cpu"),
    ({}, dict(cpu_bf16=True), "torch-fp32-cpu"),  # no gate measured: fp32
    ({}, dict(cpu_bf16=False), "torch-fp32-cpu"),
    ({"runtime": "torch"}, dict(onnx_ready=lambda: True), "torch-fp32-cpu"),
    ({"precision": "fp32"}, dict(cpu_bf16=True), "torch-fp32-cpu"),
    ({"precision": "bf16"}, dict(cpu_bf16=True, onnx_ready=lambda: True), "torch-bf16-cpu"),
    ({"quantize": "int8"}, dict(cuda=True), "onnxruntime-int8-cpu"),
    ({"runtime": "onnx"}, dict(), "onnxruntime-fp32-cpu"),
])
def test_choose_runtime(kw, machine, label):
    assert choose_runtime(**kw, **machine).label == label


def _gate(int8: float, bf16: float, drop: float = 0.0) -> Gate:
    return Gate({"int8": Figures("onnxruntime-int8-cpu", int8, 80.0, drop),
                 "bf16": Figures("torch-bf16-cpu", bf16, 80.0, drop)}, articles=3)


@pytest.mark.parametrize("gate, cpu_bf16, label", [
    (_gate(0.995, 1.0), True, "onnxruntime-int8-cpu"),
    (_gate(0.985, 0.995), True, "torch-bf16-cpu"),
    (_gate(0.985, 0.995), False, "onnxruntime-fp32-cpu"),   # bf16 only where the CPU has it
    (_gate(0.995, 0.995, drop=0.6), True, "onnxruntime-fp32-cpu"),  # agreement, but F1 drops too much
    (_gate(0.985, 0.9892), True, "onnxruntime-fp32-cpu"),
    (Gate(why_none="no dev articles"), True, "onnxruntime-fp32-cpu"),
])
def test_auto_on_cpu_follows_the_measured_gate(gate, cpu_bf16, label):
    choice = choose_runtime(cpu_bf16=cpu_bf16, onnx_ready=lambda: True, gate=lambda: gate)
    assert choice.label == label
    assert ("%" in choice.reason) == bool(gate.figures)  # the figures go into the log line
    # --runtime/--quantize/--precision still force any runtime, whatever the gate says
    assert choose_runtime(cpu_bf16=cpu_bf16, quantize="int8", gate=lambda: gate).label == "onnxruntime-int8-cpu"
    assert choose_runtime(runtime="onnx", gate=lambda: gate).label == "onnxruntime-fp32-cpu"
    assert choose_runtime(precision="fp32", gate=lambda: gate).label == "torch-fp32-cpu"


def test_onnx_export_is_not_built_when_the_choice_is_elsewhere():
    def never() -> bool:
        raise AssertionError("onnx_ready called")
    for kw, machine in (({}, dict(cuda=True)), ({"runtime": "torch"}, {}), ({"precision": "bf16"}, dict(cpu_bf16=True))):
        choose_runtime(**kw, **machine, onnx_ready=never)


@pytest.mark.parametrize("kw, machine, match", [
    ({"precision": "fp16"}, {}, "GPUs only"),
    ({"precision": "bf16"}, dict(cpu_bf16=False), "no native bf16"),
    ({"device": "cuda"}, dict(cuda=False), "no GPU"),
    ({"runtime": "onnx", "device": "cuda"}, dict(cuda=True), "CPU"),
    ({"quantize": "int8", "precision": "bf16"}, dict(cpu_bf16=True), "fp32"),
    ({"runtime": "tensorrt"}, {}, "runtime"),
    ({"precision": "fp8"}, {}, "precision"),
])
def test_choose_runtime_refuses(kw, machine, match):
    with pytest.raises(ValueError, match=match):
        choose_runtime(**kw, **machine)


def test_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512f", "avx512_bf16"}
    assert native_bf16(cpu_flags(info)) and not native_bf16(cpu_flags(tmp_path / "none"))


# --- auto on this machine ---------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime (core dependencies)")
def test_auto_exports_once_and_keeps_the_torch_spans(base, tmp_path, caplog):
    run = init_run(base, tmp_path / "run", wire=WIRE)
    with caplog.at_level(logging.INFO, logger="indoevent"):
        auto = Extractor.from_pretrained(run, device="cpu")
    assert auto.runtime == "onnxruntime-fp32-cpu"
    assert "exporting the model to ONNX once" in caplog.text and "onnxruntime-fp32-cpu" in caplog.text
    onnx_file = run / "onnx" / "model.onnx"
    assert onnx_export.is_fresh(run) and not [p for p in run.iterdir() if p.name.startswith(".onnx")]
    torch32 = Extractor.from_pretrained(run, runtime="torch", precision="fp32")
    got = spans(auto)
    assert any(got) and got == spans(torch32)
    # The version hashes what runs (the ONNX file here); fp32 adds no suffix (bf16, int8 would).
    assert auto.version != torch32.version and "-" not in auto.version.split("@")[1]

    stamp = onnx_file.stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="indoevent"):
        Extractor.from_pretrained(run, device="cpu")
    assert "exporting" not in caplog.text and onnx_file.stat().st_mtime_ns == stamp  # built once

    init_run(base, run, seed=3, wire={**WIRE, "rusia": "B-GPE"})  # retrained: the export is stale
    assert not onnx_export.is_fresh(run)
    again = Extractor.from_pretrained(run, device="cpu")
    assert onnx_export.is_fresh(run) and again.runtime == "onnxruntime-fp32-cpu"
    assert spans(again) == spans(Extractor.from_pretrained(run, runtime="torch", precision="fp32"))


def test_auto_falls_back_to_torch_without_onnxruntime(base, tmp_path, monkeypatch):
    run = init_run(base, tmp_path / "run", wire=WIRE)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    ex = Extractor.from_pretrained(run, device="cpu")
    assert ex.runtime == "torch-fp32-cpu"  # no runtime_gate.json: nothing lossy
    assert not (run / "onnx").exists()


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime")
def test_auto_falls_back_to_torch_when_the_export_fails(base, tmp_path, monkeypatch, caplog):
    run = init_run(base, tmp_path / "run", wire=WIRE)

    def broken(*a, **k):
        raise RuntimeError("exporter crashed")
    monkeypatch.setattr(onnx_export, "export_onnx", broken)
    with caplog.at_level(logging.WARNING, logger="indoevent"):
        ex = Extractor.from_pretrained(run, device="cpu")
    assert ex.runtime.startswith("torch-") and "exporter crashed" in caplog.text


@pytest.mark.slow
@pytest.mark.skipif(not native_bf16(), reason="needs a CPU with native bf16 (avx512_bf16 or amx_bf16)")
def test_bf16_on_a_native_bf16_cpu(base, tmp_path):
    run = init_run(base, tmp_path / "run", wire=WIRE)
    bf16 = Extractor.from_pretrained(run, runtime="torch", precision="bf16")
    fp32 = Extractor.from_pretrained(run, runtime="torch", precision="fp32")
    assert bf16.runtime == "torch-bf16-cpu" and isinstance(bf16.predictor.forward, TorchForward)
    assert bf16.version == fp32.version + "-bf16"  # other numbers: another version, never mixed on resume
    assert spans(bf16) == spans(fp32)  # a wired head is far from any tie


@pytest.mark.skipif(not HAS_ORT, reason="needs onnx and onnxruntime")
def test_extract_command_records_the_runtime(base, tmp_path, capsys):
    run = init_run(base, tmp_path / "run", wire=WIRE)
    src = tmp_path / "a.txt"
    src.write_bytes(SEEDS[0].read_bytes())
    out = tmp_path / "r.jsonl"
    assert main(["extract", str(src), "--model", str(run), "--out", str(out), "--no-progress"]) == 0
    assert "runtime: onnxruntime-fp32-cpu" in capsys.readouterr().err
    row = json.loads(out.read_text())
    assert row["timing"]["runtime"] == "onnxruntime-fp32-cpu" and row["entities"]


def test_onnx_runtime_threads_do_not_spin(monkeypatch):
    """Issue 19 step 3: spinning off was as fast idle and faster under load (benchmarks/results)."""
    import onnxruntime as ort

    from indoevent.model.runtime import OnnxForward

    seen = {}

    class Session:
        def __init__(self, path, opts, providers):
            try:
                seen["spinning"] = opts.get_session_config_entry("session.intra_op.allow_spinning")
            except RuntimeError:  # not set: ONNX Runtime's default, spinning on
                seen["spinning"] = None

        def get_inputs(self):
            return []

    monkeypatch.setattr(ort, "InferenceSession", Session)
    OnnxForward("model.onnx", threads=2)
    assert seen["spinning"] == "0"
