"""Commands that apply a run to articles: extract, and the argument linker (linker evaluate|fit)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..annotation.lsexport import ExportError, read_export
from ..atomic import OutputExistsError, write_text
from ..atomic import check_output as check_any_output
from ..events.batch import check_output, extract_files
from ..events.extractor import LINKERS, Extractor
from ..events.learned_linker import LearnedLinker, fit_linker
from ..events.linker_eval import compare_linkers, comparison_report, report
from ..events.ray_engine import extract_ray
from ..model.splits import Fold, load_splits
from .common import add_overwrite, bad_settings, cannot_load, fail


# --- extract ----------------------------------------------------------------------------------
def _add_extract(sub) -> None:
    import textwrap

    about = ("Extract entity and trigger spans and event frames from articles with a trained run. INPUT: .txt "
             "files (id = file name without .txt), folders of them (searched recursively; id = path inside the "
             "folder), or .jsonl files with 'id' and 'text' per line (other fields are kept as meta). Writes one "
             "JSON line per article (id, source, entities, triggers, events, score, model, timing) to --out, "
             "flushed as each article is done.",
             "Nothing is lost: a rerun with the same --out skips ids already written, so resume after a crash or "
             "Ctrl-C by running the same command again. An input that cannot be read (bad encoding, empty, bad "
             "JSON line, duplicate id) is reported with its path or line and skipped; the command then exits 1, "
             "after writing all the good ones. Long articles are read in overlapping windows as in training; "
             "nothing is truncated.",
             "--out must be a new or empty file, or a results file this command wrote in the same --format; "
             "anything else (an input, a folder, another file, a results file with a damaged line) is refused "
             "before a byte is written, and only a last line cut short by a crash is ever dropped. One run "
             "writes an --out at a time: a second one exits at once.")
    p = sub.add_parser("extract", help="apply a trained run to articles: spans, event frames (JSONL)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="\n\n".join(textwrap.fill(x, 100) for x in about),
                       epilog="examples:\n"
                              "  indoevent extract seeds/ --model models/tiny --out results.jsonl\n"
                              "  indoevent extract news.jsonl --model models/run1 --out preds.jsonl "
                              "--format label-studio\n"
                              "  indoevent export-onnx models/run1 --quantize int8 && \\\n"
                              "    indoevent extract news.jsonl --model models/run1 --quantize int8 --out r.jsonl")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=".txt file, folder of .txt files, or .jsonl")
    p.add_argument("--model", required=True, help="run directory (or Hugging Face hub id)")
    p.add_argument("--out", type=Path, required=True,
                   help="results, JSONL (appended; rerun to resume); a new file or one this command wrote")
    p.add_argument("--overwrite", action="store_true",
                   help="start a results file afresh (needed when it holds results of another model version or "
                        "in the other format); the old results stay until the new run has finished")
    p.add_argument("--format", choices=["jsonl", "label-studio"], default="jsonl",
                   help="jsonl (default): one result per line. label-studio: one Label Studio task with "
                        "'predictions' per line, and when done the same tasks as a JSON list in OUT with "
                        "suffix .json, ready for Label Studio's Import dialog")
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward pass (default 32 on GPU, 4,096 positions on CPU: 8 windows of 512)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: GPU when present)")
    p.add_argument("--precision", choices=["auto", "fp32", "fp16", "bf16"], default="auto",
                   help="torch autocast: auto (default: bf16 or fp16 on GPU, fp32 on CPU), fp32, fp16 (GPU), "
                        "bf16 (GPU, or CPU with avx512_bf16/amx_bf16: faster, but moved ~1%% of spans)")
    p.add_argument("--quantize", choices=["int8"], default=None,
                   help="CPU: use the ONNX Runtime int8 model from `indoevent export-onnx RUN --quantize int8`")
    p.add_argument("--runtime", choices=["auto", "torch", "onnx"], default="auto",
                   help="auto (default): GPU: torch bf16/fp16; CPU: int8, else bf16, where RUN/runtime_gate.json "
                        "(train, export-onnx --quantize int8) passes (>= 99%% spans = fp32, F1 -0.5 at most), else "
                        "ONNX Runtime fp32, else torch fp32. torch; onnx (fp32). Printed, and kept in each result")
    _add_engine(p)
    p.add_argument("--linker", choices=list(LINKERS), default="auto",
                   help="argument linker: auto (default): the learned one, RUN/linker.json if the run has one, else "
                        "the one shipped with the package (fitted on the corpus' train and dev articles); rules: "
                        "the rule linker. See README, Event frames")
    p.add_argument("--with-text", action="store_true", help="also write each article's text (jsonl format)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_extract)


def _add_engine(p) -> None:
    """extract's engine options (local, or Ray Data actors)."""
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local (default): this process. ray: Ray Data actors, one model replica each, over .jsonl or "
                        "Parquet INPUTs (local paths or s3://, gs://, ...); needs `pip install indoevent[ray]`. "
                        "Same records, same resume rule; see README, Scale-out")
    p.add_argument("--address", default=None, help="ray: the cluster to join ('auto' inside a Ray job); default local")
    p.add_argument("--workers", type=int, default=1, help="ray: model replicas (actors); default 1")
    p.add_argument("--num-gpus-per-worker", type=float, default=0,
                   help="ray: GPUs per replica (1: one replica per GPU; the model runs on cuda)")


