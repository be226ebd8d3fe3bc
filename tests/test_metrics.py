"""Strict character-span scores, checked against hand-computed values and an independent count."""

from __future__ import annotations

import random

import pytest

from indoevent.document import Document, Span
from indoevent.model.metrics import cv_table, flat, score_spans, seqeval_f1, summarize, table
from indoevent.schema import ENTITY_LABELS, EVENT_LABELS
from indoevent.text.iob import tags_to_word_spans


def spans(tags: list[str]) -> list[Span]:
    """Spans of word tags over words of one character each, one space apart ("a b c ...")."""
    return [Span(2 * i, 2 * j - 1, label) for i, j, label in tags_to_word_spans(tags)]


def test_hand_computed_example():
    # "Presiden Joko Widodo ke Jakarta , bertemu ..." with one spurious GPE and a wrong trigger type.
    gold = [spans(["B-PER", "I-PER", "O", "B-GPE", "O", "B-CONSULT"])]
    pred = [spans(["B-PER", "I-PER", "O", "B-GPE", "B-GPE", "B-AGREE"])]
    m = score_spans(gold, pred)
    ent, trg, al = m["entities"], m["triggers"], m["all"]
    # entities: gold PER, GPE; predicted PER, GPE, GPE; 2 correct
    assert ent["micro"]["precision"] == pytest.approx(2 / 3)
    assert ent["micro"]["recall"] == pytest.approx(1.0)
    assert ent["micro"]["f1"] == pytest.approx(0.8)
    assert (ent["micro"]["support"], ent["micro"]["predicted"]) == (2, 3)
    assert ent["labels"]["PER"]["f1"] == pytest.approx(1.0)
    assert ent["labels"]["GPE"]["precision"] == pytest.approx(0.5)
    assert ent["labels"]["GPE"]["f1"] == pytest.approx(2 / 3)
    assert ent["macro"]["f1"] == pytest.approx((1 + 2 / 3) / 2)
    # triggers: CONSULT predicted as AGREE: nothing right, both labels count for macro
    assert trg["micro"]["f1"] == 0.0
    assert set(trg["labels"]) == {"CONSULT", "AGREE"}
    assert trg["labels"]["AGREE"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 1}
    # all: 2 of 4 predicted are right, 2 of 3 gold found
    assert al["micro"]["precision"] == pytest.approx(0.5)
    assert al["micro"]["recall"] == pytest.approx(2 / 3)
    assert al["micro"]["f1"] == pytest.approx(4 / 7)


