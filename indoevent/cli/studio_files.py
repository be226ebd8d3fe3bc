"""``indoevent ls next`` and ``ls submit``: labelling task by task in a text editor, without a browser."""

from __future__ import annotations

import sys
from pathlib import Path

from ..atomic import OutputExistsError
from ..studio.connection import InvalidExport, StudioError, connect
from ..studio.files import fetch_next, submit_markup
from .common import fail, print_problems


def add_files(ls, server) -> None:
    s = ls.add_parser("next", parents=[server], help="write the next task as an .ann markup file",
                      description="Ask the project for the next task of this token's user (lowest prediction score "
                                  "first once `ls rank` has turned uncertainty sampling on) and write it to "
                                  "DIR/<doc_id>.ann as inline markup holding its newest prediction (the "
                                  "pre-annotation), or its bare text with --no-predictions. Edit the file, then "
                                  "`indoevent ls submit` it. Exits 3 when no task is left.",
                      epilog="markup: ⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1 recipient=e2⟧ ⟦e2:PER Kim⟧ "
                             "(annotations/guidelines.md)")
    s.add_argument("--project", required=True, help="project title or id")
    s.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the .ann file")
    s.add_argument("--no-predictions", action="store_true",
                   help="the bare text, without pre-annotations (an independent second annotation)")
    s.set_defaults(func=_run_ls_next)
    s = ls.add_parser("submit", parents=[server], help="store edited .ann files as their tasks' annotations",
                      description="Validate each .ann file (its text without markup must be the task's text byte "
                                  "for byte; spans and arguments must follow schema v1), then store it as the "
                                  "annotation of the task whose doc_id is the file's name, by this token's user "
                                  "(an earlier annotation of theirs is replaced, not doubled). A file with any "
                                  "problem is not sent; its problems are listed one per line.")
    s.add_argument("files", nargs="+", type=Path, metavar="FILE.ann",
                   help="edited .ann files of `ls next`, each named by its task's doc_id")
    s.add_argument("--project", required=True, help="project title or id")
    s.set_defaults(func=_run_ls_submit)


def _run_ls_next(args) -> int:
    try:
        studio = connect(args.url, args.token)
        got = fetch_next(studio, args.project, args.out, with_predictions=not args.no_predictions)
    except (StudioError, OutputExistsError, OSError) as e:
        return fail(str(e))
    if got is None:
        print(f"no task left for this user in project {args.project!r}")
        return 3
    pre = f"pre-annotation of {got.model_version} (task score {got.score})" if got.model_version else "no pre-annotation"
    print(f"task {got.task_id} ({got.doc_id}) -> {got.path}: {pre}")
    return 0


def _run_ls_submit(args) -> int:
    try:
        studio = connect(args.url, args.token)
    except StudioError as e:
        return fail(str(e))
    bad = 0
    for path in args.files:
        try:
            r = submit_markup(studio, args.project, path)
        except InvalidExport as e:
            print_problems(e.problems)
            print(f"error: {e}", file=sys.stderr)
            bad += 1
            continue
        except (StudioError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            bad += 1
            continue
        how = "updated" if r.updated else "created"
        print(f"{path}: {how} annotation {r.annotation_id} of task {r.task_id} ({r.spans} spans, {r.relations} arguments)")
    return 1 if bad else 0
