"""Inference speed: every runtime of ``Extractor.extract_many`` against the Hugging Face pipeline a user would write.

One run, the same articles, the same model (a randomly initialised BERT, base size by default,
with a WordPiece vocabulary trained on the seeds: speed does not depend on the weights):

* ``pipeline("token-classification", aggregation_strategy="first", stride=128)``, one article
  at a time, as its documentation suggests for long texts (the baseline);
* ``extract_many`` (the project's windows: 512 sub-words, overlap 64, cut at word edges;
  length-sorted batches with dynamic padding) with torch fp32, torch bf16 autocast (on CPUs with
  native bf16; fp16 and bf16 on a GPU), ONNX Runtime fp32 and int8 (``indoevent export-onnx
  --quantize int8``), and ``auto``, the default runtime (``Extractor.from_pretrained(run)``);

and prints the machine (CPU model, the flags that decide the runtimes, threads), the load average
and a calibration matmul's GFLOP/s before and after (``benchmarks/machine.py``), then per method
words/s, the ratio to the pipeline, the share of wall time in the model's forward, the sub-word
positions fed to the model, positions per second of forward, span agreement with torch fp32
(2|A and B| / (|A| + |B|)), the GFLOP/s that makes (FLOPs per position from the model's config)
and its fraction of the calibrated fp32, bf16 and int8 peaks; then the targets, judged only on an
idle machine (load under 0.5 per core before and after, the fp32 calibrations within 10%; int8
targets only on CPUs with VNNI), else ``machine busy: rerun`` and ``not judged``; and agreement
with the pipeline (on articles that fit in one window, and on longer ones).

``--threads-under-load`` measures instead ONNX Runtime fp32 and int8 with intra-op spinning on and
off (``session.intra_op.allow_spinning``) and torch fp32 with 1 and 2 threads, idle and under a
defined load (one ``while True: pass`` process per core, started and stopped by the script).

The encoder is random; its head is a linear probe fitted on four seeds' gold in seconds, so that
spans are sparse and confident enough for agreement to mean something (``--random-head`` keeps
the untrained head: nearly flat logits, a span on most words, pessimistic agreement). Like any
run, the model has a dev article (the fifth seed, in its ``run_info.json``): the runtime gate
(``model/gate.py``) is measured there after the ONNX export and printed, and ``auto`` goes through it. Methods
take turns on groups of two articles, so that load from other processes falls on all alike.

Figures. Raw logs of runs made with the machine checks are in ``benchmarks/results/`` (so far
only runs on a busy machine, which judge nothing). The tables below are older, made before the
checks, with no calibration and no raw log kept.

On an idle machine (issue 19: load average 0.8 before on 2 cores, about 2 during the run from the
benchmark's own two threads; no calibration recorded), AMD EPYC Zen 5, 2 cores, BERT-base, 24
articles: pipeline 832 words/s (1,167 positions/s of forward); torch fp32 1.22x; torch bf16 1.94x
(98.92% of fp32's spans); ONNX Runtime fp32 1.44x (1,392 positions/s, some 240 GFLOP/s of BERT-base
work); ONNX Runtime int8 2.88x (99.33%); auto (ONNX Runtime fp32) 1.42x. These are the figures
to compare against.

LOADED, do not quote as speed-ups: the project machine, AMD EPYC Zen 5, 2 cores (avx2 avx512f
avx512_vnni avx512_bf16), torch 2.13 with 2 threads, onnxruntime 1.32; BERT-base, 24 articles,
16,285 words; shared with ~7 other engineers' jobs: load average 10.8 before and 12.1 after on 2
cores. Absolute figures are ~5x below an idle machine's, and the ratios are inflated too: torch's
threads lose most of their speed when another process takes a core, ONNX Runtime's hardly any, so
the ratio to the (torch) pipeline grows with the load (auto 4.12x here, 1.42x idle)::

    method                                    words/s  x pipeline  in forward  positions  pos/s fwd  spans = fp32
    HF pipeline (first, stride 128)                47       1.00x         99%      22206         65             -
    extract_many torch fp32                        54       1.16x        100%      18694         63       100.00%
    extract_many torch bf16                        65       1.38x         99%      18694         75        98.92%
    extract_many onnxruntime fp32                 191       4.07x         98%      18694        223       100.00%
    extract_many onnxruntime int8                 321       6.84x         96%      18694        383        99.33%
    auto (onnxruntime-fp32-cpu)                   194       4.12x         98%      18694        226       100.00%
    target auto >= 2x pipeline, spans >= 100% of fp32: 4.12x, 100.00% -> met
    target int8 >= 4x pipeline, spans >= 99%: 6.84x, 99.33% -> met
    target >= 90% of wall time in the forward: met

LOADED too (load average 0.9 before, 2.7 after on 2 cores: over 0.5 per core; 160 s); auto read
3.53x here against 1.42x idle::

    method                                    words/s  x pipeline  in forward  positions  pos/s fwd  spans = fp32
    HF pipeline (first, stride 128)               347       1.00x         99%      22206        479             -
    extract_many torch fp32                       434       1.25x         99%      18694        501       100.00%
    extract_many torch bf16                       555       1.60x         99%      18694        641        98.92%
    extract_many onnxruntime fp32                1175       3.38x         97%      18694       1396       100.00%
    extract_many onnxruntime int8                2037       5.87x         96%      18694       2424        99.33%
    auto (onnxruntime-fp32-cpu)                  1226       3.53x         98%      18694       1439       100.00%
    (all three targets "met": judged then on a loaded machine; today's rules would not judge them)

Why torch fp32 barely beats the pipeline (the issue measured 0.94x): per position of forward it
is as fast as the pipeline's one-article calls (63 against 65, and 501 against 479 positions/s in
the loaded runs above: the same within noise), and a raw BERT-base forward measured alone (quieter
machine, load not recorded; SDPA) ran 900 to 950
positions/s whether batch 1, 2 or 8 windows of 512, padded or not: batching buys nothing on 2
cores (one 512-token window already keeps both busy) and costs nothing either. torch uses 2
threads (one per core); eager attention was 1.5x slower than SDPA on padded batches, so the
runtime now asks for SDPA explicitly. What is left is torch's fp32 kernels, which run under the
machine's peak: ONNX Runtime's ran 1.2x faster on the very same positions on the idle machine
(3.5x under load, most of that the load), so ``auto`` uses ONNX Runtime on CPU; ONNX Runtime fp32
is near the fp32 limit (the peak fractions the benchmark now prints show how near). The extractor's whole gain in torch comes from feeding fewer positions
(18,694 against 22,206: overlap 64 at word edges and no chunk padded to 512). bf16 autocast
ran 1.6x fp32 on the idle machine (2.7x in an earlier run of unrecorded load, 1.2x under the
load above) but moved 1% of spans: under the 99%
a default needs, so without ONNX Runtime ``auto`` stays on torch fp32 (model/runtime.py).
GPU: no GPU was lent to this work; ``benchmarks/gpu_check.sh`` runs this script with
``--device cuda`` (target: auto >= 5x the pipeline); no GPU figures yet.

    .venv/bin/python benchmarks/inference.py                # base size, ~5 minutes on 2 quiet cores
    .venv/bin/python benchmarks/inference.py --small        # 4 layers, 256 wide: a quick check
    .venv/bin/python benchmarks/inference.py --device cuda  # GPU (fp32, fp16, bf16 autocast; no ONNX)
    .venv/bin/python benchmarks/inference.py --small --threads-under-load   # spinning, threads, idle vs loaded
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # scaffold: run folders with an untrained head
sys.path.insert(0, str(ROOT / "benchmarks"))  # machine: flags, load, calibration, the judging rules

from machine import Machine, flops_per_position, format_fractions, peak_fractions  # noqa: E402

from indoevent.model.runtime import native_bf16  # noqa: E402
from indoevent.model.windows import encode_windows  # noqa: E402
from indoevent.text.tokenize import tokenize  # noqa: E402


# --- articles ---------------------------------------------------------------------------------------
def build_articles(seeds: Path, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """The seed articles, then articles with the seeds' lengths (each a seed's word count times
    0.6 to 1.4) made of seed paragraphs in a random order, each starting with a seed headline."""
    texts = [f.read_bytes().decode("utf-8") for f in sorted(seeds.glob("*.txt"))]
    out = [(f"seed{i}", t) for i, t in enumerate(texts)][:n]
    lengths = [len(tokenize(t)) for t in texts]
    paragraphs = [p for t in texts for p in t.split("\n")[1:] if len(tokenize(p)) >= 8]
    headlines = [t.split("\n", 1)[0] for t in texts]
    rng = random.Random(seed)
    k = 0
    while len(out) < n:
        target = int(rng.choice(lengths) * rng.uniform(0.6, 1.4))
        parts = [rng.choice(headlines)]
        words = len(tokenize(parts[0]))
        while words < target:
            p = rng.choice(paragraphs)
            parts.append(p)
            words += len(tokenize(p))
        out.append((f"mix{k}", "\n".join(parts)))
        k += 1
    return out


def build_run(out: Path, small: bool, head: str = "probe") -> Path:
    """A base-size (or --small) random BERT with a token-classification head, as a run dir.
    ``head="probe"``: the head is fitted on the seeds' gold over the frozen random encoder (a
    linear probe, seconds), so that spans are sparse and confident as a trained model's are;
    ``head="random"``: the untrained head, whose near-flat logits flip at any perturbation."""
    from indoevent.model.tiny import build_tiny_bert
    from scaffold import init_run

    size = dict(hidden_size=256, layers=4, heads=4) if small else dict(hidden_size=768, layers=12, heads=12)
    base = out.parent / f"bench-{'small' if small else 'base'}-encoder"
    if not (base / "config.json").exists():
        build_tiny_bert(base, ROOT / "seeds", vocab_size=8000, **size)
    if not (out / "run_info.json").exists():  # a cached run from before it had dev articles is rebuilt
        init_run(base, out, run_name=out.name)
        docs = seed_documents()
        if head == "probe":
            fit_probe(out, docs[:-1])
        # Like any run: the last seed is its dev article, never fitted on; the runtime gate is measured there.
        (out / "run_info.json").write_text(json.dumps({"run_name": out.name, "split": {
            "train": [d.doc_id for d in docs[:-1]], "dev": [docs[-1].doc_id], "test": []}}, indent=1) + "\n")
    return out


def seed_documents() -> list:
    """The five gold seed articles (annotations/seeds.json), in order."""
    from indoevent.annotation.lsexport import read_export

    return list(read_export(ROOT / "annotations" / "seeds.json").documents)


def int8_current(run: Path) -> bool:
    """The cached run has an int8 export made the way ``export-onnx`` makes it now (a cache from before
    the int8 recipe changed, issue 19 step 2, is exported again; its gate then reads stale and is measured)."""
    from indoevent.model.onnx_export import INT8_OPS

    meta = run / "onnx" / "export.json"
    if not (run / "onnx" / "model.int8.onnx").exists() or not meta.exists():
        return False
    return json.loads(meta.read_text(encoding="utf-8")).get("int8", {}).get("ops") == list(INT8_OPS)


def runtime_gate(run: Path) -> None:
    """Measure the run's runtime gate on its dev seed (as train does), unless a fresh one is there; print it."""
    from indoevent.model.gate import read_gate
    from indoevent.model.gate_measure import measure_gate

    gate = read_gate(run)
    if gate.why_none:
        dev = json.loads((run / "run_info.json").read_text(encoding="utf-8"))["split"]["dev"]
        t0 = time.perf_counter()
        measure_gate(run, [d for d in seed_documents() if d.doc_id in dev])
        print(f"(measured the runtime gate in {time.perf_counter() - t0:.0f}s, not timed)")
        gate = read_gate(run)
    print(f"runtime gate (int8 >= 99% spans = fp32 and F1 drop <= 0.5 points, which auto reads): {gate.describe()}")


