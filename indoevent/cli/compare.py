"""``indoevent compare``: several runs or cross-validation folders side by side."""

from __future__ import annotations

from pathlib import Path

from ..annotation.conll import ConllError
from ..annotation.lsexport import ExportError
from ..atomic import OutputExistsError, check_output, write_text
from ..evaluation.compare import compare_html, compare_table, is_compare_page, load_entry
from ..evaluation.evaluate import EvaluationError
from .common import add_overwrite, cannot_write, fail


def _run_compare(args) -> int:
    try:
        if args.out:
            check_output(args.out, [*args.folders, *(args.data or [])], args.overwrite, is_compare_page,
                         "a page of `indoevent compare`")
    except OutputExistsError as e:
        return fail(str(e))
    try:
        entries = [load_entry(p, args.data, args.resamples, args.seed) for p in args.folders]
    except (EvaluationError, ExportError, ConllError, FileNotFoundError, ValueError) as e:
        return fail(str(e))
    print(compare_table(entries))
    if args.out:
        try:
            write_text(args.out, compare_html(entries))
        except OSError as e:
            return cannot_write(args.out, e)
        print(f"wrote {args.out}")
    return 0


def add(sub) -> None:
    p = sub.add_parser(
        "compare", help="compare runs or cross-validation folders: span F1 with intervals, per-label chart",
        description="A table of several runs (for example IndoBERT vs IndoLEM vs XLM-R vs NusaBERT): micro "
                    "span F1 for entities, triggers and all, with 95%% bootstrap intervals over articles, as "
                    "Markdown; --out FILE.html adds a per-label F1 chart. Each folder is an `indoevent evaluate "
                    "--out` folder, a `train --cv` folder (its pooled test predictions), or a run folder "
                    "(evaluated on --data when given).",
        epilog="example: indoevent compare models/indobert-base-p1-cv models/nusabert-base-cv --out compare.html")
    p.add_argument("folders", nargs="+", type=Path, metavar="RUN_OR_CV_DIR",
                   help="`evaluate --out` folders, `train --cv` folders or run folders (with --data), one column each")
    p.add_argument("--data", type=Path, nargs="+", default=None, metavar="FILE",
                   help="gold data to evaluate run folders on (Label Studio export or CoNLL)")
    p.add_argument("--out", type=Path, default=None, help="write an HTML page (table and chart)")
    add_overwrite(p, "a page of `indoevent compare`")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(func=_run_compare)
