"""Strict character-span scores: a predicted span counts only if its start, end and label equal
a gold span's.

Predicted spans come from :class:`indoevent.model.predict.Predictor`, the one prediction path
(raw text -> words -> windows -> clean IOB2 -> spans), so every score, in training and in
``indoevent evaluate`` alike, is the score of the spans ``indoevent extract`` outputs. Gold spans
are the annotated character spans, so a gold span that cuts a word (``⟦e1:GPE Amerika⟧ku``) can
never be matched and counts as missed. Entities (PER ORG GPE LOC DATE) and triggers (PLOVER
labels) are scored separately and together ("all").

A group or label with no gold and no predicted span has no score (``None``), not 0 or 1.

:func:`score_articles` is the one place that predicts gold articles and scores them (training's dev
and test scores, ``indoevent evaluate``, the studio's comparisons of two model versions).
:func:`seqeval_f1` adds the word-level number published Indonesian NER tables report (IndoNLU,
NusaBERT): seqeval's default, conlleval-compatible micro F1 over the words' IOB2 tags.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..schema import ENTITY_LABELS, EVENT_LABELS
from ..scores import prf
from ..text.iob import spans_to_tags
from ..text.tokenize import tokenize

GROUPS = {"all": frozenset(ENTITY_LABELS + EVENT_LABELS), "entities": frozenset(ENTITY_LABELS),
          "triggers": frozenset(EVENT_LABELS)}


def score_spans(gold: Sequence[Iterable[Any]], pred: Sequence[Iterable[Any]]) -> dict:
    """Strict character-span scores, one collection of spans per article: a predicted span counts
    only if its ``start``, ``end`` and ``label`` equal a gold span's. For all spans, entities only
    and triggers only; per label (with ``support`` gold and ``predicted`` spans), micro and macro
    (over labels with gold or predicted spans). A gold span the prediction path cannot produce (one that cuts
    a word) is simply never matched: it counts as missed.

    >>> from indoevent.document import Span
    >>> gold = [[Span(0, 5, "PER"), Span(6, 13, "CONSULT"), Span(14, 17, "PER")]]
    >>> pred = [[Span(0, 5, "PER"), Span(6, 13, "CONSULT"), Span(14, 20, "PER")]]
    >>> m = score_spans(gold, pred)
    >>> round(m["all"]["micro"]["f1"], 3), m["triggers"]["micro"]["f1"], m["entities"]["labels"]["PER"]["f1"]
    (0.667, 1.0, 0.5)
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold articles but {len(pred)} predicted")
    g = [{(s.start, s.end, s.label) for s in spans} for spans in gold]
    p = [{(s.start, s.end, s.label) for s in spans} for spans in pred]
    return {name: _score_span_group(g, p, keep) for name, keep in GROUPS.items()}


def score_articles(predict_many: Callable[..., Iterable[Any]], articles: Sequence[Any]) -> tuple[dict, list]:
    """Predict the articles' raw text and score the predicted spans against their gold spans
    (:func:`score_spans`); returns the scores and the predictions, one per article.

    ``predict_many(texts, ids=...)`` is the one prediction path: ``Predictor.predict_many`` (training,
    a model in memory) or ``Extractor.extract_many`` (``indoevent evaluate``, the studio); its results
    and ``articles`` (``TaggedWords`` or ``Document``) need ``text``, ``doc_id`` and ``spans``.
    """
    preds = list(predict_many([a.text for a in articles], ids=[a.doc_id for a in articles]))
    return score_spans(annotated_spans(articles, articles), annotated_spans(articles, preds)), preds


def annotated_spans(articles: Sequence[Any], docs: Sequence[Any]) -> list[list[Any]]:
    """The spans of ``docs`` (gold or predicted, one per article) whose label the article's source
    annotates: a NER-only sentence (``annotated`` = its entity labels) scores neither a trigger the model
    finds in it nor one it misses. Articles without ``annotated`` keep every span.

    >>> from indoevent.document import Document, Span
    >>> from indoevent.text.iob import TaggedWords
    >>> a = TaggedWords("a", "Jokowi datang", [], [], [], [], spans=[Span(0, 6, "PER")], annotated=frozenset({"PER"}))
    >>> pred = Document("a", a.text, [Span(0, 6, "PER"), Span(7, 13, "CONSULT")])
    >>> [s.label for s in annotated_spans([a], [pred])[0]]
    ['PER']
    """
    out = []
    for a, d in zip(articles, docs, strict=True):
        keep = getattr(a, "annotated", None)
        out.append([s for s in d.spans if keep is None or s.label in keep])
    return out


