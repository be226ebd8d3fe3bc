"""Scoring a linker against gold relations with the event-extraction measures: given gold
triggers and gold entities, argument identification (the trigger-entity pair is right) and
classification (the role too); and the rules against the learned linker, leave one article out.
Pure Python: no torch import.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..document import Document, Relation
from ..model.splits import kfold
from ..schema import ROLES
from ..scores import prf
from .learned_linker import fit_linker
from .linking import Linker, link_rules


@dataclass
class LinkScores:
    """Argument identification / classification counts, overall and per role."""

    gold: int = 0
    predicted: int = 0
    identified: int = 0  # (trigger, entity) pair correct
    classified: int = 0  # pair and role correct
    per_role: dict[str, Counter] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "gold": self.gold, "predicted": self.predicted,
            "identification": prf(self.identified, self.gold, self.predicted, digits=4),
            "classification": prf(self.classified, self.gold, self.predicted, digits=4),
            "per_role": {role: {**prf(c["tp"], c["gold"], c["pred"], digits=4), "gold": c["gold"], "predicted": c["pred"]}
                         for role, c in sorted(self.per_role.items())},
        }


def score_relations(gold: Iterable[Relation], predicted: Iterable[Relation], scores: LinkScores | None = None) -> LinkScores:
    """Add one article's gold and predicted relations to ``scores``.

    >>> g = [Relation("t1", "e1", "actor"), Relation("t1", "e2", "place")]
    >>> p = [Relation("t1", "e1", "actor"), Relation("t1", "e2", "recipient")]
    >>> s = score_relations(g, p).to_dict()
    >>> s["identification"]["f1"], s["classification"]["f1"]
    (1.0, 0.5)
    """
    scores = scores or LinkScores()
    gold_set = {(r.trigger_id, r.entity_id, r.role) for r in gold}
    pred_set = {(r.trigger_id, r.entity_id, r.role) for r in predicted}
    gold_pairs = {(t, e) for t, e, _ in gold_set}
    scores.gold += len(gold_set)
    scores.predicted += len(pred_set)
    # A pair counts once even if (wrongly) given two roles; gold has one role per pair.
    scores.identified += len({(t, e) for t, e, _ in pred_set} & gold_pairs)
    scores.classified += len(pred_set & gold_set)
    for role in ROLES:
        c = scores.per_role.setdefault(role, Counter())
        g = {x for x in gold_set if x[2] == role}
        p = {x for x in pred_set if x[2] == role}
        c["gold"] += len(g)
        c["pred"] += len(p)
        c["tp"] += len(g & p)
    return scores


def evaluate_linker(documents: Sequence[Document], linker: Linker = link_rules) -> dict:
    """Argument P/R/F1 of ``linker`` on gold triggers and gold entities of ``documents``:
    identification (trigger-entity pair) and classification (pair and role), overall, per
    role and per article."""
    total = LinkScores()
    per_article = {}
    for doc in documents:
        pred = linker(doc.text, doc.entities, doc.triggers)
        score_relations(doc.relations, pred, total)
        per_article[doc.doc_id] = score_relations(doc.relations, pred).to_dict()["classification"]
    return {**total.to_dict(), "per_article": per_article}


def report(documents: Sequence[Document], linker: Linker = link_rules) -> str:
    """A short text table of :func:`evaluate_linker`, for the command line and notebooks."""
    r = evaluate_linker(documents, linker)
    lines = [f"arguments on gold triggers: {r['gold']} gold, {r['predicted']} predicted",
             f"{'':16}{'P':>8}{'R':>8}{'F1':>8}"]
    for name in ("identification", "classification"):
        m = r[name]
        lines.append(f"{name:16}{m['precision']:8.3f}{m['recall']:8.3f}{m['f1']:8.3f}")
    for role, m in r["per_role"].items():
        lines.append(f"  {role:14}{m['precision']:8.3f}{m['recall']:8.3f}{m['f1']:8.3f}   (gold {m['gold']}, predicted {m['predicted']})")
    return "\n".join(lines)


def cross_validate_linker(documents: Sequence[Document], **fit_kwargs) -> dict:
    """Leave-one-article-out argument scores of the rules and of the learned linker (trained
    on the other articles each time), with :func:`evaluate_linker`'s measures."""
    by_id = {d.doc_id: d for d in documents}
    rules, learned = LinkScores(), LinkScores()
    for fold in kfold(list(by_id), dev=False):
        model = fit_linker([by_id[i] for i in fold.train], **fit_kwargs)
        for doc_id in fold.test:
            doc = by_id[doc_id]
            score_relations(doc.relations, link_rules(doc.text, doc.entities, doc.triggers), rules)
            score_relations(doc.relations, model(doc.text, doc.entities, doc.triggers), learned)
    return {"rules": rules.to_dict(), "learned": learned.to_dict(), "folds": len(by_id)}


def cross_validation_report(documents: Sequence[Document]) -> str:
    """Leave-one-article-out comparison of the rules and the learned linker, as a text table."""
    r = cross_validate_linker(documents)
    lines = [f"leave-one-article-out over {r['folds']} articles, arguments on gold triggers "
             f"({r['rules']['gold']} gold):", f"{'':28}{'P':>8}{'R':>8}{'F1':>8}"]
    for name in ("rules", "learned"):
        for measure in ("identification", "classification"):
            m = r[name][measure]
            lines.append(f"{name + ' ' + measure:28}{m['precision']:8.3f}{m['recall']:8.3f}{m['f1']:8.3f}")
    return "\n".join(lines)
