"""The ``indoevent`` command: a thin layer over the package's functions.

One module per command group; each command parses its arguments and calls one function.
Heavy libraries (torch, transformers) are imported only by the functions that need them.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import annotate, compare, corpus, evaluate, events, extract, learn, serve, studio, train, view
from .common import fail

EPILOG = """examples:
  indoevent validate annotations/seeds.json
  indoevent convert annotations/seeds.json --out data/seeds --strict
  indoevent train --config training/configs/tiny.yaml
  indoevent extract seeds/ --model models/tiny --out results.jsonl
"""

GROUPS = [annotate, corpus, extract, train, learn, evaluate, compare, studio, events, view, serve]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="indoevent",
        description="Actors and events (PLOVER) from Indonesian news: validate and convert Label Studio "
                    "annotations, fine-tune IndoBERT, extract spans and event frames.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"indoevent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:  # train, pretrain, distill: their .partial folder keeps what --resume needs
        return fail("interrupted" + ("; the same command with --resume continues it" if hasattr(args, "resume")
                                     else ""), 130)


if __name__ == "__main__":
    sys.exit(main())
