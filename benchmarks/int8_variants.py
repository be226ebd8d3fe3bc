"""Int8 variants of the benchmark's BERT-base against ONNX Runtime fp32: which keeps more spans at the same speed.

Issue 19, step 2. The model is ``benchmarks/inference.py``'s (a random BERT-base encoder with a
linear-probe head fitted on four seed articles, the fifth its dev article, in ``run_info.json``),
exported once to the fused fp32 graph ``RUN/onnx/model.onnx`` (``indoevent export-onnx``). Every
variant is made from that graph:

* ``dynamic``: ``quantize_dynamic`` (weights int8 when the model is written, activations quantised
  per tensor at each call: ``DynamicQuantizeLinear`` + ``MatMulInteger``, ``QAttention``), per
  channel or per tensor, with and without ``reduce_range`` (7-bit weights), with the embedding
  table quantised (``QEmbedLayerNormalization``, what ``export-onnx`` wrote before) or kept fp32;
* ``static``: ``quantize_static`` with activation ranges calibrated on the run's own windows of its
  training articles (the four fitted seeds; :class:`Windows`), MinMax, Entropy or Percentile; only
  MatMul is quantised (LayerNorm, GELU, softmax and the residual adds stay fp32: the fused graph
  has them in ``SkipLayerNormalization``, ``BiasGelu`` and ``Attention``, which the QDQ format does
  not quantise); QDQ format with the MatMul outputs kept fp32 (ONNX Runtime fuses the pattern to
  ``MatMulIntegerToFloat``) or quantised too (``QLinearMatMul``), or the QOperator format;
  activations uint8 (U8S8) or int8 (S8S8); the fused ``Attention`` stays fp32 unless its weights are
  quantised dynamically first (``+ dynamic attention``);
* ``MatMulNBits`` 8-bit: block-wise int8 weights, ``accuracy_level`` 4 (activations quantised to int8
  per block of the inner dimension at each call), attention quantised dynamically.

In all of them the classifier (the MatMul that writes the logits) stays fp32, as in ``export-onnx``.

Printed per variant: strict span agreement with ONNX Runtime fp32 on the dev article and on the
``--articles`` benchmark articles (2|A and B| / (|A| + |B|); the benchmark articles are made of
seed paragraphs, so they include the calibration articles' text), strict span F1 against the dev
article's gold and its change from fp32's, the forward's positions per second on the benchmark
articles and its ratio to fp32's, the file size and the seconds to make it; and the machine block
of ``benchmarks/machine.py`` (CPU flags, load and calibration before and after). Speed is judged
only on an idle machine; else the table says ``machine busy`` and only the agreement columns count.
Variants take turns on groups of articles, so that load from other processes falls on all alike.

    .venv/bin/python benchmarks/int8_variants.py                    # all variants: ~3 minutes idle once made (made once, kept in RUN/onnx-variants)
    .venv/bin/python benchmarks/int8_variants.py --only dynamic     # names containing "dynamic"
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from inference import build_articles, build_run, seed_documents  # noqa: E402
from machine import Machine  # noqa: E402

FP32 = "fp32 (ONNX Runtime, fused)"


# --- calibration data -----------------------------------------------------------------------------
class Windows:
    """A ``CalibrationDataReader`` over the model's own windows of some articles (one window per
    batch, unpadded: the windows ``extract`` feeds, 512 sub-words overlapping by 64 at word edges)."""

    def __init__(self, run: Path, texts: list[str], inputs: list[str]):
        import numpy as np
        from transformers import AutoTokenizer

        from indoevent.model.windows import encode_windows
        from indoevent.text.tokenize import tokenize

        tok = AutoTokenizer.from_pretrained(run)
        tok.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True  # windows follow
        self.feeds = []
        for text in texts:
            for w in encode_windows(tok, [t.text for t in tokenize(text)], 512, 64):
                ids = np.asarray([w.input_ids], dtype=np.int64)
                feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
                self.feeds.append({k: v for k, v in feed.items() if k in inputs})
        self._it = iter(self.feeds)

    def get_next(self):
        return next(self._it, None)

    def rewind(self, pad: bool = False):
        """Start again; ``pad``: every window padded to the longest (attention mask 0 on the padding), as
        ONNX Runtime's histogram calibrators stack the windows' activations into one array."""
        import numpy as np

        feeds = self.feeds
        if pad:
            n = max(f["input_ids"].shape[1] for f in feeds)
            feeds = [{k: np.pad(v, ((0, 0), (0, n - v.shape[1]))) for k, v in f.items()} for f in feeds]
        self._it = iter(feeds)


# --- the variants ---------------------------------------------------------------------------------
def _dynamic(src: Path, dst: Path, head: str | None, per_channel=True, reduce_range=False,
             op_types=("MatMul", "Attention"), embeddings=False) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = list(op_types) + (["EmbedLayerNormalization"] if embeddings else [])
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                     reduce_range=reduce_range, op_types_to_quantize=ops, nodes_to_exclude=[head] if head else [],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _static(src: Path, dst: Path, head: str | None, reader: Windows, method="MinMax", activations="U8",
            fmt="QDQ", fp32_outputs=True, percentile=99.999) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    reader.rewind(pad=method != "MinMax")
    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT, "MatMulConstBOnly": True}
    if fp32_outputs:
        extra["OpTypesToExcludeOutputQuantization"] = ["MatMul"]
    if method == "Percentile":
        extra["CalibPercentile"] = percentile
    quantize_static(str(src), str(dst), reader, quant_format=getattr(QuantFormat, fmt), op_types_to_quantize=["MatMul"],
                    per_channel=True, activation_type=QuantType.QUInt8 if activations == "U8" else QuantType.QInt8,
                    weight_type=QuantType.QInt8, nodes_to_exclude=[head] if head else [],
                    calibrate_method=getattr(CalibrationMethod, method), extra_options=extra)


def _nbits(src: Path, dst: Path, head: str | None, block=32, accuracy_level=4) -> None:
    import onnx

    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    except ModuleNotFoundError as e:  # it imports onnx_ir, which onnxruntime does not install
        raise SystemExit(f"MatMulNBits variants need {e.name}: pip install onnx-ir (in the dev extra), "
                         "or leave them out with --only") from e

    q = MatMulNBitsQuantizer(onnx.load(str(src)), bits=8, block_size=block, is_symmetric=True,
                             accuracy_level=accuracy_level, nodes_to_exclude=[head] if head else [])
    q.process()
    q.model.save_model_to_file(str(dst), use_external_data_format=False)


def _then(first, second):
    """``first`` into a temporary file, then ``second`` from it: e.g. static MatMul, then dynamic attention."""
    def make(src: Path, dst: Path, head, reader):
        mid = dst.with_suffix(".mid.onnx")
        first(src, mid, head, reader)
        try:
            second(mid, dst, head, reader)
        finally:
            mid.unlink(missing_ok=True)
    return make


def _package(src: Path, dst: Path, head, reader) -> None:
    """What ``indoevent export-onnx --quantize int8`` writes (dynamic, per channel, products only)."""
    from indoevent.model.onnx_export import _quantise_int8

    _quantise_int8(src, dst)


def variants() -> dict:
    """Name -> ``make(src, dst, head, reader)``."""
    dyn = lambda **k: lambda s, d, h, r: _dynamic(s, d, h, **k)  # noqa: E731
    sta = lambda **k: lambda s, d, h, r: _static(s, d, h, r, **k)  # noqa: E731
    attention = dyn(op_types=("Attention",))
    return {
        "dynamic per-channel, embeddings int8 (export-onnx before)": dyn(embeddings=True),
        "dynamic per-channel, embeddings fp32 (export-onnx now)": _package,
        "dynamic per-tensor": dyn(per_channel=False),
        "dynamic per-channel reduce_range": dyn(reduce_range=True),
        "static QDQ MinMax U8S8, attention fp32": sta(),
        "static QDQ MinMax U8S8 + dynamic attention": _then(sta(), attention),
        "static QDQ MinMax S8S8 + dynamic attention": _then(sta(activations="S8"), attention),
        "static QDQ Entropy U8S8 + dynamic attention": _then(sta(method="Entropy"), attention),
        "static QDQ Percentile U8S8 + dynamic attention": _then(sta(method="Percentile"), attention),
        "static QDQ MinMax U8S8 QLinearMatMul + dynamic attention": _then(sta(fp32_outputs=False), attention),
        "static QOperator MinMax U8S8 + dynamic attention": _then(sta(fmt="QOperator"), attention),
        "MatMulNBits 8-bit block 32 acc4 + dynamic attention": _then(attention, lambda s, d, h, r: _nbits(s, d, h)),
        "MatMulNBits 8-bit block 128 acc4 + dynamic attention": _then(
            attention, lambda s, d, h, r: _nbits(s, d, h, block=128)),
    }


# --- measuring ------------------------------------------------------------------------------------
def build(run: Path, names: list[str], folder: Path, rebuild: bool) -> dict[str, tuple[Path, float]]:
    """Each variant's file under ``folder`` (made once; ``rebuild`` makes it again) and its seconds to make."""
    import onnx

    from indoevent.model.onnx_export import _output_matmul

    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "fp32.shapes.onnx"
    if not src.exists():  # the histogram calibrators see only tensors with a known type: infer them once
        from onnxruntime.quantization.shape_inference import quant_pre_process

        quant_pre_process(str(run / "onnx" / "model.onnx"), str(src), skip_optimization=True)
    head = _output_matmul(onnx.load(str(src), load_external_data=False))
    inputs = [i.name for i in onnx.load(str(src), load_external_data=False).graph.input]
    info = json.loads((run / "run_info.json").read_text(encoding="utf-8"))
    train = [d.text for d in seed_documents() if d.doc_id in info["split"]["train"]]
    reader = Windows(run, train, inputs)
    print(f"calibration: {len(reader.feeds)} windows of the run's {len(train)} training articles; "
          f"classifier kept fp32: {head}")
    made, makers = {}, variants()
    root = logging.getLogger()
    for name in names:
        path = folder / (name.replace(" ", "_").replace(",", "").replace("+", "and").replace("(", "").replace(")", "")
                         + ".onnx")
        seconds_file = path.with_suffix(".seconds")
        if rebuild or not path.exists():
            t0 = time.perf_counter()
            level, root.level = root.level, logging.ERROR  # the quantisers log advice on root
            try:
                makers[name](src, path, head, reader)
            finally:
                root.setLevel(level)
            seconds_file.write_text(f"{time.perf_counter() - t0:.1f}\n")
            print(f"  made {name} in {float(seconds_file.read_text()):.0f}s")
        made[name] = (path, float(seconds_file.read_text()) if seconds_file.exists() else float("nan"))
    return made


