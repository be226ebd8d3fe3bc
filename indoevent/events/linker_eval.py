"""Scoring a linker against gold relations with the event-extraction measures: given gold
triggers and gold entities, argument identification (the trigger-entity pair is right) and
classification (the role too); and the rules against the learned linker on held-out articles
(:func:`compare_linkers`: by story over the corpus' cross-validation folds, or on the test split),
with a paired bootstrap of their difference over articles. No torch import (numpy for the bootstrap).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..document import Document, Relation
from ..model.splits import Fold, kfold
from ..schema import ROLES
from ..scores import f1_of, prf
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


def classification_counts(gold: Iterable[Relation], predicted: Iterable[Relation]) -> tuple[int, int, int]:
    """One article's argument classification ``(tp, gold, predicted)``, what the bootstrap resamples.

    >>> classification_counts([Relation("t1", "e1", "actor")], [Relation("t1", "e1", "recipient")])
    (0, 1, 1)
    """
    s = score_relations(gold, predicted)
    return s.classified, s.gold, s.predicted


def paired_bootstrap(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], resamples: int = 1000,
                     seed: int = 0) -> dict:
    """F1 of ``b`` minus F1 of ``a`` over the same articles (per article ``(tp, gold, predicted)``),
    with 95% percentile intervals from resampling articles with replacement, one draw for both (so
    an article that is hard for both does not widen the difference's interval); ``b_better``: the
    share of resamples where ``b`` scores higher."""
    import numpy as np

    ca, cb = np.asarray(a, dtype=np.float64).reshape(-1, 3), np.asarray(b, dtype=np.float64).reshape(-1, 3)
    if ca.shape != cb.shape:
        raise ValueError(f"paired counts need the same articles: {len(ca)} against {len(cb)}")
    n = len(ca)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64) if n else np.zeros((0, 0))

    def f1(c: np.ndarray, w: np.ndarray) -> np.ndarray:
        s = w @ c  # resamples x (tp, gold, predicted)
        p = np.divide(s[:, 0], s[:, 2], out=np.zeros(len(s)), where=s[:, 2] > 0)
        r = np.divide(s[:, 0], s[:, 1], out=np.zeros(len(s)), where=s[:, 1] > 0)
        return f1_of(p, r)

    def interval(v: np.ndarray) -> list[float] | None:
        return [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)] if len(v) else None

    fa, fb = f1(ca, weights), f1(cb, weights)
    whole = np.ones((1, n))
    return {"f1_a": round(float(f1(ca, whole)[0]), 4), "f1_b": round(float(f1(cb, whole)[0]), 4),
            "difference": round(float(f1(cb, whole)[0] - f1(ca, whole)[0]), 4),
            "interval_a": interval(fa), "interval_b": interval(fb), "interval": interval(fb - fa),
            "b_better": round(float(np.mean(fb > fa)), 4) if resamples else None,
            "articles": n, "resamples": resamples, "seed": seed}


def compare_linkers(documents: Sequence[Document], folds: Sequence[Fold] | None = None, resamples: int = 1000,
                    seed: int = 0, **fit_kwargs) -> dict:
    """The rules against the learned linker on held-out articles: for each fold, the learned linker
    is fitted on its train and dev articles and both score its test articles (gold triggers and
    entities). ``folds``: by story from ``annotations/corpus/splits.json`` (:meth:`FrozenSplits.folds`),
    or one fold whose test part is the test split; None: leave one article out. The difference
    (learned minus rules, classification F1) comes with a paired bootstrap over the test articles."""
    by_id = {d.doc_id: d for d in documents}
    folds = list(folds) if folds is not None else kfold(list(by_id), dev=False)
    missing = sorted({i for f in folds for i in f.train + f.dev + f.test} - set(by_id))
    if missing:
        raise ValueError(f"{len(missing)} article(s) of the folds are not in the export: {', '.join(missing[:5])}")
    rules, learned = LinkScores(), LinkScores()
    per_article: dict[str, dict] = {}
    per_fold = []
    for fold in folds:
        model = fit_linker([by_id[i] for i in fold.train + fold.dev], **fit_kwargs)
        fr, fl = LinkScores(), LinkScores()
        for doc_id in fold.test:
            doc = by_id[doc_id]
            pr = link_rules(doc.text, doc.entities, doc.triggers)
            pl = model(doc.text, doc.entities, doc.triggers)
            for scores in (rules, fr):
                score_relations(doc.relations, pr, scores)
            for scores in (learned, fl):
                score_relations(doc.relations, pl, scores)
            per_article[doc_id] = {"fold": fold.index, "rules": classification_counts(doc.relations, pr),
                                   "learned": classification_counts(doc.relations, pl)}
        per_fold.append({"fold": fold.index, "test": len(fold.test), "train": len(fold.train + fold.dev),
                         "rules": fr.to_dict()["classification"]["f1"],
                         "learned": fl.to_dict()["classification"]["f1"]})
    ids = sorted(per_article)
    diff = paired_bootstrap([per_article[i]["rules"] for i in ids], [per_article[i]["learned"] for i in ids],
                            resamples, seed)
    return {"rules": rules.to_dict(), "learned": learned.to_dict(), "folds": len(folds), "articles": len(ids),
            "learned_minus_rules": diff, "per_fold": per_fold, "per_article": per_article}


def comparison_report(r: dict, what: str) -> str:
    """:func:`compare_linkers`' result as a text table; ``what`` says which held-out articles."""
    d = r["learned_minus_rules"]
    lines = [f"{what}: {r['articles']} held-out articles in {r['folds']} fold(s), arguments on gold triggers and "
             f"entities ({r['rules']['gold']} gold)", f"{'':28}{'P':>8}{'R':>8}{'F1':>8}   95% interval (F1)"]
    for name, key in (("rules", "interval_a"), ("learned", "interval_b")):
        for measure in ("identification", "classification"):
            m = r[name][measure]
            ci = f"   [{d[key][0]:.3f}, {d[key][1]:.3f}]" if measure == "classification" and d[key] else ""
            lines.append(f"{name + ' ' + measure:28}{m['precision']:8.3f}{m['recall']:8.3f}{m['f1']:8.3f}{ci}")
    if d["interval"]:
        lines.append(f"learned - rules, classification F1: {d['difference']:+.3f}, 95% interval "
                     f"[{d['interval'][0]:+.3f}, {d['interval'][1]:+.3f}] (paired bootstrap over articles, "
                     f"{d['resamples']} resamples, seed {d['seed']}; learned higher in {d['b_better']:.0%})")
    lines.append("per role, classification F1 (rules / learned):")
    for role in r["rules"]["per_role"]:
        a, b = r["rules"]["per_role"][role], r["learned"]["per_role"][role]
        lines.append(f"  {role:12}{a['f1']:8.3f}{b['f1']:8.3f}   (gold {a['gold']}, predicted {a['predicted']} / "
                     f"{b['predicted']})")
    if r["folds"] > 1 and r["folds"] < r["articles"]:
        lines.append("per fold, classification F1 (rules / learned): " + ", ".join(
            f"{f['fold']}: {f['rules']:.3f} / {f['learned']:.3f} ({f['test']} articles)" for f in r["per_fold"]))
    return "\n".join(lines)
