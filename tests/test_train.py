"""Fine-tuning end to end on the tiny BERT: run directory, pipeline loading, resume, CV, stand-in backbones.

Scores of these few-step models are never asserted: only what the code must guarantee.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path

import pytest
import yaml

from indoevent.atomic import sha256
from indoevent.model.backbone import load_model
from indoevent.model.config import ConfigError, load_config
from indoevent.model.runs import RunExistsError, partial_dir
from indoevent.model.train import ModelLoadError, train
from indoevent.schema import bio_tags
from scaffold import evaluate_model, tiny_config

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "training" / "configs" / "tiny.yaml"
SEED_EXPORT = ROOT / "annotations" / "seeds.json"


@pytest.fixture(scope="module")
def run(tiny_run) -> Path:
    return tiny_run


@pytest.mark.slow
def test_run_directory_contract(run):
    names = {p.name for p in run.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer_config.json", "training_config.yaml", "metrics.json",
            "run_info.json", "README.md"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pth")) for n in names)  # safetensors only
    assert "checkpoints" not in names and not partial_dir(run).exists()  # nothing half-done left behind
    config = json.loads((run / "config.json").read_text())
    assert config["indoevent"] == {"schema_version": 1, "max_length": 128, "overlap": 32,
                                   "base_model": str(ROOT / "models" / "_base" / "tiny-bert"), "run_name": "tiny"}
    assert [config["id2label"][str(i)] for i in range(len(bio_tags()))] == bio_tags()
    assert config["label2id"] == {t: i for i, t in enumerate(bio_tags())}
    tok = json.loads((run / "tokenizer_config.json").read_text())
    assert tok["model_max_length"] == 128  # finite: a plain pipeline never overruns the positions


@pytest.mark.slow
def test_resolved_config_is_saved(run):
    saved = load_config(run / "training_config.yaml")
    assert saved == tiny_config()


@pytest.mark.slow
def test_metrics_and_run_info(run):
    metrics = json.loads((run / "metrics.json").read_text())
    info = json.loads((run / "run_info.json").read_text())
    windows = info["data"]["windows"]["train"]["windows"]
    assert windows > 3 * 4  # 128-sub-word windows cut each of the four training articles several times
    assert set(metrics["dev"]) == {"all", "entities", "triggers"}
    assert metrics["test"] is None  # tiny.yaml holds no test article out
    assert metrics["best"]["global_step"] == 3 * math.ceil(windows / 8)  # 3 epochs, batch 8
    assert [h["epoch"] for h in metrics["history"] if "eval_f1" in h] == [1.0, 2.0, 3.0]
    assert info["data_files"] == {str(SEED_EXPORT): sha256(SEED_EXPORT)}
    assert len(info["git"]["commit"] or "") == 40
    assert {"torch", "transformers", "accelerate", "tokenizers", "python"} <= set(info["libraries"])
    assert info["seed"] == 42 and info["device"]["type"] in ("cpu", "cuda")
    assert {"load_data", "train", "evaluate", "total"} <= set(info["timings_s"])
    assert len(info["split"]["dev"]) == 1 and len(info["split"]["train"]) == 4


@pytest.mark.slow
def test_model_card(run):
    card = (run / "README.md").read_text()
    assert card.startswith("---\n") and "pipeline_tag: token-classification" in card
    for heading in ("## Intended use", "## Training data", "## Evaluation", "## Limits"):
        assert heading in card
    assert "| entities | **micro** |" in card and "annotations/seeds.json" in card


@pytest.mark.slow
def test_loads_with_auto_class_and_pipeline(run):
    from transformers import AutoModelForTokenClassification, pipeline

    model = AutoModelForTokenClassification.from_pretrained(run)
    assert model.config.indoevent["max_length"] == 128 and model.config.num_labels == 43
    tagger = pipeline("token-classification", model=str(run), aggregation_strategy="first")
    text = "Presiden Rusia Vladimir Putin bertemu Kim Jong Un di Beijing pada Rabu (3/9/2025)."
    spans = tagger(text)
    assert isinstance(spans, list)
    for s in spans:
        assert 0 <= s["start"] < s["end"] <= len(text) and s["entity_group"] in {t[2:] for t in bio_tags()[1:]}


@pytest.mark.slow
def test_dev_scores_are_the_scores_of_the_prediction_path(run):
    """metrics.json's dev scores, recomputed from the saved run: the Predictor over the raw dev text,
    strict character spans against the annotated spans of the export."""
    from indoevent.annotation.convert import convert_export
    from indoevent.annotation.lsexport import read_export
    from indoevent.model.metrics import score_spans
    from indoevent.model.predict import Predictor

    info = json.loads((run / "run_info.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    docs = [d for d in read_export(SEED_EXPORT).documents if d.doc_id in info["split"]["dev"]]
    assert len(docs) == 1
    predictor = Predictor.from_pretrained(run, batch_size=32)  # the device and batch of training (tiny.yaml)
    preds = list(predictor.predict_many([d.text for d in docs]))
    assert metrics["dev"] == score_spans([d.spans for d in docs], [p.spans for p in preds])
    # The number early stopping picked the checkpoint by is that same score.
    assert metrics["best"]["metric"] == "f1"
    assert metrics["best"]["value"] == (metrics["dev"]["all"]["micro"]["f1"] or 0.0)
    assert metrics["dev"]["all"]["micro"]["support"] == len(docs[0].spans)
    # `indoevent evaluate` gives the same numbers.
    arts = [a for a in convert_export(SEED_EXPORT)[0] if a.doc_id in info["split"]["dev"]]
    assert evaluate_model(run, arts)[0] == metrics["dev"]


@pytest.mark.slow
def test_cli_evaluate_warns_about_training_articles(run, capsys):
    from indoevent.cli import main

    info = json.loads((run / "run_info.json").read_text())
    rc = main(["evaluate", str(run), "--export", str(SEED_EXPORT), "--articles", info["split"]["train"][0]])
    out = capsys.readouterr()
    assert rc == 0 and "| entities | **micro** |" in out.out
    assert "seqeval word-level micro F1 (conlleval" in out.out
    assert "were in this model's training data" in out.err
    rc = main(["evaluate", str(run), "--export", str(SEED_EXPORT), "--articles", "nope"])
    assert rc == 1 and "unknown article id" in capsys.readouterr().err


@pytest.mark.slow
def test_existing_run_is_not_replaced_without_overwrite(run):
    with pytest.raises(RunExistsError, match="--overwrite"):
        train(tiny_config(), run)


@pytest.mark.slow
def test_overwrite_replaces_and_test_split_is_held_out_unscored(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "stale.txt").write_text("old run")
    train(tiny_config(**{"train.max_steps": 2, "data.test": 1}), out, overwrite=True)
    assert not (out / "stale.txt").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"] is None and set(metrics["dev"]) == {"all", "entities", "triggers"}  # no --score-test
    info = json.loads((out / "run_info.json").read_text())
    assert len(info["split"]["test"]) == 1 and not set(info["split"]["test"]) & set(info["split"]["train"])


@pytest.mark.slow
def test_conll_training_data_is_used(tmp_path):
    conll = tmp_path / "nerp.txt"
    conll.write_text("Joko\tB-PPL\nWidodo\tI-PPL\nmengunjungi\tO\nJakarta\tB-PLC\n\n", encoding="utf-8")
    held_out = tmp_path / "nerp_test.txt"
    held_out.write_text("Prabowo\tB-PPL\nke\tO\nBandung\tB-PLC\n\n", encoding="utf-8")
    nerp = {"PPL": "PER", "PLC": "GPE"}
    cfg = tiny_config(**{"train.max_steps": 1, "data.conll": [
        {"path": str(conll), "split": "train", "label_map": nerp},
        {"path": str(held_out), "split": "test", "label_map": nerp}]})
    out = train(cfg, tmp_path / "r", score_test=True)
    info = json.loads((out / "run_info.json").read_text())
    assert "nerp:1" in info["split"]["train"] and "nerp_test:1" in info["split"]["test"]
    assert info["data_files"][str(conll)] == sha256(conll)
    assert info["data"]["sources"]["conll"][0]["mapped"] == {"PPL->PER": 1, "PLC->GPE": 1}
    # Trained on CoNLL data: seqeval's word-level F1 beside the span F1, equal on CoNLL's word-aligned gold.
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["seqeval"]) == {"dev", "test"} and set(metrics["test"]) == {"all", "entities", "triggers"}
    for group in ("all", "entities", "triggers"):
        assert metrics["seqeval"]["test"][group] == pytest.approx(metrics["test"][group]["micro"]["f1"])


@pytest.mark.slow
def test_resume_continues_from_the_last_checkpoint(tmp_path):
    from transformers import TrainerCallback

    class Interrupt(TrainerCallback):
        per_epoch = None

        def on_step_end(self, args, state, control, **kwargs):
            self.per_epoch = state.max_steps // int(state.num_train_epochs)
            if state.global_step == self.per_epoch + 2:  # in epoch 2, after epoch 1's checkpoint
                raise KeyboardInterrupt

    class FirstStep(TrainerCallback):
        first = None

        def on_step_end(self, args, state, control, **kwargs):
            if self.first is None:
                self.first = state.global_step

    cfg = tiny_config(**{"train.early_stopping_patience": 0})
    out = tmp_path / "r"
    interrupt = Interrupt()
    with pytest.raises(KeyboardInterrupt):
        train(cfg, out, callbacks=[interrupt])
    assert not out.exists()  # a crash never leaves a folder that looks like a finished run
    work = partial_dir(out)
    n = interrupt.per_epoch
    assert (work / "checkpoints" / f"checkpoint-{n}" / "trainer_state.json").exists()
    with pytest.raises(RunExistsError, match="--resume"):
        train(cfg, out)  # refusing to throw the interrupted run away
    first = FirstStep()
    train(cfg, out, resume=True, callbacks=[first])
    assert first.first == n + 1  # continued after epoch 1's checkpoint, not from step 1
    info = json.loads((out / "run_info.json").read_text())
    assert info["resumed_from"] == f"checkpoint-{n}" and info["steps"] == 3 * n
    assert not work.exists()


@pytest.mark.slow
def test_resume_without_checkpoint_starts_fresh(tmp_path, capsys):
    out = train(tiny_config(**{"train.max_steps": 1}), tmp_path / "r", resume=True)
    assert "starting from scratch" in capsys.readouterr().out and (out / "model.safetensors").exists()


@pytest.mark.slow
def test_cross_validation(tmp_path):
    from transformers import TrainerCallback

    class StopSecondFold(TrainerCallback):
        folds = 0

        def on_train_begin(self, args, state, control, **kwargs):
            self.folds += 1
            if self.folds == 2:
                raise KeyboardInterrupt

    cfg = tiny_config(**{"train.max_steps": 2, "cv.k": 3})
    out = tmp_path / "cv"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, out, cv=True, callbacks=[StopSecondFold()])
    assert (partial_dir(out) / "fold-0" / "result.json").exists() and not out.exists()
    with pytest.raises(RunExistsError, match="finished folds.*--resume.*--overwrite"):
        train(cfg, out, cv=True)  # never throws the finished fold away unasked
    assert (partial_dir(out) / "fold-0" / "result.json").exists()
    train(cfg, out, cv=True, resume=True)  # fold 0 is kept, folds 1 and 2 run
    metrics = json.loads((out / "metrics.json").read_text())["cv"]
    assert metrics["k"] == 3 and len(metrics["folds"]) == 3
    tests = [a for f in metrics["folds"] for a in f["test"]]
    assert sorted(tests) == sorted(json.loads(SEED_EXPORT.read_text())[i]["data"]["doc_id"] for i in range(5))
    for f in metrics["folds"]:
        assert not set(f["test"]) & set(f["train"]) and not set(f["dev"]) & set(f["train"] + f["test"])
    f1s = [f["test_metrics"]["all"]["micro"]["f1"] for f in metrics["folds"]]
    assert metrics["summary"]["all"]["micro"]["f1"]["mean"] == pytest.approx(sum(f1s) / 3, abs=1e-4)
    assert metrics["summary"]["all"]["micro"]["f1"]["n"] == 3
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert sorted(p["doc_id"] for p in preds) == sorted(tests)
    from indoevent.annotation.lsexport import read_export
    from indoevent.document import Span
    from indoevent.model.metrics import score_spans

    docs = {d.doc_id: d for d in read_export(SEED_EXPORT).documents}
    for p in preds:  # gold and predicted character spans, with the article's text at their offsets
        text = docs[p["doc_id"]].text
        assert [(s["start"], s["end"], s["label"]) for s in p["gold"]] == \
            [(s.start, s.end, s.label) for s in sorted(docs[p["doc_id"]].spans)]
        assert all(text[s["start"]:s["end"]] == s["text"] for s in p["gold"] + p["pred"])

    def spans(items):
        return [Span(s["start"], s["end"], s["label"]) for s in items]

    assert metrics["pooled"] == score_spans([spans(p["gold"]) for p in preds], [spans(p["pred"]) for p in preds])
    assert not (out / "model.safetensors").exists()  # a CV folder reports, it holds no model
    assert "not a model" in (out / "README.md").read_text()
    assert yaml.safe_load((out / "training_config.yaml").read_text())["cv"]["k"] == 3


@pytest.mark.slow
def test_cli_train_tiny(tmp_path, capsys):
    from indoevent.cli import main

    rc = main(["train", "--config", str(TINY), "--output-dir", str(tmp_path / "r"), "--train.max_steps=2",
               f"--model.name_or_path={ROOT / 'models' / '_base' / 'tiny-bert'}", f"--data.export={SEED_EXPORT}"])
    assert rc == 0 and (tmp_path / "r" / "model.safetensors").exists()
    assert "wrote" in capsys.readouterr().out


def test_unreachable_hub_names_the_model_and_the_fix(tmp_path, monkeypatch, capsys):
    import huggingface_hub.constants

    from indoevent.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    cfg = load_config(ROOT / "training/configs/indobert-base-p1.yaml")
    with pytest.raises(ModelLoadError) as e:
        load_model(cfg.model, 512)
    message = str(e.value)
    assert "indobenchmark/indobert-base-p1" in message and "model.name_or_path" in message
    assert "HF_HUB_OFFLINE" in message
    rc = main(["train", "--config", str(ROOT / "training/configs/indobert-base-p1.yaml"),
               "--output-dir", str(tmp_path / "r"), f"--data.export={SEED_EXPORT}", "--data.splits=null"])
    assert rc == 1 and "cannot load the model 'indobenchmark/indobert-base-p1'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_refused_run_leaves_nothing_beside_it(tmp_path):
    """The README says a refused run creates nothing: no .NAME.partial/, no .NAME.lock."""
    cfg = tiny_config(**{"model.tiny_corpus": None, "model.name_or_path": str(tmp_path / "nowhere")})
    with pytest.raises(ModelLoadError):
        train(cfg, tmp_path / "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_finished_run_leaves_no_lock_file(run):
    assert sorted(p.name for p in run.parent.iterdir()) == [run.name]


def test_missing_local_folder_is_named(tmp_path):
    cfg = tiny_config(**{"model.tiny_corpus": None, "model.name_or_path": str(tmp_path / "nowhere")})
    with pytest.raises(ModelLoadError, match="local folder that does not exist"):
        load_model(cfg.model, 128)


def test_half_precision_needs_a_gpu():
    import torch

    from indoevent.model.runtime import cpu_bf16_trains_faster, native_bf16
    from indoevent.model.trainer import resolve_precision

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: bf16/fp16 are allowed here")
    assert resolve_precision("auto") == ("bf16" if cpu_bf16_trains_faster() else "fp32")
    with pytest.raises(ConfigError, match="needs a GPU"):
        resolve_precision("fp16")
    if native_bf16():
        assert resolve_precision("bf16") == "bf16"
    else:
        with pytest.raises(ConfigError, match="needs a GPU"):
            resolve_precision("bf16")


# --- the real configs, up to model construction, with stand-in local checkpoints ----------------
def _xlmr_standin(out: Path) -> Path:
    """A tiny XLMRobertaModel with a Unigram (SentencePiece-style) vocabulary trained on the seeds."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizer

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator([p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))],
                            trainers.UnigramTrainer(vocab_size=1000, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                                    unk_token="<unk>", show_progress=False))
    vocab = [tuple(x) for x in json.loads(tok.to_str())["model"]["vocab"]] + [("<mask>", 0.0)]
    tokenizer = XLMRobertaTokenizer(vocab=vocab, model_max_length=512)
    assert len(tokenizer) == len(vocab)
    tokenizer.save_pretrained(out)
    config = XLMRobertaConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=128, max_position_embeddings=514, pad_token_id=tokenizer.pad_token_id,
                              bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    XLMRobertaModel(config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def standins(tmp_path_factory):
    from indoevent.model.tiny import build_tiny_bert

    d = tmp_path_factory.mktemp("standins")
    bert = build_tiny_bert(d / "bert", ROOT / "seeds", vocab_size=1000, hidden_size=64, layers=1)
    return {"BertModel": bert, "XLMRobertaModel": _xlmr_standin(d / "xlmr")}


@pytest.mark.parametrize("name, base_class, model_class", [
    ("indobert-base-p1", "BertModel", "BertForTokenClassification"),
    ("indolem-indobert", "BertModel", "BertForTokenClassification"),
    ("xlm-roberta-base", "XLMRobertaModel", "XLMRobertaForTokenClassification"),
])
def test_real_configs_build_their_model(name, base_class, model_class, standins):
    import torch

    from indoevent.annotation.convert import convert_export
    from indoevent.model.data import Collator, encode_articles

    cfg = load_config(ROOT / "training" / "configs" / f"{name}.yaml",
                      {"model.name_or_path": str(standins[base_class])})
    model, tokenizer = load_model(cfg.model, cfg.data.max_length)
    assert type(model).__name__ == model_class
    assert model.config.id2label == dict(enumerate(bio_tags()))
    assert tokenizer.is_fast and tokenizer.model_max_length == cfg.data.max_length == 512
    article = convert_export(SEED_EXPORT)[0][0]  # 1112 words: several 512-sub-word windows
    f = encode_articles(tokenizer, [article], cfg.data.max_length, cfg.data.overlap)
    assert len(f.rows) > 1 and all(len(r["input_ids"]) <= 512 for r in f.rows)
    assert f.rows[0]["input_ids"][0] == tokenizer.cls_token_id
    batch = Collator(tokenizer.pad_token_id)([f[0], f[1]])
    with torch.no_grad():
        out = model(**batch)
    assert out.logits.shape[-1] == 43 and out.loss is not None
    with pytest.raises(ConfigError, match="longer than"):
        load_model(cfg.model, 513)  # 512 positions (XLM-R: 514 minus the 2 it reserves)


def test_no_torch_at_import():
    import subprocess
    import sys

    code = "import indoevent, indoevent.model.config, indoevent.model.data, indoevent.model.metrics, indoevent.annotation.conll, sys; " \
           "print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    # `import indoevent` alone loads neither torch nor yaml, even though `indoevent.train` is one attribute away.
    code = "import indoevent, sys; indoevent.__version__; print(sorted({'torch', 'yaml', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert importlib.import_module("indoevent.model.train").train is train


@pytest.mark.slow
def test_two_processes_with_torchrun(tmp_path):
    """The multi-GPU path (DDP), run on CPU with two processes: one run directory, written once, that
    extraction loads. ``python -m torch.distributed.run`` is torchrun itself, whatever the scripts folder."""
    import os
    import subprocess
    import sys

    from indoevent.events.extractor import Extractor

    out = tmp_path / "ddp"
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",  # DDP over gloo on CPU
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "indoevent",
           "train", "--config", str(TINY),
           "--output-dir", str(out), "--train.epochs=1", f"--data.export={SEED_EXPORT}",
           f"--model.name_or_path={ROOT / 'models' / '_base' / 'tiny-bert'}", f"--model.tiny_corpus={ROOT / 'seeds'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((out / "run_info.json").read_text())
    assert info["world_size"] == 2
    windows = info["data"]["windows"]["train"]["windows"]
    assert info["steps"] == math.ceil(windows / 16)  # one epoch, 8 windows per process and step, 2 processes
    assert proc.stdout.count("wrote ") == 1  # one process writes
    assert not partial_dir(out).exists()
    (x,) = Extractor.from_pretrained(out, device="cpu").extract_many(["Putin bertemu Kim Jong Un di Beijing."])
    assert x.text == "Putin bertemu Kim Jong Un di Beijing."


@pytest.mark.slow
def test_without_dev_articles_the_last_model_is_kept(tmp_path, capsys):
    out = train(tiny_config(**{"data.dev": 0, "train.max_steps": 3}), tmp_path / "r")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dev"] is None and metrics["best"]["global_step"] == 3
    assert "no early stopping" in capsys.readouterr().out


@pytest.mark.slow
def test_scored_spans_are_the_spans_extract_outputs(run, tmp_path):
    """Evaluation predicts and decodes spans exactly as `indoevent extract` does."""
    import shutil

    import torch
    from transformers import AutoModelForTokenClassification

    from indoevent.annotation.checks import edge_problem
    from indoevent.annotation.convert import convert_export
    from indoevent.cli import main

    # A classifier with large random weights tags spans everywhere, orphan I- tags and windows that
    # disagree included: the hard cases of decoding and merging, not only all-O.
    noisy = tmp_path / "noisy"
    shutil.copytree(run, noisy)
    model = AutoModelForTokenClassification.from_pretrained(noisy)
    torch.manual_seed(0)
    with torch.no_grad():
        model.classifier.weight.normal_(0, 1.0)
    model.save_pretrained(noisy)
    run = noisy
    out = tmp_path / "extract.jsonl"
    assert main(["extract", str(ROOT / "seeds"), "--model", str(run), "--out", str(out), "--no-progress"]) == 0
    extracted = {d["id"]: d for d in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    articles = convert_export(SEED_EXPORT)[0]
    _, predictions = evaluate_model(run, articles)
    for art, pred in zip(articles, predictions, strict=True):
        scored = {(s.start, s.end, s.label) for s in pred.spans}
        spans = extracted[art.doc_id]["entities"] + extracted[art.doc_id]["triggers"]
        assert scored == {(s["start"], s["end"], s["label"]) for s in spans}, art.doc_id
        assert len(scored) > len(art.tokens) / 4  # the noisy model does tag many spans
        # Scored spans obey the schema's edge rule, as extracted spans must (Label Studio validates them).
        assert all(edge_problem(art.text[s.start:s.end]) is None for s in pred.spans)


# --- the one prediction path, and defects of issue 7 ------------------------------------------
@pytest.mark.slow
def test_a_dev_gold_span_that_cuts_a_word_counts_as_missed(make_export, tmp_path):
    """Gold ⟦GPE Amerika⟧ku is trained on as the words Amerika|ku, but prediction sees the word
    Amerikaku: the dev scores count that gold span as missed, whatever the model says. The model's
    head is wired to tag the sub-word "amerika" as B-GPE, so word-level scoring of the cut words
    would have counted it as found."""
    from transformers import TrainerCallback

    from scaffold import wire_head

    class Wire(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
            wire_head(model, processing_class, {"amerika": "B-GPE"})

    export = make_export("⟦e1:PER Prabowo⟧ ⟦t1:CONSULT bertemu⟧ warga ⟦e2:GPE Amerika⟧ku.",
                         "⟦e1:PER Jokowi⟧ ⟦t1:CONSULT bertemu⟧ Dubes ⟦e2:GPE Amerika⟧ di Jakarta.",
                         "⟦e1:GPE Amerika⟧ dan ⟦e2:GPE Rusia⟧ ⟦t1:CONSULT berunding⟧ lagi.")
    cfg = tiny_config(**{"data.export": str(export), "data.dev": ["doc1"], "train.epochs": 1})
    out = train(cfg, tmp_path / "r", callbacks=[Wire()])
    dev = json.loads((out / "metrics.json").read_text())["dev"]
    # Found: the word "Amerikaku" as GPE (22-31); gold: "Amerika" (22-29), never matched.
    assert dev["entities"]["labels"]["GPE"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1,
                                                "predicted": 1}
    assert dev["all"]["micro"]["support"] == 3  # every gold span counts, the unreachable one included
    evals = [h for h in json.loads((out / "metrics.json").read_text())["history"] if "eval_f1" in h]
    assert evals and evals[-1]["eval_entities_recall"] == 0.0  # the score early stopping saw


def test_cv_with_more_folds_than_articles_creates_nothing(tmp_path, capsys):
    from indoevent.cli import main
    from indoevent.model.data import DataError

    out = tmp_path / "cv"
    with pytest.raises(DataError, match="cv.k=10.*5 gold articles"):
        train(tiny_config(**{"cv.k": 10}), out, cv=True)
    rc = main(["train", "--config", str(TINY), "--output-dir", str(out), "--cv", "--cv.k=10",
               f"--data.export={SEED_EXPORT}", f"--model.name_or_path={ROOT / 'models' / '_base' / 'tiny-bert'}"])
    err = capsys.readouterr().err
    assert rc == 1 and "cv.k=10" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not partial_dir(out).exists()  # no orphan .partial folder


def _full_disk_save(obj, f, *args, **kwargs):
    """torch.save on a disk that fills up: part of the file is written, then ENOSPC."""
    import errno

    with open(f, "wb") as fh:
        fh.write(b"\0" * 4096)
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.slow
def test_full_disk_while_checkpointing_is_one_line_and_leaves_no_half_checkpoint(tmp_path, monkeypatch, capsys):
    import torch

    from indoevent.cli import main

    out = tmp_path / "r"
    monkeypatch.setattr(torch, "save", _full_disk_save)
    rc = main(["train", "--config", str(TINY), "--output-dir", str(out), "--train.epochs=1",
               f"--data.export={SEED_EXPORT}", f"--model.name_or_path={ROOT / 'models' / '_base' / 'tiny-bert'}"])
    err = capsys.readouterr().err
    checkpoints = partial_dir(out) / "checkpoints"
    assert rc == 1 and "Traceback" not in err and err.count("indoevent: error:") == 1, err
    message = err.split("indoevent: error:")[1].splitlines()[0]  # progress bars share stderr
    assert str(checkpoints) in message and "no space left on device" in message and "--resume" in message
    assert not out.exists()
    assert [p.name for p in checkpoints.iterdir()] == []  # the half-written checkpoint is gone


@pytest.mark.slow
def test_full_disk_while_writing_the_run_publishes_nothing(tmp_path, monkeypatch):
    import errno

    from indoevent.model import runs
    from indoevent.model.runs import RunWriteError

    def full(path, data):
        Path(path).write_text("{", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "write_json", full)
    out = tmp_path / "r"
    with pytest.raises(RunWriteError, match=f"{out}.*no space left on device"):
        train(tiny_config(**{"data.dev": 0, "train.max_steps": 1}), out)
    assert not out.exists() and not (partial_dir(out) / "final").exists()


@pytest.mark.slow
def test_the_first_run_on_a_fresh_clone_equals_later_ones(tmp_path):
    """Building the tiny base draws random numbers: it must happen before seeding, or the first run
    (the one that builds it) starts from other weights than every later run."""
    import torch
    from safetensors.torch import load_file

    cfg = tiny_config(**{"model.name_or_path": str(tmp_path / "base"), "data.dev": 0, "train.max_steps": 1})
    first = train(cfg, tmp_path / "first")  # builds tmp_path/base
    second = train(cfg, tmp_path / "second")
    a, b = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_a_second_train_on_one_run_folder_stops_at_once(tmp_path):
    """Two `train`s on one --output-dir shared one .partial folder, mixing checkpoints; now the second stops."""
    import subprocess

    final = tmp_path / "race"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); f.write('4242 train'); f.flush(); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                               str(tmp_path / ".race.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunExistsError, match=r"another `indoevent train` \(pid 4242"):
            train(tiny_config(), final)
        assert not final.exists() and not partial_dir(final).exists()  # nothing started, nothing mixed
    finally:
        holder.kill()
        holder.wait()
    # the lock is a POSIX flock, released when its holder exits: the run can go ahead
    assert train(tiny_config(), final) == final and (final / "model.safetensors").exists()


# --- frozen splits (annotations/corpus/splits.json) ----------------------------------------------
def test_frozen_splits_replace_dev_test_and_make_story_folds(tmp_path):
    from indoevent.model.splits import load_splits

    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"train": ["a1", "a2", "b1", "c1"], "dev": ["d1"], "test": ["t1"],
                                "folds": [["a1", "a2"], ["b1"], ["c1", "d1"]]}), encoding="utf-8")
    frozen = load_splits(path)
    assert (frozen.dev, frozen.test) == (("d1",), ("t1",))
    folds = frozen.folds()
    assert [f.test for f in folds] == [("a1", "a2"), ("b1",), ("c1", "d1")]
    assert folds[0].dev == ("b1",) and folds[0].train == ("c1", "d1")  # a story never straddles train and test
    path.write_text(json.dumps({"train": ["a1"], "dev": ["a1"], "test": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="a1 is in train and in dev"):
        load_splits(path)
    path.write_text(json.dumps({"train": ["a1", "b1"], "dev": ["c1"], "test": ["t1"],
                                "folds": [["a1"], ["b1"], ["t1"]]}), encoding="utf-8")
    with pytest.raises(ValueError, match="no test article"):
        load_splits(path)


def test_data_splits_must_cover_the_gold_exactly(tmp_path):
    from indoevent.model.data import DataError, frozen_splits

    class Gold:
        gold = [type("A", (), {"doc_id": x})() for x in ("a", "b", "c")]

    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"train": ["a", "b"], "dev": ["x"], "test": []}), encoding="utf-8")
    with pytest.raises(DataError, match="in no split: c; not in the export: x"):
        frozen_splits(Gold, str(path))


