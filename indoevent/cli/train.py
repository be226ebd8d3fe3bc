"""Commands that build models: train, export-onnx."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..model.config import ConfigError, fields_help, load_config
from ..model.data import DataError
from ..model.gate import GATE_FILE, MAX_F1_DROP, MIN_AGREEMENT, write_no_gate
from ..model.gate_measure import dev_articles, measure_gate
from ..model.onnx_export import ONNX_DIR, export_onnx
from ..model.runs import RunExistsError, RunWriteError
from ..model.self_train import self_train
from ..model.train import ModelLoadError, train
from .common import cannot_load, cannot_write, fail


# --- export-onnx ------------------------------------------------------------------------------
def _add_export_onnx(sub) -> None:
    p = sub.add_parser("export-onnx", help="export a run to ONNX (optionally int8) for fast CPU extraction",
                       description="Export a run's model to ONNX Runtime: RUN/onnx/model.onnx (fp32, attention "
                                   "fused) and, with --quantize int8, RUN/onnx/model.int8.onnx (dynamic int8 "
                                   "weights, about 2x the speed of the HF pipeline on CPU). The exported graph "
                                   "is checked against PyTorch; RUN/onnx/export.json records the differences. "
                                   "With --quantize int8 it also measures int8 (and bf16 on CPUs with native "
                                   "bf16) against fp32 on the run's dev articles into RUN/runtime_gate.json, "
                                   "which the auto runtime reads. Then: indoevent extract ... --model RUN")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--quantize", choices=["int8"], default=None, help="also write the int8 model")
    p.add_argument("--out", type=Path, default=None, help="output folder (default RUN/onnx)")
    p.set_defaults(func=_run_export_onnx)


def _run_export_onnx(args) -> int:
    if not (args.run / "config.json").is_file():
        return fail(f"{args.run}: not a run folder (no config.json)")
    try:
        out = export_onnx(args.run, quantize=args.quantize, out=args.out)
    except OSError as e:
        # A failed write (full disk, no permission) has an errno; transformers' own OSErrors do not.
        if e.errno:
            return cannot_write(args.out or args.run / ONNX_DIR, e)
        return cannot_load(args.run, e)
    except ValueError as e:  # a ModelLoadError among them
        return cannot_load(args.run, e)
    except RuntimeError as e:  # the exported graph computes other logits than PyTorch
        return fail(f"{args.run}: {e}")
    info = json.loads((out / "export.json").read_text(encoding="utf-8"))
    print(f"wrote {out}: " + ", ".join(info["files"].values())
          + f" (fused attention: {'yes' if info['fused_attention'] else 'no'}; max logit difference to PyTorch "
          + f"fp32 {info['max_abs_diff_fp32']:.1e}"
          + (f", int8 {info['max_abs_diff_int8']:.2f}" if "max_abs_diff_int8" in info else "") + ")")
    if args.quantize == "int8" and args.out is None:
        _gate(args.run)
    return 0


def _gate(run: Path) -> None:
    """Measure the runtime gate on the run's dev articles (RUN/runtime_gate.json), or say why not."""
    articles, why = dev_articles(run)
    if why:
        write_no_gate(run, why)
        print(f"runtime gate: none ({why}); the auto runtime runs fp32 on CPU")
        return
    rec = measure_gate(run, articles)
    print(f"runtime gate on {rec['articles']} dev article(s), fp32 F1 {rec['reference']['f1']:.2f}: " + "; ".join(
        f"{k} span agreement {100 * f['span_agreement']:.2f}%, F1 drop {f['f1_drop']:+.2f} points"
        + ("" if f["span_agreement"] >= MIN_AGREEMENT and f["f1_drop"] <= MAX_F1_DROP else " (below the gate)")
        for k, f in rec["figures"].items()) + f" -> {run / GATE_FILE}")


