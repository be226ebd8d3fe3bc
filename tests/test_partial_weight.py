"""Per-source loss weights (``weight`` of a ``data.conll`` entry): the loss, the config, the windows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from indoevent.annotation.conll import read_conll
from indoevent.model.config import ConfigError, ConllSource, DataConfig, from_dict
from indoevent.model.data import Collator, encode_articles, load_corpus
from indoevent.model.partial import one_hot_mask, partial_nll
from indoevent.schema import bio_tags

SAMPLE = Path(__file__).parent / "data" / "nerp_sample.txt"
NERP_MAP = {"PPL": "PER", "PLC": ["GPE", "LOC"], "IND": "ORG", "EVT": None, "FNB": None}
TAGS = bio_tags()


def test_weighted_loss_matches_a_hand_computed_value():
    torch = pytest.importorskip("torch")
    # window 0 (a gold window, weight 1): softmax(0, 0, ln 2) = (1/4, 1/4, 1/2), tag 2 -> -log(1/2) = ln 2
    # window 1 (a NERP window, weight 0.3): softmax(ln 3, 0, 0) = (3/5, 1/5, 1/5), tag 1 -> ln 5, and
    #   a position with no allowed tag (a special token), left out of the count
    logits = torch.tensor([[[0.0, 0.0, math.log(2)], [1.0, 2.0, 3.0]],
                           [[math.log(3), 0.0, 0.0], [5.0, -1.0, 2.0]]])
    mask = torch.tensor([[[False, False, True], [False, False, False]],
                         [[False, True, False], [False, False, False]]])
    weights = torch.tensor([1.0, 0.3])
    # divided by the 2 labelled positions, not by the weights' sum 1.3
    assert partial_nll(logits, mask, weights).item() == pytest.approx((math.log(2) + 0.3 * math.log(5)) / 2, abs=1e-6)
    assert partial_nll(logits, mask, torch.ones(2)).item() == pytest.approx(partial_nll(logits, mask).item())
    # a batch of one source only: the weight scales its loss, and so its gradient
    assert partial_nll(logits[1:], mask[1:], weights[1:]).item() == pytest.approx(0.3 * math.log(5), abs=1e-6)


def test_one_hot_masks_from_labels_give_the_cross_entropy():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 6, len(TAGS), generator=g)
    labels = torch.randint(0, len(TAGS), (2, 6), generator=g)
    labels[:, 0] = -100
    labels[1, 3:] = -100
    mask = one_hot_mask(labels, len(TAGS))
    assert torch.equal(mask.any(-1), labels >= 0) and int(mask.sum()) == int((labels >= 0).sum())
    ce = torch.nn.functional.cross_entropy(logits.view(-1, len(TAGS)), labels.view(-1))
    assert partial_nll(logits, mask).item() == pytest.approx(ce.item(), rel=1e-6)


def test_config_takes_a_weight_for_training_sources_only():
    cfg = from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt", "weight": 0.3}]}})
    assert cfg.data.conll[0].weight == 0.3
    assert from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt"}]}}).data.conll[0].weight == 1.0
    with pytest.raises(ConfigError, match=r"data.conll\[0\].weight must be > 0, got 0.0"):
        from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt", "weight": 0}]}})
    with pytest.raises(ConfigError, match=r"data.conll\[0\].weight is for training sources; a dev source"):
        from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt", "split": "dev", "weight": 0.5}]}})
    with pytest.raises(ConfigError, match=r"data.conll\[0\].weight: expected a number, got 'x'"):
        from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt", "weight": "x"}]}})


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from indoevent.model.tiny import ensure_tiny_bert

    root = Path(__file__).resolve().parents[1]
    return AutoTokenizer.from_pretrained(ensure_tiny_bert(root / "models" / "_base" / "tiny-bert", root / "seeds"))


def _gold():
    from indoevent.annotation.convert import document_to_article
    from indoevent.document import Document, Span

    doc = Document("gold", "Presiden Joko Widodo bertemu Putin di Moskow",
                   [Span(9, 20, "PER"), Span(21, 28, "CONSULT"), Span(29, 34, "PER")])
    return document_to_article(doc)[0]


def test_corpus_and_windows_carry_each_sources_weight(tokenizer):
    corpus = load_corpus(DataConfig(export=None, conll=[ConllSource(str(SAMPLE), "train", NERP_MAP, weight=0.3)]))
    nerp = corpus.extra["train"]
    assert corpus.weights == {a.doc_id: 0.3 for a in nerp} and len(nerp) > 1
    assert corpus.report["conll"][0]["weight"] == 0.3
    f = encode_articles(tokenizer, [_gold(), nerp[0]], max_length=16, overlap=4, weights=corpus.weights)
    assert [f[i]["weight"] for i in range(len(f))] == [1.0 if a == 0 else 0.3 for a, _ in f.index]
    batch = Collator(tokenizer.pad_token_id)([f[i] for i in range(len(f))])
    assert batch["loss_weight"].tolist() == pytest.approx([1.0 if a == 0 else 0.3 for a, _ in f.index])
    # unweighted: no column, no loss_weight, the windows (and their cache) as before
    plain = encode_articles(tokenizer, [_gold(), nerp[0]], max_length=16, overlap=4, weights={"other": 0.5})
    assert "weight" not in plain[0] and "loss_weight" not in Collator(tokenizer.pad_token_id)([plain[0]])


@pytest.mark.slow
def test_the_trainer_weighs_full_and_partial_windows(untrained_run):
    """The trainer's loss on a weighted batch: weight 1 everywhere gives the model's own cross-entropy
    (full labels, no mask) and the partial loss (with masks); a single-source batch of weight 0.3 gives
    0.3 times its unweighted loss."""
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from indoevent.model.trainer import _trainer_class

    tokenizer = AutoTokenizer.from_pretrained(untrained_run)
    model = AutoModelForTokenClassification.from_pretrained(untrained_run).eval()
    loss = _trainer_class().compute_loss  # the loss branch reads nothing of self
    full, _ = read_conll(SAMPLE, {**NERP_MAP, "PLC": "LOC"}, labels="all")
    partial, _ = read_conll(SAMPLE, NERP_MAP)
    for arts, own in ((full[:2], "labels"), (partial[:2], "label_mask")):
        f = encode_articles(tokenizer, arts, max_length=32, overlap=8, weights={a.doc_id: 1.0 for a in arts[:1]})
        ones = Collator(tokenizer.pad_token_id)([f[i] for i in range(len(f))])
        assert "loss_weight" in ones and ("label_mask" in ones) == (own == "label_mask")
        unweighted = {k: v for k, v in ones.items() if k != "loss_weight"}
        scaled = {**ones, "loss_weight": torch.full_like(ones["loss_weight"], 0.3)}
        with torch.no_grad():
            reference = model(**unweighted).loss if own == "labels" else loss(None, model, unweighted)
            assert loss(None, model, ones).item() == pytest.approx(reference.item(), rel=1e-5)
            assert loss(None, model, scaled).item() == pytest.approx(0.3 * reference.item(), rel=1e-5)


@pytest.mark.slow
def test_the_trainers_batches_carry_masks_and_weights(untrained_run, tmp_path):
    """What the Trainer's own dataloader hands compute_loss: the partial mask and the source weight
    survive (the Trainer strips row keys that model.forward does not name unless told not to)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from indoevent.model.trainer import make_trainer
    from scaffold import tiny_config

    tokenizer = AutoTokenizer.from_pretrained(untrained_run)
    model = AutoModelForTokenClassification.from_pretrained(untrained_run)
    nerp, _ = read_conll(SAMPLE, NERP_MAP)
    f = encode_articles(tokenizer, [_gold(), *nerp[:2]], max_length=32, overlap=8,
                        weights={a.doc_id: 0.3 for a in nerp})
    trainer, _ = make_trainer(tiny_config(), model, tokenizer, f, None, tmp_path / "ck")
    batch = next(iter(trainer.get_train_dataloader()))
    assert {"label_mask", "loss_weight", "labels", "input_ids"} <= set(batch)
    assert sorted(set(batch["loss_weight"].tolist())) == pytest.approx([0.3, 1.0])
