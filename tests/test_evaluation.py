"""`indoevent evaluate`: scores through the extraction path, error classes, intervals, frames, the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from indoevent.annotation.lsexport import read_export
from indoevent.cli import main
from indoevent.document import Document, Span
from indoevent.evaluation import evaluate
from indoevent.evaluation.analysis import bootstrap, nervaluate_counts, span_errors
from indoevent.events.extractor import shipped_linker
from indoevent.events.linker_eval import evaluate_linker
from indoevent.schema import ENTITY_LABELS, EVENT_LABELS

ROOT = Path(__file__).resolve().parents[1]
SEED_EXPORT = ROOT / "annotations" / "seeds.json"


@pytest.fixture(scope="module")
def report(eval_run):
    return evaluate(eval_run, [SEED_EXPORT])


@pytest.mark.slow
def test_scores_equal_an_independent_count_over_extract_output(eval_run, tmp_path, capsys):
    """The issue's check: `indoevent evaluate` against exact character-span matches counted by hand
    between `indoevent extract` JSONL and the gold export."""
    out = tmp_path / "x.jsonl"
    assert main(["extract", str(ROOT / "seeds"), "--model", str(eval_run), "--out", str(out), "--no-progress"]) == 0
    pred = {d["id"]: {(s["start"], s["end"], s["label"]) for s in d["entities"] + d["triggers"]}
            for d in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    gold = {d.doc_id: {(s.start, s.end, s.label) for s in d.spans} for d in read_export(SEED_EXPORT).documents}
    assert set(pred) == set(gold)
    m_dir = tmp_path / "rep"
    assert main(["evaluate", str(eval_run), "--data", str(SEED_EXPORT), "--out", str(m_dir), "--resamples", "50"]) == 0
    assert "| all | **micro** |" in capsys.readouterr().out
    m = json.loads((m_dir / "metrics.json").read_text(encoding="utf-8"))
    for group, labels in (("all", ENTITY_LABELS + EVENT_LABELS), ("entities", ENTITY_LABELS), ("triggers", EVENT_LABELS)):
        tp = sum(len({x for x in gold[i] & pred[i] if x[2] in labels}) for i in gold)
        n_gold = sum(len({x for x in gold[i] if x[2] in labels}) for i in gold)
        n_pred = sum(len({x for x in pred[i] if x[2] in labels}) for i in gold)
        micro = m["spans"][group]["micro"]
        assert (micro["support"], micro["predicted"]) == (n_gold, n_pred)
        assert micro["precision"] == pytest.approx(tp / n_pred) and micro["recall"] == pytest.approx(tp / n_gold)
    for label, v in m["spans"]["all"]["labels"].items():
        tp = sum(len({x for x in gold[i] & pred[i] if x[2] == label}) for i in gold)
        assert v["precision"] == pytest.approx(tp / v["predicted"] if v["predicted"] else 0.0), label
    assert 0 < m["spans"]["all"]["micro"]["f1"] < 1  # a real mix of hits and errors, or the check means little


@pytest.mark.slow
def test_gold_span_that_cuts_a_word_is_missed(eval_run):
    text = "Presiden Vladimir Putin bertemu Kim Jong Un di Amerikaku pada Rabu (3/9/2025)."
    a = text.index("Amerika")
    doc = Document("cut", text, [Span(a, a + 7, "GPE", "Amerika", id="e1")])
    r = evaluate(eval_run, [doc], resamples=0)
    assert r.metrics["spans"]["entities"]["labels"]["GPE"]["recall"] == 0.0
    (err,) = [e for e in r.metrics["per_article"][0]["errors"] if e["gold"]]
    assert err["kind"] == "missed" or err["boundary"] == "gold cuts a word"


def test_error_classes():
    text = "Presiden Vladimir Putin bertemu Kim di Beijing dan Moskow kemarin"
    def sp(word, label):
        a = text.index(word)
        return Span(a, a + len(word), label, word)
    doc = Document("d", text, [sp("Vladimir Putin", "PER"), sp("bertemu", "CONSULT"), sp("Kim", "PER"),
                               sp("Beijing", "GPE"), sp("Moskow", "GPE")])
    pred = [sp("Presiden Vladimir Putin", "PER"), sp("bertemu", "CONSULT"), sp("Kim", "ORG"),
            sp("Beijing dan Moskow", "LOC"), sp("kemarin", "DATE")]
    correct, errors = span_errors(doc, pred)
    assert [s.text for s in correct] == ["bertemu"]
    got = sorted((e.kind, e.boundary, (e.gold or e.pred).text) for e in errors)
    assert got == [("boundary", "title word", "Vladimir Putin"), ("boundary+label", "other", "Beijing"),
                   ("label", None, "Kim"), ("missed", None, "Moskow"), ("spurious", None, "kemarin")]


@pytest.mark.slow
def test_nervaluate_counts_add_up_over_articles(report):
    golds = [r.doc.spans for r in report.articles]
    preds = [r.extraction.spans for r in report.articles]
    whole = nervaluate_counts(golds, preds, ENTITY_LABELS)["overall"]
    parts = [nervaluate_counts([g], [p], ENTITY_LABELS)["overall"] for g, p in zip(golds, preds, strict=True)]
    for scheme, c in whole.items():
        for k in ("correct", "incorrect", "partial", "missed", "spurious"):
            assert c[k] == sum(p[scheme][k] for p in parts)
        assert c["correct"] + c["incorrect"] + c["partial"] + c["missed"] == c["possible"]
    # nervaluate's strict scheme is the strict span score.
    assert whole["strict"]["f1"] == pytest.approx(report.metrics["spans"]["entities"]["micro"]["f1"], abs=1e-4)


def test_bootstrap_is_seeded_and_honest():
    rng = np.random.default_rng(0)
    gold = rng.integers(1, 20, size=40)
    tp = rng.binomial(gold, 0.6)
    counts = {"x": np.stack([tp, gold, gold], axis=1).astype(float)}
    a, b = bootstrap(counts, 300, seed=1), bootstrap(counts, 300, seed=1)
    assert a == b and a != bootstrap(counts, 300, seed=2)
    lo, hi = a["x"]["recall"]
    assert lo < tp.sum() / gold.sum() < hi and hi - lo < 0.3
    few = bootstrap({"x": counts["x"][:3]}, 300, seed=1)["x"]["recall"]
    assert few[1] - few[0] > hi - lo  # three articles: a wider interval than forty
    one = bootstrap({"x": np.array([[3, 4, 5]], dtype=float)}, 50, seed=0)["x"]
    assert one["precision"] == [0.6, 0.6]  # one article: every resample is that article


@pytest.mark.slow
def test_report_metrics(report):
    m = report.metrics
    assert m["bootstrap"]["resamples"] == 1000 and m["bootstrap"]["wide"] and "wide" in m["bootstrap"]["note"]
    for name in ("spans.all", "spans.entities", "spans.triggers", "triggers.classification",
                 "arguments.predicted_triggers.classification", "arguments.gold_triggers.classification"):
        assert set(m["intervals"][name]) == {"precision", "recall", "f1"}, name
    assert m["trained_on"] == sorted(set(m["articles"]) - {"004_81279350a79d8947"})
    assert set(m["buckets"]["seen_in_training"]) <= {"seen", "unseen"} and m["buckets"]["seen_in_training"]
    conf = np.asarray(m["confusion"]["matrix"])
    assert conf.shape == (len(m["confusion"]["labels"]),) * 2 and m["confusion"]["labels"][0] == "O"
    assert [a["f1"] for a in m["per_article"]] == sorted(a["f1"] for a in m["per_article"])  # worst first
    n_err = sum(len(a["errors"]) for a in m["per_article"])
    assert n_err == sum(m["errors"]["all"]["by_kind"].values())


@pytest.mark.slow
def test_arguments_on_gold_triggers_and_entities_are_the_linkers_scores(report):
    docs = [r.doc for r in report.articles]
    expected = evaluate_linker(docs, shipped_linker())["classification"]  # the default linker
    got = report.metrics["frames"]["arguments.gold_triggers_gold_entities.classification"]
    assert (got["precision"], got["recall"], got["f1"]) == pytest.approx(
        (expected["precision"], expected["recall"], expected["f1"]), abs=1e-4)


@pytest.mark.slow
def test_report_html_is_self_contained(report, tmp_path):
    out = report.write(tmp_path / "r")
    html = (out / "report.html").read_text(encoding="utf-8")
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert len(re.findall(r'<mark class="span ', html)) == m["highlighted_spans"]
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from the network
    assert html.count('src="data:image/png;base64,') >= 2  # the F1 chart and the confusion heatmap
    assert html.count('<details class="article"') == len(m["articles"])


@pytest.mark.slow
def test_cli_evaluate_old_flags_and_errors(eval_run, tmp_path, capsys):
    assert main(["evaluate", str(eval_run), "--export", str(SEED_EXPORT), "--articles", "nope"]) == 1
    assert "unknown article id" in capsys.readouterr().err
    assert main(["evaluate", str(eval_run)]) == 1
    assert "--data" in capsys.readouterr().err
    out = tmp_path / "m.json"
    assert main(["evaluate", str(eval_run), "--export", str(SEED_EXPORT), "--resamples", "10", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["spans"]["all"]["micro"]["support"] > 0
    assert "were in this model's training data" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_evaluations_runs_and_cv_folders(report, eval_run, tmp_path, capsys):
    ev = report.write(tmp_path / "ev")
    # A cross-validation folder as `train --cv` writes it: metrics.json with "cv", pooled predictions per article.
    cv = tmp_path / "tiny-cv"
    cv.mkdir()
    (cv / "metrics.json").write_text(json.dumps({"cv": {"k": 2}}))
    def sp(a, b, label):
        return {"start": a, "end": b, "label": label, "text": ""}

    rows = [{"fold": 0, "doc_id": "a", "gold": [sp(0, 5, "PER"), sp(6, 13, "CONSULT"), sp(14, 17, "PER")],
             "pred": [sp(0, 5, "PER"), sp(6, 13, "CONSULT")]},
            {"fold": 1, "doc_id": "b", "gold": [sp(0, 2, "PER")], "pred": [sp(0, 2, "PER")]}]
    (cv / "predictions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "c.html"
    assert main(["compare", str(ev), str(eval_run), str(cv), "--out", str(out), "--resamples", "100"]) == 0
    table = capsys.readouterr().out
    assert "| ev | evaluation | 5 |" in table and "| tiny-4 (test) | run |" in table
    micro = report.metrics["spans"]["all"]["micro"]["f1"]
    assert f"| {micro:.3f} [" in table  # the evaluation's score with its interval
    # Entities: 2 of 3 PER found, none wrong (F1 0.8); triggers 1 of 1; all: 3 of 4 (F1 0.857).
    assert "| tiny-cv | cv | 2 | 0.800 [" in table and "| 1.000 [1.00, 1.00] | 0.857 [" in table
    html = out.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 1 and "<table>" in html
    assert main(["compare", str(tmp_path / "nothing")]) == 1
