"""How well ``indoevent merge`` finds the same event across articles: the merge of a split's
multi-article stories scored against their gold event clusters (annotations/corpus/events), with
the package's scorer (MUC, B³, CEAF-e, CoNLL F1, pairwise links), in all and per story.

The frames come from the gold relations (``indoevent frames``'s records), or from a model's
``indoevent extract`` output (``--results``; a predicted mention matches a gold one on the exact
trigger span). All the split's stories are merged together, as a user would merge a day's news, and
each story is scored on its own articles. Tune on the train and dev stories (the default); score
the test stories once, for the final table:

    .venv/bin/python benchmarks/merge_coref.py                          # train+dev, gold frames
    .venv/bin/python benchmarks/merge_coref.py --split test             # once, at the end
    .venv/bin/python benchmarks/merge_coref.py --split test --results extracted.jsonl
    .venv/bin/python benchmarks/merge_coref.py --story-blind            # as an unseen story: no names

Prints a Markdown table and writes it, with every wrongly joined and wrongly split mention and the
merge's reason, to benchmarks/results/merge-coref-SPLIT-SOURCE.{md,json}. Scores only: no timing,
so no machine check.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import results_json  # noqa: E402

from indoevent.annotation.event_clusters import GoldEvent, load_story  # noqa: E402
from indoevent.annotation.lsexport import read_export  # noqa: E402
from indoevent.evaluation.merge_score import MergeScore, score_merge  # noqa: E402
from indoevent.events.actors import AliasTable  # noqa: E402
from indoevent.events.mentions import gold_records, read_frames, read_indexes  # noqa: E402
from indoevent.events.merge import merge  # noqa: E402

SPLITS = {"tuning": ("train", "dev"), "train": ("train",), "dev": ("dev",), "test": ("test",)}
INDEXES = [ROOT / "seeds/index.json", ROOT / "annotations/corpus/index.json"]
BLIND_SECTIONS = ("sectors", "countries", "capitals")  # --story-blind keeps only these


def split_stories(split: str) -> list[str]:
    """The multi-article stories (those with a cluster file) of ``split``, in name order."""
    names = json.loads((ROOT / "annotations/corpus/splits.json").read_text(encoding="utf-8"))["stories"]
    chosen = {s for part in SPLITS[split] for s in names[part]}
    return sorted(p.stem for p in (ROOT / "annotations/corpus/events").glob("*.yaml") if p.stem in chosen)


def frames_path(results: Path | None, docs, dates: dict[str, str], tmp: Path) -> Path:
    """The frames to merge: the records of ``results`` for the stories' articles (``docs``; extract
    output of the whole corpus holds articles without a date, which merge refuses), else the gold
    relations, written to ``tmp``."""
    if results is not None:
        wanted, path = {d.doc_id for d in docs}, tmp / "extracted_frames.jsonl"
        with results.open(encoding="utf-8") as f, path.open("w", encoding="utf-8") as out:
            out.writelines(line for line in f if line.strip() and json.loads(line).get("id") in wanted)
        return path
    path = tmp / "gold_frames.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for rec in gold_records(docs, dates):
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def blind_table() -> AliasTable:
    """The alias table as an unseen story meets it: countries and seats of government (generic
    knowledge) but none of the persons, organisations and places written while reading the tuning
    stories."""
    data = yaml.safe_load((ROOT / "indoevent/events/data/actors.yaml").read_text(encoding="utf-8"))
    return AliasTable({k: v for k, v in data.items() if k in BLIND_SECTIONS})


def run(split: str, results: Path | None, table: AliasTable | None = None,
        **merge_kw: int) -> tuple[MergeScore, dict[str, MergeScore]]:
    """Merge the split's stories' articles together; the score in all and per story."""
    export = read_export(ROOT / "annotations/corpus.json")
    by_id = {d.doc_id: d for d in export.documents}
    gold = {s: load_story(ROOT / "annotations/corpus/events" / f"{s}.yaml", by_id) for s in split_stories(split)}
    wanted = {m.article for evs in gold.values() for ev in evs for m in ev.mentions}
    dates = read_indexes(INDEXES)
    with tempfile.TemporaryDirectory() as tmp:
        articles = read_frames([frames_path(results, [by_id[a] for a in sorted(wanted)], dates, Path(tmp))], dates)
    articles = [a for a in articles if a.id in wanted]
    missing = wanted - {a.id for a in articles}
    if missing:
        raise SystemExit(f"{results}: no record for {len(missing)} article(s) of the stories, e.g. {min(missing)}")
    result = merge(articles, table or AliasTable.load(), **merge_kw)
    everything: list[GoldEvent] = [ev for evs in gold.values() for ev in evs]
    return score_merge(result.mentions, everything), {s: score_merge(result.mentions, evs) for s, evs in gold.items()}


def row(name: str, s: MergeScore) -> str:
    v = s.scores
    return (f"| {name} | {s.gold_mentions} | {s.gold_events} | {v['muc']['f1']:.3f} | {v['bcub']['f1']:.3f} | "
            f"{v['ceafe']['f1']:.3f} | **{v['conll']['f1']:.3f}** | {v['pairwise']['precision']:.3f} | "
            f"{v['pairwise']['recall']:.3f} | {len(s.wrongly_joined)} | {len(s.wrongly_split)} |")


def table(total: MergeScore, per_story: dict[str, MergeScore], label: str) -> str:
    head = ["| stories | gold mentions | gold events | MUC F1 | B³ F1 | CEAF-e F1 | CoNLL F1 | pairwise P | "
            "pairwise R | wrongly joined | wrongly split |", "|---" * 11 + "|"]
    return "\n".join(head + [row(f"**{label}**", total)] + [row(s, sc) for s, sc in per_story.items()])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", choices=sorted(SPLITS), default="tuning",
                   help="whose stories: tuning = train and dev (default), test = score once at the end")
    p.add_argument("--results", type=Path, default=None,
                   help="a model's `indoevent extract` output (JSONL) instead of the gold frames")
    p.add_argument("--window", type=int, default=None, help="merge's --window (default: merge's own)")
    p.add_argument("--lookback", type=int, default=None, help="merge's --lookback (default: merge's own)")
    p.add_argument("--story-blind", action="store_true",
                   help="alias table of countries and seats of government only, as an unseen story meets it "
                        "(results file *-blind)")
    p.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks/results")
    args = p.parse_args(argv)
    kw = {k: v for k, v in (("window", args.window), ("lookback", args.lookback)) if v is not None}
    source = (f"extract of {args.results}" if args.results else "gold frames") + \
        (", story-blind alias table" if args.story_blind else "")
    total, per_story = run(args.split, args.results, blind_table() if args.story_blind else None, **kw)
    label = f"{args.split} ({'+'.join(SPLITS[args.split])}), {source}"
    md = table(total, per_story, f"all {len(per_story)}")
    print(f"{label}: {total.matched} of {total.response_mentions} merged mention(s) on a gold trigger span\n{md}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"merge-coref-{args.split}-{'extract' if args.results else 'gold'}{'-blind' if args.story_blind else ''}"
    (args.out_dir / f"{stem}.md").write_text(f"{label}\n\n{md}\n", encoding="utf-8")
    raw = {"split": args.split, "source": source, "total": total.to_dict(),
           "stories": {s: sc.to_dict() for s, sc in per_story.items()}}
    (args.out_dir / f"{stem}.json").write_text(results_json(raw), encoding="utf-8")
    print(f"wrote {args.out_dir / stem}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
