"""The benchmarks' judging rules and peak arithmetic (benchmarks/machine.py), without timing anything."""

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_machine", Path(__file__).resolve().parents[1] / "benchmarks" / "machine.py")
machine = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = machine  # dataclasses look their module up there
_spec.loader.exec_module(machine)
Snapshot = machine.Snapshot

ZEN5 = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}
AVX2 = {"avx2", "fma"}


def snap(load: float, fp32: float = 100.0, cores: int = 2) -> Snapshot:
    return Snapshot((load, load, load), cores, {"fp32": fp32})


def test_idle_machine_is_judged():
    assert machine.busy_reasons(snap(0.8), snap(0.9, fp32=95.0)) == []


@pytest.mark.parametrize("before, after, why", [
    (snap(1.0), snap(0.2), "before"),            # 0.5 per core is already too much
    (snap(0.2), snap(1.2), "after"),
    (snap(0.2), snap(0.2, fp32=89.0), "apart"),  # 11% below the first calibration
    (snap(0.2, fp32=89.0), snap(0.2), "apart"),  # and the other way round
    (snap(0.2), Snapshot((0.2, 0, 0), 2, {}), "no fp32"),
])
def test_busy_machine_is_not_judged(before, after, why):
    reasons = machine.busy_reasons(before, after)
    assert reasons and why in " ".join(reasons)
    assert machine.judge(True, reasons) == "not judged (machine busy)"
    assert machine.judge(False, reasons, int8=True, flags=ZEN5) == "not judged (machine busy)"


def test_load_is_per_core():
    assert machine.busy_reasons(snap(7.9, cores=16), snap(7.9, cores=16)) == []
    assert machine.busy_reasons(snap(8.0, cores=16), snap(0.0, cores=16))


def test_drift_is_symmetric_and_bounded():
    assert machine.drift(100, 90) == machine.drift(90, 100) == pytest.approx(0.10)
    assert machine.busy_reasons(snap(0.1, 100), snap(0.1, 90)) == []  # exactly 10% still agrees
    assert machine.drift(0, 0) == 0.0


def test_verdicts_on_idle_machine():
    assert machine.judge(True, []) == "met"
    assert machine.judge(False, []) == "NOT met"
    assert machine.judge(True, [], int8=True, flags=ZEN5) == "met"
    assert machine.judge(True, [], int8=True, flags={"avx2", "avx_vnni"}) == "met"
    assert machine.judge(True, [], int8=True, flags=AVX2).startswith("reported, not judged (no VNNI")
    assert machine.judge(False, [], int8=False, flags=AVX2) == "NOT met"  # fp32 targets judged anywhere


def test_precisions_follow_flags():
    assert machine.precisions(AVX2) == ["fp32"]
    assert machine.precisions(ZEN5) == ["fp32", "bf16", "int8"]
    assert machine.precisions({"avx2", "amx_bf16", "amx_int8"}) == ["fp32", "bf16", "int8"]
    assert not machine.has_vnni({"amx_int8"})  # calibrated, but int8 targets need VNNI as the issue says


def test_flops_per_position_of_bert_base():
    cfg = {"hidden_size": 768, "num_hidden_layers": 12, "intermediate_size": 3072, "num_labels": 17}
    matmuls = 12 * (4 * 768**2 + 2 * 768 * 3072) + 768 * 17
    assert machine.flops_per_position(cfg, 512) == 2 * matmuls + 12 * 4 * 768 * 512
    assert 0.17e9 < machine.flops_per_position(cfg, 512) < 0.19e9  # the 0.17-0.19 GFLOP
    assert machine.flops_per_position(cfg, 128) < machine.flops_per_position(cfg, 512)

    class Config:  # a transformers config is read by attribute
        hidden_size, num_hidden_layers, intermediate_size, num_labels = 768, 12, 3072, 17
    assert machine.flops_per_position(Config(), 512) == machine.flops_per_position(cfg, 512)


def test_peak_fractions():
    # the example: 1,400 positions/s at 0.17 GFLOP is 238 GFLOP/s
    got = machine.peak_fractions(1400, 0.17e9, {"fp32": 184.0, "bf16": 390.0, "int8": 0.0})
    assert got == pytest.approx({"fp32": 238 / 184, "bf16": 238 / 390})
    assert machine.format_fractions(got) == "fp32 1.29 bf16 0.61"
