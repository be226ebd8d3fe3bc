"""``indoevent ls``: a running Label Studio server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..annotation.lsexport import ExportError, load_tasks
from ..atomic import OutputExistsError, check_output
from ..events.extractor import Extractor
from ..model.config import ConfigError
from ..model.data import DataError
from ..model.runs import RunExistsError
from ..model.train import ModelLoadError
from ..studio import tasks as studio_tasks
from ..studio.backend import SECRET_ENV, secret_url
from ..studio.client import is_task_list, pull, push, status
from ..studio.connection import InvalidExport, StudioError, connect, redact
from ..studio.files import export_markup
from ..studio.retrain import cv_f1, dev_f1, retrain
from .common import add_overwrite, cannot_load, fail, print_problems
from .studio_files import add_files

# --- ls (Label Studio server) -----------------------------------------------------------------
LS_EPILOG = """The server is found by --url or $LABEL_STUDIO_URL (default http://localhost:8080) and the
token by --token or $LABEL_STUDIO_API_KEY (Label Studio: Account & Settings).

examples:
  indoevent ls status
  indoevent ls push annotations/seeds.json --project seeds
  indoevent ls push results/seeds.json --project review --skip-existing   # extract --format label-studio
  indoevent ls pull seeds --out annotations/pulled.json
  indoevent ls import seeds/ --project berita --model models/tiny   # raw articles (+ pre-annotations)
  indoevent ls predict --project berita --model models/tiny         # predictions of this model version
  indoevent ls rank --project berita --model models/tiny            # lowest score first
  indoevent ls connect --project berita --url http://127.0.0.1:9090 # after `indoevent serve`
  indoevent ls retrain --project berita --config training/configs/tiny.yaml --out-dir models/berita-r1
  indoevent serve --model models/berita-r1/run                       # then serve the new run
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
    add_overwrite(s, "a Label Studio export (a JSON list of tasks)")
    s.add_argument("--ann", type=Path, default=None, metavar="DIR",
                   help="also write each annotated task as DIR/<doc_id>.ann (inline markup, as annotations/gold)")
    s.add_argument("--overwrite-ann", action="store_true",
                   help="replace .ann files already in --ann DIR (they may hold reviewed gold: never by --overwrite)")
    s.set_defaults(func=_run_ls_pull)
    _add_loop(ls, server)
    add_files(ls, server)


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
        print_problems(e.problems)
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
        check_output(args.out, (), args.overwrite, is_task_list, "a Label Studio export")  # before the network
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
    if args.ann is not None:
        try:
            m = export_markup(load_tasks(r.path), args.ann, args.annotation, overwrite=args.overwrite_ann)
        except (OutputExistsError, OSError) as e:
            return fail(str(e))
        print(f"wrote {len(m.written)} .ann files to {args.ann} ({m.unannotated} tasks unannotated)")
    return 0


# --- the annotation loop: import, predict, rank, connect, retrain -------------------------------
FORCE_HELP = ("use the run even if its dev F1 is below that of the project's model version (its setting, else the "
              "newest version among its predictions), both scored on the run's dev articles the project has "
              "annotated")


def _add_loop(ls, server) -> None:
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ... (default cpu)")
    model.add_argument("--batch-size", type=int, default=32, help="tasks per prediction request (default 32)")
    _add_import(ls, server, model)
    _add_predict(ls, server, model)
    _add_rank(ls, server)
    _add_connect(ls)
    _add_retrain(ls, server)


def _add_import(ls, server, model) -> None:
    s = ls.add_parser("import", parents=[server, model], help="import raw articles as tasks (idempotent by doc_id)",
                      description="Import .txt files, folders of them (recursively) and JSONL files with id and "
                                  "text (other fields kept as task data) as tasks with data.text and data.doc_id. "
                                  "Articles whose doc_id is already in the project are left out, so running it "
                                  "twice adds nothing. With --model each new task gets the model's prediction "
                                  "(pre-annotations; `ls predict` adds them to older tasks). Every input is read "
                                  "before anything is sent: one unreadable file or line and nothing is.")
    s.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=".txt file, folder, or id/text .jsonl")
    s.add_argument("--project", required=True, help="project title (created with schema v1's config) or id")
    s.add_argument("--model", type=Path, default=None, help="run directory: attach its predictions")
    s.set_defaults(func=_run_ls_import)


