"""``indoevent distill``: the loss against a hand computation, the student's copied layers, the teacher's
per-word targets on a wired model, and a student run end to end (extract, serve, ONNX int8 load it).
Scores of these few-step models are never asserted."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from indoevent.model.config import ConfigError, load_config
from indoevent.model.runs import partial_dir
from indoevent.schema import bio_tags
from scaffold import WIRE, check_extract_and_serve

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "unlabelled.jsonl"


def test_loss_is_the_hand_computed_mix_of_kl_and_cross_entropy():
    import torch

    from indoevent.model.distill import distillation_loss

    student = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]]])  # one window, three positions, two labels
    teacher = torch.tensor([[[3.0, 1.0], [0.0, 0.0], [9.0, 9.0]]])
    kd_mask = torch.tensor([[True, True, False]])                  # the third position: padding
    labels = torch.tensor([[-100, 1, -100]])                       # one gold word
    T, alpha = 2.0, 0.25

    def softmax(z):
        e = [math.exp(x / T) for x in z]
        return [x / sum(e) for x in e]

    kl = 0.0
    for s, t in (([1.0, 0.0], [3.0, 1.0]), ([0.0, 2.0], [0.0, 0.0])):
        ps, pt = softmax(s), softmax(t)
        kl += sum(b * math.log(b / a) for a, b in zip(ps, pt, strict=True))
    kl /= 2  # mean over the two distilled positions
    ce = -math.log(math.exp(2.0) / (1 + math.exp(2.0)))  # gold label 1 at logits (0, 2), no temperature
    expected = alpha * T * T * kl + (1 - alpha) * ce
    assert distillation_loss(student, labels, teacher, kd_mask, T, alpha).item() == pytest.approx(expected, rel=1e-5)
    # dev windows (no teacher): the cross-entropy alone
    assert distillation_loss(student, labels, None, None, T, alpha).item() == pytest.approx(ce, rel=1e-5)


@pytest.mark.slow
def test_the_student_is_the_teachers_lower_layers():
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from indoevent.model.distill import student_from_teacher

    torch.manual_seed(0)
    teacher = BertForTokenClassification(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=4,
                                                    num_attention_heads=2, intermediate_size=64, num_labels=5))
    student = student_from_teacher(teacher, 2)
    assert student.config.num_hidden_layers == 2 and teacher.config.num_hidden_layers == 4
    t, s = teacher.state_dict(), student.state_dict()
    assert set(s) == {k for k in t if ".layer.2." not in k and ".layer.3." not in k}
    assert all(torch.equal(s[k], t[k]) for k in s)  # embeddings, layers 0-1 and the head: the teacher's
    with pytest.raises(ConfigError, match="between 1 and the teacher's 4 layers"):
        student_from_teacher(teacher, 5)


def test_collator_puts_the_teachers_logits_at_the_first_sub_words():
    import numpy as np

    from indoevent.model.distill import DistillCollator

    rows = [{"input_ids": [2, 10, 11, 3], "labels": [-100] * 4, "kd_pos": [1, 2], "teacher": np.array([[1., 2.], [3., 4.]])},
            {"input_ids": [2, 12, 3], "labels": [-100, 0, -100], "kd_pos": [1], "teacher": np.array([[5., 6.]])}]
    b = DistillCollator(pad_id=0, n_labels=2)(rows)
    assert b["input_ids"].tolist() == [[2, 10, 11, 3], [2, 12, 3, 0]]
    assert b["kd_mask"].tolist() == [[False, True, True, False], [False, True, False, False]]
    assert b["teacher_logits"][b["kd_mask"]].tolist() == [[1, 2], [3, 4], [5, 6]]
    dev = DistillCollator(pad_id=0, n_labels=2)([{"input_ids": [2, 3], "labels": [-100, -100]}])
    assert set(dev) == {"input_ids", "attention_mask", "labels"}


def test_held_out_texts_never_reach_training(tmp_path):
    from indoevent.model.data import DataError
    from indoevent.model.unlabelled import read_unlabelled

    news = tmp_path / "news.jsonl"
    news.write_text('{"id": "a", "text": "Prabowo  bertemu Xi."}\n{"id": "b", "text": "Kim tiba di Moskwa."}\n',
                    encoding="utf-8")
    kept, report = read_unlabelled([news], held_out=["Prabowo bertemu Xi."])
    assert [s.id for s in kept] == ["b"] and report["held_out_dropped"] == ["a"]
    assert report["files"] == [str(news)]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "ok"}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2"):
        read_unlabelled([bad])


@pytest.mark.slow
def test_teacher_targets_are_the_words_tags_of_the_prediction_windows(wired_run):
    from indoevent.model.checkpoint import read_config, read_tokenizer, read_weights
    from indoevent.model.distill import teacher_word_logits, unlabelled_articles
    from indoevent.text.inputs import Source

    model, tok = read_weights(wired_run), read_tokenizer(wired_run, read_config(wired_run))
    (art,) = unlabelled_articles([Source("b1", "Putin bertemu Kim Jong Un di Beijing pada Rabu", "x")])
    (z,) = teacher_word_logits(model, tok, [art], max_length=8, overlap=2)  # several windows for nine words
    tags = [model.config.id2label[int(i)] for i in z.argmax(axis=1)]
    assert tags == [WIRE.get(w.lower(), "O") for w in art.tokens]


@pytest.mark.slow
def test_student_run_is_an_ordinary_run(tiny_run, tmp_path):
    from transformers import pipeline

    from indoevent.cli import main
    from indoevent.model.onnx_export import export_onnx

    out = tmp_path / "student"
    code = main(["distill", "--teacher", str(tiny_run), "--unlabelled", str(SAMPLE), "--layers", "1",
                 "--output-dir", str(out), "--train.max_steps=4", "--train.runtime_gate=false"])
    assert code == 0 and not partial_dir(out).exists()
    config = json.loads((out / "config.json").read_text())
    teacher = json.loads((tiny_run / "config.json").read_text())
    assert config["num_hidden_layers"] == 1 and teacher["num_hidden_layers"] == 2
    assert config["id2label"] == teacher["id2label"] and [config["id2label"][str(i)] for i in range(43)] == bio_tags()
    saved = load_config(out / "training_config.yaml")
    assert saved.distill.teacher == str(tiny_run.resolve()) and saved.distill.layers == 1
    assert saved.data == load_config(tiny_run / "training_config.yaml").data  # the teacher's data and windows
    info = json.loads((out / "run_info.json").read_text())
    unlabelled = info["distill"]["unlabelled"]
    dev = info["split"]["dev"]  # the teacher's dev article is one of the sample's texts: dropped, never learned
    assert info["distill"]["student_layers"] == 1 and unlabelled["held_out_dropped"] == dev and unlabelled["articles"] == 4
    assert str(SAMPLE) in info["data_files"] and info["steps"] == 4
    assert not any(p.name.endswith((".bin", ".pt")) for p in out.iterdir())
    tagger = pipeline("token-classification", model=str(out), aggregation_strategy="first")
    assert isinstance(tagger("Putin bertemu Kim di Beijing."), list)
    check_extract_and_serve(out, tmp_path)
    onnx = export_onnx(out, quantize="int8")
    assert (onnx / "model.int8.onnx").is_file()


def test_cli_names_a_teacher_that_is_not_a_run(tmp_path, capsys):
    from indoevent.cli import main

    assert main(["distill", "--teacher", str(tmp_path), "--unlabelled", str(SAMPLE), "--output-dir",
                 str(tmp_path / "s")]) == 1
    assert "not a run folder" in capsys.readouterr().err and not (tmp_path / "s").exists()
