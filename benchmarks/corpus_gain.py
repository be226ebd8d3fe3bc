"""What the corpus changes: one config trained twice, on the five seeds only and on the corpus' train
split (seeds included), both scored once on the frozen test split (annotations/corpus/splits.json).

Strict character-span F1 of entities, triggers and each PLOVER type, and end-to-end argument F1
(arguments on the predicted triggers, the rule linker), each with its 95% bootstrap interval over
test articles (`indoevent evaluate`'s). The test split is scored for this final table only; choices
are made on dev or by cross-validation.

    .venv/bin/python benchmarks/corpus_gain.py                   # tiny-corpus.yaml, ~10 min on 2 cores
    .venv/bin/python benchmarks/corpus_gain.py --config training/configs/indobert-base-p1.yaml   # a GPU box

Prints a Markdown table and writes it, with the raw figures, under benchmarks/results/. It has no
speed target, but prints the machine, the load and a calibration matmul before and after as every
benchmark does (``benchmarks/machine.py``), so that its seconds say under what load they ran.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import Machine, results_json  # noqa: E402

from indoevent.evaluation.evaluate import evaluate  # noqa: E402
from indoevent.model.config import load_config  # noqa: E402
from indoevent.model.splits import load_splits  # noqa: E402
from indoevent.model.train import train  # noqa: E402
from indoevent.schema import EVENT_LABELS  # noqa: E402

ROWS = [("entities", "spans.entities"), ("triggers", "spans.triggers"),
        ("arguments (end to end)", "arguments.predicted_triggers.classification"),
        *((f"  {t}", f"label.{t}") for t in EVENT_LABELS)]


def cell(metrics: dict, key: str) -> str:
    score = metrics["scores"].get(key)
    if score is None:
        return "-"
    ci = metrics["intervals"].get(key, {}).get("f1")
    span = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
    return f"{score['f1']:.3f}{span} (n={score['gold']})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "training" / "configs" / "tiny-corpus.yaml")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "corpus-gain")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "corpus_gain")
    args = ap.parse_args()
    os.chdir(ROOT)
    corpus = load_config(args.config)
    test = list(load_splits(corpus.data.splits).test)
    seeds = load_config(args.config, {"run_name": f"{corpus.run_name}-seeds-only", "data.export": "annotations/seeds.json",
                                      "data.splits": None, "data.dev": 1, "data.test": 0})
    m = Machine()
    m.begin()
    load = m.before.load
    t0 = time.perf_counter()
    metrics = {}
    for name, cfg in (("seeds only", seeds), ("corpus train split", corpus)):
        run = train(cfg, args.out / name.split()[0], overwrite=True)
        metrics[name] = evaluate(run, [ROOT / "annotations" / "corpus.json"], articles=test,
                                 resamples=args.resamples).metrics
    seconds = time.perf_counter() - t0
    m.end()
    head = (f"Test split: {len(test)} articles (annotations/corpus/splits.json), scored once. Config "
            f"{args.config.relative_to(ROOT)}; {platform.processor() or platform.machine()}, load average "
            f"{load[0]:.2f} before; {seconds:.0f} s.\n\n")
    lines = ["| | trained on the 5 seeds | trained on the corpus train split |", "|---|---|---|"]
    lines += [f"| {label} | {cell(metrics['seeds only'], key)} | {cell(metrics['corpus train split'], key)} |"
              for label, key in ROWS]
    table = head + "Strict F1 [95% bootstrap interval over test articles] (gold mentions):\n\n" + "\n".join(lines)
    print(table)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "table.md").write_text(table + "\n", encoding="utf-8")
    keep = {name: {k: m[k] for k in ("model_version", "articles", "scores", "intervals", "bootstrap")}
            for name, m in metrics.items()}
    keep["machine"] = m.to_dict()
    (args.results / "metrics.json").write_text(results_json(keep), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