def fit_probe(run: Path, docs: list, steps: int = 300) -> None:
    """Fit the classifier of ``run`` on the gold tags of ``docs`` (four seeds), encoder frozen."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from indoevent.annotation.convert import document_to_article
    from indoevent.model.windows import best_window
    from indoevent.schema import bio_tags

    tok = AutoTokenizer.from_pretrained(run)
    tok.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True  # windows follow
    model = AutoModelForTokenClassification.from_pretrained(run).eval()
    tag_id = {t: i for i, t in enumerate(bio_tags())}
    feats, labels = [], []
    with torch.inference_mode():
        for doc in docs:
            art, _ = document_to_article(doc)
            wins = encode_windows(tok, art.tokens, 512, 64)
            best = best_window(wins, len(art.tokens))
            for k, w in enumerate(wins):
                h = model.base_model(input_ids=torch.tensor([w.input_ids])).last_hidden_state[0]
                for pos, word in w.first_subword_positions():
                    if best[word] == k:
                        feats.append(h[pos])
                        labels.append(tag_id[art.tags[word]])
    x, y = torch.stack(feats).clone(), torch.tensor(labels)
    head = torch.nn.Linear(x.shape[1], len(tag_id))
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x), y) + 1e-4 * head.weight.pow(2).sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        model.classifier.weight.copy_(head.weight)
        model.classifier.bias.copy_(head.bias)
        acc = (head(x).argmax(-1) == y).float().mean().item()
    model.save_pretrained(run)
    print(f"(probe head fitted on {len(y)} gold words of {len(docs)} seeds: training accuracy {acc:.1%})")


# --- the pipeline ----------------------------------------------------------------------------------
def make_pipeline(run: Path, stride: int, device: str):
    """The pipeline as a user writes it, on the same model."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    tok = AutoTokenizer.from_pretrained(run)
    model = AutoModelForTokenClassification.from_pretrained(run).eval()
    return pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy="first",
                    stride=stride, device=0 if device.startswith("cuda") else -1)


