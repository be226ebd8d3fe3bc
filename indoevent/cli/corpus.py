"""``indoevent corpus``: the event corpus beyond the seeds (annotations/corpus/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..annotation.corpus import CorpusError, corpus_lines, read_corpus
from ..atomic import OutputExistsError, write_text
from .common import fail

INDEX = Path("annotations/corpus/index.json")

EPILOG = """examples:
  indoevent corpus jsonl --out corpus.jsonl
  python ../shared/tools/not_heldout.py corpus.jsonl     # must say: no held-out article
  indoevent ls import corpus.jsonl --project corpus --model models/RUN
"""


def add(sub) -> None:
    p = sub.add_parser("corpus", help="the event corpus: its articles as JSONL, its datasheet tables",
                       description="Work with the event corpus in annotations/corpus/ (index.json, texts/, gold/, "
                                   "second/, splits.json; see the README).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c = p.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    s = c.add_parser("jsonl", help="write the corpus articles as JSONL (id, url, text, story, site)",
                     description="Check every article against its index entry (sha256) and write one JSON line per "
                                 "article with id, url, text, story and site: the input of the held-out check "
                                 "(../shared/tools/not_heldout.py) and of `indoevent ls import`.")
    s.add_argument("--index", type=Path, default=INDEX, help=f"the corpus index (default {INDEX})")
    s.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    s.add_argument("--overwrite", action="store_true", help="replace an earlier corpus JSONL at --out")
    s.set_defaults(func=_run_jsonl)


def _run_jsonl(args) -> int:
    if args.out.exists() and not args.overwrite:
        return fail(f"{args.out} exists: pass --overwrite to replace it")
    try:
        articles = read_corpus(args.index)
        write_text(args.out, "".join(line + "\n" for line in corpus_lines(articles)))
    except (CorpusError, OutputExistsError) as e:
        return fail(str(e))
    except OSError as e:
        return fail(f"{args.out}: cannot write: {e.strerror or e}")
    print(f"{len(articles)} articles -> {args.out}")
    return 0
