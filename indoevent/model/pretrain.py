"""``indoevent pretrain``: domain-adaptive masked-LM on unlabelled news, with whole-word masking.

Continued pretraining on in-domain text helps a fine-tuned model consistently (Gururangan et al.
2020, "Don't Stop Pretraining"). :func:`pretrain` reads top to bottom:

    unlabelled news (read_unlabelled: .txt folders or id/text JSONL, the inputs extract takes)
      -> a held-out share for the dev masked-LM loss (pretrain.dev)
      -> the backbone: model.name_or_path continued, or (pretrain.from_scratch) a random-init BERT of
         pretrain.layers x pretrain.hidden_size whose WordPiece vocabulary is trained on the same
         text (pretrain.tokenizer: train) or is the tokenizer of model.name_or_path (keep)
      -> the words of each article (the project tokenizer) cut into windows of data.max_length
         sub-words at word edges (``windows.encode_windows``, no overlap: every word is seen once)
      -> the Hugging Face Trainer, masking whole words in each batch (:func:`mask_words`)
      -> one run folder: an ``AutoModelForMaskedLM`` checkpoint (safetensors) with its tokenizer,
         the resolved config, metrics.json (dev loss and perplexity), run_info.json, a model card.

The folder is a backbone: ``train`` takes it as ``model.name_or_path`` (the MLM head is dropped,
a token-classification head is added). The run folder rules are those of ``train`` (a hidden
``.partial`` folder published by one rename, ``--resume`` from its checkpoints, a lock).

transformers' ``DataCollatorForWholeWordMask`` is gone in transformers 5, and the
``whole_word_mask`` option of ``DataCollatorForLanguageModeling`` guesses words from character
offsets; windows here know their words exactly (``word_ids``), so the masking is written out.
The windows are kept in memory (a list of rows): fine for the tens of MB of text a team has;
larger corpora want the Arrow path of ``data.encode_dataset``.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..atomic import check_output
from ..text.inputs import Source
from ..text.tokenize import tokenize
from .backbone import ensure_base, no_long_sequence_warning
from .checkpoint import ModelLoadError, reach_hub
from .config import RunConfig
from .run_folder import owning, prepare_work, save_model
from .runs import is_main, run_info, say, write_run
from .tiny import build_bert
from .train import _as_config
from .trainer import _resume_point, _train_from, _training_arguments, resolve_precision
from .unlabelled import as_paths, read_unlabelled
from .windows import encode_windows, special_tokens

IGNORE = -100


def mask_words(input_ids: Any, word_ids: Any, probability: float, mask_id: int, vocab_size: int,
               generator: Any = None) -> tuple[Any, Any]:
    """Whole-word masking of one window (1-d tensors): each word (``word_ids`` >= 0; -1 for special
    tokens and padding) is chosen with ``probability``, at least one per window; all its sub-words are
    then replaced as BERT does (80% ``[MASK]``, 10% a random token, 10% kept). Returns the new ids and
    the labels (the original id where chosen, -100 elsewhere)."""
    import torch

    words = torch.unique(word_ids[word_ids >= 0])
    ids, labels = input_ids.clone(), torch.full_like(input_ids, IGNORE)
    if len(words) == 0:
        return ids, labels
    chosen = words[torch.rand(len(words), generator=generator) < probability]
    if len(chosen) == 0:  # a short window still teaches something
        chosen = words[torch.randint(len(words), (1,), generator=generator)]
    picked = torch.isin(word_ids, chosen)
    labels[picked] = input_ids[picked]
    roll = torch.rand(input_ids.shape, generator=generator)
    ids[picked & (roll < 0.8)] = mask_id
    swap = picked & (roll >= 0.8) & (roll < 0.9)
    ids[swap] = torch.randint(vocab_size, input_ids.shape, generator=generator)[swap]
    return ids, labels


class MaskingCollator:
    """Pads windows (``input_ids``, ``word_ids``) to the batch's longest and masks whole words.
    A row with a ``seed`` (the dev windows) is masked the same way at every evaluation."""

    def __init__(self, pad_id: int, mask_id: int, vocab_size: int, probability: float):
        self.pad_id, self.mask_id, self.vocab_size, self.probability = pad_id, mask_id, vocab_size, probability

    def __call__(self, rows: Sequence[dict]) -> dict:
        import torch

        n = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), n), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), n), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        for i, r in enumerate(rows):
            k = len(r["input_ids"])
            gen = torch.Generator().manual_seed(r["seed"]) if "seed" in r else None
            ids[i, :k], labels[i, :k] = mask_words(torch.tensor(r["input_ids"]), torch.tensor(r["word_ids"]),
                                                   self.probability, self.mask_id, self.vocab_size, gen)
            mask[i, :k] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def window_tokenizer(tokenizer: Any, max_length: int) -> None:
    """Set ``tokenizer`` up for :func:`mlm_rows`: its limit is the window (saved with the run), and
    its warning that a whole article is longer than that is silenced: articles are windowed after
    tokenising, so the warning ("1567 > 128") would come on every run and mean nothing."""
    tokenizer.model_max_length = max_length
    no_long_sequence_warning(tokenizer)


def mlm_rows(tokenizer: Any, articles: Sequence[Source], max_length: int, seeded: bool = False) -> list[dict]:
    """The windows of each article's words (the project tokenizer's, as training and extraction cut
    them), without overlap; special tokens have word id -1. ``seeded``: each row gets a fixed mask seed."""
    specials = special_tokens(tokenizer)
    rows: list[dict[str, Any]] = []
    for a in articles:
        words = [w.text for w in tokenize(a.text)]
        for w in encode_windows(tokenizer, words, max_length, 0, specials):
            rows.append({"input_ids": w.input_ids, "word_ids": [-1 if x is None else x for x in w.word_ids]})
    if seeded:
        for i, r in enumerate(rows):
            r["seed"] = i
    return rows


def split_dev(articles: Sequence[Source], share: float, seed: int) -> tuple[list[Source], list[Source]]:
    """A seeded share of the articles (at least one when ``share`` > 0 and there are two) held out.

    >>> from indoevent.text.inputs import Source
    >>> arts = [Source(str(i), "teks", "x") for i in range(10)]
    >>> [len(p) for p in split_dev(arts, 0.2, seed=0)]
    [8, 2]
    """
    if share <= 0 or len(articles) < 2:
        return list(articles), []
    order = random.Random(seed).sample(range(len(articles)), len(articles))
    k = max(1, round(len(articles) * share))
    dev = set(order[:k])
    return [a for i, a in enumerate(articles) if i not in dev], [a for i, a in enumerate(articles) if i in dev]


def load_backbone(cfg: RunConfig, texts: Sequence[str], work: Path) -> tuple[Any, Any]:
    """The masked-LM to train and its tokenizer: model.name_or_path continued, or a random-init BERT
    built once into ``work/base`` (so that ``--resume`` finds the same vocabulary)."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, BertConfig, BertForMaskedLM

    p, name = cfg.pretrain, cfg.model.name_or_path
    if p.from_scratch and p.tokenizer == "train":
        base = work / "base"
        if not (base / "config.json").exists():
            build_bert(base, list(texts), {"pretrain": "vocabulary trained on the unlabelled news"}, p.vocab_size,
                       p.hidden_size, p.layers, max(1, p.hidden_size // 64), cfg.data.max_length, cfg.train.seed,
                       model_class="BertForMaskedLM")
        return AutoModelForMaskedLM.from_pretrained(base), AutoTokenizer.from_pretrained(base)
    ensure_base(cfg.model)
    try:
        reach_hub(name, cfg.model.revision)  # one request, not transformers' five retries
    except OSError as e:
        raise ModelLoadError(str(e)) from e
    tokenizer = AutoTokenizer.from_pretrained(name, revision=cfg.model.revision)
    if not p.from_scratch:
        return AutoModelForMaskedLM.from_pretrained(name, revision=cfg.model.revision), tokenizer
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=p.hidden_size, num_hidden_layers=p.layers,
                        num_attention_heads=max(1, p.hidden_size // 64), intermediate_size=4 * p.hidden_size,
                        max_position_embeddings=max(512, cfg.data.max_length), pad_token_id=tokenizer.pad_token_id)
    return BertForMaskedLM(config), tokenizer


def make_mlm_trainer(cfg: RunConfig, model: Any, tokenizer: Any, train_rows: list[dict], dev_rows: list[dict],
                     checkpoints: Path, callbacks: Sequence[Any] = ()) -> Any:
    """The Trainer of a pretraining run: ``train``'s recipe and checkpoints, the dev masked-LM loss
    picking the best checkpoint, whole-word masking in the collator."""
    import torch
    from transformers import EarlyStoppingCallback, Trainer

    precision = resolve_precision(cfg.train.precision)
    args = _training_arguments(cfg, checkpoints, precision, torch.cuda.is_available(), has_dev=bool(dev_rows))
    # The rows' word_ids are the collator's, not the model's: the Trainer must not drop them.
    args = dataclasses.replace(args, remove_unused_columns=False, metric_for_best_model="loss" if dev_rows else None,
                               greater_is_better=False if dev_rows else None)
    cbs = list(callbacks)
    if dev_rows and cfg.train.early_stopping_patience > 0:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=cfg.train.early_stopping_patience))
    collator = MaskingCollator(tokenizer.pad_token_id, tokenizer.mask_token_id, len(tokenizer),
                               cfg.pretrain.mlm_probability)
    return Trainer(model=model, args=args, data_collator=collator, train_dataset=train_rows,
                   eval_dataset=dev_rows or None, processing_class=tokenizer, callbacks=cbs)