def test_the_run_config_retrains_from_any_working_directory(tmp_path, monkeypatch):
    # `serve --model RUN` retrains with RUN/training_config.yaml from wherever it was started: the
    # relative paths of the config the run was trained with must not depend on that folder.
    from indoevent.model.runs import write_run

    here = tmp_path / "repo"
    for folder in ("models/_base/tiny-bert", "seeds", "annotations"):
        (here / folder).mkdir(parents=True)
    (here / "annotations" / "seeds.json").write_text("[]")
    (here / "extra.conll").write_text("")
    monkeypatch.chdir(here)
    cfg = load_config(TINY, {"data.conll": [{"path": "extra.conll"}]})
    run = write_run(tmp_path / ".run.partial", here / "runs" / "tiny", cfg, {}, {}, "card")
    monkeypatch.chdir(tmp_path)  # elsewhere
    again = load_config(run / "training_config.yaml")
    assert Path(again.model.name_or_path) == here / "models/_base/tiny-bert" and Path(again.model.name_or_path).is_dir()
    assert Path(again.model.tiny_corpus) == here / "seeds"
    assert Path(again.data.export) == here / "annotations/seeds.json" and Path(again.data.conll[0].path).is_file()
    hub = write_run(tmp_path / ".hub.partial", here / "runs" / "hub", load_config(TINY, {
        "model.name_or_path": "indobenchmark/indobert-base-p1", "model.tiny_corpus": None}), {}, {}, "card")
    assert load_config(hub / "training_config.yaml").model.name_or_path == "indobenchmark/indobert-base-p1"
