"""``indoevent pretrain``: whole-word masking, the config section, and the backbone end to end
(pretrain -> train on it -> extract and serve load the run). Losses are never asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent.atomic import sha256
from indoevent.model.config import ConfigError, load_config
from indoevent.model.runs import partial_dir
from scaffold import check_extract_and_serve, tiny_config

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "training" / "configs" / "pretrain-tiny.yaml"
SAMPLE = ROOT / "tests" / "data" / "unlabelled.jsonl"


def pretrain_config(**overrides):
    """pretrain-tiny.yaml with absolute paths and a few steps."""
    base = {"model.name_or_path": str(ROOT / "models" / "_base" / "tiny-bert"), "model.tiny_corpus": str(ROOT / "seeds"),
            "pretrain.unlabelled": str(SAMPLE), "train.max_steps": 4, "train.logging_steps": 2}
    return load_config(CONFIG, {**base, **overrides})


def test_whole_words_are_masked_together_and_special_tokens_never():
    import torch

    from indoevent.model.pretrain import mask_words

    ids = torch.tensor([2, 50, 51, 60, 70, 71, 72, 80, 3, 0])
    words = torch.tensor([-1, 0, 0, 1, 2, 2, 2, 3, -1, -1])  # [CLS] w0 w0 w1 w2 w2 w2 w3 [SEP] pad
    for seed in range(40):
        new, labels = mask_words(ids, words, 0.3, mask_id=4, vocab_size=100, generator=torch.Generator().manual_seed(seed))
        picked = labels != -100
        chosen = set(words[picked].tolist())
        assert chosen and -1 not in chosen  # at least one word, never [CLS], [SEP] or padding
        assert torch.equal(picked, torch.isin(words, torch.tensor(sorted(chosen))))  # every sub-word of a chosen word
        assert torch.equal(labels[picked], ids[picked]) and torch.equal(new[~picked], ids[~picked])


def test_masking_rates_are_berts():
    import torch

    from indoevent.model.pretrain import mask_words

    n = 20_000
    ids = torch.arange(n) % 90 + 10
    words = torch.arange(n) // 2  # 10,000 words of two sub-words
    new, labels = mask_words(ids, words, 0.15, mask_id=4, vocab_size=100, generator=torch.Generator().manual_seed(0))
    picked = labels != -100
    assert 0.13 < picked.float().mean() < 0.17
    assert 0.76 < (new[picked] == 4).float().mean() < 0.84  # 80% [MASK], the rest random or kept


def test_dev_windows_are_masked_the_same_way_at_every_evaluation():
    from indoevent.model.pretrain import MaskingCollator

    rows = [{"input_ids": [2, 11, 12, 13, 14, 3], "word_ids": [-1, 0, 1, 1, 2, -1], "seed": 7}]
    collate = MaskingCollator(pad_id=0, mask_id=4, vocab_size=100, probability=0.5)
    a, b = collate(rows), collate(rows)
    assert all((a[k] == b[k]).all() for k in a)


def test_a_trained_vocabulary_needs_a_model_from_scratch(tmp_path):
    with pytest.raises(ConfigError, match="pretrain.tokenizer: train needs pretrain.from_scratch"):
        load_config(CONFIG, {"pretrain.tokenizer": "train"})
    with pytest.raises(ConfigError, match="pretrain.mlm_probability"):
        load_config(CONFIG, {"pretrain.mlm_probability": 0})


def test_cli_without_unlabelled_news_is_one_line(capsys):
    from indoevent.cli import main

    assert main(["pretrain", "--config", str(ROOT / "training" / "configs" / "tiny.yaml")]) == 1
    assert "pretrain.unlabelled" in capsys.readouterr().err


@pytest.mark.slow
def test_pretrained_backbone_trains_a_run_that_extract_and_serve_load(tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForMaskedLM

    from indoevent.model.pretrain import pretrain
    from indoevent.model.train import train

    out = pretrain(pretrain_config(), tmp_path / "backbone")
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer_config.json", "training_config.yaml", "metrics.json",
            "run_info.json", "README.md"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pth")) for n in names) and not partial_dir(out).exists()
    info = json.loads((out / "run_info.json").read_text())
    assert info["data_files"] == {str(SAMPLE): sha256(SAMPLE)} and info["steps"] == 4
    assert load_config(out / "training_config.yaml").pretrain.unlabelled == [str(SAMPLE)]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dev"]["windows"] > 0 and metrics["dev"]["perplexity"] > 1
    AutoModelForMaskedLM.from_pretrained(out)
    before = load_file(ROOT / "models" / "_base" / "tiny-bert" / "model.safetensors")
    after = load_file(out / "model.safetensors")
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert not after[key].equal(before[key.removeprefix("bert.")])  # the encoder learned something

    run = train(tiny_config(**{"model.name_or_path": str(out), "model.tiny_corpus": None, "train.max_steps": 3,
                               "train.runtime_gate": False}), tmp_path / "run")
    assert json.loads((run / "config.json").read_text())["indoevent"]["base_model"] == str(out)
    check_extract_and_serve(run, tmp_path)


@pytest.mark.slow
def test_from_scratch_trains_its_vocabulary_and_resumes(tmp_path):
    from transformers import AutoConfig, AutoTokenizer, TrainerCallback

    from indoevent.model.pretrain import pretrain

    class Interrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:  # after the checkpoint of step 2
                raise KeyboardInterrupt

    cfg = pretrain_config(**{"pretrain.from_scratch": True, "pretrain.tokenizer": "train", "pretrain.vocab_size": 600,
                             "pretrain.layers": 1, "pretrain.hidden_size": 64, "train.eval_steps": 2})
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg, tmp_path / "b", callbacks=[Interrupt()])
    assert (partial_dir(tmp_path / "b") / "checkpoints" / "checkpoint-2").is_dir()
    out = pretrain(cfg, tmp_path / "b", resume=True)
    assert json.loads((out / "run_info.json").read_text())["resumed_from"] == "checkpoint-2"
    config = AutoConfig.from_pretrained(out)
    assert (config.num_hidden_layers, config.hidden_size) == (1, 64)
    assert len(AutoTokenizer.from_pretrained(out)) == config.vocab_size == 600


def test_the_backbone_continued_is_never_the_output(tmp_path, capsys):
    from indoevent.cli import main

    base = ROOT / "models" / "_base" / "tiny-bert"
    assert main(["pretrain", "--config", str(CONFIG), f"--pretrain.unlabelled={SAMPLE}",
                 f"--model.name_or_path={base}", "--output-dir", str(base), "--overwrite"]) == 1
    assert "is an input" in capsys.readouterr().err