# --- train ------------------------------------------------------------------------------------
def _add_train(sub) -> None:

    p = sub.add_parser(
        "train", help="fine-tune a token classifier (IndoBERT) on entities and event triggers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fine-tune AutoModelForTokenClassification on the gold articles (and CoNLL files) as a\n"
                    "YAML config says, with the overlapping windows inference uses and early stopping on the\n"
                    "strict dev span F1; write models/<run_name>/ (weights, tokenizer, resolved config,\n"
                    "metrics.json, run_info.json, model card). Any config key can be overridden: --train.epochs=3.",
        epilog="examples:\n"
               "  indoevent train --config training/configs/tiny.yaml\n"
               "  indoevent train --config training/configs/tiny.yaml --cv\n"
               "  indoevent train --config training/configs/indobert-base-p1.yaml --train.batch_size=8 "
               "--train.gradient_accumulation_steps=4\n"
               "  torchrun --standalone --nproc_per_node=4 -m indoevent train --config "
               "training/configs/indobert-base-p1.yaml  # 4 GPUs\n"
               "see training/README.md for recipes")
    p.add_argument("--config", type=Path, required=True, help="YAML config (training/configs/*.yaml)")
    p.add_argument("--output-dir", type=Path, default=None,
                   help="run folder (default: models/<run_name>, or models/<run_name>-cv with --cv)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its last checkpoint (with --cv: skip finished folds)")
    p.add_argument("--cv", action="store_true",
                   help="cross-validate by article (leave-one-article-out unless cv.k is set) and report mean and "
                        "standard deviation per label; writes a report folder, no model")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--score-test", action="store_true",
                   help="also score the test articles into metrics.json, for a final table only (choose on dev "
                        "or with --cv; by default the test split stays unscored)")
    _add_overrides(p)
    p.set_defaults(func=_run_train)


def _run_train(args) -> int:

    given = vars(args)
    overrides = [f"{key}={given[key]}" for key, *_ in fields_help() if key in given]
    try:
        cfg = load_config(args.config, overrides)
        train(cfg, args.output_dir, resume=args.resume, cv=args.cv, overwrite=args.overwrite,
              score_test=args.score_test)
    except (ConfigError, DataError, ModelLoadError, RunExistsError, RunWriteError) as e:
        return fail(str(e))
    return 0


# --- self-train -------------------------------------------------------------------------------
def _add_self_train(sub) -> None:
    p = sub.add_parser(
        "self-train", help="train, pseudo-label unlabelled news, retrain on gold + silver",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Self-training: train as `indoevent train` does, predict the unlabelled articles with the\n"
                    "model (the prediction path of `extract`), keep the spans whose mean word probability reaches\n"
                    "self_train.threshold (the other words of those articles may take any tag: partial labels),\n"
                    "and train again from the backbone on gold + silver, self_train.rounds times. The last round\n"
                    "is an ordinary run folder; each round's dev F1 is in its metrics.json (self_train.rounds);\n"
                    "the silver and the earlier rounds' metrics go to <output-dir>-self-train/.",
        epilog="examples:\n"
               "  indoevent self-train --config training/configs/tiny-corpus.yaml --unlabelled news/ "
               "--self_train.rounds=2\n"
               "  indoevent self-train --config training/configs/indobert-base-p1.yaml --unlabelled news.jsonl "
               "--self_train.threshold=0.95\n"
               "see training/README.md, \"Self-training\"")
    p.add_argument("--config", type=Path, required=True, help="YAML config (training/configs/*.yaml)")
    p.add_argument("--unlabelled", type=Path, nargs="+", required=True,
                   help="unlabelled articles: .txt files, folders of them, or JSONL with id and text (as extract reads)")
    p.add_argument("--output-dir", type=Path, default=None, help="run folder (default: models/<run_name>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    _add_overrides(p)
    p.set_defaults(func=_run_self_train)


def _add_overrides(p) -> None:
    g = p.add_argument_group("config overrides (--KEY=VALUE, VALUE read as YAML)")
    for key, tp, default, text in fields_help():
        g.add_argument(f"--{key}", dest=key, metavar="VALUE", default=argparse.SUPPRESS,
                       help=f"{text} [{tp}; default {default!r}]".replace("%", "%%"))


def _run_self_train(args) -> int:
    given = vars(args)
    overrides = [f"{key}={given[key]}" for key, *_ in fields_help() if key in given]
    try:
        cfg = load_config(args.config, overrides)
        self_train(cfg, args.unlabelled, args.output_dir, overwrite=args.overwrite)
    except (ConfigError, DataError, ModelLoadError, RunExistsError, RunWriteError) as e:
        return fail(str(e))
    return 0


def add(sub) -> None:
    _add_export_onnx(sub)
    _add_train(sub)
    _add_self_train(sub)
