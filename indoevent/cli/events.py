"""Commands for events across articles: frames from gold (frames), and one record per event (merge)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from ..annotation.event_clusters import GoldEvent, load_clusters
from ..annotation.lsexport import ExportError, read_export
from ..atomic import OutputExistsError, check_output, folder_of, not_writable, replacing
from ..evaluation.merge_score import MergeScore, score_merge, score_table
from ..events.actors import AliasTable
from ..events.mentions import FramesError, gold_records, is_gold_frames, read_frames, read_indexes
from ..events.merge import merge
from ..events.merge_files import MERGE_FILES, write_merge
from .common import add_overwrite, cannot_write, fail, given_twice

GOLD_SCORES = "gold_scores.json"


# --- frames -------------------------------------------------------------------------------------
def _add_frames(sub) -> None:
    p = sub.add_parser(
        "frames", help="event frames from annotated relations (gold), in the format `indoevent extract` writes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Build one frames record per annotated article of a Label Studio JSON export (triggers with their "
            "actor, recipient, place and time relations), in the same JSONL record format that `indoevent "
            "extract` writes, so that `indoevent merge` can be checked on gold data apart from any model. With "
            "--index each record also gets the article's date.", 100),
        epilog="example:\n  indoevent frames annotations/seeds.json --index seeds/index.json --out gold_frames.jsonl")
    p.add_argument("export", metavar="EXPORT", help="Label Studio JSON export (e.g. annotations/seeds.json)")
    p.add_argument("--out", type=Path, required=True, help="frames, JSONL (written atomically)")
    p.add_argument("--index", type=Path, nargs="+", default=None,
                   help="article dates: seeds-style index.json files (id, published, date_text), e.g. "
                        "seeds/index.json annotations/corpus/index.json")
    p.add_argument("--choose", default="latest",
                   help="which annotation of a task to use: latest (default), first, or annotator=ID")
    add_overwrite(p, "a frames file of `indoevent frames`")
    p.set_defaults(func=_run_frames)


def _run_frames(args) -> int:
    try:
        check_output(args.out, [args.export, *(args.index or [])], args.overwrite, is_gold_frames,
                     "a frames file of `indoevent frames`")
        result = read_export(args.export, choose=args.choose)
        dates = read_indexes(args.index) if args.index else None
    except (ExportError, ValueError, OutputExistsError) as e:
        return fail(e.problems[0] if isinstance(e, FramesError) else str(e))
    for prob in result.problems:
        print(f"indoevent: warning: {prob}", file=sys.stderr)
    if not result.documents:
        return fail(f"{args.export}: no annotated article; nothing written")
    records = gold_records(result.documents, dates, source=str(args.export))
    try:
        with replacing(args.out, "w", encoding="utf-8", newline="\n") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    except OSError as e:
        return cannot_write(args.out, e)
    undated = [r["id"] for r in records if "date" not in r]
    print(f"wrote {args.out}: {len(records)} article(s), {sum(len(r['events']) for r in records)} frame(s)"
          + (f"; {len(undated)} without a date (give --index)" if undated else ""))
    return 0


# --- merge --------------------------------------------------------------------------------------
def _add_merge(sub) -> None:
    p = sub.add_parser(
        "merge", help="one record per event across articles: events.jsonl, mentions.jsonl and CSV",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="\n\n".join(textwrap.fill(x, 100) for x in (
            "Normalise the frames of many articles (actors to PLOVER-style country and sector codes, DATE spans "
            "to ISO dates against each article's date) and cluster the frames that describe the same event: same "
            "PLOVER type, fitting actors, dates within --window days, compatible place. Writes events.jsonl (one "
            "line per event: id, type, actors, recipients, place, date, mentions, sources), mentions.jsonl (one "
            "line per frame: its event, article, trigger, the frame and why it was merged) and the same as "
            "events.csv and mentions.csv. Deterministic.",
            "Each article needs a date: a 'date' field in its record (ISO, e.g. 2025-09-03) or --index. A bad "
            "record or a missing date is reported as path:line, and nothing is written.")),
        epilog="examples:\n"
               "  indoevent frames annotations/seeds.json --index seeds/index.json --out gold_frames.jsonl\n"
               "  indoevent merge gold_frames.jsonl --out merged/\n"
               "  indoevent extract seeds/ --model models/tiny --out results.jsonl\n"
               "  indoevent merge results.jsonl --index seeds/index.json --out merged-model/\n"
               "  indoevent merge gold_frames.jsonl --out merged/ --gold annotations/corpus/events")
    p.add_argument("frames", nargs="+", metavar="FRAMES", type=Path,
                   help="JSONL from `indoevent extract` or `indoevent frames`")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--index", type=Path, nargs="+", default=None,
                   help="dates of articles whose records have none: seeds-style index.json files")
    p.add_argument("--window", type=int, default=1,
                   help="days two dated mentions may lie apart and still be one event (default 1; 0: same day)")
    p.add_argument("--lookback", type=int, default=1,
                   help="a mention without a date joins an event up to this many days before its article's "
                        "date (default 1: news reports yesterday's events)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--aliases", type=Path, default=None,
                   help="more aliases (YAML, the sections of indoevent/events/data/actors.yaml), added to the package's")
    p.add_argument("--gold", type=Path, nargs="+", default=None, metavar="CLUSTERS",
                   help="score the merge against gold event clusters (story YAML files or folders of them, e.g. "
                        "annotations/corpus/events): MUC, B3, CEAF-e, CoNLL F1 and pairwise links, printed and "
                        "written to OUT/gold_scores.json with every wrongly joined and wrongly split mention")
    p.add_argument("--gold-export", type=Path, default=Path("annotations/corpus.json"),
                   help="the gold articles the clusters name (default annotations/corpus.json)")
    add_overwrite(p, "a folder of `indoevent merge` (events.jsonl, mentions.jsonl, CSV)")
    p.set_defaults(func=_run_merge)


def _read_gold(args) -> list[GoldEvent]:
    result = read_export(args.gold_export)
    if result.problems:
        raise ValueError(f"{args.gold_export}: {result.problems[0]}")
    return load_clusters(args.gold, result.documents)


def _stories_in(gold: list[GoldEvent], articles: list) -> list[GoldEvent]:
    """The gold events of the stories FRAMES has articles of. A folder of story files names every
    story, and a story none of whose articles was merged would count all its mentions as missed
    (the seeds' frames scored 0.31 against the whole folder, 0.76 against their own story)."""
    have = {a.id for a in articles}
    stories = {e.story for e in gold for m in e.mentions if m.article in have}
    if not stories:
        raise ValueError("--gold: no article of the clusters' stories is in FRAMES; give the clusters of "
                         "the stories these frames are of")
    left = sorted({e.story for e in gold} - stories)
    missing = sorted({m.article for e in gold if e.story in stories for m in e.mentions} - have)
    if left:
        print(f"--gold: {len(left)} story(ies) without an article in FRAMES left out: {', '.join(left)}",
              file=sys.stderr)
    if missing:
        print(f"indoevent: warning: {len(missing)} article(s) of the scored stories are not in FRAMES "
              f"(e.g. {missing[0]}): their gold mentions count as missed", file=sys.stderr)
    return [e for e in gold if e.story in stories]


def _report_gold(score: MergeScore, out: Path, shown: int = 10) -> None:
    print(f"\nagainst the gold clusters: {score.gold_events} event(s), {score.gold_mentions} gold mention(s); "
          f"{score.response_mentions} merged mention(s) in their articles, {score.matched} on a gold trigger span")
    print(score_table(score))
    for title, errors in (("wrongly joined", score.wrongly_joined), ("wrongly split", score.wrongly_split)):
        print(f"\n{len(errors)} {title}" + (f" (first {shown}; all in {out / GOLD_SCORES})" if len(errors) > shown else ""))
        for e in errors[:shown]:
            print(f"  {e['mention']}: gold {e['gold_event']}, event {e['event']}; {e['reason']}")


def _run_merge(args) -> int:
    if args.window < 0 or args.lookback < 0:
        return fail("--window and --lookback must be 0 or more days")
    twice = given_twice(args.frames, "FRAMES")
    if twice:
        return fail(twice)
    if args.out.exists() and not args.out.is_dir():
        return fail(f"{args.out} is a file: --out names a folder (events.jsonl, mentions.jsonl, CSV go there)")
    try:
        check_output(args.out, [*args.frames, *(args.index or [])], args.overwrite,
                     folder_of((*MERGE_FILES, GOLD_SCORES)), "a folder of `indoevent merge`")
    except OutputExistsError as e:
        return fail(str(e))
    unwritable = not_writable(args.out)  # found now, not after the merge (minutes on a large corpus)
    if unwritable:
        return fail(f"--out {args.out}: {unwritable}; nothing written")
    try:
        dates = read_indexes(args.index) if args.index else None
        articles = read_frames(args.frames, dates)
        table = AliasTable.load(args.aliases)
        gold = _read_gold(args) if args.gold else None
    except FramesError as e:
        for prob in e.problems:
            print(f"indoevent: error: {prob}", file=sys.stderr)
        return fail(f"{len(e.problems)} problem(s); nothing written")
    except (OSError, ValueError, ExportError) as e:
        return fail(str(e))
    if not articles:
        return fail(f"{', '.join(map(str, args.frames))}: no frames record; nothing written")
    try:
        gold = _stories_in(gold, articles) if gold is not None else None
    except ValueError as e:
        return fail(f"{e}; nothing written")
    print(f"read {len(articles)} article(s), {sum(len(a.frames) for a in articles)} frame(s)", file=sys.stderr)
    result = merge(articles, table, window=args.window, lookback=args.lookback, progress=not args.no_progress)
    try:
        paths = write_merge(result, args.out)
    except OSError as e:
        return fail(f"cannot write {args.out}: {e.strerror or e}")
    multi = sum(e["sources"] > 1 for e in result.events)
    print(f"{len(result.events)} event(s), {multi} reported by more than one article; "
          f"{len(result.mentions)} mention(s), {result.unmerged} not merged; wrote {', '.join(map(str, paths))}")
    if gold is not None:
        score = score_merge(result.mentions, gold)
        try:
            with replacing(args.out / GOLD_SCORES, "w", encoding="utf-8", newline="\n") as f:
                json.dump(score.to_dict(), f, ensure_ascii=False, indent=1)
        except OSError as e:
            return cannot_write(args.out / GOLD_SCORES, e)
        _report_gold(score, args.out)
    return 0


def add(sub) -> None:
    _add_frames(sub)
    _add_merge(sub)
