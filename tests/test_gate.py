"""The runtime gate: int8 and bf16 measured against fp32 on a run's dev articles, read (never measured) by `auto`."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime")),
                                reason="needs onnx and onnxruntime")

from indoevent.cli import main  # noqa: E402
from indoevent.model.gate import FORMAT, GATE_FILE, onnx_hashes, read_gate  # noqa: E402
from indoevent.model.onnx_export import export_onnx, sources  # noqa: E402
from indoevent.model.predict import Predictor  # noqa: E402
from indoevent.model.runtime import native_bf16  # noqa: E402


@pytest.fixture(scope="module")
def exported(wired_run, tmp_path_factory) -> Path:
    """The wired run with its ONNX fp32 and int8 models, and no gate."""
    run = tmp_path_factory.mktemp("gate") / "run"
    shutil.copytree(wired_run, run)
    export_onnx(run, quantize="int8")
    return run


def _with_gate(exported: Path, tmp_path: Path, int8: float, bf16: float, f1_drop: float = 0.0) -> Path:
    """A copy of the run with recorded gate figures (nothing measured), hashed as the run is now."""
    run = tmp_path / "run"
    shutil.copytree(exported, run)
    fig = {"int8": {"runtime": "onnxruntime-int8-cpu", "span_agreement": int8, "f1": 70.0, "f1_drop": f1_drop},
           "bf16": {"runtime": "torch-bf16-cpu", "span_agreement": bf16, "f1": 70.0, "f1_drop": f1_drop}}
    (run / GATE_FILE).write_text(json.dumps({"format": FORMAT, "articles": 2, "figures": fig,
                                             "sources_sha256": sources(run), "onnx_sha256": onnx_hashes(run)}))
    return run


def test_figures_below_the_gate_are_served_in_bf16_or_fp32(exported, tmp_path, caplog):
    run = _with_gate(exported, tmp_path, int8=0.985, bf16=0.995)
    with caplog.at_level(logging.INFO, logger="indoevent"):
        p = Predictor.from_pretrained(run, device="cpu")
    assert p.runtime == ("torch-bf16-cpu" if native_bf16() else "onnxruntime-fp32-cpu")
    assert "98.50%" in caplog.text or "99.50%" in caplog.text  # the gate's figures are logged
    assert p.predict("Putin bertemu Kim Jong Un di Beijing.").stats["runtime"] == p.runtime


def test_figures_below_the_gate_everywhere_are_served_in_fp32(exported, tmp_path):
    run = _with_gate(exported, tmp_path, int8=0.995, bf16=0.995, f1_drop=0.8)  # agreement, but F1 drops
    assert Predictor.from_pretrained(run, device="cpu").runtime == "onnxruntime-fp32-cpu"
    # the flags still force any runtime
    assert Predictor.from_pretrained(run, quantize="int8").runtime == "onnxruntime-int8-cpu"


def test_figures_that_pass_get_int8(exported, tmp_path, caplog):
    run = _with_gate(exported, tmp_path, int8=0.995, bf16=0.98)
    with caplog.at_level(logging.INFO, logger="indoevent"):
        p = Predictor.from_pretrained(run, device="cpu")
    assert p.runtime == "onnxruntime-int8-cpu" and p.version.endswith("-int8")
    assert "span agreement 99.50%" in caplog.text


def test_a_stale_gate_is_ignored(exported, tmp_path, caplog):
    run = _with_gate(exported, tmp_path, int8=0.995, bf16=0.995)
    rec = json.loads((run / GATE_FILE).read_text())
    rec["sources_sha256"]["model.safetensors"] = "0" * 64  # measured on other weights
    (run / GATE_FILE).write_text(json.dumps(rec))
    with caplog.at_level(logging.INFO, logger="indoevent"):
        p = Predictor.from_pretrained(run, device="cpu")
    assert p.runtime == "onnxruntime-fp32-cpu"
    assert "stale gate ignored (model.safetensors changed" in caplog.text


def test_a_run_without_dev_articles_stays_fp32_and_says_why(eval_run, tmp_path, caplog):
    run = tmp_path / "run"
    shutil.copytree(eval_run, run)  # trained with data.dev 0
    assert "no dev articles" in (read_gate(run).why_none or "")
    with caplog.at_level(logging.INFO, logger="indoevent"):
        p = Predictor.from_pretrained(run, device="cpu")
    assert p.runtime == "onnxruntime-fp32-cpu"
    assert [r for r in caplog.records if "runtime onnxruntime-fp32-cpu" in r.getMessage()
            and "no dev articles" in r.getMessage()]


def test_train_measures_the_gate_on_its_dev_articles(tiny_run):
    rec = json.loads((tiny_run / GATE_FILE).read_text())
    info = json.loads((tiny_run / "run_info.json").read_text())
    assert rec["dev_ids"] == info["split"]["dev"] and rec["articles"] == len(info["split"]["dev"]) > 0
    assert "int8" in rec["figures"] and ("bf16" in rec["figures"]) == native_bf16()
    gate = read_gate(tiny_run)  # fresh after the run was published
    assert gate.why_none is None and 0 <= gate.figures["int8"].span_agreement <= 1


def test_export_onnx_int8_writes_the_gate(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / GATE_FILE).unlink()
    shutil.rmtree(run / "onnx")
    assert main(["export-onnx", str(run), "--quantize", "int8"]) == 0
    assert "runtime gate on 1 dev article(s)" in capsys.readouterr().out
    gate = read_gate(run)
    assert gate.why_none is None and gate.articles == 1 and "int8" in gate.figures
