"""Training configs: typed, every key documented, typos and wrong types refused, overrides applied."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from indoevent.model.config import (
    ConfigError,
    RunConfig,
    apply_overrides,
    dump_yaml,
    fields_help,
    from_dict,
    load_config,
    parse_override,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "training" / "configs").glob("*.yaml"))


def test_shipped_configs_exist():
    assert {p.stem for p in CONFIGS} >= {"indobert-base-p1", "indolem-indobert", "xlm-roberta-base", "tiny"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_loads_and_round_trips(path):
    cfg = load_config(path)
    assert cfg.run_name == path.stem
    again = from_dict(yaml.safe_load(dump_yaml(cfg)))
    assert again == cfg


def test_backbones_of_the_real_configs():
    names = {p.stem: load_config(p).model.name_or_path for p in CONFIGS}
    assert names["indobert-base-p1"] == "indobenchmark/indobert-base-p1"
    assert names["indolem-indobert"] == "indolem/indobert-base-uncased"
    assert names["xlm-roberta-base"] == "FacebookAI/xlm-roberta-base"
    assert names["nusabert-base"] == "LazarusNLP/NusaBERT-base"


def test_every_field_has_help():
    rows = fields_help()
    assert len(rows) > 30
    missing = [key for key, _, _, text in rows if len(text) < 10]
    assert not missing


def test_defaults_are_the_default_recipe():
    cfg = RunConfig(run_name="x")
    assert cfg.model.name_or_path == "indobenchmark/indobert-base-p1"
    assert (cfg.data.max_length, cfg.data.overlap) == (512, 64)  # inference's default windows


def test_unknown_key_in_file_names_file_and_key(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("train:\n  epoch: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*train.*epoch.*known: epochs"):
        load_config(p)


def test_unknown_section(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("optimizer:\n  lr: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="optimizer"):
        load_config(p)


def test_wrong_type_names_key(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("train:\n  batch_size: eight\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"train\.batch_size: expected an integer"):
        load_config(p)


def test_bool_is_not_an_int():
    with pytest.raises(ConfigError, match="batch_size"):
        from_dict({"run_name": "x", "train": {"batch_size": True}})


def test_yaml_scientific_notation_without_dot_is_a_float():
    # YAML 1.1 reads 5e-5 as a string; a learning rate written that way must still work.
    cfg = from_dict({"run_name": "x", "train": {"learning_rate": "5e-5"}})
    assert cfg.train.learning_rate == 5e-5


def test_split_specs_keep_their_kind():
    assert from_dict({"run_name": "x", "data": {"dev": 1}}).data.dev == 1
    assert isinstance(from_dict({"run_name": "x", "data": {"dev": 1}}).data.dev, int)
    assert from_dict({"run_name": "x", "data": {"dev": 0.25}}).data.dev == 0.25
    assert from_dict({"run_name": "x", "data": {"dev": ["a", "b"]}}).data.dev == ["a", "b"]


def test_conll_sources_are_typed():
    cfg = from_dict({"run_name": "x", "data": {"conll": [{"path": "nerp.txt", "label_map": {"PPL": "PER",
                                                                                            "EVT": None}}]}})
    src = cfg.data.conll[0]
    assert (src.path, src.split, src.label_map) == ("nerp.txt", "train", {"PPL": "PER", "EVT": None})
    with pytest.raises(ConfigError, match=r"data\.conll\[0\]: unknown key.*lable_map"):
        from_dict({"run_name": "x", "data": {"conll": [{"path": "a", "lable_map": {}}]}})


@pytest.mark.parametrize("raw, message", [
    ({"data": {"overlap": 300}}, "data.overlap"),
    ({"data": {"dev": 1.5}}, "data.dev"),
    ({"train": {"precision": "fp8"}}, "train.precision"),
    ({"train": {"best_metric": "accuracy"}}, "train.best_metric"),
    ({"cv": {"k": 2}}, "cv.k"),
    ({"data": {"export": None}}, "no training data"),
    ({"data": {"conll": [{"path": "a", "split": "validation"}]}}, "split"),
    ({"run_name": "../escape"}, "run_name"),
    ({"train": {"learning_rate": -1}}, "train.learning_rate must be > 0"),
    ({"train": {"learning_rate": 0}}, "train.learning_rate must be > 0"),
    ({"train": {"weight_decay": -0.1}}, "train.weight_decay must be >= 0"),
    ({"train": {"max_grad_norm": 0}}, "train.max_grad_norm must be > 0"),
    ({"train": {"epochs": -2, "max_steps": 5}}, "train.epochs must be >= 0"),
    ({"train": {"max_steps": -5}}, "train.max_steps"),
    ({"train": {"early_stopping_patience": -1}}, "train.early_stopping_patience"),
    ({"data": {"annotation": "bogus"}}, "data.annotation: unknown annotation choice 'bogus': use latest"),
])
def test_cross_field_checks(raw, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        from_dict({"run_name": "x", **raw})


def test_overrides_parse_as_yaml():
    assert parse_override("train.epochs=3") == ("train.epochs", 3)
    assert parse_override("--model.name_or_path=/tmp/x") == ("model.name_or_path", "/tmp/x")
    assert parse_override("data.conll=[{path: a, label_map: {PPL: PER}}]") == (
        "data.conll", [{"path": "a", "label_map": {"PPL": "PER"}}])
    assert parse_override("model.revision=null") == ("model.revision", None)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("train.epochs")


def test_overrides_apply_and_typos_are_refused(tmp_path):
    cfg = load_config(ROOT / "training/configs/tiny.yaml", ["train.epochs=3", "data.dev=[003_1a1951bf7fc0e250]"])
    assert cfg.train.epochs == 3.0 and cfg.data.dev == ["003_1a1951bf7fc0e250"]
    with pytest.raises(ConfigError, match="did you mean train.epochs"):
        apply_overrides({}, ["epochs=3"])
    with pytest.raises(ConfigError, match=r"train\.epochs: expected a number"):
        load_config(ROOT / "training/configs/tiny.yaml", ["train.epochs=many"])


def test_run_name_from_override_wins_over_file_name():
    assert load_config(ROOT / "training/configs/tiny.yaml", {"run_name": "mine"}).run_name == "mine"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_cli_help_lists_every_key():
    from indoevent.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    text = sub.choices["train"].format_help()
    for key, *_ in fields_help():
        assert f"--{key}" in text
    assert "torchrun" in text


def test_cli_passes_overrides_to_train(monkeypatch, tmp_path):
    from indoevent import cli

    seen = {}

    def fake_train(cfg, output_dir=None, **kw):
        seen.update(cfg=cfg, output_dir=output_dir, **kw)
        return output_dir

    monkeypatch.setattr(importlib.import_module("indoevent.cli.train"), "train", fake_train)
    rc = cli.main(["train", "--config", str(ROOT / "training/configs/tiny.yaml"), "--output-dir", str(tmp_path),
                   "--train.epochs=2", "--data.max_length", "64", "--cv", "--resume"])
    assert rc == 0
    assert seen["cfg"].train.epochs == 2.0 and seen["cfg"].data.max_length == 64
    assert seen["cv"] is True and seen["resume"] is True and seen["overwrite"] is False
    assert seen["output_dir"] == tmp_path


def test_cli_reports_config_errors(capsys):
    from indoevent import cli

    rc = cli.main(["train", "--config", str(ROOT / "training/configs/tiny.yaml"), "--train.batch_size=0"])
    assert rc == 1
    assert "train.batch_size must be >= 1" in capsys.readouterr().err


def test_lazy_exports_are_the_functions():
    import indoevent
    from indoevent.events.extractor import Extractor
    from indoevent.model.train import train

    assert indoevent.train is train
    assert indoevent.Extractor is Extractor


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "nan"])
def test_not_a_number_is_refused(value):
    with pytest.raises(ConfigError, match=r"train\.epochs: expected a finite number"):
        load_config(ROOT / "training/configs/tiny.yaml", [f"train.epochs={value}"])


def test_a_config_whose_top_level_is_a_list(tmp_path, capsys):
    from indoevent import cli

    p = tmp_path / "list.yaml"
    p.write_text("- train:\n    epochs: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"list\.yaml: the top level must be a mapping of run_name, model, data.*a list"):
        load_config(p)
    assert cli.main(["train", "--config", str(p), "--train.epochs=2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "top level must be a mapping" in err


def test_an_override_below_a_scalar_is_refused(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="override train.epochs: train is 3"):
        load_config(p, ["train.epochs=2"])


@pytest.mark.parametrize("override, message", [
    ("--train.epochs=.nan", "train.epochs: expected a finite number"),
    ("--train.learning_rate=-1", "train.learning_rate must be > 0, got -1.0"),
])
def test_cli_refuses_bad_numbers_in_one_line(override, message, capsys):
    from indoevent import cli

    rc = cli.main(["train", "--config", str(ROOT / "training/configs/tiny.yaml"), override])
    err = capsys.readouterr().err
    assert rc == 1 and message in err and err.count("\n") == 1


def test_python_requirement_is_the_same_everywhere():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["requires-python"] == ">=3.11"
    assert "Python >= 3.11" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(3, 11)" in (ROOT / "Makefile").read_text(encoding="utf-8")
