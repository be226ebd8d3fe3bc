"""``indoevent merge --gold``: the merge's events scored against gold event clusters.

The response is what ``merge`` wrote to ``mentions.jsonl`` (a mention's ``event``, null when it
was not merged: a singleton); the key is the gold events of the story files
(:mod:`indoevent.annotation.event_clusters`). A predicted mention matches a gold one on the exact
trigger span (article, start, end); only the articles the story files cover are scored. Besides
the coreference scores, every error is listed with the merge's ``reason``: mentions joined to an
event whose founder is another real event, and real events split over several merged events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..annotation.event_clusters import GoldEvent
from .coref import coref_scores

Key = tuple[str, int, int]


@dataclass
class MergeScore:
    """Coreference scores of a merge and the errors behind them."""

    scores: dict[str, dict]
    gold_mentions: int
    gold_events: int
    response_mentions: int
    matched: int  # response mentions on a gold trigger span
    wrongly_joined: list[dict] = field(default_factory=list)
    wrongly_split: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("scores", "gold_mentions", "gold_events", "response_mentions",
                                              "matched", "wrongly_joined", "wrongly_split")}


def _key(m: dict) -> Key:
    return (m["article"], m["trigger"]["start"], m["trigger"]["end"])


def _label(m: dict) -> str:
    return f"{m['article']}@{m['trigger']['start']} {m['trigger']['text']!r} ({m['type']})"


def response_clusters(mentions: Sequence[dict]) -> dict[str, list[dict]]:
    """The merge's mentions by event; an unmerged mention is an event of its own."""
    by_event: dict[str, list[dict]] = defaultdict(list)
    for i, m in enumerate(mentions):
        by_event[m["event"] if m["event"] is not None else f"(not merged #{i})"].append(m)
    return dict(by_event)


def score_merge(mentions: Sequence[dict], gold: Sequence[GoldEvent]) -> MergeScore:
    """Score ``mentions.jsonl`` rows against ``gold`` events (only the gold's articles count)."""
    gold_of = {m.key: ev.id for ev in gold for m in ev.mentions}
    articles = {m.article for ev in gold for m in ev.mentions}
    covered = [m for m in mentions if m["article"] in articles]
    clusters = response_clusters(covered)
    key = [[m.key for m in ev.mentions] for ev in gold]
    response = [[_key(m) for m in ms] for ms in clusters.values()]
    result = MergeScore(coref_scores(key, response), len(gold_of), len(gold), len(covered),
                        sum(_key(m) in gold_of for m in covered))
    result.wrongly_joined = _wrongly_joined(clusters, gold_of)
    result.wrongly_split = _wrongly_split(clusters, gold_of)
    return result


def _wrongly_joined(clusters: dict[str, list[dict]], gold_of: dict[Key, str]) -> list[dict]:
    """Members of a merged event that are not the real event its founder is."""
    errors = []
    for event, ms in clusters.items():
        founder = next((m for m in ms if m["reason"].startswith("founds")), ms[0])
        truth = gold_of.get(_key(founder))
        for m in ms:
            if m is not founder and (truth is None or gold_of.get(_key(m)) != truth):
                errors.append({"event": event, "mention": _label(m), "gold_event": gold_of.get(_key(m)),
                               "founder": _label(founder), "founder_gold_event": truth, "reason": m["reason"]})
    return errors


def _wrongly_split(clusters: dict[str, list[dict]], gold_of: dict[Key, str]) -> list[dict]:
    """Mentions of one real event left outside the merged event that holds most of its mentions."""
    placed: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for event, ms in clusters.items():
        for m in ms:
            if _key(m) in gold_of:
                placed[gold_of[_key(m)]][event].append(m)
    errors = []
    for truth, events in placed.items():
        main = max(events, key=lambda e: len(events[e]))
        for event, ms in events.items():
            if event != main:
                errors += [{"gold_event": truth, "mention": _label(m), "event": m["event"], "main_event": main,
                            "reason": m["reason"]} for m in ms]
    return errors


def score_table(s: MergeScore) -> str:
    """The scores as a Markdown table (recall, precision, F1 per metric)."""
    rows = ["| metric | recall | precision | F1 |", "|---|---|---|---|"]
    names = {"muc": "MUC", "bcub": "B³", "ceafe": "CEAF-e", "pairwise": "pairwise links"}
    for k, name in names.items():
        v = s.scores[k]
        rows.append(f"| {name} | {v['recall']:.3f} | {v['precision']:.3f} | {v['f1']:.3f} |")
    rows.insert(5, f"| **CoNLL F1** (mean of MUC, B³, CEAF-e) | | | **{s.scores['conll']['f1']:.3f}** |")
    return "\n".join(rows)