def seqeval_f1(articles: Sequence[Any], predictions: Sequence[Any]) -> dict[str, float | None]:
    """seqeval's default (conlleval-compatible) micro F1 over word IOB2 tags, for all spans, entities
    only and triggers only: the number the IndoNLU and NusaBERT NER tables report.

    The words are the project tokenizer's words of each article's text, those the prediction path
    tags; the predicted tags are the predicted spans on them (the cleaned IOB2 the path decoded),
    the gold tags the gold spans on them. A gold span that does not start and end on word edges
    (or overlaps one tagged before) has no word tags and is left out, where :func:`score_spans`
    counts it as missed: on word-aligned gold the two F1s are equal. ``None`` where a group has no
    gold and no predicted span, as in :func:`score_spans`.

    >>> from indoevent.document import Document, Span
    >>> text = "Putin bertemu Kim Jong Un"
    >>> gold = Document("a", text, [Span(0, 5, "PER"), Span(6, 13, "CONSULT"), Span(14, 17, "PER")])
    >>> pred = Document("a", text, [Span(0, 5, "PER"), Span(6, 13, "CONSULT"), Span(14, 22, "PER")])
    >>> f = seqeval_f1([gold], [pred])
    >>> round(f["all"], 3), f["triggers"], f["entities"]
    (0.667, 1.0, 0.5)
    """
    from seqeval.metrics import f1_score  # imports scikit-learn: only when asked

    if len(articles) != len(predictions):
        raise ValueError(f"{len(articles)} gold articles but {len(predictions)} predicted")
    words = [tokenize(a.text) for a in articles]
    gold_spans, pred_spans = annotated_spans(articles, articles), annotated_spans(articles, predictions)
    out: dict[str, float | None] = {}
    for name, keep in GROUPS.items():
        gold = [spans_to_tags(w, [s for s in g if s.label in keep])[0] for w, g in zip(words, gold_spans, strict=True)]
        pred = [spans_to_tags(w, [s for s in p if s.label in keep])[0] for w, p in zip(words, pred_spans, strict=True)]
        if all(t == "O" for tags in gold + pred for t in tags):
            out[name] = None
            continue
        # zero_division=0: the value seqeval's default gives, without its warning
        out[name] = float(f1_score(gold, pred, zero_division=0))
    return out


def _score_span_group(gold: list[set], pred: list[set], keep: frozenset[str]) -> dict:
    n_gold: dict[str, int] = {}
    n_pred: dict[str, int] = {}
    n_tp: dict[str, int] = {}
    for g, p in zip(gold, pred, strict=True):
        for counts, spans in ((n_gold, g), (n_pred, p), (n_tp, g & p)):
            for _, _, label in spans:
                if label in keep:
                    counts[label] = counts.get(label, 0) + 1
    labels = {lab: {**prf(n_tp.get(lab, 0), n_gold.get(lab, 0), n_pred.get(lab, 0)),
                    "support": n_gold.get(lab, 0), "predicted": n_pred.get(lab, 0)}
              for lab in sorted(set(n_gold) | set(n_pred))}
    if not labels:
        return {"micro": {"precision": None, "recall": None, "f1": None, "support": 0, "predicted": 0},
                "macro": {"precision": None, "recall": None, "f1": None, "labels": 0}, "labels": {}}
    tp, ng, npred = sum(n_tp.values()), sum(n_gold.values()), sum(n_pred.values())
    micro = {**prf(tp, ng, npred), "support": ng, "predicted": npred}
    macro = {k: sum(v[k] for v in labels.values()) / len(labels) for k in ("precision", "recall", "f1")}
    return {"micro": micro, "macro": {**macro, "labels": len(labels)}, "labels": labels}


