"""``indoevent serve``: the Label Studio ML backend of a run."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ..studio.backend import SECRET_ENV, STATE_FILE, Backend, environment_problem
from ..studio.webapp import listen, serve
from .common import cannot_load, fail

PASSWORD_ENV = "INDOEVENT_BACKEND_PASSWORD"

EPILOG = """examples:
  export INDOEVENT_WEBHOOK_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(16))')
  LABEL_STUDIO_URL=http://127.0.0.1:8080 LABEL_STUDIO_API_KEY=... indoevent serve --model models/tiny
  indoevent ls connect --project berita --url http://127.0.0.1:9090
  open http://127.0.0.1:9090/ui           # paste an article, see its spans, frames and events

The Label Studio address and token (for retraining on "Start training") come from
$LABEL_STUDIO_URL and $LABEL_STUDIO_API_KEY only. Webhooks ("Start training") are accepted only
with the secret in $INDOEVENT_WEBHOOK_SECRET, which `ls connect` puts in the backend's URL, and
only for the project Label Studio set the backend up for. With --basic-auth-user, the password
comes from $INDOEVENT_BACKEND_PASSWORD (Label Studio's webhooks send none: the secret guards them).
Every /predict call and every retrain (start, progress, F1s, swap) is logged on stderr.
"""


def _port(value: str) -> int:
    """argparse type of --port: a bad one is a usage error, not socket's OverflowError."""
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: give a port from 0 to 65535")
    return int(value)


def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="Label Studio ML backend: pre-annotations and retraining",
                       description="Serve a run as a Label Studio ML backend: /health, /setup (refuses a labeling "
                                   "config that is not schema v1's), /predict (one prediction per task: regions "
                                   "with scores, argument relations, an uncertainty task score) and /webhook "
                                   "(START_TRAINING retrains from a fresh export of the project in the background "
                                   "and swaps the served model only if it scores better on the new dev articles). /ui is a page for "
                                   "demos and spot checks: paste an article, see the view `indoevent view` writes.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True, help="run directory to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=9090, help="port (default 9090; 0: any free one)")
    p.add_argument("--device", default="cpu", help="cpu, cuda ... (default cpu)")
    p.add_argument("--config", type=Path, default=None,
                   help="training config for retraining (default: the run's own training_config.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="retraining config override, e.g. --set train.epochs=3 (repeatable)")
    p.add_argument("--work-dir", type=Path, default=None, help="where retrained runs go (default RUN-retrain/)")
    p.add_argument("--basic-auth-user", default=None, help=f"ask for basic auth (password from ${PASSWORD_ENV})")
    p.add_argument("--relations", choices=("all", "none"), default="all",
                   help="argument relations in predictions (default all; none: a long article gets 50-190 "
                        "arrows over its words)")
    p.set_defaults(func=_run_serve)


def _run_serve(args) -> int:
    auth = None
    if args.basic_auth_user:
        password = os.environ.get(PASSWORD_ENV)
        if not password:
            return fail(f"--basic-auth-user needs the password in ${PASSWORD_ENV}")
        auth = (args.basic_auth_user, password)
    try:
        sock = listen(args.host, args.port)
    except OSError as e:
        return fail(f"cannot listen on {args.host}:{args.port}: {e.strerror or e} (another `indoevent serve`? "
                    "pick another --port)")
    try:
        backend = Backend(args.model, config=args.config, work_dir=args.work_dir, overrides=tuple(args.set),
                          device=args.device, secret=os.environ.get(SECRET_ENV), relations=args.relations == "all")
    except (OSError, ValueError) as e:  # a ModelLoadError is a ValueError
        sock.close()
        return cannot_load(args.model, e)
    _log_to_stderr()
    for warn in filter(None, (environment_problem(), None if backend.secret else
                              f"${SECRET_ENV} not set: webhooks (\"Start training\") are refused")):
        print(f"warning: {warn}", file=sys.stderr)
    if backend.swapped_from:
        print(f"serving {backend.run}, the run a retrain swapped in for {backend.swapped_from} "
              f"(recorded in {backend.work_dir / STATE_FILE})", flush=True)
    port = sock.getsockname()[1]  # the one the system chose for --port 0
    print(f"indoevent ML backend: {backend.model_version} listening on http://{args.host}:{port}", flush=True)
    serve(backend, sock, auth)
    return 0


def _log_to_stderr() -> None:
    """The backend's log (predict calls, retrains) on stderr at INFO: the serve default."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("indoevent.serve")
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def add(sub) -> None:
    _add_serve(sub)