def test_strict_boundaries():
    # A span one character short is both a false positive and a false negative.
    m = score_spans([[Span(0, 7, "GPE", "Amerika")]], [[Span(0, 9, "GPE", "Amerikaku")]])
    assert m["all"]["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 1}


def test_a_gold_span_inside_a_word_is_missed():
    # "⟦Amerika⟧ku": prediction sees the word "Amerikaku" and finds nothing else; the gold span counts as missed.
    m = score_spans([[Span(0, 7, "GPE"), Span(10, 15, "PER")]], [[Span(10, 15, "PER")]])
    assert m["entities"]["micro"]["support"] == 2 and m["entities"]["micro"]["recall"] == 0.5
    assert m["entities"]["labels"]["GPE"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1,
                                              "predicted": 0}


def test_articles_are_separate():
    # The same offsets in two articles are two spans, matched only within their article.
    m = score_spans([[Span(0, 5, "PER")], [Span(0, 5, "PER")]], [[Span(0, 5, "PER")], []])
    assert (m["entities"]["micro"]["support"], m["entities"]["micro"]["predicted"]) == (2, 1)
    assert m["entities"]["micro"]["precision"] == 1.0 and m["entities"]["micro"]["recall"] == 0.5


def test_nothing_to_find_and_nothing_found_has_no_score():
    m = score_spans([[]], [[]])
    for group in ("all", "entities", "triggers"):
        assert m[group]["micro"]["f1"] is None and m[group]["labels"] == {}
    assert flat(m)["f1"] == 0.0
    # Entities only: the trigger group has no score, the entity group has one.
    m = score_spans([[Span(0, 5, "PER")]], [[Span(0, 5, "PER")]])
    assert m["entities"]["micro"]["f1"] == 1.0 and m["triggers"]["micro"]["f1"] is None


def test_article_counts_must_match():
    with pytest.raises(ValueError, match="gold articles"):
        score_spans([[]], [])


def _random_tags(rng: random.Random, n: int) -> list[str]:
    labels = list(ENTITY_LABELS) + list(EVENT_LABELS[:4])
    return [rng.choice(["O", "O", "O", f"B-{rng.choice(labels)}", f"I-{rng.choice(labels)}"]) for _ in range(n)]


def test_agrees_with_an_independent_span_count():
    rng = random.Random(7)
    gold = [_random_tags(rng, rng.randint(5, 60)) for _ in range(30)]
    pred = [_random_tags(rng, len(g)) if k % 3 else list(g) for k, g in enumerate(gold)]
    m = score_spans([spans(g) for g in gold], [spans(p) for p in pred])

    def keyed(seqs):
        return {(k, i, j, lab) for k, s in enumerate(seqs) for i, j, lab in tags_to_word_spans(s)}

    for group, labels in (("entities", set(ENTITY_LABELS)), ("triggers", set(EVENT_LABELS))):
        g = {s for s in keyed(gold) if s[3] in labels}
        p = {s for s in keyed(pred) if s[3] in labels}
        tp = len(g & p)
        assert m[group]["micro"]["precision"] == pytest.approx(tp / len(p))
        assert m[group]["micro"]["recall"] == pytest.approx(tp / len(g))
        for lab in labels:
            gl, pl = {s for s in g if s[3] == lab}, {s for s in p if s[3] == lab}
            if gl or pl:
                assert m[group]["labels"][lab]["support"] == len(gl)
                assert m[group]["labels"][lab]["recall"] == pytest.approx(len(gl & pl) / len(gl) if gl else 0)


def test_seqeval_equals_the_span_f1_on_word_aligned_gold():
    """seqeval's default (conlleval) micro F1 over the words' IOB2 tags is the strict span F1 when every
    gold span starts and ends on a word edge (CoNLL gold, NERP, NERGrit); a gold span inside a word is
    missed by the span F1 and absent from the word tags."""
    rng = random.Random(11)
    gold = [_random_tags(rng, rng.randint(5, 60)) for _ in range(30)]
    pred = [_random_tags(rng, len(g)) if k % 3 else list(g) for k, g in enumerate(gold)]
    gold_docs = [Document(f"a{k}", " ".join("w" * len(g)), spans(g)) for k, g in enumerate(gold)]
    pred_docs = [Document(f"a{k}", d.text, spans(p)) for k, (d, p) in enumerate(zip(gold_docs, pred, strict=True))]
    m, words = score_spans([d.spans for d in gold_docs], [d.spans for d in pred_docs]), seqeval_f1(gold_docs, pred_docs)
    for group in ("all", "entities", "triggers"):
        assert words[group] == pytest.approx(m[group]["micro"]["f1"], abs=1e-12)
    assert 0 < words["all"] < 1
    # "Amerikaku": the gold GPE cuts the word; spans miss it, seqeval never sees it.
    doc = Document("b", "Amerikaku menolak", [Span(0, 7, "GPE"), Span(10, 17, "REJECT")])
    found = Document("b", doc.text, [Span(10, 17, "REJECT")])
    assert score_spans([doc.spans], [found.spans])["all"]["micro"]["f1"] == pytest.approx(2 / 3)
    assert seqeval_f1([doc], [found]) == {"all": 1.0, "entities": None, "triggers": 1.0}


def test_summarize_mean_std_and_missing_labels():
    per, consult = Span(0, 5, "PER"), Span(6, 13, "CONSULT")
    folds = [score_spans([[per, consult]], [[per, consult]]),   # PER 1, CONSULT 1
             score_spans([[per]], [[]]),                        # PER 0, no CONSULT anywhere
             score_spans([[per, consult]], [[per]])]            # PER 1, CONSULT 0
    s = summarize(folds)
    f1 = s["entities"]["labels"]["PER"]["f1"]
    assert f1["mean"] == pytest.approx(2 / 3, abs=1e-4) and f1["n"] == 3
    assert f1["std"] == pytest.approx(0.5774, abs=1e-4)  # sample std of (1, 0, 1)
    assert s["triggers"]["labels"]["CONSULT"]["f1"] == {"mean": 0.5, "std": 0.7071, "n": 2}  # fold 2 not counted
    assert s["triggers"]["labels"]["CONSULT"]["support"] == 2
    assert s["all"]["micro"]["f1"]["n"] == 3


def test_tables_render_every_label():
    m = score_spans([[Span(0, 5, "PER"), Span(6, 13, "CONSULT")]], [[Span(0, 5, "PER")]])
    t = table(m)
    assert "| entities | PER | 1.000 | 1.000 | 1.000 | 1 | 1 |" in t
    assert "| triggers | CONSULT | 0.000 | 0.000 | 0.000 | 1 | 0 |" in t
    assert "**micro**" in t and "**macro**" in t
    c = cv_table(summarize([m, m]))
    assert "| entities | PER | 1.000 ± 0.000 (2)" in c
