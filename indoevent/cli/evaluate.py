"""``indoevent evaluate``: score a run on annotated articles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..annotation.conll import ConllError, read_conll
from ..annotation.convert import ConversionError, convert_export
from ..annotation.lsexport import ExportError
from ..model.metrics import table
from ..model.runs import write_json
from ..evaluation.evaluate import evaluate_model
from .common import annotation_choice, fail


# --- evaluate ---------------------------------------------------------------------------------
def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="score a trained run on annotated articles (strict span P/R/F1 per label)",
        description="Predict annotated articles with a run folder's model, using the windows it was trained with, "
                    "and print strict IOB2 span precision, recall and F1 per label (seqeval, word level), for "
                    "entities and triggers separately. Warns when the articles were part of its training data.")
    p.add_argument("model", type=Path, help="run folder (models/<run-name>)")
    p.add_argument("--export", type=Path, default=None, help="gold Label Studio export to score against")
    p.add_argument("--annotation", default="latest", metavar="CHOICE", type=annotation_choice,
                   help="which annotation per task: latest (default), first, or annotator=ID")
    p.add_argument("--conll", type=Path, action="append", default=[], help="CoNLL column file (repeatable)")
    p.add_argument("--label-map", action="append", default=[], metavar="SRC=DST",
                   help="CoNLL label mapping, e.g. PPL=PER or EVT=O (repeatable)")
    p.add_argument("--articles", nargs="+", default=None, metavar="ID", help="score only these article ids")
    p.add_argument("--batch-size", type=int, default=32, help="windows per batch")
    p.add_argument("--out", type=Path, default=None, help="also write the metrics as JSON")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args) -> int:

    if args.export is None and not args.conll:
        return fail("give the articles to score: --export FILE and/or --conll FILE")
    label_map = {}
    for item in args.label_map:
        src, sep, dst = item.partition("=")
        if not sep:
            return fail(f"--label-map {item!r}: expected SRC=DST")
        label_map[src] = dst or None
    articles = []
    try:
        if args.export is not None:
            converted, report = convert_export(args.export, args.annotation, False)
            articles += converted
            left = len(report["misaligned_spans"]) + len(report["problems"])
            if left or report["skipped"]:
                print(f"warning: {args.export}: {len(report['misaligned_spans'])} misaligned span(s) and "
                      f"{len(report['problems'])} problem(s) left out of the gold tags, skipped tasks: "
                      f"{ {k: v['count'] for k, v in report['skipped'].items()} } (see indoevent validate)",
                      file=sys.stderr)
        for path in args.conll:
            articles += read_conll(path, label_map)[0]
    except (ExportError, ConversionError, ConllError, FileNotFoundError) as e:
        return fail(str(e))
    if args.articles:
        unknown = set(args.articles) - {a.doc_id for a in articles}
        if unknown:
            return fail(f"unknown article id(s): {', '.join(sorted(unknown))}")
        articles = [a for a in articles if a.doc_id in set(args.articles)]
    if not (args.model / "config.json").exists():
        return fail(f"{args.model}: not a run folder (no config.json)")
    info = args.model / "run_info.json"
    if info.exists():
        trained = set(json.loads(info.read_text(encoding="utf-8")).get("split", {}).get("train", []))
        seen = sorted(a.doc_id for a in articles if a.doc_id in trained)
        if seen:
            print(f"warning: {len(seen)} of {len(articles)} article(s) were in this model's training data "
                  f"({', '.join(seen[:5])}{' ...' if len(seen) > 5 else ''}): their scores are optimistic",
                  file=sys.stderr)

    metrics, _ = evaluate_model(args.model, articles, args.batch_size)
    print(f"{args.model}: {len(articles)} article(s), {sum(len(a.tokens) for a in articles)} words")
    print(table(metrics))
    if args.out:
        write_json(args.out, metrics)
        print(f"wrote {args.out}")
    return 0


def add(sub) -> None:
    _add_evaluate(sub)
