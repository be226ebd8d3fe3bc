"""Which training recipe is best (issue 17 step 6): several configs trained and scored side by side,
each variant's gain over the first with a paired bootstrap 95% interval over articles.

Each VARIANT is a config path, or NAME=PATH; the first is the baseline. ``--set [VARIANT:]KEY=VALUE``
overrides a config key for every variant, or for the one named (by NAME or position, from 0).
Every variant trains on its config's data (the corpus train split of ``data.splits``) and is scored
on the articles of the first variant that has frozen splits (so a variant may train without them):

* by default on the **dev** split (``annotations/corpus/splits.json``), through ``indoevent evaluate``
  (the one prediction path; arguments end to end, on the predicted triggers, the rule linker); dev
  also stopped training early, so its scores are a little optimistic for every variant alike;
* with ``--cv``, by cross-validation by story over train + dev (``train --cv``: the splits' parts);
  entities and triggers only (a fold keeps its predictions, not its model, so no arguments);
* with ``--test``, once on the **test** split, for the final table in ``training/README.md``.

Printed per variant: strict F1 of entities, triggers and arguments, pooled over ``--seeds`` (each
article counted once per seed); for the others, the gain over the baseline, its paired bootstrap 95%
interval (the same resampled articles score both, each seed's run included), and over several seeds
how many seeds it beat the baseline on (same seed against same seed). A step is worth keeping when
its interval lies above 0 or it wins on every seed (issue 17: "a step stays if ...").

    .venv/bin/python benchmarks/recipe.py training/configs/tiny-corpus.yaml \\
        seed7=training/configs/tiny-corpus.yaml --set seed7:train.seed=7          # the harness against itself
    .venv/bin/python benchmarks/recipe.py gold=training/configs/tiny-corpus.yaml \\
        nerp=training/configs/tiny-nerp.yaml --seeds 1 2 3                       # a step, over 3 seeds
    .venv/bin/python benchmarks/recipe.py gold=training/configs/tiny-corpus.yaml \
        st=training/configs/tiny-corpus.yaml --self-train st=news.jsonl          # + self-training
    .venv/bin/python benchmarks/recipe.py ... --reuse --test                    # the final table, once, of the same runs
    .venv/bin/python benchmarks/recipe.py gold=training/configs/offline.yaml \
        two=training/configs/offline-nerp2stage.yaml \
        --set 'two:model.name_or_path=models/nerp-stage1-seed{seed}' --seeds 1 2 3  # each seed from its own stage 1
    .venv/bin/python benchmarks/recipe.py seeds=training/configs/tiny-corpus.yaml \
        corpus=training/configs/tiny-corpus.yaml --set seeds:data.export=annotations/seeds.json \
        --set seeds:data.splits=null --set seeds:data.dev=1 --set seeds:data.test=0 --test
                            # benchmarks/corpus_gain.py's question, with a paired interval of the gain

Prints the machine and its load before and after (``benchmarks/machine.py``) and a Markdown table;
writes it with the raw figures under ``--results``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import Machine, results_json  # noqa: E402

from indoevent.evaluation.analysis import paired_bootstrap  # noqa: E402
from indoevent.evaluation.compare import cv_counts  # noqa: E402
from indoevent.evaluation.evaluate import evaluate  # noqa: E402
from indoevent.jsonl import read_jsonl  # noqa: E402
from indoevent.model.config import RunConfig, load_config  # noqa: E402
from indoevent.model.self_train import self_train  # noqa: E402
from indoevent.model.splits import load_splits  # noqa: E402
from indoevent.model.train import train  # noqa: E402
from indoevent.scores import prf  # noqa: E402

KEYS = (("entities", "spans.entities"), ("triggers", "spans.triggers"),
        ("arguments", "arguments.predicted_triggers.classification"))


@dataclass
class Variant:
    """One recipe: a name, its config and its own overrides (``KEY=VALUE``)."""

    name: str
    config: Path
    overrides: list[str] = field(default_factory=list)


@dataclass
class Scored:
    """One trained run's per-article counts on the scored articles (ids sorted, counts in that order)."""

    ids: list[str]
    counts: dict[str, np.ndarray]

    def f1(self, key: str) -> float | None:
        c = self.counts.get(key)
        return None if c is None else float(prf(*c.sum(axis=0))["f1"])


