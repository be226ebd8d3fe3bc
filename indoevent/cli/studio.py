"""``indoevent ls``: a running Label Studio server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..annotation.lsexport import ExportError
from ..studio.client import InvalidExport, StudioError, connect, push
from ..studio.client import StudioError, connect, pull
from ..studio.client import StudioError, connect, status
from ..studio.client import redact
from .common import fail


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

    try:
        studio = connect(args.url, args.token)
        projects = status(studio)
    except StudioError as e:
        return fail(str(e))
    print(f"Label Studio {studio.version} ({studio.edition}) at {redact(studio.url)}, user {studio.user}")
    print(f"{'id':>5} {'tasks':>6} {'annotated':>9} {'annotations':>11} {'predictions':>11} {'config':<6}  title")
    for p in projects:
        print(f"{p.id:>5} {p.tasks:>6} {p.annotated:>9} {p.annotations:>11} {p.predictions:>11} "
              f"{'v1' if p.config_ok else 'other':<6}  {p.title}")
    if not projects:
        print("(no projects)")
    return 0


def _run_ls_push(args) -> int:

    try:
        studio = connect(args.url, args.token)
        report = push(studio, args.export, args.project, config=args.config,
                      skip_existing=args.skip_existing, batch_size=args.batch_size)
    except InvalidExport as e:
        for p in e.problems:
            print(f"error: {p}", file=sys.stderr)
        return fail(f"{e} (`indoevent validate {args.export}` shows the same problems)")
    except (StudioError, ExportError, OSError) as e:
        return fail(str(e))
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    how = "new project" if report.created else "project"
    print(f"pushed {report.tasks} tasks ({report.annotations} annotations, {report.predictions} predictions) "
          f"to {how} {report.project_id} {report.title!r}: {report.url}")
    if report.skipped_existing:
        print(f"left out {report.skipped_existing} tasks already in the project")
    return 0


def _run_ls_pull(args) -> int:

    try:
        studio = connect(args.url, args.token)
        r = pull(studio, args.project, args.out, args.annotation)
    except (StudioError, OSError) as e:
        return fail(str(e))
    print(f"project {r.project_id} {r.title!r} -> {r.path}: {r.tasks} tasks, {r.annotated} annotated "
          f"({r.annotations} annotations, {r.predictions} predictions); {r.spans} spans and {r.relations} "
          f"relations in the {args.annotation} annotations")
    for w in r.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for p in r.problems:
        print(f"error: {p}", file=sys.stderr)
    if r.problems:
        return fail(f"{r.path}: {len(r.problems)} problem(s): fix them in Label Studio, then pull again")
    print("valid")
    return 0


def add(sub) -> None:
    _add_ls(sub)