def flat(metrics: dict) -> dict[str, float]:
    """The headline numbers as flat keys for the Trainer's logs (``f1``, ``entities_f1``...);
    an undefined score (nothing to find, nothing found) is logged as 0.

    >>> from indoevent.document import Span
    >>> flat(score_spans([[Span(0, 5, "PER")]], [[Span(0, 5, "PER")]]))["entities_f1"]
    1.0
    """
    out = {}
    for group, m in metrics.items():
        pre = "" if group == "all" else f"{group}_"
        for k in ("precision", "recall", "f1"):
            out[f"{pre}{k}"] = m["micro"][k] or 0.0
        out[f"{pre}macro_f1"] = m["macro"]["f1"] or 0.0
    return out


def summarize(folds: Sequence[dict]) -> dict:
    """Mean and standard deviation (n - 1) of each score over folds. A fold where a label has no gold
    and no predicted span does not count for that label (``n`` says how many folds did).

    >>> from indoevent.document import Span
    >>> putin = [[Span(0, 5, "PER", "Putin")]]
    >>> s = summarize([score_spans(putin, putin), score_spans(putin, [[]])])
    >>> s["entities"]["labels"]["PER"]["f1"]
    {'mean': 0.5, 'std': 0.7071, 'n': 2}
    """
    def agg(values: list[float | None]) -> dict:
        vs = [v for v in values if v is not None]
        if not vs:
            return {"mean": None, "std": None, "n": 0}
        mean = sum(vs) / len(vs)
        std = math.sqrt(sum((v - mean) ** 2 for v in vs) / (len(vs) - 1)) if len(vs) > 1 else 0.0
        return {"mean": round(mean, 4), "std": round(std, 4), "n": len(vs)}

    out: dict = {}
    for group in GROUPS:
        ms = [f[group] for f in folds]
        labels = sorted({lab for m in ms for lab in m["labels"]})
        out[group] = {
            "micro": {k: agg([m["micro"][k] for m in ms]) for k in ("precision", "recall", "f1")},
            "macro": {k: agg([m["macro"][k] for m in ms]) for k in ("precision", "recall", "f1")},
            "labels": {lab: {k: agg([m["labels"].get(lab, {}).get(k) for m in ms])
                             for k in ("precision", "recall", "f1")}
                       | {"support": sum(m["labels"].get(lab, {}).get("support", 0) for m in ms)}
                       for lab in labels},
        }
    return out


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def table(metrics: dict) -> str:
    """A Markdown table of one evaluation: per label, then micro and macro per group."""
    lines = ["| group | label | precision | recall | F1 | gold | predicted |", "|---|---|---|---|---|---|---|"]
    for group in ("entities", "triggers"):
        for label, v in metrics[group]["labels"].items():
            lines.append(f"| {group} | {label} | {_fmt(v['precision'])} | {_fmt(v['recall'])} | {_fmt(v['f1'])} "
                         f"| {v['support']} | {v['predicted']} |")
    for group in ("entities", "triggers", "all"):
        m = metrics[group]
        lines.append(f"| {group} | **micro** | {_fmt(m['micro']['precision'])} | {_fmt(m['micro']['recall'])} "
                     f"| {_fmt(m['micro']['f1'])} | {m['micro']['support']} | {m['micro']['predicted']} |")
        lines.append(f"| {group} | **macro** | {_fmt(m['macro']['precision'])} | {_fmt(m['macro']['recall'])} "
                     f"| {_fmt(m['macro']['f1'])} | | |")
    return "\n".join(lines)


def cv_table(summary: dict) -> str:
    """A Markdown table of a cross-validation summary: mean ± std (folds) per label and averages."""
    def ms(d: dict) -> str:
        return "-" if d["mean"] is None else f"{d['mean']:.3f} ± {d['std']:.3f} ({d['n']})"

    lines = ["| group | label | precision | recall | F1 | gold (all folds) |", "|---|---|---|---|---|---|"]
    for group in ("entities", "triggers"):
        for label, v in summary[group]["labels"].items():
            lines.append(f"| {group} | {label} | {ms(v['precision'])} | {ms(v['recall'])} | {ms(v['f1'])} "
                         f"| {v['support']} |")
    for group in ("entities", "triggers", "all"):
        for avg in ("micro", "macro"):
            m = summary[group][avg]
            lines.append(f"| {group} | **{avg}** | {ms(m['precision'])} | {ms(m['recall'])} | {ms(m['f1'])} | |")
    return "\n".join(lines)
