"""Where the prediction path's time goes, part by part: the word tokenizer, sub-words and windows,
the model (embeddings, each encoder layer, the rest) and decoding spans, per run and per checkout.

The texts are those `benchmarks/distill.py` times (the corpus' dev and test articles). Each
(checkout, run) runs in its own process: one untimed pass over all texts (threads, allocator,
kernel choice, and the tokenizer's remembered words: the steady state of a long extraction),
then ``--passes`` timed passes; the best pass counts. Rounds alternate the processes, so that a
change of load touches all of them; the best round counts.

By default the clock is the process's CPU time with one torch thread: other processes on a
shared machine then cost hardly anything (waiting for a core is not counted), so parts can be
compared while the machine is busy. Words/s from it are CPU words/s per core, not what a user
sees; ``--threads 2 --clock wall`` times what `distill.py` times (judge those only when idle).

    .venv/bin/python benchmarks/predict_parts.py models/offline models/distill-offline/student
    .venv/bin/python benchmarks/predict_parts.py models/offline --code ../main .   # before / after a change
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("total", "tokenize", "windows", "prepare_rest", "embeddings", "layers", "forward_rest", "finish", "rest")


def texts_of(root: Path) -> list[str]:
    """The corpus' dev and test texts, as ``distill.py`` times them."""
    from indoevent.text.inputs import Source, read_inputs

    splits = json.loads((root / "annotations" / "corpus" / "splits.json").read_text(encoding="utf-8"))
    keep = set(splits["dev"]) | set(splits["test"])
    return [s.text for s in read_inputs([root / "annotations" / "corpus" / "texts"])
            if isinstance(s, Source) and s.id in keep]


def time_modules(model, clock, totals: dict[str, float]) -> None:
    """Add each module's time to ``totals`` through forward hooks: the embeddings, every encoder
    layer (summed as "layers"), and the classifier."""
    base = getattr(model, model.base_model_prefix)
    named = [("embeddings", base.embeddings), ("classifier", model.classifier)]
    named += [("layers", layer) for layer in base.encoder.layer]
    for name, module in named:
        start: list[float] = []
        module.register_forward_pre_hook(lambda *_, s=start: s.append(clock()))
        module.register_forward_hook(lambda *_, s=start, n=name: totals.__setitem__(n, totals[n] + clock() - s.pop()))


def measure(run: Path, passes: int, clock_name: str, batch_size: int | None = None) -> dict:
    """One process's figures for one run with the checkout on ``sys.path``: the best pass's seconds per part."""
    import torch

    import indoevent.model.predict as predict
    from indoevent.model.windows import encode_windows
    from indoevent.text.tokenize import tokenize

    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    predict.time = SimpleNamespace(perf_counter=clock)  # ForwardStats' seconds on this clock
    texts = texts_of(ROOT)
    p = predict.Predictor.from_pretrained(run, device="cpu", precision="fp32", runtime="torch",
                                              batch_size=batch_size)
    modules = {"embeddings": 0.0, "layers": 0.0, "classifier": 0.0}
    time_modules(p.forward.model, clock, modules)
    pieces = getattr(p, "pieces", None)
    words = sum(x.stats["words"] for x in p.predict_many(texts))  # warm-up
    best: dict[str, float] = {}
    for _ in range(passes):
        p.stats = predict.ForwardStats()
        modules.update(embeddings=0.0, layers=0.0, classifier=0.0)
        t0 = clock()
        list(p.predict_many(texts))
        total = clock() - t0
        t0 = clock()
        split = [[w.text for w in tokenize(t)] for t in texts]
        tok = clock() - t0
        t0 = clock()
        for ws in split:
            if ws:
                encode_windows(p.tokenizer, ws, p.max_length, p.overlap, p.specials,
                               **({"pieces": pieces} if pieces is not None else {}))
        win = clock() - t0
        s = p.stats
        row = {"total": total, "tokenize": tok, "windows": win, "prepare_rest": s.prepare_seconds - tok - win,
               "embeddings": modules["embeddings"], "layers": modules["layers"],
               "forward_rest": s.forward_seconds - modules["embeddings"] - modules["layers"],
               "finish": s.finish_seconds,
               "rest": total - s.prepare_seconds - s.forward_seconds - s.finish_seconds}
        if not best or total < best["total"]:
            best = row
    return {"words": words, "threads": torch.get_num_threads(), "batch_size": p.batch_size, **best}


def child(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    print(json.dumps(measure(Path(args.runs[0]), args.passes, args.clock, args.batch_size)))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders (relative to the repository root)")
    ap.add_argument("--code", nargs="+", default=[str(ROOT)], help="checkouts whose indoevent to time")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, help="windows per forward (default: the predictor's)")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; clock {args.clock}, "
          f"{args.threads} torch thread(s)")
    best: dict[tuple[str, str], dict] = {}
    for _ in range(args.rounds):
        for code in args.code:
            for run in args.runs:
                cmd = [sys.executable, __file__, str(ROOT / run), "--child", "--passes", str(args.passes),
                       "--threads", str(args.threads), "--clock", args.clock]
                cmd += ["--batch-size", str(args.batch_size)] if args.batch_size else []
                env = {**os.environ, "PYTHONPATH": str(Path(code).resolve())}
                out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
                row = json.loads(out.strip().splitlines()[-1])
                if (code, run) not in best or row["total"] < best[code, run]["total"]:
                    best[code, run] = row
    print("| checkout | run | batch | words/s | " + " | ".join(PARTS) + " |")
    print("|---|---|---|---|" + "---|" * len(PARTS))
    for (code, run), r in best.items():
        print(f"| {code} | {run} | {r['batch_size']} | {r['words'] / r['total']:,.0f} | " + " | ".join(f"{r[k]:.3f}" for k in PARTS) + " |")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
