"""Error analysis of gold against extracted spans: error classes, word confusion, boundary
errors, buckets, event frames and bootstrap intervals over articles.

Every score here is a count ratio (true positives over gold or over predicted), so each is
kept as per-article counts ``(tp, gold, predicted)``; the 95% intervals resample articles
with replacement and recompute the ratios from the summed counts.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..document import Document, Relation, Span
from ..schema import ENTITY_LABELS, EVENT_LABELS
from ..scores import f1_of, prf
from ..text.sentences import sentence_index, split_sentences
from ..text.tokenize import tokenize
from ..view.spans import drawable

if TYPE_CHECKING:  # pragma: no cover
    from .evaluate import ArticleResult

SCHEMES = ("strict", "exact", "partial", "ent_type")  # nervaluate's; ent_type is the literature's "type"
GROUP_LABELS = {"all": ENTITY_LABELS + EVENT_LABELS, "entities": ENTITY_LABELS, "triggers": EVENT_LABELS}
# Words of office that often sit at a PER span's edge ("Presiden Vladimir Putin").
TITLE_WORDS = frozenset("""presiden wakil menteri perdana luar negeri pertahanan jenderal sekretaris raja ratu
pangeran kanselir gubernur wali bupati ketua kepala direktur duta besar juru bicara pemimpin panglima kolonel
letnan mayor kapten komandan marsekal laksamana brigjen mayjen letjen kaisar sultan paus senator anggota dr
prof pak bu bapak ibu sang tuan nyonya syekh ayatollah""".split())
WIDE_BELOW = 30  # articles: fewer than this, and the report says the intervals are wide


# --- span errors --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpanError:
    """One error of an article: a false positive, a false negative, or a pair of them.

    ``kind``: ``label`` (same offsets, other label), ``boundary`` (overlapping, same label),
    ``boundary+label``, ``spurious`` (overlaps no gold span), ``missed`` (no prediction
    overlaps it). ``boundary`` says how a boundary is off: ``off by a word``, ``-nya``,
    ``title word``, ``gold cuts a word`` (extraction cannot produce it) or ``other``.
    """

    kind: str
    gold: Span | None
    pred: Span | None
    boundary: str | None = None
    sentence: str = ""

    @property
    def span(self) -> Span:
        """The gold span, else the predicted one (an error has at least one of them)."""
        s = self.gold or self.pred
        assert s is not None, "a SpanError without a gold or a predicted span"
        return s

    @property
    def is_trigger(self) -> bool:
        return self.span.is_trigger

    def to_dict(self) -> dict:
        return {"kind": self.kind, "boundary": self.boundary, "sentence": self.sentence,
                "gold": None if self.gold is None else _span_dict(self.gold),
                "pred": None if self.pred is None else _span_dict(self.pred)}


def _span_dict(s: Span) -> dict:
    return {"start": s.start, "end": s.end, "label": s.label, "text": s.text}


def boundary_kind(text: str, gold: Span, pred: Span) -> str:
    """How an overlapping prediction's edges differ from the gold span's.

    >>> t = "Presiden Vladimir Putin bertemu Amerikanya"
    >>> boundary_kind(t, Span(9, 23, "PER"), Span(0, 23, "PER"))
    'title word'
    >>> boundary_kind(t, Span(9, 23, "PER"), Span(18, 23, "PER"))
    'off by a word'
    >>> boundary_kind(t, Span(32, 42, "GPE"), Span(32, 39, "GPE"))
    '-nya'
    """
    edges = {w.start for w in tokenize(text)} | {w.end for w in tokenize(text)}
    if gold.start not in edges or gold.end not in edges:
        return "gold cuts a word"
    parts = [text[min(gold.start, pred.start):max(gold.start, pred.start)],
             text[min(gold.end, pred.end):max(gold.end, pred.end)]]
    words = [w.text.lower() for p in parts if p.strip() for w in tokenize(p)]
    if words and all(w.strip("-") == "nya" for w in words):
        return "-nya"
    if words and all(w in TITLE_WORDS for w in words):
        return "title word"
    if len([w for w in words if any(c.isalnum() for c in w)]) == 1:
        return "off by a word"
    return "other"


def span_errors(doc: Document, pred: Sequence[Span]) -> tuple[list[Span], list[SpanError]]:
    """The exactly matched spans and the errors of one article (see :class:`SpanError`)."""
    sentences = split_sentences(doc.text)

    def sentence(s: Span) -> str:
        a, b = sentences[sentence_index(sentences, s.start)] if sentences else (0, len(doc.text))
        return doc.text[a:b]

    gold_keys = {(s.start, s.end, s.label) for s in doc.spans}
    correct = [p for p in pred if (p.start, p.end, p.label) in gold_keys]
    matched = {(p.start, p.end, p.label) for p in correct}
    open_gold = [g for g in doc.spans if (g.start, g.end, g.label) not in matched]
    touched: set[tuple] = set()
    errors: list[SpanError] = []
    for p in sorted(pred):
        if (p.start, p.end, p.label) in matched:
            continue
        over = [g for g in open_gold if g.overlaps(p)]
        if not over:
            errors.append(SpanError("spurious", None, p, sentence=sentence(p)))
            continue
        g = max(over, key=lambda g: (min(g.end, p.end) - max(g.start, p.start), g.label == p.label))
        touched.add((g.start, g.end, g.label))  # another gold span it overlaps is still missed
        if (g.start, g.end) == (p.start, p.end):
            errors.append(SpanError("label", g, p, sentence=sentence(g)))
        else:
            kind = "boundary" if g.label == p.label else "boundary+label"
            errors.append(SpanError(kind, g, p, boundary_kind(doc.text, g, p), sentence(g)))
    for g in open_gold:
        if (g.start, g.end, g.label) not in touched:
            errors.append(SpanError("missed", g, None, sentence=sentence(g)))
    errors.sort(key=lambda e: e.span.start)
    return correct, errors


def error_counts(errors: Iterable[SpanError]) -> dict:
    """Errors by kind and boundary errors by how the boundary is off, for all, entities and triggers."""
    out: dict = {}
    errors = list(errors)
    for group, keep in (("all", None), ("entities", False), ("triggers", True)):
        es = [e for e in errors if keep is None or e.is_trigger == keep]
        out[group] = {"by_kind": dict(Counter(e.kind for e in es)),
                      "boundary": dict(Counter(e.boundary for e in es if e.boundary))}
    return out


# --- nervaluate ---------------------------------------------------------------------------------
def _ner_dicts(spans: Iterable[Span], labels: Sequence[str]) -> list[dict]:
    # nervaluate's offsets are inclusive at both ends; ours are end-exclusive.
    return [{"label": s.label, "start": s.start, "end": s.end - 1} for s in spans if s.label in labels]


def nervaluate_counts(gold: Sequence[Sequence[Span]], pred: Sequence[Sequence[Span]], labels: Sequence[str]) -> dict:
    """nervaluate's error classes and P/R/F1 under its four schemes (MUC / SemEval-2013), overall
    and per label: ``{"overall": {scheme: {...}}, "labels": {label: {scheme: {...}}}}``."""
    from nervaluate import Evaluator

    res = Evaluator([_ner_dicts(g, labels) for g in gold], [_ner_dicts(p, labels) for p in pred],
                    tags=list(labels), loader="dict").evaluate()
    keep = ("correct", "incorrect", "partial", "missed", "spurious", "possible", "actual", "precision", "recall", "f1")

    def flat(r) -> dict:
        return {k: round(float(getattr(r, k)), 4) if k in ("precision", "recall", "f1") else int(getattr(r, k))
                for k in keep}

    return {"overall": {s: flat(res["overall"][s]) for s in SCHEMES},
            "labels": {lab: {s: flat(res["entities"][lab][s]) for s in SCHEMES}
                       for lab in labels if lab in res["entities"]
                       and (res["entities"][lab]["strict"].possible or res["entities"][lab]["strict"].actual)}}


def _ner_tp(c: dict, scheme: str) -> float:
    """True positives as nervaluate credits them: half a point for a partial match in ``partial``."""
    return c["correct"] + (0.5 * c["partial"] if scheme == "partial" else 0.0)


# --- words --------------------------------------------------------------------------------------
def word_labels(text: str, spans: Sequence[Span]) -> list[str]:
    """The label of each word of ``text`` (``O`` outside spans; a word a span only touches part of
    takes its label).

    >>> word_labels("Putin bertemu Kim", [Span(0, 5, "PER"), Span(6, 13, "CONSULT")])
    ['PER', 'CONSULT', 'O']
    """
    words = tokenize(text)
    out = ["O"] * len(words)
    starts = [w.start for w in words]
    for s in spans:
        i = max(bisect_right(starts, s.start) - 1, 0)
        for k in range(i, bisect_left(starts, s.end)):
            if words[k].start < s.end and s.start < words[k].end:
                out[k] = s.label
    return out


def confusion(results: Sequence[ArticleResult]) -> dict:
    """Word-level label confusion, ``O`` included: ``{"labels": [...], "matrix": rows gold x cols predicted}``."""
    pairs: Counter = Counter()
    for r in results:
        g = word_labels(r.doc.text, r.doc.spans)
        p = word_labels(r.doc.text, r.extraction.spans)
        pairs.update(zip(g, p, strict=True))
    order = ["O"] + [lab for lab in ENTITY_LABELS + EVENT_LABELS if any(lab in k for k in pairs)]
    return {"labels": order, "matrix": [[pairs.get((a, b), 0) for b in order] for a in order]}


# --- buckets ------------------------------------------------------------------------------------
def _mention(text: str) -> str:
    return " ".join(text.lower().split())


def length_bucket(n_words: int) -> str:
    """``1``, ``2``, ``3`` or ``4+`` words."""
    return str(n_words) if n_words < 4 else "4+"


# --- frames -------------------------------------------------------------------------------------
def _with_ids(spans: Sequence[Span], prefix: str) -> list[Span]:
    return [dataclasses.replace(s, id=s.id or f"{prefix}{k}") for k, s in enumerate(spans)]


def _arg_keys(triggers: Sequence[Span], entities: Sequence[Span], relations: Iterable[Relation]) -> set[tuple]:
    """Arguments as ``(trigger start, end, event type, argument start, end, role)``."""
    t = {s.id: s for s in triggers}
    e = {s.id: s for s in entities}
    return {(t[r.trigger_id].start, t[r.trigger_id].end, t[r.trigger_id].label, e[r.entity_id].start,
             e[r.entity_id].end, r.role) for r in relations if r.trigger_id in t and r.entity_id in e}


def _pair(gold: set, pred: set, drop_last: bool = False) -> tuple[int, int, int]:
    if drop_last:
        gold, pred = {k[:-1] for k in gold}, {k[:-1] for k in pred}
    return len(gold & pred), len(gold), len(pred)


def frame_counts(r: ArticleResult, linker: Callable | None) -> dict[str, tuple[int, int, int]]:
    """Per-article counts of trigger and argument identification and classification, as
    event-extraction papers report them: arguments on the predicted triggers, on the gold
    triggers (with the predicted entities), and on gold triggers and gold entities (the linker alone)."""
    doc, x = r.doc, r.extraction
    g_trig, g_ent = _with_ids(doc.triggers, "gt"), _with_ids(doc.entities, "ge")
    gold_args = _arg_keys(g_trig, g_ent, doc.relations)
    out = {"triggers.identification": _pair({(s.start, s.end) for s in g_trig}, {(s.start, s.end) for s in x.triggers}),
           "triggers.classification": _pair({(s.start, s.end, s.label) for s in g_trig},
                                            {(s.start, s.end, s.label) for s in x.triggers})}
    settings = {"predicted_triggers": _arg_keys(x.triggers, x.entities, x.relations())}
    if linker is not None:
        p_ent = _with_ids(x.entities, "pe")
        settings["gold_triggers"] = _arg_keys(g_trig, p_ent, linker(doc.text, p_ent, g_trig) if p_ent and g_trig else [])
        settings["gold_triggers_gold_entities"] = _arg_keys(
            g_trig, g_ent, linker(doc.text, g_ent, g_trig) if g_ent and g_trig else [])
    for name, pred in settings.items():
        out[f"arguments.{name}.identification"] = _pair(gold_args, pred, drop_last=True)
        out[f"arguments.{name}.classification"] = _pair(gold_args, pred)
    return out


# --- bootstrap ----------------------------------------------------------------------------------
def bootstrap(counts: dict[str, np.ndarray], resamples: int, seed: int) -> dict[str, dict]:
    """95% percentile intervals of P, R and F1 for each named ``(articles, 3)`` count array
    ``(tp, gold, predicted)``, resampling articles with replacement (seeded)."""
    names = sorted(counts)
    if not names:
        return {}
    c = np.stack([counts[k] for k in names], axis=1).astype(np.float64)  # articles x names x 3
    p, r, f = _resampled_prf(c, _weights(c.shape[0], resamples, seed))
    out: dict[str, dict] = {}
    for k, name in enumerate(names):
        out[name] = {m: _interval(v[:, k]) for m, v in (("precision", p), ("recall", r), ("f1", f))}
    return out


def paired_bootstrap(base: dict[str, np.ndarray], other: dict[str, np.ndarray], resamples: int,
                     seed: int) -> dict[str, dict]:
    """The F1 gain of ``other`` over ``base`` for each score both have, with its 95% interval: each
    resample draws articles (with replacement, seeded) and scores both on the same draw, so what the
    two share (an easy article, a hard one) cancels out. Both are ``(articles, 3)`` count arrays over
    the same articles in the same order. An F1 with nothing to divide by is 0, as :func:`~indoevent.scores.prf`
    has it (a run that predicts nothing scores 0, not "undefined"), so the resamples agree with the
    point gain. Per score: ``base`` and ``other`` F1, ``gain``, ``interval`` (None with fewer than 2
    articles) and ``above_zero`` (the share of resamples with a positive gain)."""
    names = sorted(set(base) & set(other))
    for name in names:
        if base[name].shape != other[name].shape:
            raise ValueError(f"{name}: counts over {base[name].shape[0]} and {other[name].shape[0]} articles: "
                             "a paired bootstrap needs the same articles")
    out: dict[str, dict] = {}
    if not names:
        return out
    cb, co = (np.stack([x[n] for n in names], axis=1).astype(np.float64) for x in (base, other))
    w = _weights(cb.shape[0], resamples, seed)
    gains = np.nan_to_num(_resampled_prf(co, w)[2], nan=0.0) - np.nan_to_num(_resampled_prf(cb, w)[2], nan=0.0)
    for k, name in enumerate(names):
        fb, fo = (float(prf(*c[:, k].sum(axis=0))["f1"]) for c in (cb, co))
        g = gains[:, k]
        out[name] = {"base": round(fb, 4), "other": round(fo, 4), "gain": round(fo - fb, 4),
                     "interval": _interval(g) if cb.shape[0] > 1 else None,
                     "above_zero": round(float((g > 0).mean()), 4)}
    return out


def _weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """How many times each of ``n`` articles is drawn in each resample: ``(resamples, n)``."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)