def pipeline_positions(tok, articles, stride: int) -> int:
    """Sub-word positions the pipeline feeds the model: chunks of model_max_length overlapping
    by ``stride``, padded to the longest chunk of the article."""
    n = 0
    for _, text in articles:
        enc = tok(text, truncation=True, return_overflowing_tokens=True, stride=stride, padding=True)
        n += sum(len(x) for x in enc["input_ids"])
    return n


def pipeline_on_words(pipe, words: list[str]):
    """The pipeline fed our words (identical sub-word ids to the extractor's): its spans mapped
    back to our character offsets through the words it was given."""
    out = pipe([words], is_split_into_words=True)[0]
    joined = " ".join(words)
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    return out, joined, starts


# --- timing ------------------------------------------------------------------------------------
def timed_rounds(methods: dict, articles, group: int) -> dict:
    """Run every method on the same groups of articles, one group after the other, so that
    load from other processes falls on all methods alike. Returns per method the seconds and
    the span sets per article."""
    out = {name: {"seconds": 0.0, "spans": []} for name in methods}
    for g in range(0, len(articles), group):
        part = articles[g : g + group]
        for name, fn in methods.items():
            t0 = time.perf_counter()
            spans = fn(part)
            out[name]["seconds"] += time.perf_counter() - t0
            out[name]["spans"] += spans
    return out