def parse_variants(specs: list[str], sets: list[str]) -> list[Variant]:
    """Variants from ``CONFIG`` or ``NAME=CONFIG`` arguments and ``[VARIANT:]KEY=VALUE`` overrides
    (VARIANT: a name or a position from 0; without it, every variant). Raises ValueError naming a bad one."""
    variants: list[Variant] = []
    for spec in specs:
        name, _, path = spec.rpartition("=") if "=" in spec else ("", "", spec)
        name = name or Path(path).stem
        if any(v.name == name for v in variants):
            raise ValueError(f"two variants named {name!r}: give one a name, NAME=CONFIG")
        variants.append(Variant(name, Path(path)))
    by_key = {v.name: v for v in variants} | {str(i): v for i, v in enumerate(variants)}
    for s in sets:
        head, sep, rest = s.partition(":")
        if sep and "=" not in head:  # VARIANT:KEY=VALUE (a value may hold ":", a key never does)
            if head not in by_key:
                raise ValueError(f"--set {s}: no variant {head!r} (variants: {', '.join(v.name for v in variants)})")
            targets, item = [by_key[head]], rest
        else:
            targets, item = variants, s
        if "=" not in item:
            raise ValueError(f"--set {s}: give KEY=VALUE or VARIANT:KEY=VALUE")
        for v in targets:
            v.overrides.append(item)
    return variants


def variant_config(v: Variant, seed: int | None) -> RunConfig:
    """The variant's config with its overrides (and ``train.seed`` when seeds are given); ``{seed}`` in an
    override's value becomes the seed, so a two-stage variant starts each seed from its own stage-1 run
    (``--set two:model.name_or_path=models/nerp-stage1-seed{seed}``)."""
    extra = [f"train.seed={seed}"] if seed is not None else []
    overrides = [o.replace("{seed}", str(seed)) if seed is not None else o for o in v.overrides]
    return load_config(v.config, [*overrides, *extra])


def scoring_config(configs: list[RunConfig]) -> RunConfig:
    """The config whose frozen splits and gold every variant is scored on: the first that has
    ``data.splits`` (the baseline, unless it trains without them, as "the seeds only" does), so a
    variant may change its data (add NERP, drop the splits) and stay comparable."""
    for cfg in configs:
        if cfg.data.splits and cfg.data.export:
            return cfg
    raise ValueError("no variant has data.export and data.splits (the frozen splits to score on)")


def split_articles(cfg: RunConfig, split: str) -> list[str]:
    """The ids of ``split`` (dev, test) in the config's frozen splits, sorted."""
    return sorted(getattr(load_splits(cfg.data.splits), split))


def score_run(cfg: RunConfig, out: Path, articles: list[str] | None, export: str | Path,
              unlabelled: list[str] | None = None, reuse: bool = False) -> Scored:
    """Train ``cfg`` into ``out`` (self-trained on ``unlabelled`` if given; with ``reuse``, an ``out``
    that holds a finished run is scored as it is) and count each scored article: ``articles`` of
    ``export`` through evaluate, or (None) every test article of cross-validation by the config's folds."""
    if articles is None:
        done = reuse and (out / "predictions.jsonl").exists()  # a finished cross-validation, scored as it is
        if done:
            print(f"recipe.py: scoring the cross-validation already in {out} (--reuse)")
        folder = out if done else train(cfg, out, cv=True, overwrite=True)
        rows = sorted((r for _, r in read_jsonl(folder / "predictions.jsonl")), key=lambda r: r["doc_id"])
        return Scored([r["doc_id"] for r in rows], cv_counts(rows))
    if reuse and (out / "model.safetensors").exists():
        print(f"recipe.py: scoring the run already in {out} (--reuse)")
        run = out
    elif unlabelled:
        run = self_train(cfg, unlabelled, out, overwrite=True)
    else:
        run = train(cfg, out, overwrite=True)
    report = evaluate(run, [export], articles=articles, resamples=0)
    if report.metrics["trained_on"]:  # a variant with other data or splits must not score its own training
        raise ValueError(f"{cfg.run_name}: trained on {len(report.metrics['trained_on'])} of the scored articles "
                         f"({', '.join(report.metrics['trained_on'][:3])} ...): give it the same data.splits")
    order = np.argsort(report.metrics["articles"])
    return Scored(sorted(report.metrics["articles"]), {k: c[order] for k, c in report.counts.items()})