def predictors(run: Path, files: dict[str, Path], threads: int) -> dict:
    """A :class:`Predictor` per file, all sharing the fp32 predictor's tokenizer and labels."""
    from indoevent.model.predict import Predictor
    from indoevent.model.runtime import OnnxForward

    base = Predictor.from_pretrained(run, runtime="onnx", threads=threads)
    out = {FP32: base}
    for name, path in files.items():
        out[name] = Predictor(OnnxForward(path, threads=threads), base.tokenizer, dict(enumerate(base.labels)),
                              base.max_length, base.overlap, name=name, batch_size=base.batch_size)
    return out


def timed_spans(preds: dict, articles: list[tuple[str, str]], group: int) -> dict[str, list]:
    """Every predictor on the same groups of articles in turn (load falls on all alike); spans per article."""
    from indoevent.model.predict import ForwardStats

    warm = ["Presiden Rusia Vladimir Putin bertemu Kim Jong Un di Beijing."]
    for p in preds.values():
        list(p.predict_many(warm))
        p.stats = ForwardStats()
    out: dict[str, list] = {name: [] for name in preds}
    for g in range(0, len(articles), group):
        part = articles[g : g + group]
        for name, p in preds.items():
            out[name] += [x.spans for x in p.predict_many([t for _, t in part], ids=[i for i, _ in part])]
    return out