def _add_predict(ls, server, model) -> None:
    s = ls.add_parser("predict", parents=[server, model], help="add a model's predictions to every task without one",
                      description="Add a prediction of this run's model version to every task of the project that "
                                  "has none from it, new and old tasks alike, in batches. Each prediction has "
                                  "regions with ids and scores, relations for the event arguments, and a task "
                                  "score: the lowest span confidence (the mean word confidence when no span is "
                                  "found), so low means look at me. Rerun to finish an interrupted run.")
    s.add_argument("--project", required=True, help="project title or id")
    s.add_argument("--model", type=Path, required=True, help="run directory")
    s.add_argument("--force", action="store_true", help=FORCE_HELP)
    s.set_defaults(func=_run_ls_predict)


def _add_rank(ls, server) -> None:
    s = ls.add_parser("rank", parents=[server], help="serve tasks lowest prediction score first",
                      description="Turn on uncertainty sampling for the run's model version through the API (the "
                                  "Community UI offers only sequential and random, but the API takes it once "
                                  "predictions of that version exist): \"Label All Tasks\" then serves the task "
                                  "with the lowest score next. Also creates a Data Manager tab sorted by "
                                  "prediction score, lowest first, as a fallback.")
    s.add_argument("--project", required=True, help="project title or id")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", type=Path, help="run directory (its model version)")
    g.add_argument("--model-version", help="a model version string as in the project's predictions (not "
                                           "compared with the version in use: it names no run)")
    s.add_argument("--force", action="store_true", help=FORCE_HELP)
    s.set_defaults(func=_run_ls_rank)


def _add_connect(ls) -> None:
    s = ls.add_parser("connect", help="register `indoevent serve` as the project's ML backend",
                      description="Register an ML backend (`indoevent serve`) with the project, interactive "
                                  "(pre-annotations while labelling), and print the settings a Label Studio "
                                  "server needs to reach a backend on 127.0.0.1 or a private address.")
    s.add_argument("--project", required=True, help="project title or id")
    s.add_argument("--url", dest="backend_url", required=True, help="the backend, e.g. http://127.0.0.1:9090")
    s.add_argument("--ls-url", dest="url", default=None, help="Label Studio address (default: $LABEL_STUDIO_URL, "
                                                             "else http://localhost:8080)")
    s.add_argument("--token", default=None, help="API token (default: $LABEL_STUDIO_API_KEY)")
    s.add_argument("--basic-auth-user", default=None,
                   help="basic-auth user of the backend; the password comes from $INDOEVENT_BACKEND_PASSWORD")
    s.set_defaults(func=_run_ls_connect)


def _add_retrain(ls, server) -> None:
    s = ls.add_parser("retrain", parents=[server], help="pull projects, merge their annotations, train",
                      description="Pull snapshot exports of one or more projects, merge them (per doc_id the "
                                  "latest non-cancelled annotation; doc_ids annotated differently in two places "
                                  "are reported), leave out unannotated tasks (counted), validate, write "
                                  "OUT/annotations.json and train on it as --config says (data.export replaced) "
                                  "into OUT/run (OUT/run-cv with --cv).")
    s.add_argument("--project", nargs="+", required=True, help="project titles or ids")
    s.add_argument("--config", type=Path, required=True, help="training config YAML")
    s.add_argument("--out-dir", type=Path, required=True, help="folder for the merged export and the run")
    s.add_argument("--cv", action="store_true", help="cross-validate instead of training one model")
    s.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set train.epochs=3 (repeatable)")
    s.set_defaults(func=_run_ls_retrain)


def _extractor(args) -> Extractor | int:
    """The run of --model, or the exit status of its one-line error (loaded before connecting:
    a damaged run is found without a server)."""
    try:
        return Extractor.from_pretrained(args.model, device=args.device)
    except (OSError, ValueError) as e:  # a ModelLoadError is a ValueError
        return cannot_load(args.model, e)


def _run_ls_import(args) -> int:
    extractor = _extractor(args) if args.model else None
    if isinstance(extractor, int):
        return extractor
    try:
        studio = connect(args.url, args.token)
        r = studio_tasks.import_articles(studio, args.paths, args.project, extractor=extractor,
                                         batch_size=args.batch_size)
    except InvalidExport as e:
        print_problems(e.problems)
        return fail(str(e))
    except (StudioError, OSError, ValueError) as e:
        return fail(str(e))
    how = "new project" if r.created else "project"
    if r.tasks == 0:
        print(f"nothing to import: all {r.already} articles are already in {how} {r.project_id} {r.title!r}")
        return 0
    print(f"imported {r.tasks} tasks ({r.predictions} predictions of {r.model_version or 'no model'}) into {how} "
          f"{r.project_id} {r.title!r}: {r.url}")
    if r.already:
        print(f"left out {r.already} articles already in the project")
    return 0


