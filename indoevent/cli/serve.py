"""``indoevent serve``: the Label Studio ML backend of a run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..studio.backend import Backend, environment_problem, serve
from .common import cannot_load, fail

PASSWORD_ENV = "INDOEVENT_BACKEND_PASSWORD"

EPILOG = """examples:
  LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=... indoevent serve --model models/tiny
  indoevent ls connect --project berita --url http://127.0.0.1:9090

The Label Studio address and token (for retraining on "Start training") come from
$LABEL_STUDIO_URL and $LABEL_STUDIO_API_KEY only. With --basic-auth-user, the password comes
from $INDOEVENT_BACKEND_PASSWORD; /webhook takes no credentials (Label Studio sends none).
"""


def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="Label Studio ML backend: pre-annotations and retraining",
                       description="Serve a run as a Label Studio ML backend: /health, /setup (refuses a labeling "
                                   "config that is not schema v1's), /predict (one prediction per task: regions "
                                   "with scores, argument relations, an uncertainty task score) and /webhook "
                                   "(START_TRAINING retrains from a fresh export of the project in the background "
                                   "and swaps the served model only if it scores better on the new dev articles).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True, help="run directory to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=9090, help="port (default 9090)")
    p.add_argument("--device", default="cpu", help="cpu, cuda ... (default cpu)")
    p.add_argument("--config", type=Path, default=None,
                   help="training config for retraining (default: the run's own training_config.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="retraining config override, e.g. --set train.epochs=3 (repeatable)")
    p.add_argument("--work-dir", type=Path, default=None, help="where retrained runs go (default RUN-retrain/)")
    p.add_argument("--basic-auth-user", default=None, help=f"ask for basic auth (password from ${PASSWORD_ENV})")
    p.set_defaults(func=_run_serve)


def _run_serve(args) -> int:
    auth = None
    if args.basic_auth_user:
        password = os.environ.get(PASSWORD_ENV)
        if not password:
            return fail(f"--basic-auth-user needs the password in ${PASSWORD_ENV}")
        auth = (args.basic_auth_user, password)
    try:
        backend = Backend(args.model, config=args.config, work_dir=args.work_dir, overrides=tuple(args.set),
                          device=args.device)
    except (OSError, ValueError) as e:  # a ModelLoadError is a ValueError
        return cannot_load(args.model, e)
    warn = environment_problem()
    if warn:
        print(f"warning: {warn}", file=sys.stderr)
    print(f"indoevent ML backend: {backend.model_version} on http://{args.host}:{args.port}", flush=True)
    serve(backend, args.host, args.port, auth)
    return 0


def add(sub) -> None:
    _add_serve(sub)
