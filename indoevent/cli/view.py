"""``indoevent view``: one self-contained HTML file of articles, frames and merged events."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from ..atomic import OutputExistsError
from ..view import ViewError, build_view
from .common import add_overwrite, cannot_write, fail, given_twice

EPILOG = """examples:
  indoevent extract seeds/ --model models/tiny --out results/seeds.jsonl --with-text
  indoevent merge results/seeds.jsonl --index seeds/index.json --out results/merged
  indoevent view results/seeds.jsonl --merged results/merged --out results/view.html

  # results written without --with-text: give extract's inputs again
  indoevent view results/seeds.jsonl --texts seeds/ --merged results/merged --out results/view.html
"""


def _add_view(sub) -> None:
    p = sub.add_parser(
        "view", help="one HTML file to read the events: articles, frames, merged events, timeline, actors",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description=textwrap.fill(
            "Write one self-contained HTML file (no network: it opens from disk) of an `indoevent extract` "
            "results file: each article's text with its entity and trigger spans highlighted in the Label Studio "
            "colours and a table of its frames (hover a row to see its words); with --merged, the events of "
            "`indoevent merge` in a table sortable and filterable by type, actor, country and date (the filter "
            "sits in the address, e.g. view.html#type=CONSULT), each event with its mentions and their "
            "sentences, a timeline of events per day by type and a network of who acts on whom. Texts come "
            "from the results (extract --with-text) or from --texts; a result without its text is an error "
            "naming its line.", 100))
    p.add_argument("results", metavar="RESULTS", type=Path, help="JSONL of `indoevent extract` (or `indoevent frames`)")
    p.add_argument("--texts", nargs="+", type=Path, default=[], metavar="INPUT",
                   help="the articles given to `indoevent extract` (.txt files, folders, JSONL with id and text), "
                        "for results written without --with-text")
    p.add_argument("--merged", type=Path, default=None, metavar="DIR",
                   help="the folder `indoevent merge --out` wrote (events.jsonl, mentions.jsonl)")
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write (atomically)")
    p.add_argument("--title", default=None, help="the page's title (default: the results file's name)")
    add_overwrite(p, "a view of `indoevent view`")
    p.set_defaults(func=_run_view)


def _run_view(args) -> int:
    if args.out.is_dir():  # an empty folder passes the output rule (folders' outputs), but a page is a file
        return fail(f"--out {args.out} is a folder: give the HTML file to write, e.g. {args.out / 'view.html'}")
    twice = given_twice(args.texts, "--texts")
    if twice:
        return fail(twice)
    if args.merged is not None and not (args.merged / "events.jsonl").is_file():
        return fail(f"--merged {args.merged}: no events.jsonl there; give the folder `indoevent merge --out` wrote")
    try:
        report = build_view(args.results, args.out, args.texts, args.merged, args.overwrite, args.title)
    except (ViewError, OutputExistsError) as e:
        return fail(str(e))
    except OSError as e:
        return cannot_write(args.out, e)
    c = report.counts
    print(f"wrote {report.path}: {report.bytes / 1e6:.2f} MB; {c['articles']} article(s), {c['frames']} frame(s), "
          f"{c['events']} merged event(s) from {c['mentions']} mention(s)")
    return 0


def add(sub) -> None:
    _add_view(sub)