def extractor_method(ex, batch_size):
    def run(part):
        arts = ex.extract_many((t for _, t in part), batch_size=batch_size, ids=[i for i, _ in part])
        return [{(s.start, s.end, s.label) for s in a.spans} for a in arts]
    return run


def pipeline_method(pipe):
    import torch

    def run(part):
        with torch.inference_mode():
            return [{(int(e["start"]), int(e["end"]), e["entity_group"]) for e in pipe(t)} for _, t in part]
    return run


def agreement(a: list[set], b: list[set]) -> float:
    """Span agreement: 2|A and B| / (|A| + |B|) over all articles (F1 of one against the other)."""
    inter = sum(len(x & y) for x, y in zip(a, b, strict=True))
    total = sum(len(x) + len(y) for x, y in zip(a, b, strict=True))
    return 2 * inter / total if total else 1.0


def explain(text: str, ours: set, theirs: set, same_input: bool) -> Counter:
    """Why spans differ on a one-window article. ``word split differently``: the span touches
    a word we keep whole and BERT's pre-tokenizer splits (``10.000``, ``18:14``, ``sela-sela``,
    ``Jong-un``): we label its first sub-word as in training, the pipeline labels each piece.
    ``input differs (-nya)``: the pipeline read the raw text, where our words split the clitic
    -nya as in training, so the model saw other sub-words (and, through attention, every label
    may move). Anything else is ``unexplained``."""
    words = tokenize(text)
    multi = [k for k, w in enumerate(words) if len(tokenize_bert(w.text)) > 1]
    near = [(words[max(k - 1, 0)].start, words[min(k + 1, len(words) - 1)].end) for k in multi]
    why = Counter()
    for s in ours ^ theirs:
        a, b = s[0], s[1]
        if any(x < b and a < y for x, y in near):
            why["word split differently"] += 1
        elif not same_input:
            why["input differs (-nya)"] += 1
        else:
            why["unexplained"] += 1
    return why


def tokenize_bert(word: str) -> list[str]:
    import re

    return re.findall(r"\w+|[^\w\s]", word)


def word_labels(text: str, spans: set) -> list[str]:
    """Each word's label from a span set (O outside spans), for word-level agreement."""
    words = tokenize(text)
    starts = [w.start for w in words]
    import bisect

    labels = ["O"] * len(words)
    for a, b, label in spans:
        for k in range(bisect.bisect_left(starts, a), bisect.bisect_left(starts, b)):
            labels[k] = label
    return labels