def _run_extract(args) -> int:
    import time


    bad = bad_settings(args)
    if bad:
        return fail(bad)
    if args.engine == "ray":
        return _run_extract_ray(args)
    try:
        check_output(args.out, args.inputs, args.format, args.overwrite)  # before seconds of model loading
    except ValueError as e:
        return fail(str(e))
    t0 = time.perf_counter()
    try:
        extractor = Extractor.from_pretrained(args.model, device=args.device, precision=args.precision,
                                              quantize=args.quantize, runtime=args.runtime,
                                              batch_size=args.batch_size, linker=args.linker)
    except (OSError, ValueError) as e:  # a ModelLoadError is a ValueError
        return cannot_load(args.model, e)
    print(f"runtime: {extractor.runtime}", file=sys.stderr)
    load_s = time.perf_counter() - t0

    def on_error(err) -> None:
        print(f"error: skipped {err}", file=sys.stderr)

    try:
        report = extract_files(extractor, args.inputs, args.out, args.format, args.batch_size,
                               with_text=args.with_text, progress=not args.no_progress, on_error=on_error,
                               overwrite=args.overwrite)
    except ValueError as e:
        return fail(str(e))
    if report.truncated_line:
        print(f"note: {args.out} ended in a line cut short (crash?); it was dropped and its article redone",
              file=sys.stderr)
    rate = report.words / report.seconds if report.seconds else 0.0
    share = report.stats["forward_seconds"] / report.seconds if report.seconds else 0.0
    print(f"{report.written} article(s), {report.words} words -> {report.out} in {report.seconds:.1f}s "
          f"({rate:.0f} words/s, {share:.0%} in the model; model {extractor.version} loaded in {load_s:.1f}s)")
    if report.tasks_json:
        print(f"Label Studio tasks: {report.tasks_json}")
    return _report_skipped(report)


def _run_extract_ray(args) -> int:
    load = {"device": args.device, "precision": args.precision, "quantize": args.quantize, "runtime": args.runtime,
            "linker": args.linker}
    try:
        report = extract_ray(args.model, args.inputs, args.out, args.format, address=args.address,
                             workers=args.workers, num_gpus_per_worker=args.num_gpus_per_worker,
                             batch_size=args.batch_size, with_text=args.with_text, load=load, overwrite=args.overwrite,
                             on_error=lambda err: print(f"error: skipped {err}", file=sys.stderr))
    except ImportError as e:
        return fail(f"--engine ray needs Ray Data: pip install 'indoevent[ray]' ({e})")
    except ValueError as e:
        return fail(str(e))
    print(f"{report.written} article(s), {report.words} words -> {report.out} in {report.seconds:.1f}s on Ray "
          f"({args.workers} worker(s))")
    return _report_skipped(report)


def _report_skipped(report) -> int:
    """What both engines say at the end: articles resumed past, inputs that could not be read."""
    if report.skipped_done:
        print(f"{report.skipped_done} article(s) already in {report.out}: skipped")
    if report.errors:
        print(f"{len(report.errors)} input(s) could not be read (listed above); all others were written",
              file=sys.stderr)
        return 1
    return 0


