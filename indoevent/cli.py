"""The ``indoevent`` command: a thin layer over the package's functions.

Each subcommand parses its arguments and calls one function; heavy libraries
(torch, transformers) are imported only by the subcommands that need them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EPILOG = """examples:
  indoevent validate annotations/seeds.json
  indoevent convert annotations/seeds.json --out data/seeds --strict
  indoevent train --config training/configs/tiny.yaml
  indoevent extract seeds/ --model models/tiny --out results.jsonl
"""


def _fail(message: str, code: int = 1) -> int:
    print(f"indoevent: error: {message}", file=sys.stderr)
    return code


# --- validate ---------------------------------------------------------------------------------
def _add_validate(sub) -> None:
    p = sub.add_parser("validate", help="check a Label Studio export against the schema",
                       description="Check a Label Studio JSON export against annotation schema v1: offsets inside "
                                   "the text and matching value.text, clean span edges, no overlaps, known labels "
                                   "and control names, relations from a trigger to an allowed entity. Prints a "
                                   "per-label count table; exits 1 listing every problem by task id and offset.")
    p.add_argument("export", type=Path, help="Label Studio JSON export (a list of tasks)")
    p.add_argument("--annotation", default="latest", metavar="CHOICE",
                   help="which annotation of a task to check: latest (default), first, or annotator=ID")
    p.add_argument("--config", type=Path, default=None,
                   help="also check a labeling config XML against the package's label set")
    p.set_defaults(func=_run_validate)


def _run_validate(args) -> int:
    from .labelconfig import check_config_file
    from .lsexport import ExportError
    from .validate import label_table, validate

    try:
        result = validate(args.export, args.annotation)
    except ExportError as e:
        return _fail(str(e))
    print(f"{args.export}: {result.n_tasks} tasks, {len(result.documents)} annotated")
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
                                   "fails on any of them. OUT is replaced only when conversion succeeds.")
    p.add_argument("export", type=Path, help="Label Studio JSON export")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--strict", action="store_true", help="fail (writing nothing) on any problem")
    p.add_argument("--annotation", default="latest", metavar="CHOICE",
                   help="which annotation per task: latest non-cancelled (default), first, or annotator=ID")
    p.set_defaults(func=_run_convert)


def _run_convert(args) -> int:
    from .convert import ConversionError, convert_export, write_conversion
    from .lsexport import ExportError

    try:
        articles, report = convert_export(args.export, args.annotation, args.strict)
    except ExportError as e:
        return _fail(str(e))
    except ConversionError as e:
        for p in e.report["problems"]:
            print(f"error: {p}", file=sys.stderr)
        for m in e.report["misaligned_spans"]:
            print(f"error: {m['doc_id']} (task {m['task_id']}) at [{m['start']}, {m['end']}): {m['label']} "
                  f"{m['text']!r} does not fall on word edges (words: {m['words']})", file=sys.stderr)
        for reason, s in e.report["skipped"].items():
            print(f"error: {s['count']} task(s) {reason}: {', '.join(s['tasks'][:10])}", file=sys.stderr)
        return _fail(str(e))
    out = write_conversion(articles, report, args.out)
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
                                   "With --check, exit 1 if OUT is not what the markup compiles to.")
    p.add_argument("--markup", type=Path, default=Path("annotations/gold"), help="folder of .ann files")
    p.add_argument("--seeds", type=Path, default=Path("seeds"), help="folder of the seed .txt files")
    p.add_argument("--out", type=Path, default=Path("annotations/seeds.json"), help="export to write")
    p.add_argument("--check", action="store_true", help="only check that OUT is up to date")
    p.set_defaults(func=_run_gold)


def _run_gold(args) -> int:
    from .gold import build_gold, dumps_export
    from .inline import MarkupError

    try:
        text = dumps_export(build_gold(args.markup, args.seeds))
    except (ValueError, MarkupError) as e:
        return _fail(str(e))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            return _fail(f"{args.out} is out of date: run `indoevent gold`")
        print(f"{args.out} is up to date")
        return 0
    from .atomic import write_text

    write_text(args.out, text)
    print(f"wrote {args.out}")
    return 0


# --- agree ------------------------------------------------------------------------------------
def _add_agree(sub) -> None:
    p = sub.add_parser("agree", help="agreement between two annotations of the same articles",
                       description="Exact-span F1 per label and argument F1 per role between two annotations "
                                   "(Label Studio exports or folders of .ann markup), matched by doc_id; "
                                   "articles only in A are listed. Prints each difference with its offsets.")
    p.add_argument("a", type=Path, help="reference annotation (export .json or folder of .ann)")
    p.add_argument("b", type=Path, help="second annotation")
    p.add_argument("--only-common", action="store_true", help="compare only articles present in both")
    p.set_defaults(func=_run_agree)


def _run_agree(args) -> int:
    from .agreement import agreement_table, compare, load_annotation
    from .inline import MarkupError
    from .lsexport import ExportError

    try:
        a, b = load_annotation(args.a), load_annotation(args.b)
    except (ExportError, MarkupError) as e:
        return _fail(str(e))
    if args.only_common:
        common = {d.doc_id for d in b}
        a = [d for d in a if d.doc_id in common]
    spans, arguments, diffs = compare(a, b)
    print(agreement_table(spans, arguments))
    for d in diffs:
        print(d)
    return 0


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
             "nothing is truncated.")
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
    p.add_argument("--out", type=Path, required=True, help="results, JSONL (appended; rerun to resume)")
    p.add_argument("--overwrite", action="store_true",
                   help="start --out afresh (needed when it holds results of another model version)")
    p.add_argument("--format", choices=["jsonl", "label-studio"], default="jsonl",
                   help="jsonl (default): one result per line. label-studio: one Label Studio task with "
                        "'predictions' per line, and when done the same tasks as a JSON list in OUT with "
                        "suffix .json, ready for Label Studio's Import dialog")
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward pass (default 8 on CPU, 32 on GPU)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: GPU when present)")
    p.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32",
                   help="autocast precision on GPU (fp16/bf16 are slower on CPUs without native support)")
    p.add_argument("--quantize", choices=["int8"], default=None,
                   help="CPU: use the ONNX Runtime int8 model from `indoevent export-onnx RUN --quantize int8`")
    p.add_argument("--runtime", choices=["torch", "onnx"], default="torch",
                   help="torch (default), or onnx: the fp32 ONNX Runtime model from `indoevent export-onnx RUN` "
                        "(CPU; same results, often faster than PyTorch on CPU)")
    p.add_argument("--with-text", action="store_true", help="also write each article's text (jsonl format)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_extract)


def _run_extract(args) -> int:
    import time

    from .extract import Extractor, extract_files

    t0 = time.perf_counter()
    try:
        extractor = Extractor.from_pretrained(args.model, device=args.device, precision=args.precision,
                                              quantize=args.quantize, runtime=args.runtime,
                                              batch_size=args.batch_size)
    except (OSError, ValueError) as e:
        return _fail(f"cannot load model {args.model}: {e}")
    if args.quantize or args.runtime == "onnx":
        from .onnx_export import check_fresh

        stale = check_fresh(args.model)
        if stale:
            print(f"warning: {stale}", file=sys.stderr)
    load_s = time.perf_counter() - t0

    def on_error(err) -> None:
        print(f"error: skipped {err}", file=sys.stderr)

    try:
        report = extract_files(extractor, args.inputs, args.out, args.format, args.batch_size,
                               with_text=args.with_text, progress=not args.no_progress, on_error=on_error,
                               overwrite=args.overwrite)
    except ValueError as e:
        return _fail(str(e))
    if report.truncated_line:
        print(f"note: {args.out} ended in a line cut short (crash?); it was dropped and its article redone",
              file=sys.stderr)
    rate = report.words / report.seconds if report.seconds else 0.0
    share = report.stats["forward_seconds"] / report.seconds if report.seconds else 0.0
    print(f"{report.written} article(s), {report.words} words -> {report.out} in {report.seconds:.1f}s "
          f"({rate:.0f} words/s, {share:.0%} in the model; model {extractor.version} loaded in {load_s:.1f}s)")
    if report.skipped_done:
        print(f"{report.skipped_done} article(s) already in {report.out}: skipped")
    if report.tasks_json:
        print(f"Label Studio tasks: {report.tasks_json}")
    if report.errors:
        print(f"{len(report.errors)} input(s) could not be read (listed above); all others were written",
              file=sys.stderr)
        return 1
    return 0


# --- export-onnx ------------------------------------------------------------------------------
def _add_export_onnx(sub) -> None:
    p = sub.add_parser("export-onnx", help="export a run to ONNX (optionally int8) for fast CPU extraction",
                       description="Export a run's model to ONNX Runtime: RUN/onnx/model.onnx (fp32, attention "
                                   "fused) and, with --quantize int8, RUN/onnx/model.int8.onnx (dynamic int8 "
                                   "weights, about 2x the speed of the HF pipeline on CPU). The exported graph "
                                   "is checked against PyTorch; RUN/onnx/export.json records the differences. "
                                   "Then: indoevent extract ... --model RUN --quantize int8")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--quantize", choices=["int8"], default=None, help="also write the int8 model")
    p.add_argument("--out", type=Path, default=None, help="output folder (default RUN/onnx)")
    p.set_defaults(func=_run_export_onnx)


def _run_export_onnx(args) -> int:
    from .onnx_export import export_onnx

    try:
        out = export_onnx(args.run, quantize=args.quantize, out=args.out)
    except (OSError, ValueError, RuntimeError) as e:
        return _fail(f"{args.run}: {e}")
    info = json.loads((out / "export.json").read_text(encoding="utf-8"))
    print(f"wrote {out}: " + ", ".join(info["files"].values())
          + f" (fused attention: {'yes' if info['fused_attention'] else 'no'}; max logit difference to PyTorch "
          + f"fp32 {info['max_abs_diff_fp32']:.1e}"
          + (f", int8 {info['max_abs_diff_int8']:.2f}" if "max_abs_diff_int8" in info else "") + ")")
    return 0


# --- train ------------------------------------------------------------------------------------
def _add_train(sub) -> None:
    from .config import fields_help

    p = sub.add_parser(
        "train", help="fine-tune a token classifier (IndoBERT) on entities and event triggers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fine-tune AutoModelForTokenClassification on the gold articles (and CoNLL files) as a\n"
                    "YAML config says, with the overlapping windows inference uses and early stopping on the\n"
                    "strict dev span F1; write models/<run_name>/ (weights, tokenizer, resolved config,\n"
                    "metrics.json, run_info.json, model card). Any config key can be overridden: --train.epochs=3.",
        epilog="examples:\n"
               "  indoevent train --config training/configs/tiny.yaml\n"
               "  indoevent train --config training/configs/tiny.yaml --cv\n"
               "  indoevent train --config training/configs/indobert-base-p1.yaml --train.batch_size=8 "
               "--train.gradient_accumulation_steps=4\n"
               "  torchrun --standalone --nproc_per_node=4 -m indoevent train --config "
               "training/configs/indobert-base-p1.yaml  # 4 GPUs\n"
               "see training/README.md for recipes")
    p.add_argument("--config", type=Path, required=True, help="YAML config (training/configs/*.yaml)")
    p.add_argument("--output-dir", type=Path, default=None,
                   help="run folder (default: models/<run_name>, or models/<run_name>-cv with --cv)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its last checkpoint (with --cv: skip finished folds)")
    p.add_argument("--cv", action="store_true",
                   help="cross-validate by article (leave-one-article-out unless cv.k is set) and report mean and "
                        "standard deviation per label; writes a report folder, no model")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    g = p.add_argument_group("config overrides (--KEY=VALUE, VALUE read as YAML)")
    for key, tp, default, text in fields_help():
        g.add_argument(f"--{key}", dest=key, metavar="VALUE", default=argparse.SUPPRESS,
                       help=f"{text} [{tp}; default {default!r}]".replace("%", "%%"))
    p.set_defaults(func=_run_train)


def _run_train(args) -> int:
    from .config import ConfigError, fields_help, load_config
    from .data import DataError
    from .runs import RunExistsError
    from .train import ModelLoadError, train

    given = vars(args)
    overrides = [f"{key}={given[key]}" for key, *_ in fields_help() if key in given]
    try:
        cfg = load_config(args.config, overrides)
        train(cfg, args.output_dir, resume=args.resume, cv=args.cv, overwrite=args.overwrite)
    except (ConfigError, DataError, ModelLoadError, RunExistsError) as e:
        return _fail(str(e))
    return 0


# --- evaluate ---------------------------------------------------------------------------------
def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="score a trained run on annotated articles (strict span P/R/F1 per label)",
        description="Predict annotated articles with a run folder's model, using the windows it was trained with, "
                    "and print strict IOB2 span precision, recall and F1 per label (seqeval, word level), for "
                    "entities and triggers separately. Warns when the articles were part of its training data.")
    p.add_argument("model", type=Path, help="run folder (models/<run-name>)")
    p.add_argument("--export", type=Path, default=None, help="gold Label Studio export to score against")
    p.add_argument("--annotation", default="latest", metavar="CHOICE",
                   help="which annotation per task: latest (default), first, or annotator=ID")
    p.add_argument("--conll", type=Path, action="append", default=[], help="CoNLL column file (repeatable)")
    p.add_argument("--label-map", action="append", default=[], metavar="SRC=DST",
                   help="CoNLL label mapping, e.g. PPL=PER or EVT=O (repeatable)")
    p.add_argument("--articles", nargs="+", default=None, metavar="ID", help="score only these article ids")
    p.add_argument("--batch-size", type=int, default=32, help="windows per batch")
    p.add_argument("--out", type=Path, default=None, help="also write the metrics as JSON")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args) -> int:
    from .conll import ConllError, read_conll
    from .convert import ConversionError, convert_export
    from .lsexport import ExportError
    from .metrics import table
    from .runs import write_json

    if args.export is None and not args.conll:
        return _fail("give the articles to score: --export FILE and/or --conll FILE")
    label_map = {}
    for item in args.label_map:
        src, sep, dst = item.partition("=")
        if not sep:
            return _fail(f"--label-map {item!r}: expected SRC=DST")
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
        return _fail(str(e))
    if args.articles:
        unknown = set(args.articles) - {a.doc_id for a in articles}
        if unknown:
            return _fail(f"unknown article id(s): {', '.join(sorted(unknown))}")
        articles = [a for a in articles if a.doc_id in set(args.articles)]
    if not (args.model / "config.json").exists():
        return _fail(f"{args.model}: not a run folder (no config.json)")
    info = args.model / "run_info.json"
    if info.exists():
        trained = set(json.loads(info.read_text(encoding="utf-8")).get("split", {}).get("train", []))
        seen = sorted(a.doc_id for a in articles if a.doc_id in trained)
        if seen:
            print(f"warning: {len(seen)} of {len(articles)} article(s) were in this model's training data "
                  f"({', '.join(seen[:5])}{' ...' if len(seen) > 5 else ''}): their scores are optimistic",
                  file=sys.stderr)
    from .train import evaluate_model

    metrics, _ = evaluate_model(args.model, articles, args.batch_size)
    print(f"{args.model}: {len(articles)} article(s), {sum(len(a.tokens) for a in articles)} words")
    print(table(metrics))
    if args.out:
        write_json(args.out, metrics)
        print(f"wrote {args.out}")
    return 0


# --- ls (Label Studio server) -----------------------------------------------------------------
LS_EPILOG = """The server is found by --url or $LABEL_STUDIO_URL (default http://localhost:8080) and the
token by --token or $LABEL_STUDIO_API_KEY (Label Studio: Account & Settings).

examples:
  indoevent ls status
  indoevent ls push annotations/seeds.json --project seeds
  indoevent ls push results/seeds.json --project review --skip-existing   # extract --format label-studio
  indoevent ls pull seeds --out annotations/pulled.json
"""


def _add_ls(sub) -> None:
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--url", default=None, help="Label Studio address (default: $LABEL_STUDIO_URL, "
                                                    "else http://localhost:8080)")
    server.add_argument("--token", default=None, help="API token (default: $LABEL_STUDIO_API_KEY)")
    p = sub.add_parser("ls", help="Label Studio server: status, push tasks, pull annotations",
                       description="Work with a running Label Studio server through its API. The server checks "
                                   "nothing, so push validates the export first and pull validates what it "
                                   "fetched. Only the JSON export is used (Label Studio's CONLL export loses "
                                   "event triggers).",
                       epilog=LS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ls = p.add_subparsers(dest="ls_command", metavar="ACTION", required=True)
    s = ls.add_parser("status", parents=[server], help="server version and projects with their counts",
                      description="Print the server version, then every project with its tasks, annotated "
                                  "tasks, annotations, predictions, and whether its labeling config is schema v1's.")
    s.set_defaults(func=_run_ls_status)
    s = ls.add_parser("push", parents=[server], help="import an export or predictions into a project",
                      description="Validate an export (every annotation and prediction), then import its tasks "
                                  "with their annotations and predictions into a project, created with schema "
                                  "v1's labeling config when no project has the title. Nothing is sent if the "
                                  "export has any problem, if an existing project's labeling config differs from "
                                  "schema v1, or if tasks are already there (same doc_id, else same text) "
                                  "unless --skip-existing. Annotations are recorded as the token user's.")
    s.add_argument("export", type=Path, help="Label Studio JSON (a list of tasks) or JSONL (one task a line, "
                                             "as `indoevent extract --format label-studio` writes)")
    s.add_argument("--project", required=True, help="project title (created if missing) or id")
    s.add_argument("--config", type=Path, default=None,
                   help="labeling config for a new project (default: schema v1's, as in annotations/label_config.xml)")
    s.add_argument("--skip-existing", action="store_true", help="leave out tasks already in the project")
    s.add_argument("--batch-size", type=int, default=250, help="tasks per import request (default 250)")
    s.set_defaults(func=_run_ls_push)
    s = ls.add_parser("pull", parents=[server], help="export a project to a JSON file and validate it",
                      description="Export a project as Label Studio JSON (a snapshot holding full predictions), "
                                  "write it atomically to --out, then validate it like `indoevent validate` and "
                                  "summarise it. Exits 1 if it breaks the schema (the file is written anyway).")
    s.add_argument("project", help="project title or id")
    s.add_argument("--out", type=Path, required=True, help="where to write the export (.json)")
    s.add_argument("--annotation", default="latest", metavar="CHOICE",
                   help="which annotation per task to count: latest (default), first, or annotator=ID")
    s.set_defaults(func=_run_ls_pull)


def _run_ls_status(args) -> int:
    from .studio import StudioError, connect, status

    try:
        studio = connect(args.url, args.token)
        projects = status(studio)
    except StudioError as e:
        return _fail(str(e))
    print(f"Label Studio {studio.version} ({studio.edition}) at {studio.url}, user {studio.user}")
    print(f"{'id':>5} {'tasks':>6} {'annotated':>9} {'annotations':>11} {'predictions':>11} {'config':<6}  title")
    for p in projects:
        print(f"{p.id:>5} {p.tasks:>6} {p.annotated:>9} {p.annotations:>11} {p.predictions:>11} "
              f"{'v1' if p.config_ok else 'other':<6}  {p.title}")
    if not projects:
        print("(no projects)")
    return 0


def _run_ls_push(args) -> int:
    from .lsexport import ExportError
    from .studio import InvalidExport, StudioError, connect, push

    try:
        studio = connect(args.url, args.token)
        report = push(studio, args.export, args.project, config=args.config,
                      skip_existing=args.skip_existing, batch_size=args.batch_size)
    except InvalidExport as e:
        for p in e.problems:
            print(f"error: {p}", file=sys.stderr)
        return _fail(f"{e} (`indoevent validate {args.export}` shows the same problems)")
    except (StudioError, ExportError, OSError) as e:
        return _fail(str(e))
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    how = "new project" if report.created else "project"
    print(f"pushed {report.tasks} tasks ({report.annotations} annotations, {report.predictions} predictions) "
          f"to {how} {report.project_id} {report.title!r}: {report.url}")
    if report.skipped_existing:
        print(f"left out {report.skipped_existing} tasks already in the project")
    return 0


def _run_ls_pull(args) -> int:
    from .studio import StudioError, connect, pull

    try:
        studio = connect(args.url, args.token)
        r = pull(studio, args.project, args.out, args.annotation)
    except (StudioError, OSError) as e:
        return _fail(str(e))
    print(f"project {r.project_id} {r.title!r} -> {r.path}: {r.tasks} tasks, {r.annotated} annotated "
          f"({r.annotations} annotations, {r.predictions} predictions); {r.spans} spans and {r.relations} "
          f"relations in the {args.annotation} annotations")
    for w in r.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for p in r.problems:
        print(f"error: {p}", file=sys.stderr)
    if r.problems:
        return _fail(f"{r.path}: {len(r.problems)} problem(s): fix them in Label Studio, then pull again")
    print("valid")
    return 0


# --- linker -----------------------------------------------------------------------------------
def _add_linker(sub) -> None:
    p = sub.add_parser("linker", help="score the argument linker on gold relations, or fit the learned one",
                       description="Event frames attach entities of a trigger's sentence to roles (actor, "
                                   "recipient, place, time). `evaluate` scores the rules on gold triggers and "
                                   "gold entities (argument identification and classification P/R/F1) and "
                                   "compares them with the learned linker under leave-one-article-out "
                                   "cross-validation. `fit` trains the learned linker on all gold relations and "
                                   "writes it into a run folder (RUN/linker.json), which the extractor then uses.")
    p.add_argument("action", choices=["evaluate", "fit"])
    p.add_argument("export", type=Path, help="Label Studio export with gold relations (e.g. annotations/seeds.json)")
    p.add_argument("--out", type=Path, help="fit: where to write the linker (RUN/linker.json)")
    p.set_defaults(func=_run_linker)


def _run_linker(args) -> int:
    from .atomic import write_text
    from .frames import cross_validation_report, fit_linker, report
    from .lsexport import ExportError, read_export

    try:
        result = read_export(args.export)
    except ExportError as e:
        return _fail(str(e))
    if result.problems:
        return _fail(f"{args.export}: {len(result.problems)} schema problem(s); run `indoevent validate` first")
    docs = result.documents
    if args.action == "evaluate":
        print("rules on all gold articles:")
        print(report(docs))
        print()
        print(cross_validation_report(docs))
        return 0
    if args.out is None:
        return _fail("linker fit needs --out RUN/linker.json")
    write_text(args.out, json.dumps(fit_linker(docs).to_json(), indent=0) + "\n")
    print(f"wrote {args.out} (fitted on {sum(len(d.relations) for d in docs)} gold relations of {len(docs)} articles)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="indoevent",
        description="Actors and events (PLOVER) from Indonesian news: validate and convert Label Studio "
                    "annotations, fine-tune IndoBERT, extract spans and event frames.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"indoevent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


COMMANDS = [_add_validate, _add_convert, _add_gold, _add_agree, _add_linker, _add_extract, _add_export_onnx, _add_train, _add_evaluate, _add_ls]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
