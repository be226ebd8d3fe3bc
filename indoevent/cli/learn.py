"""Commands that learn from unlabelled news: pretrain, distill."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..atomic import OutputExistsError
from ..model.checkpoint import ModelLoadError
from ..model.config import ConfigError, fields_help, load_config
from ..model.data import DataError
from ..model.distill import distill
from ..model.pretrain import pretrain
from ..model.runs import RunWriteError
from .common import fail

_ERRORS = (ConfigError, DataError, ModelLoadError, OutputExistsError, RunWriteError)


def _overrides(p: argparse.ArgumentParser, sections: tuple[str, ...]) -> None:
    """``--KEY=VALUE`` for every config key of ``sections``, as ``indoevent train`` takes them."""
    g = p.add_argument_group("config overrides (--KEY=VALUE, VALUE read as YAML)")
    for key, tp, default, text in fields_help():
        if key.split(".")[0] in sections:
            g.add_argument(f"--{key}", dest=key, metavar="VALUE", default=argparse.SUPPRESS,
                           help=f"{text} [{tp}; default {default!r}]".replace("%", "%%"))


def _given(args: argparse.Namespace) -> list[str]:
    given = vars(args)
    return [f"{key}={given[key]}" for key, *_ in fields_help() if key in given]


# --- pretrain ---------------------------------------------------------------------------------
def _add_pretrain(sub) -> None:
    p = sub.add_parser(
        "pretrain", help="masked-LM on unlabelled news (domain-adaptive pretraining): a backbone for train",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Continue a backbone (IndoBERT on a team's own news, on a GPU box) or train a BERT from\n"
                    "scratch (offline configs) with whole-word masked-LM on unlabelled news (.txt folders or\n"
                    "id/text JSONL, pretrain.unlabelled). Writes models/<run_name>/: the masked-LM weights\n"
                    "(safetensors), tokenizer, resolved config, metrics.json (dev loss and perplexity),\n"
                    "run_info.json; `indoevent train` takes the folder as model.name_or_path.",
        epilog="examples:\n"
               "  indoevent pretrain --config training/configs/pretrain-tiny.yaml\n"
               "  indoevent train --config training/configs/tiny.yaml --model.name_or_path=models/pretrain-tiny "
               "--model.tiny_corpus=null\n"
               "  indoevent pretrain --config training/configs/pretrain-tiny.yaml --pretrain.unlabelled=news/ "
               "--model.name_or_path=indobenchmark/indobert-base-p1 --model.tiny_corpus=null  # a GPU box\n"
               "see training/README.md")
    p.add_argument("--config", type=Path, required=True, help="YAML config with a pretrain section")
    p.add_argument("--output-dir", type=Path, default=None, help="backbone folder (default: models/<run_name>)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    _overrides(p, ("run_name", "model", "data", "train", "pretrain"))
    p.set_defaults(func=_run_pretrain)


def _run_pretrain(args) -> int:
    try:
        cfg = load_config(args.config, _given(args))
        if not cfg.pretrain.unlabelled:
            return fail(f"{args.config}: no unlabelled news: set pretrain.unlabelled (or --pretrain.unlabelled=PATH)")
        pretrain(cfg, args.output_dir, resume=args.resume, overwrite=args.overwrite)
    except _ERRORS as e:
        return fail(str(e))
    return 0


# --- distill ----------------------------------------------------------------------------------
def _add_distill(sub) -> None:
    p = sub.add_parser(
        "distill", help="distil a trained run into a smaller, faster student",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a student with the teacher's lower N encoder layers (or distill.student's backbone)\n"
                    "to match the teacher's tag distributions on unlabelled news (temperature-scaled KL) and the\n"
                    "gold (cross-entropy), with the teacher's data, windows, labels and recipe (or --config's).\n"
                    "The student is an ordinary run folder: extract, serve, evaluate and export-onnx load it.",
        epilog="examples:\n"
               "  indoevent distill --teacher models/tiny-corpus --unlabelled news.jsonl --layers 1 "
               "--output-dir models/tiny-corpus-1l\n"
               "  indoevent distill --teacher models/indobert-base-p1 --unlabelled news/ --layers 4 "
               "--output-dir models/indobert-4l  # a GPU box\n"
               "see training/README.md")
    p.add_argument("--teacher", type=Path, required=True, help="the trained run folder to distil")
    p.add_argument("--unlabelled", nargs="+", default=None, metavar="PATH",
                   help="unlabelled news: .txt folders or id/text JSONL (default: the config's distill.unlabelled)")
    p.add_argument("--layers", type=int, default=None,
                   help="encoder layers of the student, the teacher's lowest (default: half the teacher's)")
    p.add_argument("--config", type=Path, default=None,
                   help="YAML config for the gold data and recipe (default: the teacher's training_config.yaml)")
    p.add_argument("--output-dir", type=Path, required=True, help="the student's run folder")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    _overrides(p, ("data", "train", "distill"))
    p.set_defaults(func=_run_distill)


def _run_distill(args) -> int:
    try:
        distill(args.teacher, args.output_dir, unlabelled=args.unlabelled, layers=args.layers, config=args.config,
                overrides=_given(args), resume=args.resume, overwrite=args.overwrite)
    except _ERRORS as e:
        return fail(str(e))
    return 0


def add(sub) -> None:
    _add_pretrain(sub)
    _add_distill(sub)