def pooled(runs: list[Scored]) -> Scored:
    """The runs of one variant (one per seed) as one: each article's counts summed over the runs."""
    for r in runs[1:]:
        if r.ids != runs[0].ids:
            raise ValueError("the seeds' runs were scored on different articles")
    keys = set.intersection(*(set(r.counts) for r in runs))
    return Scored(runs[0].ids, {k: sum(r.counts[k] for r in runs) for k in keys})


def compare(results: dict[str, list[Scored]], resamples: int, seed: int = 0) -> dict[str, dict]:
    """Per variant and score: pooled F1, F1 per seed and, for all but the first, the paired gain
    over the first (interval, share of resamples above 0) and the seeds it beat the first on."""
    names = list(results)
    base = pooled(results[names[0]])
    out: dict[str, dict] = {}
    for name in names:
        runs, pool = results[name], pooled(results[name])
        if pool.ids != base.ids:
            raise ValueError(f"{name} was scored on other articles than {names[0]}")
        gains = paired_bootstrap(base.counts, pool.counts, resamples, seed) if name != names[0] else {}
        row = {}
        for label, key in KEYS:
            if key not in pool.counts:
                continue
            per_seed = [r.f1(key) for r in runs]
            row[label] = {"f1": round(pool.f1(key) or 0.0, 4), "per_seed": [round(f or 0.0, 4) for f in per_seed]}
            if key in gains:
                base_seed = [r.f1(key) or 0.0 for r in results[names[0]]]
                row[label] |= {k: gains[key][k] for k in ("gain", "interval", "above_zero")}
                row[label]["wins"] = sum(int((f or 0.0) > b) for f, b in zip(per_seed, base_seed, strict=True))
        out[name] = row
    return out


def cell(m: dict | None, seeds: int) -> str:
    """One table cell: F1 (per seed), and for a variant its gain [95% interval] and seeds won."""
    if m is None:
        return "-"
    text = f"{m['f1']:.3f}"
    if seeds > 1:
        text += f" ({', '.join(f'{f:.2f}' for f in m['per_seed'])})"
    if "gain" in m:
        ci = m["interval"]
        text += f"; {m['gain']:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else " [no interval]")
        if seeds > 1:
            text += f", won {m['wins']}/{seeds} seeds"
    return text


def verdict(row: dict, seeds: int) -> str:
    """The scores on which a variant helps: its interval above 0, or a win on every seed (of several)."""
    good = [label for label, m in row.items() if "gain" in m and
            ((m["interval"] and m["interval"][0] > 0) or (seeds > 1 and m["wins"] == seeds))]
    return "helps: " + ", ".join(good) if good else "no clear gain"


def table(rows: dict[str, dict], variants: list[Variant], seeds: int) -> str:
    head = "| variant | config | " + " | ".join(f"{label} F1" for label, _ in KEYS) + " | verdict |"
    lines = [head, "|---" * (len(KEYS) + 3) + "|"]
    for i, v in enumerate(variants):
        row = rows[v.name]
        over = f" ({', '.join(v.overrides)})" if v.overrides else ""
        path = v.config.relative_to(ROOT) if v.config.is_relative_to(ROOT) else v.config
        lines.append(f"| {v.name}{' (baseline)' if i == 0 else ''} | {path}{over} | "
                     + " | ".join(cell(row.get(label), seeds) for label, _ in KEYS)
                     + f" | {'-' if i == 0 else verdict(row, seeds)} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="+", metavar="VARIANT", help="CONFIG or NAME=CONFIG; the first is the baseline")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="[VARIANT:]KEY=VALUE",
                    help="override a config key for every variant, or for VARIANT (its name or position)")
    ap.add_argument("--seeds", type=int, nargs="+", help="train every variant once per seed (train.seed)")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--cv", action="store_true", help="score by cross-validation by story (train --cv)")
    where.add_argument("--test", action="store_true", help="score the test split (the final table; once)")
    ap.add_argument("--self-train", dest="self_train", action="append", default=[], metavar="VARIANT=PATH[,PATH]",
                    help="train VARIANT with indoevent self-train on these unlabelled files (its self_train section)")
    ap.add_argument("--reuse", action="store_true",
                    help="score a run folder (with --cv: a cross-validation folder) that --out already holds instead "
                         "of training it again (the test table of the very runs compared on dev)")
    ap.add_argument("--resamples", type=int, default=1000, help="paired bootstrap resamples over articles")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "recipe", help="run folders (replaced)")
    ap.add_argument("--results", type=Path, help="table.md and metrics.json here (default benchmarks/results/recipe-SPLIT)")
    ap.add_argument("--settle", type=float, default=90.0, help="seconds to wait for the load to settle after the run")
    return ap.parse_args(argv)


