"""Articles -> windowed, labelled features: first sub-word labels, full coverage, the inference merge."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from indoevent.annotation.convert import convert_export
from indoevent.model.config import ConllSource, DataConfig
from indoevent.model.data import IGNORE, Collator, DataError, encode_articles, load_corpus, split_ids, window_labels
from indoevent.model.tiny import ensure_tiny_bert
from indoevent.model.windows import best_window
from indoevent.schema import bio_tags
from indoevent.text.iob import TaggedWords
from indoevent.text.tokenize import tokenize

ROOT = Path(__file__).resolve().parents[1]
TAGS = bio_tags()
TAG_ID = {t: i for i, t in enumerate(TAGS)}


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    path = ensure_tiny_bert(ROOT / "models" / "_base" / "tiny-bert", ROOT / "seeds")
    tok = AutoTokenizer.from_pretrained(path)
    assert len(tok) == 2000  # never the 5-token fallback vocabulary (PITFALLS)
    return tok


@pytest.fixture(scope="module")
def seeds():
    articles, _ = convert_export(ROOT / "annotations" / "seeds.json", "latest", True)
    return {a.doc_id: a for a in articles}


def article(text: str, tags: list[str], doc_id: str = "t") -> TaggedWords:
    words = tokenize(text)
    assert len(words) == len(tags)
    return TaggedWords(doc_id, text, [w.text for w in words], [w.start for w in words], [w.end for w in words], tags)


def test_first_subword_labelled_rest_ignored(tokenizer):
    art = article("Prabowonomics bertemu Putin", ["B-PER", "B-CONSULT", "B-PER"])
    assert len(tokenizer.tokenize("Prabowonomics")) > 1
    f = encode_articles(tokenizer, [art], max_length=64, overlap=8)
    (_window,), row = f.windows[0], f.rows[0]
    n_first = len(tokenizer.tokenize("Prabowonomics"))
    expected = [IGNORE, TAG_ID["B-PER"]] + [IGNORE] * (n_first - 1) + [TAG_ID["B-CONSULT"], TAG_ID["B-PER"], IGNORE]
    assert row["labels"] == expected
    assert row["input_ids"][0] == tokenizer.cls_token_id and row["input_ids"][-1] == tokenizer.sep_token_id


def test_window_labels_doctest_shape():
    from indoevent.model.windows import Window

    w = Window(0, 3, [2, 5, 6, 7, 8, 3], [None, 0, 1, 1, 2, None])
    assert window_labels(w, [1, 2, 0]) == [IGNORE, 1, 2, IGNORE, 0, IGNORE]


def test_long_article_fully_labelled_and_overlaps_agree(tokenizer, seeds):
    art = seeds["000_ecb91a2b1942d157"]  # 1112 words: dozens of 64-sub-word windows
    f = encode_articles(tokenizer, [art], max_length=64, overlap=16)
    windows = f.windows[0]
    assert len(windows) > 10
    ids = [TAG_ID[t] for t in art.tags]
    labels_of_word: dict[int, set[int]] = {}
    for w, row in zip(windows, f.rows, strict=True):
        assert len(row["input_ids"]) <= 64
        labelled = [(pos, lab) for pos, lab in enumerate(row["labels"]) if lab != IGNORE]
        assert len(labelled) == w.last_word - w.first_word  # each word of the window exactly once
        for pos, word in w.first_subword_positions():
            labels_of_word.setdefault(word, set()).add(row["labels"][pos])
    assert sorted(labels_of_word) == list(range(len(art.tokens)))  # every word labelled
    assert all(labels == {ids[k]} for k, labels in labels_of_word.items())  # overlaps agree with gold
    for a, b in pairwise(windows):
        assert b.first_word < a.last_word  # consecutive windows overlap
    assert windows[0].first_word == 0 and windows[-1].last_word == len(art.tokens)
    assert f.report["words_without_subwords"] == 0 and f.report["words_longer_than_window"] == 0


def labels_read_back(f) -> list[list[str]]:
    """Each word's training label, read from the window the Predictor takes that word's tag from
    (:func:`best_window`); a word in no window is O, as in prediction."""
    out = []
    for a_i, art in enumerate(f.articles):
        rows = [f.rows[r] for r, (a, _) in enumerate(f.index) if a == a_i]
        best = best_window(f.windows[a_i], len(art.tokens))
        tags = ["O"] * len(art.tokens)
        for k, (w, row) in enumerate(zip(f.windows[a_i], rows, strict=True)):
            for pos, word in w.first_subword_positions():
                if best[word] == k:
                    tags[word] = TAGS[row["labels"][pos]]
        out.append(tags)
    return out


def test_labels_round_trip_through_the_inference_windows(tokenizer, seeds):
    arts = list(seeds.values())
    f = encode_articles(tokenizer, arts, max_length=96, overlap=24)
    # The training labels, read back from the windows prediction takes each word from, give the gold
    # tags of every word: training and inference see the same words at the same positions.
    assert labels_read_back(f) == [a.tags for a in arts]


def test_words_the_tokenizer_drops_are_reported(tokenizer):
    art = TaggedWords("z", "Putin \u200b tiba", ["Putin", "\u200b", "tiba"], [0, 6, 8], [5, 7, 12],
                  ["B-PER", "B-CONSULT", "O"])
    f = encode_articles(tokenizer, [art], max_length=32, overlap=4)
    assert f.report["words_without_subwords"] == 1
    assert f.report["labelled_words_without_subwords"] == [
        {"doc_id": "z", "word": 1, "text": "\u200b", "tag": "B-CONSULT"}]
    assert labels_read_back(f) == [["B-PER", "O", "O"]]


def test_word_longer_than_a_window_is_counted(tokenizer):
    long_word = "Kerjasamaekonomiperdagangannegara" * 2  # under BERT's 100-character [UNK] limit
    assert len(tokenizer.tokenize(long_word)) > 14
    n = len(long_word)
    art = TaggedWords("l", f"A {long_word} B", ["A", long_word, "B"], [0, 2, n + 3], [1, n + 2, n + 4], ["O", "B-ORG", "O"])
    f = encode_articles(tokenizer, [art], max_length=16, overlap=4)
    assert f.report["words_longer_than_window"] == 1
    assert all(len(r["input_ids"]) <= 16 for r in f.rows)
    # Its label still sits on its first sub-word.
    assert labels_read_back(f) == [art.tags]


def test_unknown_tag_names_the_article(tokenizer):
    with pytest.raises(DataError, match="doc9.*B-PERSON"):
        encode_articles(tokenizer, [TaggedWords("doc9", "Putin", ["Putin"], [0], [5], ["B-PERSON"])], 32, 4)


def test_lowercasing_follows_the_tokenizer_and_offsets_keep_the_text(tokenizer):
    from transformers import AutoTokenizer

    upper = article("PUTIN bertemu KIM", ["B-PER", "B-CONSULT", "B-PER"])
    lower = article("putin bertemu kim", ["B-PER", "B-CONSULT", "B-PER"])
    a, b = (encode_articles(tokenizer, [x], 32, 4).rows[0]["input_ids"] for x in (upper, lower))
    assert tokenizer.do_lower_case and a == b  # the uncased tokenizer lowercases, nobody else does
    assert [upper.text[s:e] for s, e in zip(upper.starts, upper.ends, strict=True)] == ["PUTIN", "bertemu", "KIM"]
    cased = AutoTokenizer.from_pretrained(tokenizer.name_or_path, do_lower_case=False)
    c = encode_articles(cased, [upper], 32, 4).rows[0]["input_ids"]
    assert c != a  # a cased tokenizer keeps case (and this lowercase vocabulary then has no "PUTIN")


def test_split_ids():
    ids = ["e", "a", "c", "b", "d"]
    tr, dv, te = split_ids(ids, dev=1, test=1, seed=0)
    assert len(tr) == 3 and len(dv) == 1 and len(te) == 1
    assert set(tr) | set(dv) | set(te) == set(ids) and not set(dv) & set(te)
    assert split_ids(list(reversed(ids)), dev=1, test=1, seed=0) == (tr, dv, te)  # order-free
    assert split_ids(ids, dev=["c"], test=0.2, seed=0)[1] == ("c",)
    assert split_ids(ids, dev=0.0, test=0)[1:] == ((), ())
    with pytest.raises(DataError, match="unknown article id"):
        split_ids(ids, dev=["zz"], test=0)
    with pytest.raises(DataError, match="share articles"):
        split_ids(ids, dev=["a"], test=["a"])
    with pytest.raises(DataError, match="no article left"):
        split_ids(ids, dev=3, test=2)


def test_collator_pads():
    import torch

    batch = Collator(pad_id=0, pad_to_multiple_of=8)([
        {"input_ids": [2, 10, 11, 3], "labels": [IGNORE, 1, 0, IGNORE]},
        {"input_ids": [2, 12, 3], "labels": [IGNORE, 5, IGNORE]}])
    assert batch["input_ids"].shape == (2, 8) and batch["input_ids"].dtype == torch.long
    assert batch["input_ids"][1].tolist() == [2, 12, 3, 0, 0, 0, 0, 0]
    assert batch["attention_mask"][1].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    assert batch["labels"][0].tolist() == [IGNORE, 1, 0, IGNORE] + [IGNORE] * 4
    assert "labels" not in Collator(0)([{"input_ids": [2, 3]}])


def test_load_corpus_gold_and_conll(tmp_path):
    conll = tmp_path / "nerp.txt"
    conll.write_text("Joko\tB-PPL\nWidodo\tI-PPL\ntiba\tO\n\nKemenlu\tB-IND\n", encoding="utf-8")
    data = DataConfig(export=str(ROOT / "annotations" / "seeds.json"),
                      conll=[ConllSource(str(conll), "train", {"PPL": "PER", "IND": "ORG"})])
    corpus = load_corpus(data)
    assert len(corpus.gold) == 5 and len(corpus.extra["train"]) == 2
    assert corpus.extra["train"][0].tags == ["B-PER", "I-PER", "O"]
    assert corpus.files == [str(ROOT / "annotations" / "seeds.json"), str(conll)]
    assert corpus.report["conll"][0]["mapped"] == {"PPL->PER": 1, "IND->ORG": 1}
    assert corpus.report["export"]["left_out"] == {"misaligned_spans": 0, "problems": 0, "skipped_tasks": 0}


def test_load_corpus_errors_name_the_file(tmp_path):
    conll = tmp_path / "nergrit.txt"
    conll.write_text("Jakarta\tB-PLACE\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"nergrit\.txt:1.*'PLACE'"):
        load_corpus(DataConfig(export=None, conll=[ConllSource(str(conll), "train", {})]))
    with pytest.raises(DataError, match="missing.json"):
        load_corpus(DataConfig(export=str(tmp_path / "missing.json")))


def test_gold_spans_are_the_documents_spans(make_export, tmp_path):
    # The word tags are cut at gold span edges ("Amerika|ku"); the gold spans stay those annotated,
    # which is what dev scores and evaluation compare predicted spans with.
    export = make_export("⟦e1:PER Prabowo⟧ ⟦t1:CONSULT bertemu⟧ warga ⟦e2:GPE Amerika⟧ku.")
    (art,) = convert_export(export)[0]
    assert art.tokens[3:5] == ["Amerika", "ku"] and art.tags[3:5] == ["B-GPE", "O"]
    assert [(s.start, s.end, s.label, s.text) for s in art.spans] == [
        (0, 7, "PER", "Prabowo"), (8, 15, "CONSULT", "bertemu"), (22, 29, "GPE", "Amerika")]
    conll = tmp_path / "c.txt"
    conll.write_text("Joko\tB-PER\nWidodo\tI-PER\nke\tO\nJakarta\tB-GPE\n", encoding="utf-8")
    corpus = load_corpus(DataConfig(conll=[ConllSource(path=conll, split="dev")]))
    (sent,) = corpus.extra["dev"]
    assert [(s.start, s.end, s.label, sent.text[s.start:s.end]) for s in sent.spans] == [
        (0, 11, "PER", "Joko Widodo"), (15, 22, "GPE", "Jakarta")]


# --- the windows through datasets ----------------------------------------------------------------
# sha256 of the rows the Trainer got for tiny.yaml on the seeds (4 training articles, 1 dev), computed
# with the list-based encoder of d3255ca, before the windows went through `Dataset.map`.
ROWS_BEFORE = {"train": (37, "b59187c9c4b085340a78ab1770ec19ede0f7ddefc88af0a247f69e364c552326"),
               "dev": (9, "f736fe05f1dcde077e28ac6e1535e52dcf18b1efd6ef495562537fe24122413e")}


def test_the_trainer_gets_the_rows_it_got_before_datasets(monkeypatch, tmp_path):
    import hashlib
    import json

    from indoevent.model import trainer
    from indoevent.model.train import train
    from scaffold import tiny_config

    got = {}

    class Enough(Exception):
        pass

    def capture(cfg, model, tokenizer, train_f, dev_f, *args, **kwargs):
        for name, f in (("train", train_f), ("dev", dev_f)):
            rows = [dict(f[i]) for i in range(len(f))]
            got[name] = (len(rows), hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest())
        raise Enough

    monkeypatch.setattr(trainer, "make_trainer", capture)  # where fit looks it up
    with pytest.raises(Enough):
        train(tiny_config(), tmp_path / "run")
    assert got == ROWS_BEFORE


def test_windows_are_computed_once_and_cached_by_fingerprint(tokenizer, seeds, monkeypatch, tmp_path):
    import datasets

    from indoevent.model import data

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))
    arts = list(seeds.values())[:2]
    calls = []
    real = data._article_windows
    monkeypatch.setattr(data, "_article_windows", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = encode_articles(tokenizer, arts, max_length=64, overlap=8)
    assert calls and first.rows.cache_files  # in Arrow files, not in a Python list
    calls.clear()
    again = encode_articles(tokenizer, arts, max_length=64, overlap=8)
    assert not calls and again.rows.cache_files == first.rows.cache_files  # read back
    assert [again[i] for i in range(len(again))] == [first[i] for i in range(len(first))]
    other = encode_articles(tokenizer, arts, max_length=48, overlap=8)  # other windows, another fingerprint
    assert calls and other.rows.cache_files != first.rows.cache_files


def test_a_dataset_read_from_disk_is_windowed_as_its_articles(tokenizer, seeds, tmp_path):
    """The DatasetDict `indoevent convert` writes windows to the same rows as the articles it came from."""
    from datasets import load_from_disk

    from indoevent.annotation.convert import to_dataset_dict
    from indoevent.model.data import encode_dataset

    arts = list(seeds.values())[:2]
    to_dataset_dict(arts).save_to_disk(str(tmp_path / "dataset"))
    on_disk = encode_dataset(tokenizer, load_from_disk(str(tmp_path / "dataset"))["train"], 64, 8)
    in_memory = encode_articles(tokenizer, arts, 64, 8)
    assert [on_disk[i] for i in range(len(on_disk))] == [in_memory[i] for i in range(len(in_memory))]
    assert on_disk.report == in_memory.report and on_disk.index == in_memory.index