def _run_ls_predict(args) -> int:
    extractor = _extractor(args)
    if isinstance(extractor, int):
        return extractor
    try:
        studio = connect(args.url, args.token)
        r = studio_tasks.predict_project(studio, args.project, extractor, batch_size=args.batch_size,
                                         run=args.model, force=args.force)
    except InvalidExport as e:
        print_problems(e.problems)
        return fail(str(e))
    except (StudioError, OSError, ValueError) as e:
        return fail(str(e))
    _print_comparison(r.comparison)
    low = f"; lowest task score {min(r.scores):.3f}" if r.scores else ""
    print(f"project {r.project_id}: added predictions of {r.model_version} to {r.predicted} tasks "
          f"({r.had_it} already had one){low}")
    return 0


def _run_ls_rank(args) -> int:
    try:
        studio = connect(args.url, args.token)
        extractor = Extractor.from_pretrained(args.model, device="cpu") if args.model else None
        version = extractor.version if extractor is not None else args.model_version  # one of the two is given
        r = studio_tasks.rank(studio, args.project, version, extractor=extractor, run=args.model, force=args.force)
    except (StudioError, OSError, ValueError) as e:
        return fail(str(e))
    _print_comparison(r.comparison)
    if args.model_version:
        print("no dev F1 comparison with the project's model version: --model-version names no run (no dev articles)")
    print(f"project {r.project_id}: sampling {r.sampling!r} for model version {r.model_version}: \"Label All "
          f"Tasks\" serves the lowest-scoring task next")
    print(f"fallback: Data Manager tab {studio_tasks.SCORE_VIEW!r} (id {r.view_id}) sorts tasks by prediction score")
    return 0


def _print_comparison(cmp: studio_tasks.DevComparison | None) -> None:
    """The run against the project's model version; a warning when it scores below it (--force)."""
    if cmp is not None:
        print(("warning: " if cmp.worse else "") + cmp.describe(), file=sys.stderr if cmp.worse else sys.stdout)


def _run_ls_connect(args) -> int:
    import os

    auth = None
    if args.basic_auth_user:
        password = os.environ.get("INDOEVENT_BACKEND_PASSWORD")
        if not password:
            return fail("--basic-auth-user needs the password in $INDOEVENT_BACKEND_PASSWORD")
        auth = (args.basic_auth_user, password)
    print("A backend on 127.0.0.1 or a private address needs these in the Label Studio server's environment:")
    for name, value, why in studio_tasks.LOOPBACK_SETTINGS:
        print(f"  {name}={value}    # {why}")
    url = args.backend_url
    secret = os.environ.get(SECRET_ENV)
    if secret:  # Label Studio appends /webhook to this URL: the secret travels as a path segment
        url = secret_url(url, secret)
    else:
        print(f"warning: ${SECRET_ENV} not set: `indoevent serve` refuses \"Start training\" without it",
              file=sys.stderr)
    try:
        studio = connect(args.url, args.token)
        b = studio_tasks.connect_backend(studio, args.project, url, basic_auth=auth)
    except (StudioError, OSError, ValueError) as e:
        return fail(str(e))
    print(f"ML backend {b.id} at {args.backend_url} connected (interactive) to project {b.project}: state {b.state}"
          + (" (webhooks through the secret URL)" if secret else ""))
    return 0


def _run_ls_retrain(args) -> int:
    try:
        studio = connect(args.url, args.token)
        r = retrain(studio, args.project, args.config, args.out_dir, overrides=args.set, cv=args.cv,
                    overwrite=args.overwrite)
    except InvalidExport as e:
        print_problems(e.problems)
        return fail(str(e))
    except (StudioError, ConfigError, DataError, ModelLoadError, RunExistsError, OSError) as e:
        return fail(str(e))
    m = r.merged
    print(f"merged {len(m.tasks)} annotated articles from {', '.join(f'{k} ({v} tasks)' for k, v in m.per_source.items())} "
          f"into {r.export}; left out {m.unannotated} unannotated")
    for c in m.conflicts:
        print(f"warning: annotated differently in several projects (latest kept): {c}", file=sys.stderr)
    f1 = cv_f1(r.metrics) if args.cv else dev_f1(r.metrics)
    score = "" if f1 is None else f" ({'pooled cross-validated' if args.cv else 'dev'} span F1 {f1:.3f})"
    print(f"run: {r.run}{score}")
    print(f"to serve it: restart `indoevent serve --model {r.run}` (then `indoevent ls predict --model {r.run}`)")
    return 0


def add(sub) -> None:
    _add_ls(sub)
