"""Self-training: silver from confident spans, partially labelled, and the rounds end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent.annotation.conll import read_conll
from indoevent.model.data import DataError
from indoevent.model.self_train import pseudo_label, read_unlabelled, with_silver
from indoevent.schema import bio_tags

SAMPLE = Path(__file__).parent / "data" / "unlabelled_sample.jsonl"


def test_pseudo_labels_keep_confident_spans_and_free_every_other_word(wired_run, tmp_path):
    texts = [("a", "Putin bertemu Kim Jong Un di Beijing pada Rabu."), ("b", "Tidak ada nama di sini.")]
    stats = pseudo_label(wired_run, texts, 0.5, tmp_path / "silver.conll")
    # the wired head tags putin, kim jong un, beijing, bertemu and rabu whatever the context
    assert stats == {"articles": 2, "articles_with_silver": 1, "spans_kept": 5, "spans_below_threshold": 0}
    arts, _ = read_conll(tmp_path / "silver.conll", {}, labels=[])
    (art,) = arts  # the article without a kept span teaches nothing and is left out
    assert art.tokens[:5] == ["Putin", "bertemu", "Kim", "Jong", "Un"]
    assert art.tags[:8] == ["B-PER", "B-CONSULT", "B-PER", "I-PER", "I-PER", "O", "B-GPE", "O"]
    # kept-span words must take their tag; every other word may take any tag, O included
    assert art.allowed[0] == ("B-PER",) and art.allowed[6] == ("B-GPE",)
    assert set(art.allowed[5]) == set(bio_tags())
    assert art.annotated == frozenset()  # and no dev score would count it: it annotates no label in full


def test_spans_below_the_threshold_are_not_taught(wired_run, tmp_path):
    stats = pseudo_label(wired_run, [("a", "Putin bertemu Kim.")], 1.01, tmp_path / "silver.conll")
    assert stats["spans_kept"] == 0 and stats["spans_below_threshold"] == 3 and stats["articles_with_silver"] == 0
    assert (tmp_path / "silver.conll").read_text().strip() == ""


def test_a_round_adds_the_silver_as_a_source_that_annotates_nothing(tmp_path):
    from scaffold import tiny_config

    cfg = tiny_config()
    silver = tmp_path / "silver-1.conll"
    new = with_silver(cfg, silver, {"articles_with_silver": 3})
    assert new.data.conll[-1].path == str(silver) and new.data.conll[-1].labels == []
    assert cfg.data.conll == []  # the config itself is left as it was
    assert with_silver(cfg, silver, {"articles_with_silver": 0}) is cfg


def test_unlabelled_text_of_a_dev_article_is_refused(tmp_path):
    from indoevent.model.data import load_corpus, split_corpus
    from scaffold import tiny_config

    cfg = tiny_config()
    dev = split_corpus(load_corpus(cfg.data), cfg.data)["dev"][0]
    assert [i for i, _ in read_unlabelled([SAMPLE], cfg)] == ["u1", "u2", "u3", "u4"]
    leak = tmp_path / "leak.jsonl"
    leak.write_text(json.dumps({"id": "x", "text": "  " + dev.text}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"leak.jsonl:1 \(x\) is the text of dev article {dev.doc_id}"):
        read_unlabelled([leak], cfg)
    with pytest.raises(DataError, match="unlabelled: .*none.jsonl: no such file"):
        read_unlabelled([tmp_path / "none.jsonl"], cfg)


def test_a_foreign_folder_beside_the_run_is_never_written_into(tmp_path):
    from indoevent.model.runs import RunExistsError
    from indoevent.model.self_train import self_train
    from scaffold import tiny_config

    side = tmp_path / "st-self-train"
    side.mkdir()
    (side / "notes.txt").write_text("mine")
    with pytest.raises(RunExistsError, match=r"st-self-train holds files self-training did not write \(notes.txt\)"):
        self_train(tiny_config(), [SAMPLE], tmp_path / "st")
    assert [p.name for p in side.iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_self_train_end_to_end_gives_an_ordinary_run(tmp_path):
    from transformers import pipeline

    from indoevent.cli import main
    from indoevent.model.predict import Predictor
    from scaffold import ROOT, check_extract_and_serve

    out = tmp_path / "st"
    rc = main(["self-train", "--config", str(ROOT / "training" / "configs" / "tiny.yaml"), "--unlabelled", str(SAMPLE),
               "--output-dir", str(out), f"--model.name_or_path={ROOT / 'models' / '_base' / 'tiny-bert'}",
               f"--model.tiny_corpus={ROOT / 'seeds'}", f"--data.export={ROOT / 'annotations' / 'seeds.json'}",
               "--train.max_steps=6", "--train.runtime_gate=false", "--self_train.threshold=0.0"])
    assert rc == 0
    st = json.loads((out / "metrics.json").read_text())["self_train"]
    assert [r["round"] for r in st["rounds"]] == [0, 1] and st["unlabelled_articles"] == 4
    assert all(r["dev_f1"] is not None for r in st["rounds"])
    assert st["rounds"][1]["silver"]["articles"] == 4
    side = tmp_path / "st-self-train"
    assert (side / "silver-1.conll").exists() and (side / "round-0.metrics.json").exists()
    assert not (side / "round-0").exists()  # the teacher's weights go once it has pseudo-labelled
    if st["rounds"][1]["silver"]["articles_with_silver"]:
        info = json.loads((out / "run_info.json").read_text())
        assert str(side / "silver-1.conll") in info["data_files"]
    assert Predictor.from_pretrained(out, runtime="torch").predict("Putin bertemu Kim.").id is not None
    assert isinstance(pipeline("token-classification", model=str(out))("Putin bertemu Kim."), list)
    check_extract_and_serve(out, tmp_path)
    assert main(["self-train", "--config", str(ROOT / "training" / "configs" / "tiny.yaml"), "--unlabelled",
                 str(SAMPLE), "--output-dir", str(out)]) != 0  # an existing run is never replaced silently
