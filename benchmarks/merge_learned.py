"""Would a learned pairwise scorer merge unseen stories better than ``indoevent merge``'s rules?
Scored leave-one-story-out on the tuning stories (train and dev, gold frames): for each story, a
logistic regression is fitted on the pairs of the other seven and the merge of all eight is kept for
that story only; the held-out stories' clusters together are scored against the gold clusters.

Two ways of using it, each over thresholds:

- ``mentions``: mention pairs of one PLOVER type (same root, same words, same article, actor and
  recipient overlap or conflict, date distance, place, bare or not); mentions join events greedily in
  the rules' order (dated, undated, bare), each the event of the highest mean pair probability;
- ``events``: pairs of the rules' events (founders' roots, any shared root, participants, dates and
  their source, place, shared articles, sizes); the rules' events join greedily in founding order.

Nothing here is shipped: the README ("Merge rules") records that neither wins over the rules. Never
run on the test stories (``--split`` has no test). Prints a Markdown table and writes it to
benchmarks/results/merge-learned-tuning.{md,json}; scores only, no timing.

    .venv/bin/python benchmarks/merge_learned.py            # about 20 s on 2 busy cores
    .venv/bin/python benchmarks/merge_learned.py --story-blind
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import results_json  # noqa: E402
from merge_coref import INDEXES, blind_table, frames_path, split_stories  # noqa: E402

from indoevent.annotation.event_clusters import load_story  # noqa: E402
from indoevent.annotation.lsexport import read_export  # noqa: E402
from indoevent.evaluation.coref import coref_scores  # noqa: E402
from indoevent.events.actors import AliasTable  # noqa: E402
from indoevent.events.dates import DateRange  # noqa: E402
from indoevent.events.mentions import Mention, chain_unknown_names, mentions_of, read_frames, read_indexes  # noqa: E402
from indoevent.events.merge import SYMMETRIC, Event, merge_mentions  # noqa: E402
from indoevent.events.roots import trigger_roots  # noqa: E402

REACH = 7  # days: pairs further apart are never candidates
Key = tuple[str, int, int]


def days(a: DateRange, b: DateRange) -> int:
    """Days between two ranges, 0 when they overlap."""
    return max((b.start - a.end).days, (a.start - b.end).days, 0)


def bucket(n: int) -> str:
    return str(n) if n < 2 else "2-3" if n <= 3 else "4-7" if n <= 7 else "8+"


def rel(a: frozenset, b: frozenset) -> str:
    if not a or not b:
        return "none" if not a and not b else "one"
    return "same" if a == b else "overlap" if a & b else "conflict"


def _args(f: list[str], sym: bool, a: tuple[frozenset, frozenset], b: tuple[frozenset, frozenset]) -> None:
    if sym:
        r = rel(a[0] | a[1], b[0] | b[1])
        if r == "overlap" and ((a[0] | a[1]) <= (b[0] | b[1]) or (b[0] | b[1]) <= (a[0] | a[1])):
            r = "subset"
        f.append("sym:" + r)
    else:
        ra, rr = rel(a[0], b[0]), rel(a[1], b[1])
        f += ["act:" + ra, "rec:" + rr, f"ar:{ra}/{rr}"]


def _keys(m: Mention) -> tuple[frozenset, frozenset]:
    return frozenset(x.key for x in m.actors), frozenset(x.key for x in m.recipients)


def mention_features(m: Mention, x: Mention) -> list[str]:
    same_root = bool(trigger_roots(m.trigger.text) & trigger_roots(x.trigger.text))
    art = "same" if m.article is x.article else "cross"
    f = ["bias", f"root:{same_root}", f"art:{art}", f"root:{same_root}/art:{art}"]
    if m.trigger.text.lower() == x.trigger.text.lower():
        f.append("text:same")
    _args(f, m.type in SYMMETRIC, _keys(m), _keys(x))
    own = "both" if m.own_date and x.own_date else "one" if m.own_date or x.own_date else "none"
    f.append(f"date:{own}:{bucket(days(m.date, x.date))}")
    pm, px = m.place_countries, x.place_countries
    f.append("place:" + ("unk" if not pm or not px else "same" if pm & px else "conflict"))
    f.append(f"bare:{(not m.participants) + (not x.participants)}")
    return f


def event_features(e1: Event, e2: Event) -> list[str]:
    roots = [frozenset().union(*(trigger_roots(m.trigger.text) for m, _ in e.members)) for e in (e1, e2)]
    founders = bool(trigger_roots(e1.founder.trigger.text) & trigger_roots(e2.founder.trigger.text))
    f = ["bias", f"froot:{founders}", f"anyroot:{bool(roots[0] & roots[1])}"]
    _args(f, e1.type in SYMMETRIC, (e1.actor_keys, e1.recipient_keys), (e2.actor_keys, e2.recipient_keys))
    f += [f"date:{bucket(days(e1.date, e2.date))}", f"src:{e1.date_source}/{e2.date_source}"]
    p1, p2 = e1.place_countries, e2.place_countries
    f.append("place:" + ("unk" if not p1 or not p2 else "same" if p1 & p2 else "conflict"))
    f.append("arts:" + ("shared" if set(e1.articles) & set(e2.articles) else "disjoint"))
    sizes = sorted("1" if len(e.members) == 1 else "2-3" if len(e.members) <= 3 else "4+" for e in (e1, e2))
    return f + ["size:" + "/".join(sizes)]


def fit(rows: Sequence[list[str]], labels: Sequence[bool], l2: float = 1.0, steps: int = 400) -> dict[str, float]:
    """Logistic regression on binary features (full-batch descent with momentum, as the learned linker)."""
    vocab: dict[str, int] = {}
    idx = [[vocab.setdefault(f, len(vocab)) for f in r] for r in rows]
    flat = np.concatenate([np.asarray(r) for r in idx])
    row_of = np.repeat(np.arange(len(idx)), [len(r) for r in idx])
    y, n = np.asarray(labels, dtype=float), max(len(idx), 1)
    w, velocity = np.zeros(len(vocab)), np.zeros(len(vocab))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.bincount(row_of, weights=w[flat], minlength=len(idx))))
        grad = np.bincount(flat, weights=(p - y)[row_of], minlength=len(vocab))
        velocity = 0.9 * velocity - 0.5 * (grad / n + l2 * w / n)
        w += velocity
    return {f: float(w[i]) for f, i in vocab.items()}


def prob(w: dict[str, float], feats: Iterable[str]) -> float:
    return 1 / (1 + math.exp(-sum(w.get(f, 0.0) for f in feats)))


def rules_order(ms: Sequence[Mention]) -> list[Mention]:
    """The order the rules merge in (merge.merge_mentions): dated, undated, bare."""
    popular = Counter((m.type, m.participants) for m in ms if m.participants)

    def rank(m: Mention) -> tuple:
        return (m.type, -popular[(m.type, m.participants)], -len(m.participants), m.date.days, m.date.start, m.order)
    return (sorted((m for m in ms if m.participants and m.own_date), key=rank)
            + sorted((m for m in ms if m.participants and not m.own_date), key=rank)
            + sorted((m for m in ms if not m.participants), key=lambda m: (m.own_date is None, m.order)))


def cluster_mentions(ms: Sequence[Mention], w: dict[str, float], threshold: float) -> list[list[Mention]]:
    events: list[list[Mention]] = []
    for m in rules_order(ms):
        best: tuple[float, list[Mention]] | None = None
        for ev in events:
            if ev[0].type == m.type and min(days(m.date, x.date) for x in ev) <= REACH:
                p = sum(prob(w, mention_features(m, x)) for x in ev) / len(ev)
                best = (p, ev) if best is None or p > best[0] else best
        if best and best[0] >= threshold:
            best[1].append(m)
        else:
            events.append([m])
    return events


def join_events(evs: Sequence[Event], w: dict[str, float], threshold: float) -> list[list[Mention]]:
    groups: list[tuple[Event, list[Mention]]] = []
    for ev in sorted(evs, key=lambda e: e.seq):
        near = [(prob(w, event_features(g[0], ev)), i) for i, g in enumerate(groups)
                if g[0].type == ev.type and days(g[0].date, ev.date) <= REACH]
        best = max(near, default=None)
        if best and best[0] >= threshold:
            groups[best[1]][1].extend(m for m, _ in ev.members)
        else:
            groups.append((ev, [m for m, _ in ev.members]))
    return [g[1] for g in groups]


def key(m: Mention) -> Key:
    return (m.article.id, m.trigger.start, m.trigger.end)


def load(blind: bool) -> tuple[list[Mention], dict[Key, tuple[str, str]]]:
    """The tuning stories' mentions (gold frames, names chained as merge does) and each one's (story, gold event)."""
    by_id = {d.doc_id: d for d in read_export(ROOT / "annotations/corpus.json").documents}
    gold = {s: load_story(ROOT / "annotations/corpus/events" / f"{s}.yaml", by_id) for s in split_stories("tuning")}
    of = {m.key: (s, ev.id) for s, evs in gold.items() for ev in evs for m in ev.mentions}
    dates = read_indexes(INDEXES)
    with tempfile.TemporaryDirectory() as tmp:
        docs = [by_id[a] for a in sorted({k[0] for k in of})]
        articles = read_frames([frames_path(None, docs, dates, Path(tmp))], dates)
    table = blind_table() if blind else AliasTable.load()
    ms = [m for a in sorted(articles, key=lambda a: a.id) for m in mentions_of(a, table)]
    return chain_unknown_names(ms), of


def score(clusters: Iterable[Sequence[Mention]], of: dict[Key, tuple[str, str]]) -> dict:
    """CoNLL F1 and pairwise P/R in all, and CoNLL F1 per story with their mean."""
    response = [[key(m) for m in c] for c in clusters]
    gold: dict[str, dict[str, list[Key]]] = defaultdict(lambda: defaultdict(list))
    for k, (s, ev) in of.items():
        gold[s][ev].append(k)
    total = coref_scores([c for evs in gold.values() for c in evs.values()], response)
    per = {s: coref_scores(list(evs.values()), [c for r in response if (c := [k for k in r if of[k][0] == s])])
           ["conll"]["f1"] for s, evs in sorted(gold.items())}
    return {"conll": total["conll"]["f1"], "pairwise_p": total["pairwise"]["precision"],
            "pairwise_r": total["pairwise"]["recall"], "mean_of_stories": sum(per.values()) / len(per),
            "stories": per}


def loso(ms: list[Mention], of: dict[Key, tuple[str, str]], units: list, feats: Callable, merge_with: Callable,
         thresholds: Sequence[float], story_of: Callable) -> dict[float, dict]:
    """Fit on the candidate pairs of seven stories, merge all, keep the eighth's clusters; per threshold."""
    def gold(u) -> tuple[str, str]:
        return of[key(u)] if isinstance(u, Mention) else Counter(of[key(m)] for m, _ in u.members).most_common(1)[0][0]
    pairs = [(a, b) for a, b in itertools.combinations(units, 2) if a.type == b.type and days(a.date, b.date) <= REACH]
    rows = {(id(a), id(b)): feats(a, b) for a, b in pairs}
    weights = {}
    for s in sorted({v[0] for v in of.values()}):
        kept = [(a, b) for a, b in pairs if s not in (story_of(a), story_of(b))]
        weights[s] = fit([rows[(id(a), id(b))] for a, b in kept], [gold(a) == gold(b) for a, b in kept])
    out = {}
    for t in thresholds:
        clusters = [c for s, w in weights.items() for whole in merge_with(w, t)
                    if (c := [m for m in whole if of[key(m)][0] == s])]
        out[t] = score(clusters, of)
    return out


