"""``indoevent evaluate``: score a run on annotated articles, through the extraction path."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..annotation.conll import ConllError
from ..annotation.lsexport import ExportError
from ..atomic import OutputExistsError, check_output, write_text
from ..evaluation.evaluate import EvaluationError, evaluate, is_report
from ..evaluation.render import errors_table, frames_table
from ..model.checkpoint import ModelLoadError
from .common import add_overwrite, annotation_choice, bad_settings, cannot_load, cannot_write, fail


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="score a trained run on annotated articles: spans, error classes, frames, intervals",
        description="Extract the raw text of each annotated article with a run folder's model (exactly as "
                    "`indoevent extract` does) and score the predicted character spans against the gold ones: "
                    "strict span P/R/F1 per label, micro and macro, entities and triggers apart, with 95%% "
                    "bootstrap intervals over articles; nervaluate's error classes; trigger and argument scores. "
                    "--out DIR writes metrics.json and a self-contained report.html. Warns when the articles "
                    "were part of the model's training data.",
        epilog="example: indoevent evaluate models/tiny --data annotations/seeds.json --out reports/tiny")
    p.add_argument("model", type=Path, help="run folder (models/<run-name>)")
    p.add_argument("--data", type=Path, nargs="+", action="extend", default=[], metavar="FILE",
                   help="gold data: Label Studio JSON exports (.json) and/or CoNLL column files")
    p.add_argument("--export", type=Path, action="append", default=[], help="a gold Label Studio export (as --data)")
    p.add_argument("--conll", type=Path, action="append", default=[], help="a CoNLL column file (as --data; repeatable)")
    p.add_argument("--annotation", default="latest", metavar="CHOICE", type=annotation_choice,
                   help="which annotation per task: latest (default), first, or annotator=ID")
    p.add_argument("--label-map", action="append", default=[], metavar="SRC=DST",
                   help="CoNLL label mapping, e.g. PPL=PER or EVT=O (repeatable)")
    p.add_argument("--articles", nargs="+", default=None, metavar="ID", help="score only these article ids")
    p.add_argument("--batch-size", type=int, default=None, help="windows per forward (default 32 on GPU, 4,096 positions on CPU: 8 windows of 512)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples over articles (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for metrics.json and report.html (a path ending in .json writes the metrics only)")
    add_overwrite(p, "a report of `indoevent evaluate`")
    p.set_defaults(func=_run_evaluate)


def _label_map(items: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep:
            raise EvaluationError(f"--label-map {item!r}: expected SRC=DST")
        out[src] = dst or None
    return out


def _run_evaluate(args) -> int:
    # --export and --conll are the older spellings of --data; an export is read as JSON, CoNLL as columns.
    data = list(args.data) + list(args.export) + list(args.conll)
    if not data:
        return fail("give the articles to score: --data FILE... (Label Studio export or CoNLL)")
    conll_as_json = [p for p in args.conll if p.suffix.lower() == ".json"]
    if conll_as_json:
        return fail(f"{conll_as_json[0]}: --conll expects a column file, not .json (use --data)")
    if not (args.model / "config.json").exists():
        return fail(f"{args.model}: not a run folder (no config.json)")
    if args.resamples < 0:
        return fail(f"--resamples {args.resamples}: give 0 (no intervals) or more")
    if problem := bad_settings(args):
        return fail(problem)
    try:
        if args.out:
            check_output(args.out, [*data, args.model], args.overwrite, is_report, "a report of `indoevent evaluate`")
    except OutputExistsError as e:
        return fail(str(e))
    try:
        report = evaluate(args.model, data, annotation=args.annotation, label_map=_label_map(args.label_map),
                          articles=args.articles, batch_size=args.batch_size, resamples=args.resamples,
                          seed=args.seed, progress=sys.stderr.isatty())
    except ModelLoadError as e:
        return cannot_load(args.model, e)
    except (EvaluationError, ExportError, ConllError, FileNotFoundError) as e:
        return fail(str(e))
    m = report.metrics
    for w in m["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{args.model}: {len(m['articles'])} article(s)")
    print(report.table())
    print()
    print(errors_table(m))
    print()
    print(frames_table(m))
    if args.out:
        try:
            if args.out.suffix.lower() == ".json":
                write_text(args.out, json.dumps(m, indent=2, ensure_ascii=False) + "\n")
                print(f"wrote {args.out}")
            else:
                report.write(args.out)
                print(f"wrote {args.out / 'metrics.json'} and {args.out / 'report.html'}")
        except OSError as e:
            return cannot_write(args.out, e)
    return 0


def add(sub) -> None:
    _add_evaluate(sub)
