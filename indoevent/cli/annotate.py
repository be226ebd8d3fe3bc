"""Commands over annotations: validate, convert, gold, agree."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..annotation.agreement import agreement_table, compare, load_annotation
from ..annotation.convert import ConversionError, check_output, convert_export, problem_lines, write_conversion
from ..annotation.gold import build_gold, dumps_export
from ..annotation.inline import MarkupError
from ..annotation.labelconfig import check_config_file
from ..annotation.lsexport import ExportError
from ..annotation.validate import label_table, validate
from ..atomic import OutputExistsError, write_text
from .common import annotation_choice, cannot_write, fail


# --- validate ---------------------------------------------------------------------------------
def _add_validate(sub) -> None:
    p = sub.add_parser("validate", help="check a Label Studio export against the schema",
                       description="Check a Label Studio JSON export (or JSONL, one task a line) against annotation "
                                   "schema v1, the chosen annotation of each task and every prediction: offsets inside "
                                   "the text and matching value.text, clean span edges, no overlaps, known labels "
                                   "and control names, relations from a trigger to an allowed entity. Prints a "
                                   "per-label count table; exits 1 listing every problem by task id and offset, "
                                   "and on an export with no tasks.")
    p.add_argument("export", type=Path, help="Label Studio JSON export (a list of tasks), or JSONL (one task a "
                                             "line, as `indoevent ls push` takes)")
    p.add_argument("--annotation", default="latest", metavar="CHOICE", type=annotation_choice,
                   help="which annotation of a task to check: latest (default), first, or annotator=ID")
    p.add_argument("--config", type=Path, default=None,
                   help="also check a labeling config XML against the package's label set")
    p.set_defaults(func=_run_validate)


def _run_validate(args) -> int:

    try:
        result = validate(args.export, args.annotation)
    except ExportError as e:
        return fail(str(e))
    if result.n_tasks == 0:
        return fail(f"{args.export}: no tasks (an empty export); nothing to validate")
    print(f"{args.export}: {result.n_tasks} tasks, {len(result.documents)} annotated, "
          f"{result.n_predictions} prediction(s)")
    print(label_table(result))
    for reason, tasks in result.skipped.items():
        print(f"skipped ({reason}): {len(tasks)}: {', '.join(tasks[:10])}{' ...' if len(tasks) > 10 else ''}")
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    problems = [str(p) for p in result.problems]
    if args.config is not None:
        problems += [f"{args.config}: {p}" for p in check_config_file(args.config)]
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("valid")
    return 0


# --- convert ----------------------------------------------------------------------------------
def _add_convert(sub) -> None:
    p = sub.add_parser("convert", help="Label Studio export -> word-level IOB2 (JSONL + DatasetDict)",
                       description="Convert a Label Studio JSON export into word-level IOB2 tags: "
                                   "OUT/articles.jsonl (doc_id, tokens, starts, ends, tags, relations), "
                                   "OUT/dataset (a Hugging Face DatasetDict with ClassLabel tags), "
                                   "OUT/labels.json and OUT/conversion_report.json. Spans that do not fall on "
                                   "word edges and unannotated tasks are reported, never guessed; --strict "
                                   "fails on any of them. OUT must be a new or empty folder, or an earlier "
                                   "conversion with --overwrite (a folder holding other files is never "
                                   "replaced); it is replaced only when conversion succeeds.")
    p.add_argument("export", type=Path, help="Label Studio JSON export (or JSONL, one task a line)")
    p.add_argument("--out", type=Path, required=True, help="output folder (new, empty, or an earlier conversion)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it holds an earlier conversion")
    p.add_argument("--strict", action="store_true", help="fail (writing nothing) on any problem")
    p.add_argument("--annotation", default="latest", metavar="CHOICE", type=annotation_choice,
                   help="which annotation per task: latest non-cancelled (default), first, or annotator=ID")
    p.set_defaults(func=_run_convert)


def _run_convert(args) -> int:

    try:
        check_output(args.out, args.overwrite)  # before the work, not after it
        articles, report = convert_export(args.export, args.annotation, args.strict)
    except (ExportError, OutputExistsError) as e:
        return fail(str(e))
    except ConversionError as e:
        for line in problem_lines(e.report):
            print(f"error: {line}", file=sys.stderr)
        return fail(str(e).splitlines()[0])
    try:
        out = write_conversion(articles, report, args.out, overwrite=args.overwrite)
    except OutputExistsError as e:
        return fail(str(e))
    except OSError as e:
        return cannot_write(args.out, e)
    n_words = sum(len(a.tokens) for a in articles)
    print(f"{len(articles)} articles, {n_words} words -> {out}")
    print("spans: " + ", ".join(f"{k} {v}" for k, v in report["tag_counts"].items()))
    left = len(report["misaligned_spans"]) + len(report["problems"])
    if left or report["skipped"]:
        print(f"see {out / 'conversion_report.json'}: {len(report['misaligned_spans'])} misaligned span(s), "
              f"{len(report['problems'])} problem(s), skipped: "
              f"{ {k: v['count'] for k, v in report['skipped'].items()} }", file=sys.stderr)
    return 0


# --- gold -------------------------------------------------------------------------------------
def _add_gold(sub) -> None:
    p = sub.add_parser("gold", help="compile inline-markup gold (annotations/gold/*.ann) to a Label Studio export",
                       description="Compile the gold annotation, authored as inline markup "
                                   "(⟦ID:LABEL text > role=ID⟧), into a Label Studio JSON export. "
                                   "Each .ann file's text comes from <its name>.txt in the first --texts folder "
                                   "that has it. With --check, exit 1 if OUT is not what the markup compiles to.",
                       epilog="the whole corpus (seeds and new articles):\n"
                              "  indoevent gold --markup annotations/gold annotations/corpus/gold "
                              "--texts seeds annotations/corpus/texts --out annotations/corpus.json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--markup", type=Path, nargs="+", default=[Path("annotations/gold")],
                   help="folders of .ann files (default annotations/gold)")
    p.add_argument("--texts", "--seeds", dest="texts", type=Path, nargs="+", default=[Path("seeds")],
                   help="folders of the articles' .txt files (default seeds)")
    p.add_argument("--out", type=Path, default=Path("annotations/seeds.json"), help="export to write")
    p.add_argument("--check", action="store_true", help="only check that OUT is up to date")
    p.set_defaults(func=_run_gold)


def _run_gold(args) -> int:

    try:
        text = dumps_export(build_gold(args.markup, args.texts))
    except (ValueError, MarkupError) as e:
        return fail(str(e))
    except OSError as e:
        return fail(f"{e.filename}: cannot read: {e.strerror}")
    if args.check:
        try:
            current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        except (OSError, UnicodeDecodeError) as e:
            return fail(f"{args.out}: cannot read: {getattr(e, 'strerror', None) or e}")
        if current != text:
            return fail(f"{args.out} is out of date: run `indoevent gold`")
        print(f"{args.out} is up to date")
        return 0

    try:
        write_text(args.out, text)
    except OSError as e:
        return cannot_write(args.out, e)
    print(f"wrote {args.out}")
    return 0


# --- agree ------------------------------------------------------------------------------------
def _add_agree(sub) -> None:
    p = sub.add_parser("agree", help="agreement between two annotations of the same articles",
                       description="Exact-span F1 per label and argument F1 per role between two annotations "
                                   "(Label Studio exports or folders of .ann markup), matched by doc_id; "
                                   "articles only in A are listed. Prints each difference with its offsets: "
                                   "spans, and arguments (trigger, role, entity) only in A or only in B. Spans "
                                   "an export cannot place (outside the text; relations to a missing span) "
                                   "are left out, with a warning.")
    p.add_argument("a", type=Path, help="reference annotation (export .json or folder of .ann)")
    p.add_argument("b", type=Path, help="second annotation")
    p.add_argument("--only-common", action="store_true", help="compare only articles present in both")
    p.set_defaults(func=_run_agree)


def _warn(message: str) -> None:
    print(f"indoevent: warning: {message}", file=sys.stderr)


def _run_agree(args) -> int:

    try:
        a, b = load_annotation(args.a, _warn), load_annotation(args.b, _warn)
    except (ExportError, MarkupError) as e:
        return fail(str(e))
    if args.only_common:
        common = {d.doc_id for d in b}
        a = [d for d in a if d.doc_id in common]
    spans, arguments, diffs = compare(a, b)
    print(agreement_table(spans, arguments))
    for d in diffs:
        print(d)
    return 0


def add(sub) -> None:
    _add_validate(sub)
    _add_convert(sub)
    _add_gold(sub)
    _add_agree(sub)