def _resampled_prf(c: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P, R and F1 ``(resamples, names)`` of counts ``(articles, names, 3)`` under each resample's
    weights; NaN where a ratio is undefined (nothing predicted, nothing gold)."""
    s = np.einsum("ra,akc->rkc", weights, c)
    tp, gold, pred = s[..., 0], s[..., 1], s[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(pred > 0, tp / pred, np.nan)
        r = np.where(gold > 0, tp / gold, np.nan)
    return p, r, f1_of(p, r)


def _interval(v: np.ndarray) -> list[float] | None:
    """The 2.5th and 97.5th percentiles of the defined values (None if there are none)."""
    v = v[~np.isnan(v)]
    return [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)] if len(v) else None


# --- everything ---------------------------------------------------------------------------------
def article_counts(results: Sequence[ArticleResult], linker: Callable | None) -> dict[str, np.ndarray]:
    """Score name -> ``(articles, 3)`` array of each article's ``(tp, gold, predicted)``: span groups,
    nervaluate schemes, labels, frames. What totals, intervals and paired comparisons are made of."""
    per_article: dict[str, list[tuple]] = {}
    for r in results:
        for name, c in _article_counts(r, linker).items():
            per_article.setdefault(name, []).append(c)
    return {name: np.asarray(rows, dtype=np.float64) for name, rows in per_article.items()}


def analyse(results: Sequence[ArticleResult], counts: dict[str, np.ndarray], train_spans: Sequence[Span],
            resamples: int, seed: int) -> dict:
    """Everything ``metrics.json`` holds beyond the strict span scores (see the module docstring);
    ``counts``: :func:`article_counts` of ``results``."""
    seen = {_mention(s.text) for s in train_spans if s.text}
    articles, all_errors = [], []
    buckets: dict[str, dict[str, Counter]] = {"length": {}, "seen_in_training": {}}
    for r in results:
        _count_buckets(r, seen, buckets)
        gk = {(s.start, s.end, s.label) for s in r.doc.spans}
        pk = {(s.start, s.end, s.label) for s in r.extraction.spans}
        correct, errors = span_errors(r.doc, r.extraction.spans)
        all_errors += errors
        articles.append({"id": r.doc_id, **prf(len(gk & pk), len(gk), len(pk), digits=4), "gold": len(gk),
                         "predicted": len(pk), "correct": len(correct), "errors": [e.to_dict() for e in errors]})
    # Labels that occur nowhere have no score and no interval.
    counts = {n: c for n, c in counts.items() if not n.startswith("label.") or c[:, 1:].sum() > 0}
    totals = {name: prf(*c.sum(axis=0), digits=4) | {"gold": _int(c[:, 1].sum()), "predicted": _int(c[:, 2].sum())}
              for name, c in counts.items()}
    n = len(results)
    # One article resamples to itself: a zero-width interval would claim a certainty there is none.
    intervals = bootstrap(counts, resamples, seed) if resamples and n > 1 else {}
    golds = [r.doc.spans for r in results]
    preds = [r.extraction.spans for r in results]
    articles.sort(key=lambda a: (a["f1"], a["id"]))  # worst first
    return {
        "scores": totals, "intervals": intervals,
        "bootstrap": {"resamples": resamples, "seed": seed, "articles": n, "wide": n < WIDE_BELOW,
                      "note": _bootstrap_note(n, resamples, seed)},
        "nervaluate": {g: nervaluate_counts(golds, preds, labels) for g, labels in GROUP_LABELS.items()},
        "errors": error_counts(all_errors),
        "confusion": confusion(results),
        "buckets": {axis: {b: {**_bucket_scores(c)} for b, c in sorted(bs.items())} for axis, bs in buckets.items()},
        "frames": {k: v for k, v in totals.items() if k.startswith(("triggers.", "arguments."))},
        "per_article": articles,
        "highlighted_spans": sum(len(drawable(r.doc.text, r.doc.spans)) + len(drawable(r.doc.text, r.extraction.spans))
                                 for r in results),
    }


def _article_counts(r: ArticleResult, linker: Callable | None) -> dict[str, tuple]:
    """(tp, gold, predicted) of one article for every score: span groups, nervaluate schemes, labels, frames."""
    gold, pred = r.doc.spans, r.extraction.spans
    gk = {(s.start, s.end, s.label) for s in gold}
    pk = {(s.start, s.end, s.label) for s in pred}
    out: dict[str, tuple] = {}
    for group, labels in GROUP_LABELS.items():
        g = {x for x in gk if x[2] in labels}
        p = {x for x in pk if x[2] in labels}
        out[f"spans.{group}"] = (len(g & p), len(g), len(p))
        ner = nervaluate_counts([gold], [pred], labels)["overall"]
        for scheme in SCHEMES:
            c = ner[scheme]
            out[f"nervaluate.{group}.{scheme}"] = (_ner_tp(c, scheme), c["possible"], c["actual"])
    for lab in ENTITY_LABELS + EVENT_LABELS:
        g = {x for x in gk if x[2] == lab}
        p = {x for x in pk if x[2] == lab}
        out[f"label.{lab}"] = (len(g & p), len(g), len(p))
    for name, c in frame_counts(r, linker).items():
        out[name] = tuple(c)
    return out


def _count_buckets(r: ArticleResult, seen: set[str], buckets: dict[str, dict[str, Counter]]) -> None:
    """Add the article's gold and predicted spans to the length and seen-in-training buckets."""
    gk = {(s.start, s.end, s.label) for s in r.doc.spans}
    pk = {(s.start, s.end, s.label) for s in r.extraction.spans}
    for s, is_gold in [(s, True) for s in r.doc.spans] + [(s, False) for s in r.extraction.spans]:
        hit = (s.start, s.end, s.label) in (pk if is_gold else gk)
        text = r.doc.text[s.start:s.end]
        for axis, b in (("length", length_bucket(len(tokenize(text)))),
                        ("seen_in_training", ("seen" if _mention(text) in seen else "unseen") if seen else "unknown")):
            c = buckets[axis].setdefault(b, Counter())
            c["tp_gold" if is_gold else "tp_pred"] += hit
            c["gold" if is_gold else "predicted"] += 1


def _bootstrap_note(n: int, resamples: int, seed: int) -> str:
    if n < 2:
        return "One article only: no interval can be estimated; the scores may be far from those on other articles."
    return (f"95% bootstrap intervals over {n} articles, {resamples} resamples (seed {seed}). "
            + (f"With only {n} articles the intervals are wide: resampling so few articles cannot say much "
               "about articles not yet seen." if n < WIDE_BELOW else ""))


def _int(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(float(x), 4)


def _bucket_scores(c: Counter) -> dict:
    return {**prf(c["tp_gold"], c["gold"], c["predicted"], tp_pred=c["tp_pred"], digits=4),
            "gold": c["gold"], "predicted": c["predicted"]}
