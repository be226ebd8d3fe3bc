"""What a NER-only source adds, with and without partial labels: tiny-corpus trained on the gold only,
on gold + NERP with partial labels (training/configs/tiny-corpus-nerp.yaml) and on gold + NERP with full
labels (the old behaviour: every NERP O word read as "no entity, no trigger"; PLC mapped to GPE).

All three are scored on the corpus' dev split (annotations/corpus/splits.json) through the one prediction
path (torch fp32): strict character-span F1 of entities and triggers, and a paired bootstrap 95% interval
of each difference to gold only, resampling dev articles (the same resample for both models). Choices are
made on dev; the test split is left for the final table of issue 17.

    data/nerp/train-1k.txt first (see tiny-corpus-nerp.yaml), then
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/partial_gain.py --seeds 42 7   # trains what is missing
    .venv/bin/python benchmarks/partial_gain.py --runs models/exp                 # score existing runs only

Runs are RUNS/<variant> for seed 42 (the configs' seed) and RUNS/<variant>-s<seed> for others; each seed's
variants are compared with that seed's gold-only run. One thread per training (OMP_NUM_THREADS=1) is
much faster than two on a shared 2-core machine.

Prints a Markdown table and writes it, with the raw counts, under benchmarks/results/partial_gain/.
The load average is printed before and after: a shared machine slows training, not the scores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import results_json  # noqa: E402

from indoevent.model.config import load_config  # noqa: E402
from indoevent.model.data import load_corpus, split_corpus  # noqa: E402
from indoevent.model.metrics import GROUPS  # noqa: E402
from indoevent.model.predict import Predictor  # noqa: E402
from indoevent.model.train import train  # noqa: E402
from indoevent.scores import prf  # noqa: E402

FULL = ["--data.conll=[{path: data/nerp/train-1k.txt, split: train, labels: all, "
        "label_map: {PPL: PER, PLC: GPE, IND: ORG, EVT: O, FNB: O}}]"]
VARIANTS = {"gold": ("tiny-corpus.yaml", []), "partial": ("tiny-corpus-nerp.yaml", []),
            "full": ("tiny-corpus-nerp.yaml", [o.removeprefix("--") for o in FULL])}
NAMES = {"gold": "gold only", "partial": "gold + NERP, partial labels", "full": "gold + NERP, full labels (old)"}


def counts(run: Path, dev: list) -> dict[str, np.ndarray]:
    """Per dev article and group, (true positives, gold, predicted) strict spans."""
    preds = list(Predictor.from_pretrained(run, runtime="torch", precision="fp32").predict_many(
        [a.text for a in dev], ids=[a.doc_id for a in dev]))
    out = {}
    for group in ("entities", "triggers"):
        keep = GROUPS[group]
        rows = []
        for a, p in zip(dev, preds, strict=True):
            g = {(s.start, s.end, s.label) for s in a.spans if s.label in keep}
            q = {(s.start, s.end, s.label) for s in p.spans if s.label in keep}
            rows.append((len(g & q), len(g), len(q)))
        out[group] = np.asarray(rows, dtype=np.float64)
    return out


def f1(c: np.ndarray) -> np.ndarray:
    """F1 from summed counts [..., 3] (0 where nothing was found or to find)."""
    tp, gold, pred = c[..., 0], c[..., 1], c[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(2 * tp / (gold + pred))


def paired_interval(a: np.ndarray, b: np.ndarray, resamples: int, seed: int = 0) -> list[float]:
    """95% percentile interval of F1(b) - F1(a), resampling articles (rows) with replacement."""
    rng = np.random.default_rng(seed)
    n = len(a)
    w = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    d = f1(w @ b) - f1(w @ a)
    return [round(float(np.percentile(d, 2.5)), 4), round(float(np.percentile(d, 97.5)), 4)]


def _partial_vs_full(c: dict, seed: int, resamples: int, raw: dict) -> str:
    """The row that isolates partial labels: partial minus full, paired over the same dev articles."""
    cells = []
    for group in ("entities", "triggers"):
        a, b = c["full"][group], c["partial"][group]
        diff = float(f1(b.sum(axis=0)) - f1(a.sum(axis=0)))
        ci = paired_interval(a, b, resamples)
        cells += ["", f"{diff:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"]
        raw["variants"].setdefault(f"partial-minus-full-s{seed}", {})[group] = {"diff": diff, "paired_ci": ci}
    return f"| partial − full labels | {seed} | " + " | ".join(cells) + " |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, default=ROOT / "models" / "partial-gain", help="folder of the three runs")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[42], help="train.seed of each repetition")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "partial_gain")
    args = ap.parse_args()
    os.chdir(ROOT)
    load = os.getloadavg()
    t0 = time.perf_counter()
    cfg = load_config(ROOT / "training" / "configs" / "tiny-corpus.yaml")
    dev = split_corpus(load_corpus(cfg.data), cfg.data)["dev"]
    lines = ["| trained on | seed | entity F1 | Δ entities [95% CI] | trigger F1 | Δ triggers [95% CI] |",
             "|---|---|---|---|---|---|"]
    raw: dict = {"dev_articles": len(dev), "resamples": args.resamples, "variants": {}}
    for seed in args.seeds:
        c = {}
        for name, (config, overrides) in VARIANTS.items():
            run = args.runs / (name if seed == 42 else f"{name}-s{seed}")
            if not (run / "config.json").exists():
                train(load_config(ROOT / "training" / "configs" / config,
                                  [*overrides, "train.runtime_gate=false", f"train.seed={seed}"]), run)
            c[name] = counts(run, dev)
        for name in VARIANTS:
            cells = []
            for group in ("entities", "triggers"):
                total = c[name][group].sum(axis=0)
                score = prf(*total, digits=4)
                cells.append(f"{score['f1']:.3f} (P {score['precision']:.2f} R {score['recall']:.2f})")
                ci = paired_interval(c["gold"][group], c[name][group], args.resamples) if name != "gold" else None
                diff = float(f1(total) - f1(c["gold"][group].sum(axis=0)))
                cells.append(f"{diff:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "")
                raw["variants"].setdefault(f"{name}-s{seed}", {})[group] = {
                    **score, "diff_to_gold": diff, "paired_ci": ci, "per_article": c[name][group].tolist()}
            lines.append(f"| {NAMES[name]} | {seed} | " + " | ".join(cells) + " |")
        lines.append(_partial_vs_full(c, seed, args.resamples, raw))
    after = os.getloadavg()
    head = (f"Dev split: {len(dev)} articles (annotations/corpus/splits.json); strict span F1 (precision, recall); "
            f"paired bootstrap over dev articles, {args.resamples} resamples. Load average {load[0]:.2f} before, "
            f"{after[0]:.2f} after; {time.perf_counter() - t0:.0f} s.\n\n")
    table = head + "\n".join(lines)
    print(table)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "table.md").write_text(table + "\n", encoding="utf-8")
    raw["load_average"] = {"before": load, "after": after}
    (args.results / "metrics.json").write_text(results_json(raw), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