def pipeline_words_check(pipe, ex, articles, fp_spans, idx):
    """Feed the pipeline our words: it then sees the extractor's very sub-word ids. Returns
    (identical articles, articles, reasons for differing spans)."""
    import bisect

    equal, why = 0, Counter()
    for i in idx:
        text = articles[i][1]
        ws = tokenize(text)
        out, _, starts = pipeline_on_words(pipe, [w.text for w in ws])
        mapped = set()
        for e in out:  # offsets into the words joined by spaces -> offsets into the article
            a = bisect.bisect_right(starts, int(e["start"])) - 1
            b = bisect.bisect_right(starts, int(e["end"]) - 1) - 1
            mapped.add((ws[a].start + int(e["start"]) - starts[a], ws[b].start + int(e["end"]) - starts[b],
                        e["entity_group"]))
        equal += mapped == fp_spans[i]
        why += explain(text, fp_spans[i], mapped, same_input=True)
    return equal, len(idx), why


def time_forward(model) -> dict:
    """Wrap ``model.forward`` to sum its seconds and positions (for the pipeline's row)."""
    clock = {"seconds": 0.0, "positions": 0, "windows": 0}
    inner = model.forward

    def forward(*a, **k):
        t0 = time.perf_counter()
        out = inner(*a, **k)
        clock["seconds"] += time.perf_counter() - t0
        ids = k.get("input_ids", a[0] if a else None)
        clock["positions"] += int(ids.numel()) if ids is not None else 0
        clock["windows"] += int(ids.shape[0]) if ids is not None and ids.dim() == 2 else 1
        return out
    model.forward = forward
    return clock


def check_targets(rows, t_pipe: float, auto_name: str, auto_runtime: str, cuda: bool, m: Machine) -> None:
    """The issue's targets from this run's numbers: met or not on an idle machine, else not judged
    (benchmarks/machine.py); int8 targets judged only on CPUs with VNNI."""
    by = {name: (t_pipe / wall, fwd / wall, agree) for name, wall, fwd, _, _, agree in rows}
    lossy = any(p in auto_runtime for p in ("bf16", "fp16", "int8"))  # chosen through the gate: 99%
    need = 5.0 if cuda else 2.5  # issue 19: auto >= 2.5x the pipeline on an idle CPU
    x, share, agree = by[auto_name]
    print(f"target auto >= {need:g}x pipeline, spans >= {'99' if lossy else '100'}% of fp32: {x:.2f}x, "
          f"{agree:.2%} -> {m.judge(x >= need and agree >= (0.99 if lossy else 1.0), int8='int8' in auto_runtime)}")
    if "extract_many onnxruntime int8" in by:
        x8, _, a8 = by["extract_many onnxruntime int8"]
        print(f"target int8 >= 4x pipeline, spans >= 99%: {x8:.2f}x, {a8:.2%} -> "
              f"{m.judge(x8 >= 4 and a8 >= 0.99, int8=True)}")
    low = [n for n, (_, sh, _) in by.items() if n in dict((r[0], 1) for r in rows[1:]) and sh < 0.9]
    print(f"target >= 90% of wall time in the forward: {m.judge(not low)}"
          f"{' (below: ' + ', '.join(low) + ')' if low else ''}")


# --- threads under load ----------------------------------------------------------------------------
BUSY_LOOP = "while True: pass"


def busy_loops(n: int) -> list:
    """The defined load: ``n`` Python processes spinning on one core each."""
    import subprocess

    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(n)]


def stop(procs: list) -> None:
    """Stop the busy loops this script started, each by its own process."""
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=10)


def with_spinning(ex, spinning: bool) -> None:
    """Give an ONNX Runtime extractor a session like the package's (same file, optimisation and
    intra-op threads), with ``session.intra_op.allow_spinning`` set: "1" (ONNX Runtime's default)
    keeps idle pool threads spinning between ops, "0" lets them sleep."""
    import onnxruntime as ort

    fwd = ex.predictor.forward
    old = fwd.session
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = old.get_session_options().intra_op_num_threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    fwd.session = ort.InferenceSession(old._model_path, opts, providers=["CPUExecutionProvider"])


def with_threads(method, n: int):
    """Run ``method`` with torch at ``n`` intra-op threads, restoring the count after."""
    import torch

    def run(part):
        keep = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return method(part)
        finally:
            torch.set_num_threads(keep)
    return run


