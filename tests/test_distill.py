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


@pytest.mark.slow
def test_a_narrower_student_keeps_the_teachers_vocabulary_and_projects_its_embeddings():
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from indoevent.model.distill import narrow_student

    torch.manual_seed(0)
    teacher = BertForTokenClassification(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
                                                    num_attention_heads=2, intermediate_size=64, num_labels=5))
    student = narrow_student(teacher, 1, 16)
    c = student.config
    assert (c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size) == (16, 1, 2, 32)
    assert c.vocab_size == 50 and c.id2label == teacher.config.id2label
    assert narrow_student(teacher, 1, 16, 8).config.intermediate_size == 8
    assert student(input_ids=torch.tensor([[2, 7, 9, 3]])).logits.shape == (1, 4, 5)
    # PCA: the projection keeps more of the word embeddings' variance than any other 16 of its axes
    t, s = teacher.bert.embeddings, student.bert.embeddings
    w = t.word_embeddings.weight.detach()
    kept = s.word_embeddings.weight.detach().var(0).sum()
    assert kept > w[:, :16].var(0).sum() and kept > w[:, 16:].var(0).sum() and kept <= w.var(0).sum() + 1e-4
    # at full width the projection is a rotation: dot products of words (and positions) are the teacher's
    full = narrow_student(teacher, 1, 32).bert.embeddings
    for name in ("word_embeddings", "position_embeddings"):
        a, b = getattr(t, name).weight.detach(), getattr(full, name).weight.detach()
        assert torch.allclose(a @ a.T, b @ b.T, atol=1e-6)
    fresh = narrow_student(teacher, 1, 16, embeddings="fresh").bert.embeddings.word_embeddings.weight
    assert not torch.allclose(fresh, s.word_embeddings.weight)
    with pytest.raises(ConfigError, match="multiple of its 2 attention heads"):
        narrow_student(teacher, 1, 15)


def test_distill_keys_are_checked():
    from indoevent.model.config_sections import DistillConfig, PretrainConfig, section_problems

    assert section_problems(PretrainConfig(), DistillConfig(hidden_size=-1, embeddings="pcaa")) == [
        "distill.hidden_size must be >= 0 (0: the teacher's), got -1", "distill.embeddings must be pca or fresh, got 'pcaa'"]


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


@pytest.mark.slow
@pytest.mark.parametrize("student", ["hidden_size", "backbone"])
def test_a_student_of_another_width_is_an_ordinary_run(tiny_run, tmp_path, student):
    """A narrower student, from distill.hidden_size (the teacher's tokenizer) or a backbone folder of
    another width (its own): the KL is on per-word tag distributions, so any width distils."""
    from transformers import AutoTokenizer, pipeline

    from indoevent.cli import main
    from indoevent.model.tiny import build_tiny_bert

    if student == "hidden_size":
        option = "--distill.hidden_size=64"
    else:
        option = f"--distill.student={build_tiny_bert(tmp_path / 'narrow', ROOT / 'seeds', hidden_size=32, layers=1)}"
    out = tmp_path / "student"
    code = main(["distill", "--teacher", str(tiny_run), "--unlabelled", str(SAMPLE), "--layers", "1", option,
                 "--output-dir", str(out), "--train.max_steps=2", "--train.runtime_gate=false"])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"]) == ((64, 1) if student == "hidden_size" else (32, 1))
    assert json.loads((tiny_run / "config.json").read_text())["hidden_size"] == 128
    if student == "hidden_size":
        assert AutoTokenizer.from_pretrained(out).get_vocab() == AutoTokenizer.from_pretrained(tiny_run).get_vocab()
        assert json.loads((out / "run_info.json").read_text())["distill"]["embeddings"] == "pca"
    tagger = pipeline("token-classification", model=str(out), aggregation_strategy="first")
    assert isinstance(tagger("Putin bertemu Kim di Beijing."), list)