def pretrain(config: RunConfig | str | Path | dict, output_dir: str | Path | None = None, *, resume: bool = False,
             overwrite: bool = False, callbacks: Sequence[Any] = ()) -> Path:
    """Masked-LM on ``pretrain.unlabelled`` as ``config`` says; writes and returns the backbone folder
    (``models/<run_name>`` by default), which ``train`` takes as ``model.name_or_path``."""
    from transformers import set_seed

    cfg = _as_config(config)
    if cfg.pretrain.tokenizer == "train" and not cfg.pretrain.from_scratch:
        raise ValueError("pretrain.tokenizer: train needs pretrain.from_scratch: true")
    final = Path(output_dir) if output_dir else Path("models") / cfg.run_name
    # the backbone continued and the news are inputs: never replaced, even with overwrite
    check_output(final, [cfg.model.name_or_path, *as_paths(cfg.pretrain.unlabelled)], overwrite=True, option="--output-dir")
    with owning(final):
        t0 = time.perf_counter()
        articles, report = read_unlabelled(as_paths(cfg.pretrain.unlabelled), what="pretrain.unlabelled")
        train_arts, dev_arts = split_dev(articles, cfg.pretrain.dev, cfg.data.split_seed)
        say(f"{cfg.run_name}: masked-LM on {len(train_arts)} article(s), dev {len(dev_arts)} "
            f"({report['words']:,} words); {'from scratch' if cfg.pretrain.from_scratch else cfg.model.name_or_path}")
        work = prepare_work(final, resume, overwrite, cfg, "pretrain")
        set_seed(cfg.train.seed)
        model, tokenizer = load_backbone(cfg, [a.text for a in articles], work)
        window_tokenizer(tokenizer, cfg.data.max_length)
        train_rows = mlm_rows(tokenizer, train_arts, cfg.data.max_length)
        dev_rows = mlm_rows(tokenizer, dev_arts, cfg.data.max_length, seeded=True)
        t1 = time.perf_counter()
        trainer = make_mlm_trainer(cfg, model, tokenizer, train_rows, dev_rows, work / "checkpoints", callbacks)
        start = _resume_point(work / "checkpoints") if resume else None
        _train_from(trainer, start, work / "checkpoints")
        t2 = time.perf_counter()
        if not is_main():
            return final
        metrics = _metrics(trainer, dev_rows, len(train_rows))
        info = run_info(cfg, report["files"], {"load_data": t1 - t0, "train": t2 - t1,
                                               "total": time.perf_counter() - t0},
                        {"unlabelled": {k: v for k, v in report.items() if k != "files"},
                         "resumed_from": start.name if start else None, "steps": trainer.state.global_step,
                         "parameters": model.num_parameters()})
        write_run(work, final, _absolute_unlabelled(cfg), metrics, info, _card(cfg, metrics, info), overwrite,
                  save_model=lambda out: save_model(trainer.model, tokenizer, cfg, out),
                  keep_checkpoints=cfg.train.keep_checkpoints)
        dev = metrics["dev"]
        print(f"dev masked-LM loss {dev['loss']:.3f} (perplexity {dev['perplexity']:.1f})" if dev else "no dev loss")
        print(f"wrote {final} in {time.perf_counter() - t0:.1f} s: train with --model.name_or_path={final}")
    return final