def threads_under_load(run: Path, articles, args, m: Machine, config: dict) -> None:
    """ONNX Runtime fp32 and int8 with spinning on and off, torch fp32 with 1 and 2 threads: each
    on the same articles, idle, then under one busy-loop process per core. Prints positions per
    second of forward per condition; picks nothing (the defaults are the package's to choose)."""
    import torch

    from indoevent.events.extractor import Extractor
    from indoevent.model.onnx_export import export_onnx
    from indoevent.model.predict import ForwardStats

    if not int8_current(run):
        export_onnx(run, quantize="int8")
    configs = {}
    for precision, kw in (("fp32", {"runtime": "onnx"}), ("int8", {"quantize": "int8"})):
        for spinning in (True, False):
            ex = Extractor.from_pretrained(run, batch_size=args.batch_size, **kw)
            with_spinning(ex, spinning)
            configs[f"onnxruntime {precision}, spinning {'on' if spinning else 'off'}"] = ex
    threads = sorted({1, 2, m.cores})
    for n in threads:
        configs[f"torch fp32, {n} thread{'s' if n > 1 else ''}"] = Extractor.from_pretrained(
            run, device="cpu", runtime="torch", precision="fp32", batch_size=args.batch_size)
    methods = {name: extractor_method(ex, args.batch_size) for name, ex in configs.items()}
    for n in threads:
        name = f"torch fp32, {n} thread{'s' if n > 1 else ''}"
        methods[name] = with_threads(methods[name], n)
    warm = [("warm", "Presiden Rusia Vladimir Putin bertemu Kim Jong Un di Beijing.")]
    for fn in methods.values():
        fn(warm)

    measured = {}
    for condition in ("idle", "loaded"):
        procs = busy_loops(m.cores) if condition == "loaded" else []
        try:
            if procs:
                time.sleep(1.0)  # let the loops reach their cores
            for ex in configs.values():
                ex.predictor.stats = ForwardStats()
            timed_rounds(methods, articles, args.group)
        finally:
            stop(procs)
        measured[condition] = {name: (ex.stats.padded_tokens / ex.stats.forward_seconds,
                                      ex.stats.padded_tokens / max(ex.stats.windows, 1))
                               for name, ex in configs.items()}
    print()
    m.end()
    print(f"\nthreads under load: {len(articles)} articles per condition; 'loaded': {m.cores} processes "
          f"running `{BUSY_LOOP}` (one per core), started and stopped by this script; ONNX Runtime intra-op "
          f"threads {configs[next(iter(configs))].predictor.forward.session.get_session_options().intra_op_num_threads}"
          f", torch default threads {torch.get_num_threads()}")
    print(f"{'runtime':36}{'pos/s idle':>11}{'pos/s loaded':>13}{'loaded/idle':>12}  idle, of calibrated peak")
    for name in configs:
        (idle, ctx), (loaded, _) = measured["idle"][name], measured["loaded"][name]
        frac = peak_fractions(idle, flops_per_position(config, ctx), m.peaks)
        print(f"{name:36}{idle:11.0f}{loaded:13.0f}{loaded / idle:12.2f}  {format_fractions(frac)}")
    if m.reasons:
        print("('idle' was not idle: the machine was busy before or after, so these rows are not the idle "
              "machine's; rerun on a quiet machine)")
    if args.json:
        args.json.write_text(json.dumps({"machine": m.to_dict(), "peaks_gflops": m.peaks, "articles": len(articles),
                                         "positions_per_s": {c: {n: v[0] for n, v in r.items()}
                                                             for c, r in measured.items()}}, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=24, help="how many articles (5 seeds + mixes)")
    ap.add_argument("--small", action="store_true", help="4 layers, 256 wide instead of BERT-base")
    ap.add_argument("--random-head", action="store_true",
                    help="keep the untrained head (flat logits: pessimistic agreement, a span on most words)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--stride", type=int, default=128, help="the pipeline's stride")
    ap.add_argument("--batch-size", type=int, default=None, help="windows per forward (default: the extractor's)")
    ap.add_argument("--cache", type=Path, default=ROOT / "models" / "_base", help="where the random model is kept")
    ap.add_argument("--skip-onnx", action="store_true", help="no ONNX Runtime rows")
    ap.add_argument("--group", type=int, default=2,
                    help="articles per round; methods take turns on each round, so that load from other "
                         "processes falls on all of them alike")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    ap.add_argument("--threads-under-load", action="store_true",
                    help="instead of the comparison: ONNX Runtime with intra-op spinning on and off and torch "
                         "with 1 and 2 threads, idle and under one busy-loop process per core (started and "
                         "stopped here); positions/s of forward for each")
    ap.add_argument("--settle", type=float, default=90.0,
                    help="at most this many seconds to wait, after the run, for the 1-minute load average to "
                         "lose this benchmark's own threads before reading the load after")
    args = ap.parse_args()

    import torch

    from indoevent.events.extractor import Extractor
    from indoevent.model.predict import ForwardStats

    t_setup = time.perf_counter()
    m = Machine(settle=args.settle)
    m.begin()  # before anything of ours loads the machine (the model build and export included)
    size = "small" if args.small else "base"
    head = "random" if args.random_head else "probe"
    run = build_run(args.cache / f"bench-{size}-{head}", args.small, head)
    articles = build_articles(ROOT / "seeds", args.articles)
    n_words = [len(tokenize(t)) for _, t in articles]
    total_words = sum(n_words)
    cuda = args.device.startswith("cuda")
    print(f"model: {run.name} ({'4 layers, 256 wide' if args.small else 'BERT-base, 12 layers, 768 wide'}, "
          f"random encoder, {head} head), device {args.device}, torch threads {torch.get_num_threads()}")
    print(f"articles: {len(articles)}, {total_words} words (min {min(n_words)}, max {max(n_words)})")
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    if args.threads_under_load:
        threads_under_load(run, articles, args, m, config)
        return

    pipe = make_pipeline(run, args.stride, args.device)
    pipe_clock = time_forward(pipe.model)
    pipe_name = f"HF pipeline (first, stride {args.stride})"
    fp_name = "extract_many torch fp32"
    ex = Extractor.from_pretrained(run, device=args.device, runtime="torch", precision="fp32",
                                   batch_size=args.batch_size)
    extractors = {fp_name: ex}
    # Half precision where it is native: fp16 and bf16 on a GPU, bf16 on CPUs with avx512_bf16/AMX.
    for half in (("fp16", "bf16") if cuda else ("bf16",) if native_bf16() else ()):
        extractors[f"extract_many torch {half}"] = Extractor.from_pretrained(
            run, device=args.device, runtime="torch", precision=half, batch_size=args.batch_size)
    if not cuda and not args.skip_onnx:
        from indoevent.model.onnx_export import export_onnx

        if not int8_current(run):
            t0 = time.perf_counter()
            export_onnx(run, quantize="int8")
            print(f"(exported ONNX fp32 + int8 in {time.perf_counter() - t0:.0f}s, not timed)")
        runtime_gate(run)
        for name, kw in (("extract_many onnxruntime fp32", {"runtime": "onnx"}),
                         ("extract_many onnxruntime int8", {"quantize": "int8"})):
            extractors[name] = Extractor.from_pretrained(run, batch_size=args.batch_size, **kw)
    auto = Extractor.from_pretrained(run, device=args.device, batch_size=args.batch_size)
    auto_name = f"auto ({auto.runtime})"
    extractors[auto_name] = auto
    methods = {pipe_name: pipeline_method(pipe)}
    methods.update({name: extractor_method(e, args.batch_size) for name, e in extractors.items()})
    warm = [("warm", "Presiden Rusia Vladimir Putin bertemu Kim Jong Un di Beijing.")]
    for fn in methods.values():
        fn(warm)
    for e in extractors.values():
        e.predictor.stats = ForwardStats()
    pipe_clock.update(seconds=0.0, positions=0, windows=0)
    results = timed_rounds(methods, articles, args.group)
    print()
    m.end()

    t_pipe = results[pipe_name]["seconds"]
    fp_spans = results[fp_name]["spans"]
    rows = [(pipe_name, t_pipe, pipe_clock["seconds"], pipe_clock["positions"], pipe_clock["windows"], None)]
    rows += [(name, results[name]["seconds"], e.stats.forward_seconds, e.stats.padded_tokens, e.stats.windows,
              agreement(results[name]["spans"], fp_spans)) for name, e in extractors.items()]
    print()
    print(f"{'method':40}{'words/s':>9}{'x pipeline':>12}{'in forward':>12}{'positions':>11}{'pos/s fwd':>11}"
          f"{'spans = fp32':>14}{'GFLOP/s':>9}  of calibrated peak")
    fractions = {}
    for name, wall, fwd, positions, windows, agree in rows:
        rate = positions / fwd if fwd else 0.0
        flop = flops_per_position(config, positions / max(windows, 1))
        fractions[name] = {} if cuda else peak_fractions(rate, flop, m.peaks)
        print(f"{name:40}{total_words / wall:9.0f}{t_pipe / wall:11.2f}x{fwd / wall:12.0%}{positions:11d}"
              f"{rate:11.0f}{'-' if agree is None else f'{agree:.2%}':>14}{rate * flop / 1e9:9.1f}  "
              f"{format_fractions(fractions[name]) or '-'}")
    print(f"(positions: sub-word positions fed to the model, padding included; real sub-words "
          f"{ex.stats.tokens}; pos/s fwd: positions per second of forward; GFLOP/s: pos/s fwd x "
          f"{flops_per_position(config, 512) / 1e9:.3g} GFLOP per position at 512 (2 x matmul parameters + "
          f"attention over the row's mean window); of calibrated peak: that over the calibration matmul's "
          f"GFLOP/s per precision, the better of before and after{' (CPU only)' if cuda else ''})")
    check_targets(rows, t_pipe, auto_name, auto.runtime, cuda, m)

    pipe_spans = results[pipe_name]["spans"]
    # One window for both: the pipeline reads the raw text in one chunk, and our words (-nya split
    # off, as in training) fit one window too.
    one_window = [len(ex.predictor.tokenizer(t)["input_ids"]) <= ex.predictor.max_length and len(encode_windows(
        ex.predictor.tokenizer, [w.text for w in tokenize(t)], ex.predictor.max_length, ex.predictor.overlap)) == 1 for _, t in articles]
    one = [i for i, o in enumerate(one_window) if o]
    longer = [i for i, o in enumerate(one_window) if not o]
    pick = lambda xs, idx: [xs[i] for i in idx]  # noqa: E731
    n_spans = sum(len(s) for s in fp_spans)
    print(f"\nspans vs the pipeline ({n_spans} fp32 spans; character offsets and label must match):")
    if one:
        why = Counter()
        for i in one:
            text = articles[i][1]
            same = ex.predictor.tokenizer(text)["input_ids"] == encode_windows(
                ex.predictor.tokenizer, [w.text for w in tokenize(text)], ex.predictor.max_length, ex.predictor.overlap)[0].input_ids
            why += explain(text, fp_spans[i], pipe_spans[i], same)
        same_one = sum(fp_spans[i] == pipe_spans[i] for i in one)
        print(f"  {len(one)} articles in one window: agreement {agreement(pick(fp_spans, one), pick(pipe_spans, one)):.1%}"
              f", {same_one} identical; differing spans by cause: {dict(why) or 'none'}")
        equal, total, wwhy = pipeline_words_check(pipe, ex, articles, fp_spans, one)
        print(f"  the same {total}, the pipeline fed our words (the very sub-word ids the extractor sees): {equal} "
              f"identical; differing spans by cause: {dict(wwhy) or 'none'}")
    if longer:
        print(f"  {len(longer)} longer articles: agreement "
              f"{agreement(pick(fp_spans, longer), pick(pipe_spans, longer)):.1%} (windows differ: ours overlap up "
              f"to 64 sub-words at word edges and take each word from its most central window; the pipeline's "
              f"overlap {args.stride} and keeps the longer of two overlapping entities)")
    name8 = "extract_many onnxruntime int8"
    if name8 in results:
        s8 = results[name8]["spans"]
        same_words = sum(sum(x == y for x, y in zip(word_labels(t, a), word_labels(t, b), strict=True))
                         for (_, t), a, b in zip(articles, s8, fp_spans, strict=True))
        print(f"int8 vs fp32: span agreement {agreement(s8, fp_spans):.2%}, word labels {same_words / total_words:.2%}"
              f" ({len(articles)} articles)")
    if args.json:
        args.json.write_text(json.dumps({
            "words": total_words, "articles": len(articles), "device": args.device, "model": run.name,
            "machine": m.to_dict(), "peaks_gflops": m.peaks,
            "rows": [{"method": n, "seconds": round(w, 3), "words_per_s": round(total_words / w, 1),
                      "x_pipeline": round(t_pipe / w, 3), "forward_share": round(f / w, 3), "positions": p,
                      "windows": k, "span_agreement_fp32": a, "peak_fractions": fractions[n]}
                     for n, w, f, p, k, a in rows]}, indent=1))
    print(f"\n(total {time.perf_counter() - t_setup:.0f}s)")


if __name__ == "__main__":
    main()