def run_all(variants: list[Variant], seeds: list[int | None], configs: dict, articles: list[str] | None,
            export: str, out: Path, unlabelled: dict[str, list[str]] | None = None,
            reuse: bool = False) -> dict[str, list[Scored]]:
    """Train and score every variant once per seed: run folders ``out/NAME/seed-N`` (replaced unless ``reuse``)."""
    results: dict[str, list[Scored]] = {}
    for v in variants:
        for s in seeds:
            run = out / v.name / ("default-seed" if s is None else f"seed-{s}")
            results.setdefault(v.name, []).append(score_run(configs[v.name, s], run, articles, export,
                                                            (unlabelled or {}).get(v.name), reuse))
    return results


def parse_self_train(specs: list[str], variants: list[Variant]) -> dict[str, list[str]]:
    """``VARIANT=PATH[,PATH]`` -> variant name -> unlabelled paths (absolute). Raises ValueError on a bad one."""
    out: dict[str, list[str]] = {}
    names = {v.name for v in variants}
    for spec in specs:
        name, sep, paths = spec.partition("=")
        if not sep or name not in names or not paths:
            raise ValueError(f"--self-train {spec}: give VARIANT=PATH[,PATH] with a variant of {', '.join(sorted(names))}")
        out[name] = [str(Path(p).resolve()) for p in paths.split(",")]
    return out


def report(args: argparse.Namespace, split: str, variants: list[Variant], results: dict[str, list[Scored]],
           m: Machine, seconds: float, splits: object) -> str:
    """The Markdown table with its header (what was scored, seeds, machine, load), also written to --results."""
    rows = compare(results, args.resamples)
    ids = next(iter(results.values()))[0].ids
    what = {"cv": f"cross-validation by story ({len(ids)} test articles over the folds)",
            "dev": f"dev split, {len(ids)} articles", "test": f"test split, {len(ids)} articles, scored once"}[split]
    load = [f"{s.load[0]:.2f}" if s else "?" for s in (m.before, m.after)]
    head = (f"Strict F1 on the {what} ({splits}); seeds {' '.join(map(str, args.seeds or ['(config)']))}; "
            f"gain over the baseline with its paired bootstrap 95% interval over articles ({args.resamples} "
            f"resamples). {m.describe()}; load average {load[0]} before, {load[1]} after"
            f"{' (machine busy)' if m.reasons else ''}; {seconds:.0f} s.\n\n")
    text = head + table(rows, variants, len(results[variants[0].name]))
    print(text)  # before writing: the table survives a failing write
    results_dir = args.results or ROOT / "benchmarks" / "results" / f"recipe-{split}"
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "table.md").write_text(text + "\n", encoding="utf-8")
    raw = {"split": split, "articles": ids, "seeds": args.seeds, "self_train": args.self_train, "reuse": args.reuse,
           "variants": [{"name": v.name, "config": str(v.config), "overrides": v.overrides} for v in variants],
           "scores": rows, "seconds": round(seconds, 1), "machine": m.to_dict()}
    (results_dir / "metrics.json").write_text(results_json(raw), encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    split = "cv" if args.cv else "test" if args.test else "dev"
    args.out, args.results = args.out.resolve(), args.results and args.results.resolve()
    try:
        variants = parse_variants(args.variants, args.sets)
        for v in variants:
            v.config = v.config.resolve()
        seeds: list[int | None] = list(args.seeds) if args.seeds else [None]
        configs = {(v.name, s): variant_config(v, s) for v in variants for s in seeds}  # bad configs fail first
        base_cfg = scoring_config(list(configs.values()))
        articles = None if args.cv else split_articles(base_cfg, split)
        unlabelled = parse_self_train(args.self_train, variants)
    except ValueError as e:  # ConfigError is one
        print(f"recipe.py: error: {e}", file=sys.stderr)
        return 1
    os.chdir(ROOT)  # configs name their data relative to the repository
    m = Machine(settle=args.settle)
    m.begin()
    t0 = time.perf_counter()
    try:
        results = run_all(variants, seeds, configs, articles, str(base_cfg.data.export), args.out, unlabelled,
                          args.reuse)
    except ValueError as e:
        print(f"recipe.py: error: {e}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0
    m.end()
    report(args, split, variants, results, m, seconds, base_cfg.data.splits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