def dev_figures(preds: dict, dev: list) -> tuple[dict[str, tuple[float, float]], int]:
    """Per predictor (span agreement with fp32, strict F1 in points) on the dev articles; fp32's span count."""
    from indoevent.model.gate import span_agreement
    from indoevent.model.metrics import score_spans

    got = {name: [x.spans for x in p.predict_many([d.text for d in dev], ids=[d.doc_id for d in dev])]
           for name, p in preds.items()}
    gold = [d.spans for d in dev]
    out = {name: (span_agreement(got[FP32], s), 100 * (score_spans(gold, s)["all"]["micro"]["f1"] or 0.0))
           for name, s in got.items()}
    print(f"dev article: {sum(len(s) for s in got[FP32])} fp32 spans, fp32 F1 {out[FP32][1]:.2f}; then timing "
          f"{len(preds)} predictors in turns")
    return out, sum(len(s) for s in got[FP32])


def table(preds: dict, spans: dict, dev: dict, made: dict, m: Machine, dev_spans: int) -> list[dict]:
    from indoevent.model.gate import span_agreement

    busy = bool(m.reasons)
    rate = {n: p.stats.padded_tokens / p.stats.forward_seconds for n, p in preds.items()}
    print(f"\n{'variant':60}{'dev spans=fp32':>15}{'dev F1':>8}{'dF1':>7}{'bench spans=fp32':>17}{'moved':>6}"
          f"{'pos/s fwd':>10}{'x fp32':>8}{'MB':>6}{'make s':>7}")
    rows = []
    for name in preds:
        agree = span_agreement(spans[FP32], spans[name])
        moved = sum(len({(x.start, x.end, x.label) for x in a} ^ {(x.start, x.end, x.label) for x in b})
                    for a, b in zip(spans[FP32], spans[name], strict=True))
        path, secs = made.get(name, (None, float("nan")))
        size = path.stat().st_size / 1e6 if path else float("nan")
        row = {"variant": name, "dev_span_agreement": round(dev[name][0], 5), "dev_f1": round(dev[name][1], 2),
               "dev_f1_change": round(dev[name][1] - dev[FP32][1], 2), "bench_span_agreement": round(agree, 5), "bench_spans_moved": moved,
               "positions_per_s": round(rate[name], 1), "x_fp32": round(rate[name] / rate[FP32], 3),
               "mb": round(size, 1), "make_seconds": secs, "machine_busy": busy}
        rows.append(row)
        print(f"{name:60}{dev[name][0]:15.2%}{dev[name][1]:8.2f}{row['dev_f1_change']:+7.2f}{agree:17.2%}{moved:6d}"
              f"{rate[name]:10.0f}{rate[name] / rate[FP32]:7.2f}x{size:6.0f}{secs:7.0f}")
    n_dev = sum(len(s) for s in spans[FP32])
    print(f"(dev: the run's dev article, {dev_spans} fp32 spans; bench: the benchmark articles, {n_dev} fp32 spans; "
          f"moved: spans in one of fp32 and the variant only; pos/s fwd: sub-word positions per second of "
          f"forward, padding included"
          f"{'; MACHINE BUSY: the speed columns are not judged, rerun them on an idle machine' if busy else ''})")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=24, help="benchmark articles (5 seeds + mixes), as inference.py")
    ap.add_argument("--only", default=None, help="only variants whose name contains this")
    ap.add_argument("--cache", type=Path, default=ROOT / "models" / "_base", help="where the random model is kept")
    ap.add_argument("--rebuild", action="store_true", help="make the variant files again")
    ap.add_argument("--group", type=int, default=2, help="articles per round of turns")
    ap.add_argument("--settle", type=float, default=90.0, help="as inference.py's --settle")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args()

    import onnxruntime as ort
    import torch

    from indoevent.model.onnx_export import export_onnx

    ort.set_default_logger_severity(3)  # calibration sessions warn of every unused initializer

    t_start = time.perf_counter()
    m = Machine(settle=args.settle)
    m.begin()
    run = build_run(args.cache / "bench-base-probe", small=False)
    if not (run / "onnx" / "model.onnx").exists():
        export_onnx(run, quantize="int8")
    names = [n for n in variants() if args.only is None or args.only in n]
    made = build(run, names, run / "onnx-variants", args.rebuild)
    preds = predictors(run, {n: p for n, (p, _) in made.items()}, torch.get_num_threads())
    info = json.loads((run / "run_info.json").read_text(encoding="utf-8"))
    dev, dev_spans = dev_figures(preds, [d for d in seed_documents() if d.doc_id in info["split"]["dev"]])
    articles = build_articles(ROOT / "seeds", args.articles)
    spans = timed_spans(preds, articles, args.group)
    print()
    m.end()
    rows = table(preds, spans, dev, made, m, dev_spans)
    if args.json:
        args.json.write_text(json.dumps({"machine": m.to_dict(), "rows": rows}, indent=1) + "\n")
    print(f"\n(total {time.perf_counter() - t_start:.0f}s)")


if __name__ == "__main__":
    main()
