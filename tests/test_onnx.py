"""`indoevent export-onnx` and the ONNX Runtime runtimes (fp32 and int8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="ONNX export needs the [onnx] extra (onnx, onnxruntime)")
torch = pytest.importorskip("torch", reason="ONNX export needs torch")
pytestmark = pytest.mark.slow  # every test exports ONNX

from indoevent.cli import main  # noqa: E402
from indoevent.events.extractor import Extractor  # noqa: E402
from indoevent.model.onnx_export import check_fresh, export_onnx  # noqa: E402
from indoevent.model.runtime import OnnxForward, TorchForward  # noqa: E402
from indoevent.model.windows import encode_windows  # noqa: E402
from indoevent.text.tokenize import tokenize  # noqa: E402
from scaffold import WIRE, init_run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


@pytest.fixture(scope="module")
def random_run(base, tmp_path_factory) -> Path:
    run = init_run(base, tmp_path_factory.mktemp("runs") / "random")
    export_onnx(run, quantize="int8")
    return run


@pytest.fixture(scope="module")
def wired_run(base, tmp_path_factory) -> Path:
    """A wired run of this module's own: its tests export ONNX into it."""
    return init_run(base, tmp_path_factory.mktemp("runs") / "wired", wire=WIRE)


def texts() -> list[str]:
    return [f.read_bytes().decode("utf-8") for f in SEEDS] + ["“Putin” 😀 bertemu Kim Jong Un di Beijing.\r\nRabu."]


def test_export_writes_fused_checked_models(random_run):
    out = random_run / "onnx"
    assert {p.name for p in out.iterdir()} == {"model.onnx", "model.int8.onnx", "export.json"}
    info = json.loads((out / "export.json").read_text())
    assert info["opset"] == 17 and info["fused_attention"] is True
    assert info["max_abs_diff_fp32"] < 1e-3
    assert info["weights_sha256"] and info["files"] == {"fp32": "model.onnx", "int8": "model.int8.onnx"}
    # int8 stores the products' weights in a quarter of their fp32 bytes (the embedding tables stay fp32)
    products = _product_weight_bytes(out / "model.onnx")
    assert (out / "model.int8.onnx").stat().st_size < (out / "model.onnx").stat().st_size - 0.7 * products
    assert not [p for p in random_run.iterdir() if p.name.startswith(".onnx")]  # no temp folder left
    assert check_fresh(random_run) is None


def _product_weight_bytes(path: Path) -> int:
    """Bytes of the fp32 weights that MatMul and Attention nodes multiply by."""
    import onnx

    graph = onnx.load(str(path)).graph
    used = {i for n in graph.node if n.op_type in ("MatMul", "Attention") for i in n.input}
    return sum(len(t.raw_data) or 4 * len(t.float_data) for t in graph.initializer if t.name in used)


def test_int8_quantises_the_products_only(random_run):
    """int8 weights for MatMul and the fused attention; the embedding lookup, LayerNorm, GELU and the
    classifier stay fp32 (issue 19's comparison: benchmarks/int8_variants.py)."""
    import onnx

    graph = onnx.load(str(random_run / "onnx" / "model.int8.onnx")).graph
    ops = {n.op_type for n in graph.node}
    assert {"QAttention", "MatMulInteger", "EmbedLayerNormalization", "SkipLayerNormalization"} <= ops
    assert "QEmbedLayerNormalization" not in ops
    fp32_matmuls = [n.name for n in graph.node if n.op_type == "MatMul"]
    int8 = json.loads((random_run / "onnx" / "export.json").read_text())["int8"]
    assert int8["method"] == "dynamic" and int8["ops"] == ["MatMul", "Attention"]
    assert fp32_matmuls == int8["fp32_nodes"] and len(fp32_matmuls) == 1  # the classifier
    tables = {i.name: i.data_type for i in graph.initializer if "embeddings" in i.name}
    assert tables and set(tables.values()) == {onnx.TensorProto.FLOAT}


