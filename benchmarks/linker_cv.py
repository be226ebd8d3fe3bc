"""Argument classification of the rules and the learned linker by cross-validation by story, per
role and per article, and a change of the linker judged against an earlier run of this script
with a paired bootstrap over articles (in all and per role: actor, recipient, place, time).

Gold triggers and entities of the corpus' train and dev articles (annotations/corpus.json), the 5
folds of whole stories in annotations/corpus/splits.json (the folds every change was tuned on), or
with ``--folds stories`` one fold per story (annotations/corpus/index.json; the seeds, which it does
not list, are their own story): a check on a partition that no choice was made on. Each fold's
learned linker is fitted on the other folds. The test split is never scored here (``indoevent linker
evaluate --test`` does that, once):

    .venv/bin/python benchmarks/linker_cv.py --name v2 --before benchmarks/results/linker/cv-per-article-v1.json
    .venv/bin/python benchmarks/linker_cv.py --folds stories --name v2 --before benchmarks/results/linker/loso-per-article-v1.json

Writes benchmarks/results/linker/cv-per-article-NAME.json (loso-per-article-NAME.json by story) (per article: ``[tp, gold, predicted]``
in all and per role, for both linkers) and, with --before, prints the table and writes it to
benchmarks/results/linker/cv-BEFORE-vs-NAME.txt. Scores only: no timing, so no machine check.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indoevent.annotation.lsexport import read_export  # noqa: E402
from indoevent.events.learned_linker import fit_linker  # noqa: E402
from indoevent.events.linker_eval import paired_bootstrap, score_relations  # noqa: E402
from indoevent.events.linking import link_rules  # noqa: E402
from indoevent.model.splits import Fold, load_splits  # noqa: E402
from indoevent.schema import ROLES  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "linker"
PARTS = ("all",) + ROLES


def story_folds(splits_path: Path, index_path: Path) -> list[Fold]:
    """Leave one story out over the train and dev articles (an article the index does not list,
    a seed, joins the story ``seeds``)."""
    splits = load_splits(splits_path)
    seen = set(splits.train + splits.dev)
    story = {row["id"]: row.get("story") or row["id"] for row in json.loads(index_path.read_text(encoding="utf-8"))}
    stories: dict[str, list[str]] = {}
    for doc_id in sorted(seen):
        stories.setdefault(story.get(doc_id, "seeds"), []).append(doc_id)
    return [Fold(k, tuple(sorted(seen - set(ids))), (), tuple(ids)) for k, (_, ids) in enumerate(sorted(stories.items()))]


def per_article_counts(export: Path, folds: list[Fold]) -> dict[str, dict[str, dict[str, list[int]]]]:
    """Article id -> linker (rules, learned) -> part (all or a role) -> ``[tp, gold, predicted]``."""
    docs = {d.doc_id: d for d in read_export(export).documents}
    out = {}
    for fold in folds:
        learned = fit_linker([docs[i] for i in fold.train + fold.dev])
        for doc_id in fold.test:
            d = docs[doc_id]
            out[doc_id] = {}
            for name, linker in (("rules", link_rules), ("learned", learned)):
                s = score_relations(d.relations, linker(d.text, d.entities, d.triggers))
                out[doc_id][name] = {"all": [s.classified, s.gold, s.predicted],
                                     **{r: [c["tp"], c["gold"], c["pred"]] for r, c in s.per_role.items()}}
    return out


def compare(before: dict, after: dict, what: str, resamples: int = 1000, seed: int = 0) -> str:
    """Before against after, per linker and part: F1, the difference and its 95% interval."""
    ids = sorted(after)
    if sorted(before) != ids:
        raise SystemExit(f"the two runs scored different articles ({len(before)} and {len(after)})")
    lines = [f"{what} over {len(ids)} train+dev articles, argument classification F1 on gold triggers and "
             f"entities; paired bootstrap over articles ({resamples} resamples, seed {seed})",
             f"{'':22}{'before':>8}{'after':>8}{'change':>9}   95% interval   after higher in"]
    for linker in ("learned", "rules"):
        for part in PARTS:
            r = paired_bootstrap([before[i][linker][part] for i in ids], [after[i][linker][part] for i in ids],
                                 resamples, seed)
            lines.append(f"{linker + ' ' + part:22}{r['f1_a']:8.3f}{r['f1_b']:8.3f}{r['difference']:+9.3f}   "
                         f"[{r['interval'][0]:+.3f}, {r['interval'][1]:+.3f}]{r['b_better']:>12.0%}")
    r = paired_bootstrap([after[i]["rules"]["all"] for i in ids], [after[i]["learned"]["all"] for i in ids],
                         resamples, seed)
    lines.append(f"after: learned {r['f1_b']:.3f} [{r['interval_b'][0]:.3f}, {r['interval_b'][1]:.3f}], rules "
                 f"{r['f1_a']:.3f} [{r['interval_a'][0]:.3f}, {r['interval_a'][1]:.3f}], learned - rules "
                 f"{r['difference']:+.3f} [{r['interval'][0]:+.3f}, {r['interval'][1]:+.3f}]")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="what this run's linker is called (e.g. v2)")
    p.add_argument("--before", type=Path, help="an earlier run's cv-per-article-*.json to compare with")
    p.add_argument("--export", type=Path, default=ROOT / "annotations" / "corpus.json")
    p.add_argument("--splits", type=Path, default=ROOT / "annotations" / "corpus" / "splits.json")
    p.add_argument("--index", type=Path, default=ROOT / "annotations" / "corpus" / "index.json")
    p.add_argument("--folds", choices=["splits", "stories"], default="splits",
                   help="the 5 folds of --splits (default), or leave one story out")
    args = p.parse_args()
    by_story = args.folds == "stories"
    folds = story_folds(args.splits, args.index) if by_story else load_splits(args.splits).folds()
    after = per_article_counts(args.export, folds)
    prefix = "loso" if by_story else "cv"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{prefix}-per-article-{args.name}.json").write_text(json.dumps(after, sort_keys=True, indent=1) + "\n")
    if args.before:
        what = f"leave one story out ({len(folds)} stories)" if by_story else "CV by story (the 5 folds of splits.json)"
        table = compare(json.loads(args.before.read_text()), after, what)
        print(table)
        before_name = args.before.stem.removeprefix(f"{prefix}-per-article-")
        (OUT / f"{prefix}-{before_name}-vs-{args.name}.txt").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