# --- linker -----------------------------------------------------------------------------------
def _add_linker(sub) -> None:
    p = sub.add_parser("linker", help="score the argument linker on gold relations, or fit the learned one",
                       description="Event frames attach entities of a trigger's sentence to roles (actor, "
                                   "recipient, place, time). `evaluate` scores the rules and the learned linker "
                                   "on gold triggers and gold entities (argument identification and "
                                   "classification P/R/F1) on held-out articles: by story over the folds of "
                                   "--splits (each fold's learned linker fitted on the other folds), else leave "
                                   "one article out; the difference comes with a paired bootstrap interval over "
                                   "articles. `--test` also scores both on the test split (learned fitted on train "
                                   "and dev): report it once, never tune on it. `fit` trains the learned linker on "
                                   "gold relations (with --splits: train and dev only) and writes it to --out "
                                   "(RUN/linker.json), which `extract` then uses for that run.",
                       epilog="examples:\n  indoevent linker evaluate annotations/corpus.json "
                              "--splits annotations/corpus/splits.json\n"
                              "  indoevent linker fit annotations/corpus.json --splits annotations/corpus/splits.json "
                              "--out models/run1/linker.json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["evaluate", "fit"],
                   help="evaluate: print both linkers' scores on held-out gold; fit: write the learned linker to --out")
    p.add_argument("export", type=Path, help="Label Studio export with gold relations (e.g. annotations/corpus.json)")
    p.add_argument("--splits", type=Path, help="frozen splits (annotations/corpus/splits.json): cross-validation by "
                                               "story over its folds; fit on its train and dev articles")
    p.add_argument("--test", action="store_true", help="evaluate: also score both on the test split of --splits")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples over articles (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--out", type=Path, help="fit: where to write the linker (RUN/linker.json)")
    add_overwrite(p, "a linker written by `indoevent linker fit`")
    p.set_defaults(func=_run_linker)


def _run_linker(args) -> int:
    if args.action == "evaluate" and args.out is not None:  # else the user looks for a file never written
        return fail("--out is where `linker fit` writes the linker; `linker evaluate` prints its report "
                    "(redirect it: > linker-eval.txt)")
    if args.action == "fit" and args.test:
        return fail("--test scores the test split in `linker evaluate`; `linker fit` never fits on it")
    try:
        result = read_export(args.export)
        splits = load_splits(args.splits) if args.splits else None
    except (ExportError, ValueError) as e:
        return fail(str(e))
    if result.problems:
        return fail(f"{args.export}: {len(result.problems)} schema problem(s); run `indoevent validate` first")
    docs = result.documents
    if not docs:
        return fail(f"{args.export}: no annotated article")
    if args.test and splits is None:
        return fail("--test needs --splits (which articles are the test split)")
    if args.resamples < 0:
        return fail(f"--resamples must be 0 or more, got {args.resamples}")
    if splits is not None:
        known = {d.doc_id for d in docs}
        missing = [i for i in splits.train + splits.dev + splits.test if i not in known]
        if missing:
            return fail(f"{args.splits}: {len(missing)} article(s) not in {args.export}, e.g. {missing[0]}")
        fit_docs = [d for d in docs if d.doc_id in set(splits.train + splits.dev)]
    else:
        fit_docs = docs
    if args.action == "evaluate":
        return _evaluate_linkers(args, docs, splits)
    if args.out is None:
        return fail("linker fit needs --out RUN/linker.json")
    if args.out.is_dir():
        return fail(f"{args.out}: is a folder; give --out a file name, e.g. {args.out / 'linker.json'}")
    try:
        check_any_output(args.out, [args.export], args.overwrite, LearnedLinker.is_file, "a linker of `linker fit`")
    except OutputExistsError as e:
        return fail(str(e))
    linker = fit_linker(fit_docs)
    fitted_on = {"export": args.export.name, "articles": len(fit_docs),
                 "relations": sum(len(d.relations) for d in fit_docs),
                 "split": "train and dev of " + args.splits.name if args.splits else "all"}
    try:
        write_text(args.out, linker.dumps(fitted_on=fitted_on))
    except OSError as e:  # a full disk, a read-only folder: nothing half-written is left (atomic write)
        return fail(f"{args.out}: cannot write: {e.strerror or e}; nothing was written: free space or choose "
                    f"another --out, and rerun")
    print(f"wrote {args.out} (fitted on {sum(len(d.relations) for d in fit_docs)} gold relations of "
          f"{len(fit_docs)} articles)")
    return 0


def _evaluate_linkers(args, docs, splits) -> int:
    """`linker evaluate`: the rules in-sample, then both linkers on held-out articles."""
    by_id = {d.doc_id: d for d in docs}
    seen = [by_id[i] for i in splits.train + splits.dev] if splits else docs
    print(f"rules on {'the train and dev' if splits else 'all gold'} articles (in-sample: the rules were tuned on them):")
    print(report(seen))
    print()
    if splits is not None and splits.parts:
        r = compare_linkers(docs, splits.folds(), args.resamples, args.seed)
        print(comparison_report(r, f"cross-validation by story ({args.splits})"))
    elif splits is None and len(docs) > 1:
        print(comparison_report(compare_linkers(docs, None, args.resamples, args.seed), "leave one article out"))
    else:
        # Leaving one article out of one leaves nothing to fit on.
        print("cross-validation needs at least 2 articles (or folds in --splits): not run")
    if args.test:
        print()
        test = Fold(0, splits.train + splits.dev, (), splits.test)
        print(comparison_report(compare_linkers(docs, [test], args.resamples, args.seed),
                                "test split (learned fitted on train and dev; report once, never tune on it)"))
    return 0


def add(sub) -> None:
    _add_extract(sub)
    _add_linker(sub)