def test_onnx_fp32_computes_what_torch_computes(random_run):
    """Same probabilities on real windows, padded batches included."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(random_run)
    windows = encode_windows(tok, [w.text for w in tokenize(texts()[0])], 512, 64)
    ids = np.zeros((len(windows), max(len(w.input_ids) for w in windows)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for r, w in enumerate(windows):
        ids[r, : len(w.input_ids)] = w.input_ids
        mask[r, : len(w.input_ids)] = 1
    t_lab, t_p = TorchForward(AutoModelForTokenClassification.from_pretrained(random_run), "cpu")(ids, mask)
    o_lab, o_p = OnnxForward(random_run / "onnx" / "model.onnx")(ids, mask)
    real = mask.astype(bool)
    assert np.abs(t_p - o_p)[real].max() < 1e-4
    assert (t_lab == o_lab)[real].mean() > 0.99  # a near-tie of random logits may flip a label


def test_int8_keeps_the_spans_of_a_confident_model(wired_run):
    export_onnx(wired_run, quantize="int8")
    fp32 = Extractor.from_pretrained(wired_run, device="cpu")
    int8 = Extractor.from_pretrained(wired_run, quantize="int8")
    onnx32 = Extractor.from_pretrained(wired_run, runtime="onnx")
    for a, b, c in zip(fp32.extract_many(texts()), int8.extract_many(texts()), onnx32.extract_many(texts()),
                       strict=True):
        spans = [(s.start, s.end, s.label) for s in a.spans]
        assert spans and spans == [(s.start, s.end, s.label) for s in b.spans] == \
            [(s.start, s.end, s.label) for s in c.spans]
        assert [f.to_dict()["arguments"].keys() for f in a.events] == [f.to_dict()["arguments"].keys() for f in b.events]


def test_commands_export_then_extract_int8(base, tmp_path, capsys):
    run = init_run(base, tmp_path / "run", wire=WIRE)
    assert main(["export-onnx", str(run), "--quantize", "int8"]) == 0
    assert "model.int8.onnx" in capsys.readouterr().out
    src = tmp_path / "a.txt"
    src.write_bytes(SEEDS[0].read_bytes())
    for name, extra in (("fp32.jsonl", []), ("int8.jsonl", ["--quantize", "int8"])):
        assert main(["extract", str(src), "--model", str(run), "--out", str(tmp_path / name), "--no-progress",
                     *extra]) == 0
    rows = [json.loads((tmp_path / n).read_text()) for n in ("fp32.jsonl", "int8.jsonl")]
    assert rows[0]["entities"] == rows[1]["entities"] and rows[0]["triggers"] == rows[1]["triggers"]


def test_stale_export_is_noticed(base, tmp_path):
    run = init_run(base, tmp_path / "run", seed=1)
    export_onnx(run)
    assert check_fresh(run) is None
    init_run(base, run, seed=2, wire=WIRE)  # retrained (other weights), export not redone
    assert "export-onnx" in check_fresh(run)


def test_gpu_and_onnx_do_not_mix(random_run):
    with pytest.raises(ValueError, match="CPU"):
        Extractor.from_pretrained(random_run, quantize="int8", device="cuda")


def test_stale_export_is_refused_by_the_library_and_the_command(base, tmp_path, capsys):
    run = init_run(base, tmp_path / "run", seed=1)
    export_onnx(run, quantize="int8")
    init_run(base, run, seed=2, wire=WIRE)  # retrained (other weights), export not redone
    for kw in ({"quantize": "int8"}, {"runtime": "onnx"}):
        with pytest.raises(ValueError, match=f"indoevent export-onnx {run}"):
            Extractor.from_pretrained(run, **kw)
    src = tmp_path / "a.txt"
    src.write_bytes(SEEDS[0].read_bytes())
    out = tmp_path / "r.jsonl"
    assert main(["extract", str(src), "--model", str(run), "--out", str(out), "--quantize", "int8",
                 "--no-progress"]) == 1
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("indoevent: error:")]
    assert len(err) == 1 and err[0].startswith(f"indoevent: error: {run / 'onnx'}: exported from other weights")
    assert not out.exists() or out.read_bytes() == b""
    export_onnx(run, quantize="int8")  # re-exported as the message says: loads again
    assert Extractor.from_pretrained(run, quantize="int8").version.endswith("-int8")


def test_model_version_is_that_of_what_runs(random_run):
    """The ONNX file that runs is hashed, not the PyTorch weights beside it."""
    versions = {name: Extractor.from_pretrained(random_run, **kw).version
                for name, kw in (("torch", {"device": "cpu", "runtime": "torch"}), ("onnx", {"runtime": "onnx"}),
                                 ("int8", {"quantize": "int8"}))}
    hashes = {name: v.split("@")[1].removesuffix("-int8") for name, v in versions.items()}
    assert len(set(hashes.values())) == 3, versions
    assert versions["int8"].endswith("-int8")


def test_an_export_is_stale_when_the_config_or_tokenizer_changed(base, tmp_path):
    """A changed id2label (or vocabulary) made the old export answer with wrong labels, exit 0."""
    from indoevent.model.onnx_export import is_fresh

    run = init_run(base, tmp_path / "run", wire=WIRE)
    export_onnx(run)
    assert check_fresh(run) is None and is_fresh(run)
    config = json.loads((run / "config.json").read_text())
    config["id2label"] = {k: "O" for k in config["id2label"]}
    (run / "config.json").write_text(json.dumps(config))
    assert "config.json" in (check_fresh(run) or "") and not is_fresh(run)
    init_run(base, run, wire=WIRE)
    (run / "tokenizer.json").write_text((run / "tokenizer.json").read_text().replace('"putin"', '"putin2"'))
    assert "tokenizer.json" in (check_fresh(run) or "")
