"""``indoevent corpus``: the event corpus beyond the seeds (annotations/corpus/)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..annotation.corpus import CorpusError, corpus_lines, read_corpus
from ..annotation.datasheet import replace_tables, story_meta, tables
from ..annotation.lsexport import ExportError, load_tasks, read_export
from ..atomic import OutputExistsError, check_output, write_text
from ..jsonl import JsonlError, read_jsonl
from ..studio.connection import StudioError
from ..studio.retrain import preannotation_scores
from .common import add_overwrite, fail

INDEX = Path("annotations/corpus/index.json")
EXPORT = Path("annotations/corpus.json")
SPLITS = Path("annotations/corpus/splits.json")
LOOP = Path("annotations/corpus/loop.json")
DATASHEET = Path("annotations/DATASHEET.md")
SEED_STORY = "kim-putin-beijing-2025"

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
    add_overwrite(s, "a corpus JSONL (every line with id, url and text)")
    s.set_defaults(func=_run_jsonl)
    s = c.add_parser("tables", help="the datasheet's tables, computed from the gold, index, splits and loop",
                     description="Compute the datasheet's tables (composition per split, spans per label, triggers "
                                 "per type, arguments per role, stories, sites, topics, the pre-annotation curve) "
                                 "from the compiled gold, the indexes, the splits and the loop record. Prints them; "
                                 "--write puts them between the markers of the datasheet; --check exits 1 when the "
                                 "datasheet's tables are not what the data gives.")
    s.add_argument("--export", type=Path, default=EXPORT, help=f"compiled gold of seeds and corpus (default {EXPORT})")
    s.add_argument("--index", type=Path, default=INDEX, help=f"the corpus index (default {INDEX})")
    s.add_argument("--seed-index", type=Path, default=Path("seeds/index.json"), help="the seeds' index")
    s.add_argument("--splits", type=Path, default=SPLITS, help=f"the frozen splits (default {SPLITS}; optional)")
    s.add_argument("--loop", type=Path, default=LOOP, help=f"the loop record (default {LOOP}; optional)")
    s.add_argument("--datasheet", type=Path, default=DATASHEET, help=f"the datasheet (default {DATASHEET})")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help="write the tables into the datasheet")
    g.add_argument("--check", action="store_true", help="exit 1 if the datasheet's tables are out of date")
    s.set_defaults(func=_run_tables)
    s = c.add_parser("curve", help="score each loop batch's pre-annotations against the corrected annotations",
                     description="For each batch of the loop record (annotations/corpus/loop.json: the model "
                                 "version that pre-annotated it and its articles), the strict span scores of that "
                                 "version's predictions against the annotators' corrected annotations in EXPORT "
                                 "(an `indoevent ls pull` of the project). --write stores them in the record.")
    s.add_argument("export", type=Path, help="a pulled project export holding annotations and predictions")
    s.add_argument("--loop", type=Path, default=LOOP, help=f"the loop record (default {LOOP})")
    s.add_argument("--write", action="store_true", help="store the scores in the loop record")
    s.set_defaults(func=_run_curve)


def _is_corpus_jsonl(path: Path) -> bool:
    """Whether ``path`` is what `corpus jsonl` writes (the output rule: only that is replaced)."""
    try:
        return all(isinstance(r, dict) and {"id", "url", "text"} <= r.keys() for _, r in read_jsonl(path))
    except (JsonlError, OSError, ValueError):
        return False


def _run_jsonl(args) -> int:
    try:
        check_output(args.out, [args.index], args.overwrite, _is_corpus_jsonl, "a corpus JSONL")
        articles = read_corpus(args.index)
        write_text(args.out, "".join(line + "\n" for line in corpus_lines(articles)))
    except (CorpusError, OutputExistsError) as e:
        return fail(str(e))
    except OSError as e:
        return fail(f"{args.out}: cannot write: {e.strerror or e}")
    print(f"{len(articles)} articles -> {args.out}")
    return 0


def _optional_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _run_tables(args) -> int:
    try:
        result = read_export(args.export)
        if result.problems:
            return fail(f"{args.export}: {len(result.problems)} problem(s): run `indoevent validate {args.export}`")
        meta = story_meta(args.seed_index, args.index, SEED_STORY)
        missing = [d.doc_id for d in result.documents if d.doc_id not in meta]
        if missing:
            return fail(f"{args.export}: articles in no index: {', '.join(missing)}")
        text = tables(result.documents, meta, _optional_json(args.splits), _optional_json(args.loop))
    except (ExportError, OSError, ValueError) as e:
        return fail(str(e))
    if not (args.write or args.check):
        print(text)
        return 0
    try:
        current = args.datasheet.read_text(encoding="utf-8")
        updated = replace_tables(current, text)
    except (OSError, ValueError) as e:
        return fail(f"{args.datasheet}: {getattr(e, 'strerror', None) or e}")
    if args.check:
        if updated != current:
            return fail(f"{args.datasheet}: its tables are out of date: run `indoevent corpus tables --write`")
        print(f"{args.datasheet}: tables up to date")
        return 0
    write_text(args.datasheet, updated)
    print(f"wrote the tables into {args.datasheet}")
    return 0


def _run_curve(args) -> int:
    try:
        tasks = load_tasks(args.export)
        loop = json.loads(args.loop.read_text(encoding="utf-8"))
        for b in loop["batches"]:
            m = preannotation_scores(tasks, b["model_version"], b["articles"])
            b["scores"] = {"articles": m["articles"], "f1": m["all"]["micro"]["f1"],
                           "entities_f1": m["entities"]["micro"]["f1"], "triggers_f1": m["triggers"]["micro"]["f1"]}
            s = b["scores"]
            print(f"batch {b['batch']}: {b['model_version']} on {s['articles']} articles: entity F1 "
                  f"{s['entities_f1'] or 0:.3f}, trigger F1 {s['triggers_f1'] or 0:.3f}, all {s['f1'] or 0:.3f}")
    except (ExportError, StudioError, OSError, ValueError, KeyError) as e:
        return fail(f"{args.loop}: {e}")
    if args.write:
        write_text(args.loop, json.dumps(loop, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {args.loop}", file=sys.stderr)
    return 0