def run(blind: bool, thresholds: Sequence[float]) -> dict[str, dict]:
    ms, of = load(blind)
    events, left = merge_mentions(ms)
    single = [[m] for m, _ in left]
    results = {"rules": score([[m for m, _ in e.members] for e in events] + single, of)}
    by_m = loso(ms, of, ms, mention_features, lambda w, t: cluster_mentions(ms, w, t), thresholds,
                lambda m: of[key(m)][0])
    results.update({f"mentions {t}": r for t, r in by_m.items()})
    story = {id(e): Counter(of[key(m)][0] for m, _ in e.members).most_common(1)[0][0] for e in events}
    by_e = loso(ms, of, events, event_features, lambda w, t: join_events(events, w, t) + single, thresholds,
                lambda e: story[id(e)])
    results.update({f"events {t}": r for t, r in by_e.items()})
    return results


def table(results: dict[str, dict]) -> str:
    stories = list(next(iter(results.values()))["stories"])
    head = ["| merge | CoNLL F1 | pairwise P | pairwise R | mean of stories | " + " | ".join(stories) + " |",
            "|---" * (5 + len(stories)) + "|"]
    return "\n".join(head + [f"| {name} | **{r['conll']:.3f}** | {r['pairwise_p']:.3f} | {r['pairwise_r']:.3f} | "
                             f"{r['mean_of_stories']:.3f} | " + " | ".join(f"{r['stories'][s]:.3f}" for s in stories) + " |"
                             for name, r in results.items()])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--story-blind", action="store_true", help="the alias table of merge_coref.py --story-blind")
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    p.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks/results")
    args = p.parse_args(argv)
    results = run(args.story_blind, args.thresholds)
    label = ("tuning stories (train+dev), gold frames, leave-one-story-out"
             + (", story-blind alias table" if args.story_blind else ""))
    md = table(results)
    print(f"{label}\n{md}")
    stem = "merge-learned-tuning" + ("-blind" if args.story_blind else "")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{stem}.md").write_text(f"{label}\n\n{md}\n", encoding="utf-8")
    (args.out_dir / f"{stem}.json").write_text(results_json({"label": label, "results": results}), encoding="utf-8")
    print(f"wrote {args.out_dir / stem}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
