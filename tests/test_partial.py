"""Partial labels: the loss over allowed tags, NER-only sources, windows' masks and dev scores."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from indoevent.annotation.conll import ConllError, read_conll
from indoevent.document import Document, Span
from indoevent.model.config import ConfigError, from_dict
from indoevent.model.data import Collator, encode_articles
from indoevent.model.metrics import score_articles
from indoevent.model.partial import partial_nll
from indoevent.schema import EVENT_LABELS, bio_tags

SAMPLE = Path(__file__).parent / "data" / "nerp_sample.txt"
NERP_MAP = {"PPL": "PER", "PLC": ["GPE", "LOC"], "IND": "ORG", "EVT": None, "FNB": None}
TAGS = bio_tags()


def test_partial_loss_matches_a_hand_computed_value():
    torch = pytest.importorskip("torch")
    # position 0: softmax(0, 0, ln 2) = (1/4, 1/4, 1/2); tags 0 or 1 allowed -> -log(1/2) = ln 2
    # position 1: softmax(ln 3, 0, 0) = (3/5, 1/5, 1/5); tag 1 only -> -log(1/5) = ln 5
    # position 2: no tag allowed (a special token): left out of the mean
    logits = torch.tensor([[[0.0, 0.0, math.log(2)], [math.log(3), 0.0, 0.0], [5.0, -1.0, 2.0]]])
    mask = torch.tensor([[[True, True, False], [False, True, False], [False, False, False]]])
    assert partial_nll(logits, mask).item() == pytest.approx((math.log(2) + math.log(5)) / 2, abs=1e-6)
    # every tag allowed: nothing to learn there
    assert partial_nll(logits[:, :1], torch.ones(1, 1, 3, dtype=torch.bool)).item() == pytest.approx(0, abs=1e-6)


def test_one_hot_masks_give_the_cross_entropy():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 7, len(TAGS), generator=g)
    labels = torch.randint(0, len(TAGS), (3, 7), generator=g)
    labels[:, 0] = -100
    labels[1, 4:] = -100
    mask = torch.zeros_like(logits, dtype=torch.bool)
    keep = labels >= 0
    mask[keep] = torch.nn.functional.one_hot(labels[keep], len(TAGS)).bool()
    ce = torch.nn.functional.cross_entropy(logits.view(-1, len(TAGS)), labels.view(-1))
    assert partial_nll(logits, mask).item() == pytest.approx(ce.item(), rel=1e-6)


def test_nerp_words_allow_what_the_source_does_not_annotate():
    arts, rep = read_conll(SAMPLE, NERP_MAP)
    assert rep.annotated == ["GPE", "LOC", "ORG", "PER"]
    first = arts[0]  # "kepala dinas tata kota manado amos kenda menyatakan ..."
    assert first.annotated == frozenset({"PER", "ORG", "GPE", "LOC"})
    assert first.tokens[4:7] == ["manado", "amos", "kenda"]
    assert first.allowed[4] == ("B-GPE", "B-LOC")       # PLC: a GPE or a LOC
    assert first.allowed[5:7] == [("B-PER",), ("I-PER",)]
    o_word = set(first.allowed[0])                      # "kepala": O, DATE or any trigger
    assert o_word == {"O", "B-DATE", "I-DATE"} | {f"{p}-{e}" for e in EVENT_LABELS for p in "BI"}
    assert not o_word & {"B-PER", "I-PER", "B-ORG", "B-GPE", "B-LOC"}
    assert first.tags[4] == "B-GPE"                     # the tag kept for the word is the first choice


def test_labels_all_keeps_full_labels_and_lists_are_checked(tmp_path):
    arts, rep = read_conll(SAMPLE, {**NERP_MAP, "PLC": "LOC"}, labels="all")
    assert rep.annotated is None and all(a.allowed is None and a.annotated is None for a in arts)
    arts, _ = read_conll(SAMPLE, {**NERP_MAP, "PLC": "LOC"}, labels=["PER", "ORG", "GPE", "LOC", "DATE"])
    assert "B-DATE" not in arts[0].allowed[0] and "B-AGREE" in arts[0].allowed[0]
    with pytest.raises(ConllError, match=r"nerp_sample.txt: labels: 'PERSON' is not a project label"):
        read_conll(SAMPLE, NERP_MAP, labels=["PERSON"])


def test_config_takes_labels_and_refuses_a_set_for_a_scored_source():
    cfg = from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt", "labels": ["PER"],
                                                          "label_map": {"PLC": ["GPE", "LOC"]}}]}})
    assert cfg.data.conll[0].labels == ["PER"] and cfg.data.conll[0].label_map == {"PLC": ["GPE", "LOC"]}
    with pytest.raises(ConfigError, match=r"data.conll\[0\]: a dev source maps a label to several"):
        from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt", "split": "dev",
                                                        "label_map": {"PLC": ["GPE", "LOC"]}}]}})
    with pytest.raises(ConfigError, match=r"data.conll\[0\].labels must be null, all or a list"):
        from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt", "labels": "some"}]}})
    with pytest.raises(ConfigError, match=r"data.conll\[0\]: give one of path and hf"):
        from_dict({"run_name": "x", "data": {"conll": [{"path": "n.txt", "hf": "indonlp/indonlu"}]}})
    assert from_dict({"run_name": "x", "data": {"conll": [{"hf": "indonlp/indonlu", "hf_config": "nerp"}]}})


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from indoevent.model.tiny import ensure_tiny_bert

    root = Path(__file__).resolve().parents[1]
    return AutoTokenizer.from_pretrained(ensure_tiny_bert(root / "models" / "_base" / "tiny-bert", root / "seeds"))


def _gold(text: str = "Presiden Joko Widodo bertemu Putin di Moskow") -> list:
    from indoevent.annotation.convert import document_to_article

    doc = Document("gold", text, [Span(9, 20, "PER"), Span(21, 28, "CONSULT"), Span(29, 34, "PER")])
    return document_to_article(doc)[0]


def test_windows_carry_one_hot_masks_for_gold_and_sets_for_partial_words(tokenizer):
    torch = pytest.importorskip("torch")
    gold = _gold()
    nerp, _ = read_conll(SAMPLE, NERP_MAP)
    f = encode_articles(tokenizer, [gold, nerp[0]], max_length=32, overlap=8)
    rows = [f[i] for i in range(len(f))]
    batch = Collator(tokenizer.pad_token_id)(rows)
    mask, labels = batch["label_mask"], batch["labels"]
    assert mask.shape == (*labels.shape, len(TAGS))
    labelled = labels >= 0
    # every labelled position has an allowed tag, and only those: specials and later sub-words have none
    assert torch.equal(mask.any(-1), labelled)
    # gold windows: exactly the labelled tag (so their loss is the cross-entropy)
    gold_rows = [i for i, (a, _) in enumerate(f.index) if a == 0]
    for i in gold_rows:
        assert torch.equal(mask[i][labelled[i]], torch.nn.functional.one_hot(labels[i][labelled[i]], len(TAGS)).bool())
    # the NERP sentence's first word ("kepala", O): O, DATE or a trigger; never PER
    i = next(i for i, (a, k) in enumerate(f.index) if a == 1 and k == 0)
    first = labelled[i].nonzero()[0].item()
    allowed = {TAGS[t] for t in mask[i, first].nonzero().flatten().tolist()}
    assert allowed == set(nerp[0].allowed[0])


def test_full_label_articles_have_no_mask(tokenizer):
    f = encode_articles(tokenizer, [_gold()], max_length=32, overlap=8)
    assert "label_bits" not in f[0]
    assert "label_mask" not in Collator(tokenizer.pad_token_id)([f[0]])


def test_dev_scores_count_only_annotated_labels():
    nerp, _ = read_conll(SAMPLE, {**NERP_MAP, "PLC": "LOC"})
    art = nerp[2]  # "anda bisa memesan croissant ..." (FNB dropped: no span at all)
    assert art.annotated is not None and not art.spans

    def predict(texts, ids):  # finds a trigger the source never annotates, and a wrong person
        return [Document(i, t, [Span(5, 9, "CONSULT"), Span(0, 4, "PER")]) for t, i in zip(texts, ids, strict=True)]

    m, _ = score_articles(predict, [art])
    assert m["triggers"]["micro"]["predicted"] == 0   # the trigger is neither right nor wrong here
    assert m["entities"]["micro"]["predicted"] == 1   # the person is a false positive


@pytest.mark.slow
def test_training_with_a_partial_source_gives_an_ordinary_run(tmp_path):
    import json

    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    from indoevent.model.train import train
    from scaffold import tiny_config

    cfg = tiny_config(**{"train.max_steps": 4, "train.runtime_gate": False,
                         "data.conll": [{"path": str(SAMPLE), "label_map": NERP_MAP}]})
    out = train(cfg, tmp_path / "r")
    info = json.loads((out / "run_info.json").read_text())
    assert info["data"]["sources"]["conll"][0]["annotated_labels"] == ["GPE", "LOC", "ORG", "PER"]
    losses = [h["loss"] for h in json.loads((out / "metrics.json").read_text())["history"] if "loss" in h]
    assert losses and all(math.isfinite(x) and x > 0 for x in losses)
    model = AutoModelForTokenClassification.from_pretrained(out)
    assert model.config.num_labels == len(TAGS)
    ner = pipeline("token-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(out))
    assert isinstance(ner("Presiden Joko Widodo bertemu Putin."), list)


@pytest.mark.slow
def test_a_datasets_source_reads_as_the_column_file(tmp_path):
    """`hf:` loads through datasets.load_dataset, as `indonlp/indonlu` (config nerp) on the hub; offline
    here, a local folder of the same rows (tokens, ner_tags) in the hub's split names."""
    import json

    from indoevent.annotation.conll import _sentences, read_hf

    folder = tmp_path / "nerp"
    folder.mkdir()
    for split in ("train", "validation"):
        rows = [{"tokens": t, "ner_tags": g} for _, t, g in _sentences(SAMPLE)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    arts, rep = read_hf(str(folder), None, "train", NERP_MAP)
    ref, _ = read_conll(SAMPLE, NERP_MAP)
    assert [(a.tokens, a.tags, a.allowed, a.annotated) for a in arts] == \
        [(a.tokens, a.tags, a.allowed, a.annotated) for a in ref]
    assert arts[0].doc_id == "nerp:1" and rep.annotated == ["GPE", "LOC", "ORG", "PER"]
    with pytest.raises(ConllError, match=r"nerp \(test\): cannot load with datasets.load_dataset"):
        read_hf(str(folder), None, "test", NERP_MAP)


@pytest.mark.slow
def test_the_trainer_loss_on_gold_windows_is_the_models_own(untrained_run):
    """A batch of gold windows carries one-hot masks (it shares a training set with a partial source):
    the trainer's partial loss equals the cross-entropy transformers computes for the same batch."""
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from indoevent.model.trainer import _trainer_class

    tokenizer = AutoTokenizer.from_pretrained(untrained_run)
    model = AutoModelForTokenClassification.from_pretrained(untrained_run).eval()
    nerp, _ = read_conll(SAMPLE, NERP_MAP)
    f = encode_articles(tokenizer, [_gold(), nerp[0]], max_length=32, overlap=8)
    gold_rows = [f[i] for i, (a, _) in enumerate(f.index) if a == 0]
    batch = Collator(tokenizer.pad_token_id)(gold_rows)
    assert "label_mask" in batch
    with torch.no_grad():
        ours = _trainer_class().compute_loss(None, model, batch)  # the partial branch reads nothing of self
        plain = model(**{k: v for k, v in batch.items() if k != "label_mask"}).loss
    assert ours.item() == pytest.approx(plain.item(), rel=1e-5)


def test_bits_round_trip_beyond_one_chunk():
    torch = pytest.importorskip("torch")
    from indoevent.model.partial import tag_bits, unpack_bits

    for n_tags, tags in ((43, [0, 5, 42]), (130, [0, 61, 62, 63, 124, 129])):
        mask = unpack_bits(torch.tensor([tag_bits(tags, n_tags)]), n_tags)[0]
        assert mask.shape == (n_tags,) and mask.nonzero().flatten().tolist() == tags