def _metrics(trainer: Any, dev_rows: list[dict], n_train: int) -> dict:
    """The dev masked-LM loss of the kept model (the best one when there is dev), and how training went."""
    history = [{k: v for k, v in h.items() if k in ("epoch", "step", "loss", "eval_loss", "learning_rate")}
               for h in trainer.state.log_history if "loss" in h or "eval_loss" in h]
    dev = None
    if dev_rows:
        loss = trainer.evaluate()["eval_loss"]
        dev = {"loss": round(loss, 4), "perplexity": round(math.exp(min(loss, 50)), 2), "windows": len(dev_rows)}
    return {"dev": dev, "train_windows": n_train, "history": history,
            "best": {"step": trainer.state.best_global_step, "global_step": trainer.state.global_step}}


def _absolute_unlabelled(cfg: RunConfig) -> RunConfig:
    """The config as the run folder records it: the unlabelled inputs as absolute paths."""
    paths = [str(Path(p).resolve()) for p in as_paths(cfg.pretrain.unlabelled)]
    return dataclasses.replace(cfg, pretrain=dataclasses.replace(cfg.pretrain, unlabelled=paths))


def _card(cfg: RunConfig, metrics: dict, info: dict) -> str:
    """The backbone's README: what it is, what it read, how to fine-tune it."""
    p, u = cfg.pretrain, info["unlabelled"]
    start = (f"a random-init BERT ({p.layers} layers x {p.hidden_size}, vocabulary "
             f"{'trained on the same text' if p.tokenizer == 'train' else 'of ' + cfg.model.name_or_path})"
             if p.from_scratch else f"`{cfg.model.name_or_path}`")
    dev = metrics["dev"]
    return "\n".join([
        "---", "library_name: transformers", "pipeline_tag: fill-mask", "language: id", "tags: [indoevent]", "---", "",
        f"# {cfg.run_name}", "",
        f"A masked-LM backbone for Indonesian news, pretrained by `indoevent pretrain` from {start} on "
        f"{u['articles']} unlabelled article(s) ({u['words']:,} words) with whole-word masking "
        f"({p.mlm_probability:.0%} of words), windows of {cfg.data.max_length} sub-words, {info['steps']} steps.", "",
        f"Dev masked-LM loss {dev['loss']:.3f}, perplexity {dev['perplexity']:.1f} on {dev['windows']} held-out "
        "windows." if dev else "No dev articles: no dev loss.", "",
        "Fine-tune it for entities and event triggers:", "", "```bash",
        f"indoevent train --config training/configs/tiny.yaml --model.name_or_path=models/{cfg.run_name} "
        "--model.tiny_corpus=null", "```", "",
        "The resolved configuration is in `training_config.yaml`; data hashes and library versions in `run_info.json`.",
        ""])
