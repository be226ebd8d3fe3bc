"""What distillation keeps: a teacher and its half-depth student, strict F1 and CPU words/s side by side.

The teacher: a 4-layer, 256-wide BERT (4 heads, feed-forward 512, WordPiece 2,000 trained on the texts of
the seeds and the corpus, as tiny-corpus.yaml's) from random weights, trained as tiny-corpus.yaml trains
(the corpus' train split, early stopping on dev) at learning rate 5e-4. The student: `indoevent distill`
with its lower 2 layers on unlabelled news and the gold. Both are scored on the corpus' dev split (strict
character-span F1 of entities and triggers through `indoevent evaluate`'s path, with a paired bootstrap
95% interval of the student-minus-teacher difference over dev articles) and timed on CPU (torch fp32,
the one prediction path, the dev and test texts, best of three passes each, alternating).

Targets: the student keeps >= 95% of the teacher's F1 (entities and triggers together) and runs >= 1.8x
its words/s. The speed target is judged only on an idle machine (``benchmarks/machine.py``); else it reads
"machine busy: rerun". F1 does not depend on the load and is always judged.

    .venv/bin/python benchmarks/distill.py --unlabelled training/unlabelled/sample.jsonl
    .venv/bin/python benchmarks/distill.py --reuse      # score and time the runs of an earlier call again
    .venv/bin/python benchmarks/distill.py --teacher models/offline --layers 1   # the offline recipe's model
    .venv/bin/python benchmarks/distill.py --teacher models/offline --layers 1 \
        --student-set distill.intermediate_size=64   # its lower layer, feed-forward pruned to 64 units
    .venv/bin/python benchmarks/distill.py --teacher models/offline --layers 1 \
        --student-set distill.hidden_size=64         # 1 fresh layer x 64 (feed-forward 128), PCA embeddings
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from machine import Machine, results_json  # noqa: E402

from indoevent.evaluation.analysis import GROUP_LABELS, paired_bootstrap  # noqa: E402
from indoevent.evaluation.evaluate import evaluate  # noqa: E402
from indoevent.model.config import load_config  # noqa: E402
from indoevent.model.distill import distill  # noqa: E402
from indoevent.model.predict import Predictor  # noqa: E402
from indoevent.model.splits import load_splits  # noqa: E402
from indoevent.model.tiny import build_tiny_bert  # noqa: E402
from indoevent.model.train import train  # noqa: E402
from indoevent.text.inputs import Source, read_inputs  # noqa: E402

CORPUS = ROOT / "annotations" / "corpus.json"
BASE = ROOT / "models" / "_base" / "bert-4x256-corpus"
F1_TARGET, SPEED_TARGET = 0.95, 1.8


def teacher_config(args: argparse.Namespace):
    """tiny-corpus.yaml on the 4 x 256 base."""
    build = not (BASE / "config.json").exists()
    if build:
        build_tiny_bert(BASE, [ROOT / "seeds", ROOT / "annotations" / "corpus" / "texts"], hidden_size=256, layers=4,
                        heads=4)
    return load_config(ROOT / "training" / "configs" / "tiny-corpus.yaml", {
        "run_name": "corpus-4x256", "model.name_or_path": str(BASE), "model.tiny_corpus": None,
        "train.learning_rate": args.learning_rate, "train.epochs": args.epochs,
        "train.early_stopping_patience": args.patience, "train.runtime_gate": False})


def counts(report) -> dict[str, np.ndarray]:
    """Per dev article ``(tp, gold, predicted)`` of entities, triggers and both (strict character spans)."""
    out = {}
    for group, labels in (("entities", GROUP_LABELS["entities"]), ("triggers", GROUP_LABELS["triggers"]),
                          ("entities + triggers", GROUP_LABELS["entities"] + GROUP_LABELS["triggers"])):
        rows = []
        for r in report.articles:
            g = {(s.start, s.end, s.label) for s in r.doc.spans if s.label in labels}
            p = {(s.start, s.end, s.label) for s in r.extraction.spans if s.label in labels}
            rows.append((len(g & p), len(g), len(p)))
        out[group] = np.asarray(rows, dtype=np.float64)
    return out


def speeds(runs: dict[str, Path], texts: list[str], passes: int = 3) -> dict[str, dict]:
    """Words/s of each run through the prediction path (torch fp32, CPU), the best of ``passes``
    passes, the runs alternating so that a change of load touches both."""
    predictors = {k: Predictor.from_pretrained(r, device="cpu", precision="fp32", runtime="torch")
                  for k, r in runs.items()}
    for p in predictors.values():  # warm-up: threads, allocator, kernel choice
        list(p.predict_many(texts[:2]))
    best = {k: 0.0 for k in runs}
    words = 0
    for _ in range(passes):
        for k, p in predictors.items():
            t0 = time.perf_counter()
            words = sum(x.stats["words"] for x in p.predict_many(texts))
            best[k] = max(best[k], words / (time.perf_counter() - t0))
    return {k: {"words_per_s": round(v, 1), "words": words} for k, v in best.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unlabelled", nargs="+", default=[str(ROOT / "training" / "unlabelled" / "sample.jsonl")])
    ap.add_argument("--layers", type=int, default=2, help="student layers (the built teacher has 4)")
    ap.add_argument("--epochs", type=float, default=30)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--learning-rate", type=float, default=5e-4)
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "distill-bench")
    ap.add_argument("--reuse", action="store_true", help="reuse the teacher and student of an earlier call")
    ap.add_argument("--teacher", type=Path, help="a trained run to distil (e.g. the offline recipe's) instead of "
                                                 "training the 4 x 256 teacher")
    ap.add_argument("--student-set", dest="student_sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a key of the student's config (the teacher's), e.g. train.epochs=15")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "distill")
    args = ap.parse_args()
    os.chdir(ROOT)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    teacher, student = args.teacher or args.out / "teacher", args.out / "student"
    t0 = time.perf_counter()
    if not args.reuse:
        if not args.teacher:
            train(teacher_config(args), teacher, overwrite=True)
        t1 = time.perf_counter()
        distill(teacher, student, unlabelled=args.unlabelled, layers=args.layers, overrides=args.student_sets,
                overwrite=True)
        print(f"teacher trained in {t1 - t0:.0f} s, student distilled in {time.perf_counter() - t1:.0f} s")
    splits = load_splits(load_config(teacher / "training_config.yaml").data.splits)
    reports = {k: evaluate(r, [CORPUS], articles=list(splits.dev), resamples=0)
               for k, r in (("teacher", teacher), ("student", student))}
    diff = paired_bootstrap(counts(reports["teacher"]), counts(reports["student"]), args.resamples, 0)
    texts = [r.doc.text for r in reports["teacher"].articles]  # dev, then test: unseen by both in training
    texts += [s.text for s in read_inputs([ROOT / "annotations" / "corpus" / "texts"])
              if isinstance(s, Source) and s.id in set(splits.test)]
    m = Machine()
    m.begin()
    speed = speeds({"teacher": teacher, "student": student}, texts)
    m.end()
    return report(args, teacher, student, diff, speed, m)


def report(args, teacher: Path, student: Path, diff: dict, speed: dict, m: Machine) -> int:
    """Print the table and the verdicts; write them with the raw figures under ``args.results``."""
    configs = {k: json.loads((r / "config.json").read_text()) for k, r in (("teacher", teacher), ("student", student))}
    layers = {k: c["num_hidden_layers"] for k, c in configs.items()}
    shape = {k: f"{c['num_hidden_layers']} x {c['hidden_size']}, feed-forward {c['intermediate_size']}"
             for k, c in configs.items()}
    ratio = speed["student"]["words_per_s"] / speed["teacher"]["words_per_s"]
    lines = [f"| | teacher ({shape['teacher']}) | student ({shape['student']}) | student - teacher "
             "[95% paired bootstrap] |", "|---|---|---|---|"]
    for name, d in diff.items():
        iv = f"[{d['interval'][0]:+.3f}, {d['interval'][1]:+.3f}]" if d["interval"] else "-"
        lines.append(f"| strict F1, {name} (dev) | {d['base']:.3f} | {d['other']:.3f} | {d['gain']:+.3f} {iv} |")
    lines.append(f"| CPU words/s (torch fp32) | {speed['teacher']['words_per_s']:,.0f} | "
                 f"{speed['student']['words_per_s']:,.0f} | x{ratio:.2f} |")
    both = diff["entities + triggers"]
    kept = both["other"] / both["base"] if both["base"] else float("nan")
    verdicts = [f"F1 kept {kept:.1%} of the teacher's (target >= {F1_TARGET:.0%}): "
                f"{'met' if kept >= F1_TARGET else 'NOT met'}",
                f"speed x{ratio:.2f} the teacher's (target >= {SPEED_TARGET}x): {m.judge(ratio >= SPEED_TARGET)}"]
    text = "\n".join(lines + [""] + verdicts)
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "table.md").write_text(text + "\n", encoding="utf-8")
    raw = {"f1": diff, "speed": speed, "layers": layers, "unlabelled": args.unlabelled, "machine": m.to_dict(),
           "student_run_info": json.loads((student / "run_info.json").read_text())["distill"]}
    (args.results / "metrics.json").write_text(results_json(raw), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
