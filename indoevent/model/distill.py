"""``indoevent distill``: a smaller student learns a trained run's tag distributions.

Distilled students keep about 95% of a teacher's NER F1 at a fraction of its cost (XtremeDistil,
ACL 2020; DistilBERT keeps about 97% of GLUE with half the layers). :func:`distill` reads top to bottom:

    the teacher run's config (or --config): its gold data, splits, windows and recipe
      -> unlabelled news (read_unlabelled; any text of a dev or test article is dropped)
      -> the teacher's logits for every word of the unlabelled and the gold training articles, once
         (:func:`teacher_word_logits`: the training windows, each word taken from the window where it
         is furthest from an edge, as prediction does)
      -> the student: the teacher with only its lower ``layers`` encoder layers (embeddings, those
         layers and the classifier copied), or any backbone named in distill.student
      -> the student's windows (``windows.encode_windows``, exactly as training and inference cut them);
         at each word's first sub-word the teacher's logits, and on gold articles the gold tag
      -> the Trainer of ``train`` (dev span F1 through the one prediction path, early stopping,
         checkpoints, --resume) with the loss
             alpha * T^2 * KL(teacher_T || student_T)  +  (1 - alpha) * cross-entropy(gold)
         (Hinton et al. 2015: T^2 keeps the soft term's gradients on the scale of the hard one's)
      -> an ordinary run folder: the teacher's labels and config, ``pipeline()``, ``extract``, ``serve``
         and ``export-onnx --quantize int8`` load it.

Per word the teacher's logits are kept in memory (43 floats): about 170 MB per million words.
Teacher and student may have different tokenizers: the targets are per word, not per sub-word.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import check_output
from ..text.inputs import Source
from ..text.iob import TaggedWords
from ..text.tokenize import tokenize
from .backbone import load_model
from .checkpoint import read_config, read_tokenizer, read_weights
from .config import ConfigError, ModelConfig, RunConfig, load_config
from .data import Collator, DataError, encode_articles, load_corpus, split_corpus, window_labels
from .run_folder import owning, prepare_work
from .runs import is_main, model_card, run_info, say, write_run
from .train import _print_summary, _save_and_gate, _scores
from .trainer import (
    FitResult,
    _progress_callbacks,
    _resume_point,
    _train_from,
    _trainer_class,
    _training_arguments,
    resolve_precision,
)
from .unlabelled import as_paths, read_unlabelled
from .windows import best_window, encode_windows, special_tokens

_LAYER = re.compile(r"\.layer\.(\d+)\.")
_FF_IN = re.compile(r"\.layer\.(\d+)\.intermediate\.dense\.weight$")  # BERT, RoBERTa, XLM-R naming


def student_from_teacher(teacher: Any, layers: int, intermediate_size: int = 0) -> Any:
    """A copy of ``teacher`` (a token classifier) with only its lower ``layers`` encoder layers:
    the embeddings, encoder layers 0..layers-1 and the classifier head are the teacher's weights.
    ``intermediate_size`` (0: the teacher's) narrows each layer's feed-forward block to the teacher's
    units with the largest weights (:func:`prune_feed_forward`)."""
    n = teacher.config.num_hidden_layers
    if not 1 <= layers <= n:
        raise ConfigError(f"distill.layers must be between 1 and the teacher's {n} layers, got {layers}")
    width = teacher.config.intermediate_size
    if not 0 <= intermediate_size <= width:
        raise ConfigError(f"distill.intermediate_size must be between 1 and the teacher's {width} (0: the teacher's), "
                          f"got {intermediate_size}")
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = layers
    state = {k: v for k, v in teacher.state_dict().items()
             if not ((m := _LAYER.search(k)) and int(m.group(1)) >= layers)}
    if intermediate_size and intermediate_size < width:
        config.intermediate_size = intermediate_size
        state = prune_feed_forward(state, intermediate_size)
    student = type(teacher)(config)
    try:
        missing, unexpected = student.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a shape the pruning did not reach (another architecture's naming)
        missing, unexpected = [str(e).splitlines()[-1].strip()], []
    if missing or unexpected:  # another architecture's layer naming: better no student than a half-copied one
        raise ConfigError(f"cannot copy the teacher's lower layers into the student (missing {missing[:3]}, "
                          f"unexpected {unexpected[:3]}); name a backbone in distill.student instead")
    return student


def narrow_student(teacher: Any, layers: int, hidden_size: int, intermediate_size: int = 0,
                   embeddings: str = "pca") -> Any:
    """A student of ``layers`` fresh encoder layers ``hidden_size`` wide (the teacher's heads and
    vocabulary, so the teacher's tokenizer serves it; feed-forward ``intermediate_size``, 0: the teacher's
    ratio to its width). ``embeddings="pca"`` starts its word, position and type embeddings as the
    teacher's projected on the top principal axes of the teacher's word embeddings; ``"fresh"``: random."""
    import torch

    tc = teacher.config
    if not 1 <= hidden_size <= tc.hidden_size or hidden_size % tc.num_attention_heads:
        raise ConfigError(f"distill.hidden_size must be at most the teacher's {tc.hidden_size} and a multiple of "
                          f"its {tc.num_attention_heads} attention heads, got {hidden_size}")
    config = copy.deepcopy(tc)
    config.num_hidden_layers, config.hidden_size = layers, hidden_size
    config.intermediate_size = intermediate_size or tc.intermediate_size * hidden_size // tc.hidden_size
    student = type(teacher)(config)
    if embeddings == "pca":
        # The sum word + position + type lives in one space: one projection keeps the three aligned.
        t_emb, s_emb = teacher.base_model.embeddings, student.base_model.embeddings
        w = t_emb.word_embeddings.weight.detach()
        axes = torch.linalg.svd(w - w.mean(0), full_matrices=False).Vh[:hidden_size].T  # (teacher width, width)
        with torch.no_grad():
            for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
                getattr(s_emb, name).weight.copy_(getattr(t_emb, name).weight @ axes)
    return student


def prune_feed_forward(state: dict[str, Any], width: int) -> dict[str, Any]:
    """``state`` with each encoder layer's feed-forward block cut to ``width`` units: those whose
    input and output weights have the largest norms (``|W_in[j]| * |W_out[:, j]|``), in their order.

    Structured pruning as in Michel et al. 2019 and DynaBERT (2020), by weight magnitude: the student
    starts near the teacher, and distillation then recovers what the cut units did.
    """
    out = dict(state)
    for key in state:
        m = _FF_IN.search(key)
        if not m:
            continue
        prefix = key[: m.start()] + f".layer.{m.group(1)}."
        w_in, w_out = state[key], state[prefix + "output.dense.weight"]
        keep = (w_in.norm(dim=1) * w_out.norm(dim=0)).topk(width).indices.sort().values
        out[key] = w_in[keep].clone()
        out[prefix + "intermediate.dense.bias"] = state[prefix + "intermediate.dense.bias"][keep].clone()
        out[prefix + "output.dense.weight"] = w_out[:, keep].clone()
    return out


def unlabelled_articles(sources: Sequence[Source]) -> list[TaggedWords]:
    """Unlabelled articles as word-level articles with no gold (tags all O, never used as labels).

    >>> from indoevent.text.inputs import Source
    >>> a = unlabelled_articles([Source("b1", "Prabowo bertemu Xi.", "x")])[0]
    >>> a.tokens, a.starts
    (['Prabowo', 'bertemu', 'Xi', '.'], [0, 8, 16, 18])
    """
    out = []
    for s in sources:
        words = tokenize(s.text)
        out.append(TaggedWords(s.id, s.text, [w.text for w in words], [w.start for w in words],
                               [w.end for w in words], ["O"] * len(words)))
    return out


def teacher_word_logits(model: Any, tokenizer: Any, articles: Sequence[TaggedWords], max_length: int, overlap: int,
                        batch_size: int = 32) -> list[np.ndarray]:
    """Per article, the teacher's logits for each word ``(words, labels)``, from the window where the
    word is furthest from an edge (as prediction decides); NaN for a word with no sub-word."""
    import torch
    from tqdm.auto import tqdm

    specials = special_tokens(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model.eval()
    out = []
    for a in tqdm(articles, desc="teacher", unit="article", disable=not is_main()):
        windows = encode_windows(tokenizer, a.tokens, max_length, overlap, specials)
        best = best_window(windows, len(a.tokens))
        logits = np.full((len(a.tokens), model.config.num_labels), np.nan, dtype=np.float32)
        for b in range(0, len(windows), batch_size):
            chunk = windows[b:b + batch_size]
            width = max(len(w.input_ids) for w in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, w in enumerate(chunk):
                ids[r, :len(w.input_ids)] = torch.tensor(w.input_ids)
                mask[r, :len(w.input_ids)] = 1
            with torch.no_grad():
                z = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits.float().cpu()
            for r, w in enumerate(chunk):
                for pos, word in w.first_subword_positions():
                    if best[word] == b + r:
                        logits[word] = z[r, pos].numpy()
        out.append(logits)
    return out


def student_rows(tokenizer: Any, articles: Sequence[TaggedWords], gold: Sequence[bool], targets: Sequence[np.ndarray],
                 label2id: dict[str, int], max_length: int, overlap: int) -> list[dict]:
    """The student's training windows: ids, gold labels (-100 everywhere on unlabelled articles) and
    at each word's first sub-word the teacher's logits (``kd_pos``, ``teacher``)."""
    specials = special_tokens(tokenizer)
    rows = []
    for a, is_gold, z in zip(articles, gold, targets, strict=True):
        tag_ids = [label2id[t] for t in a.tags]
        for w in encode_windows(tokenizer, a.tokens, max_length, overlap, specials):
            first = [(p, i) for p, i in w.first_subword_positions() if not np.isnan(z[i, 0])]
            labels = window_labels(w, tag_ids) if is_gold else [-100] * len(w.input_ids)
            rows.append({"input_ids": w.input_ids, "labels": labels, "kd_pos": [p for p, _ in first],
                         "teacher": z[[i for _, i in first]] if first else np.zeros((0, z.shape[1]), np.float32)})
    return rows


class DistillCollator(Collator):
    """Pads ids and gold labels (:class:`~indoevent.model.data.Collator`), and the teacher's logits
    with a mask of the positions that have them; dev rows (no teacher) get ids and labels only."""

    def __init__(self, pad_id: int, n_labels: int, pad_to_multiple_of: int | None = None):
        super().__init__(pad_id, pad_to_multiple_of)
        self.n_labels = n_labels

    def __call__(self, rows: Sequence[dict]) -> dict:
        import torch

        batch = super().__call__([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])
        if "kd_pos" not in rows[0]:
            return batch
        b, n = batch["input_ids"].shape
        teacher = torch.zeros((b, n, self.n_labels), dtype=torch.float32)
        mask = torch.zeros((b, n), dtype=torch.bool)
        for i, r in enumerate(rows):
            if r["kd_pos"]:
                pos = torch.tensor(r["kd_pos"], dtype=torch.long)
                teacher[i, pos] = torch.as_tensor(np.asarray(r["teacher"]), dtype=torch.float32)
                mask[i, pos] = True
        return {**batch, "teacher_logits": teacher, "kd_mask": mask}


def distillation_loss(logits: Any, labels: Any, teacher: Any | None, kd_mask: Any | None, temperature: float,
                      alpha: float) -> Any:
    """``alpha * T^2 * KL(teacher_T || student_T)`` over the masked positions plus ``(1 - alpha) *``
    cross-entropy over the gold labels (-100: none); without teacher logits, the cross-entropy alone."""
    import torch.nn.functional as F

    flat = logits.reshape(-1, logits.shape[-1])
    gold = labels.reshape(-1) != -100
    ce = F.cross_entropy(flat[gold], labels.reshape(-1)[gold]) if gold.any() else flat.sum() * 0.0
    if teacher is None or kd_mask is None or not kd_mask.any():
        return ce if teacher is None else (1 - alpha) * ce
    s = F.log_softmax(logits[kd_mask].float() / temperature, dim=-1)
    t = F.log_softmax(teacher[kd_mask].float() / temperature, dim=-1)
    kl = F.kl_div(s, t, log_target=True, reduction="batchmean")
    return alpha * temperature**2 * kl + (1 - alpha) * ce


def _distill_trainer_class() -> type:
    base: Any = _trainer_class()

    class DistillTrainer(base):
        """``train``'s Trainer (dev span F1 through the prediction path) with the distillation loss."""

        temperature: float = 2.0
        alpha: float = 0.5

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # The loss is a mean per batch: the Trainer must divide it by the accumulation steps itself.
            self.model_accepts_loss_kwargs = False

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            teacher, kd_mask = inputs.pop("teacher_logits", None), inputs.pop("kd_mask", None)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = distillation_loss(outputs.logits, labels, teacher, kd_mask, self.temperature, self.alpha)
            return (loss, outputs) if return_outputs else loss

    return DistillTrainer


def make_distill_trainer(cfg: RunConfig, model: Any, tokenizer: Any, rows: list[dict], dev_f: Any,
                         checkpoints: Path, callbacks: Sequence[Any] = ()) -> tuple[Any, str]:
    """The Trainer of ``train`` (:func:`~indoevent.model.trainer.make_trainer`'s arguments, early
    stopping and progress line) over the distillation rows and loss."""
    import torch
    from transformers import EarlyStoppingCallback, ProgressCallback

    precision = resolve_precision(cfg.train.precision)
    args = _training_arguments(cfg, checkpoints, precision, torch.cuda.is_available(), has_dev=dev_f is not None)
    args = dataclasses.replace(args, remove_unused_columns=False)  # the teacher's logits are the loss's, not the model's
    cbs = list(callbacks)
    if dev_f is not None and cfg.train.early_stopping_patience > 0:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=cfg.train.early_stopping_patience))
    trainer = _distill_trainer_class()(
        model=model, args=args, data_collator=DistillCollator(tokenizer.pad_token_id, model.config.num_labels,
                                                              8 if precision != "fp32" else None),
        train_dataset=rows, eval_dataset=dev_f, processing_class=tokenizer, callbacks=cbs)
    trainer.temperature, trainer.alpha = cfg.distill.temperature, cfg.distill.alpha
    trainer.dev_articles = dev_f.articles if dev_f is not None else ()
    trainer.run_config = cfg
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(_progress_callbacks("")())
    return trainer, precision


def distill_config(teacher: str | Path, final: Path, config: RunConfig | str | Path | None = None,
                   unlabelled: str | Sequence[str] | None = None, layers: int | None = None,
                   overrides: Sequence[str] = ()) -> RunConfig:
    """The student's config: ``config`` (else the teacher's ``training_config.yaml``) with the
    distill section filled from the arguments, named after the output folder."""
    teacher = Path(teacher)
    if not (teacher / "config.json").is_file():
        raise ConfigError(f"{teacher}: not a run folder (no config.json): give a trained run as --teacher")
    if isinstance(config, RunConfig):
        cfg = config
    else:
        path = Path(config) if config else teacher / "training_config.yaml"
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file (a teacher trained elsewhere: give --config)")
        cfg = load_config(path, list(overrides))
    d = cfg.distill
    d = dataclasses.replace(d, teacher=str(teacher.resolve()),
                            unlabelled=[str(Path(p).resolve()) for p in as_paths(unlabelled or d.unlabelled)],
                            layers=layers if layers is not None else d.layers)
    return dataclasses.replace(cfg, run_name=final.name, distill=d)


def _students(cfg: RunConfig, teacher: Any, t_tok: Any) -> tuple[Any, Any]:
    """The student and its tokenizer: the teacher's lower layers, a narrower student on the teacher's
    vocabulary (distill.hidden_size), or distill.student's backbone."""
    d = cfg.distill
    layers = d.layers or max(1, teacher.config.num_hidden_layers // 2)
    if d.hidden_size and d.student:
        raise ConfigError("distill.hidden_size narrows a student on the teacher's vocabulary; distill.student's "
                          "backbone has its own width")
    if d.hidden_size:
        return narrow_student(teacher, layers, d.hidden_size, d.intermediate_size, d.embeddings), t_tok
    if d.student:
        if d.intermediate_size:
            raise ConfigError("distill.intermediate_size narrows the teacher's layers; distill.student's backbone "
                              "has its own width")
        labels = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
        return load_model(ModelConfig(name_or_path=d.student), cfg.data.max_length, labels)
    return student_from_teacher(teacher, layers, d.intermediate_size), t_tok


def distill(teacher: str | Path, output_dir: str | Path, *, unlabelled: str | Sequence[str] | None = None,
            layers: int | None = None, config: RunConfig | str | Path | None = None, overrides: Sequence[str] = (),
            resume: bool = False, overwrite: bool = False, callbacks: Sequence[Any] = ()) -> Path:
    """Distil the run ``teacher`` into a student with ``layers`` encoder layers (default half) on the
    ``unlabelled`` news and the gold; writes and returns the student's run folder ``output_dir``."""
    from transformers import set_seed

    final = Path(output_dir)
    cfg = distill_config(teacher, final, config, unlabelled, layers, overrides)
    # the teacher and the news are inputs: never replaced, even with overwrite (the README's output rule)
    check_output(final, [teacher, *as_paths(cfg.distill.unlabelled)], overwrite=True, option="--output-dir")
    with owning(final):
        t0 = time.perf_counter()
        corpus = load_corpus(cfg.data)
        split = split_corpus(corpus, cfg.data)
        sources, report = read_unlabelled(as_paths(cfg.distill.unlabelled), [a.text for a in split["dev"] + split["test"]],
                                          what="distill.unlabelled")
        work = prepare_work(final, resume, overwrite, cfg, "distill")
        set_seed(cfg.train.seed)
        t_model, t_tok = _teacher(str(teacher))
        student, s_tok = _students(cfg, t_model, t_tok)
        s_tok.model_max_length = cfg.data.max_length
        say(f"{cfg.run_name}: teacher {Path(teacher).name} ({t_model.config.num_hidden_layers} layers) -> "
            f"student {student.config.num_hidden_layers} layers x {student.config.hidden_size}; {len(split['train'])} gold and {len(sources)} "
            f"unlabelled article(s) ({report['words']:,} words), dev {len(split['dev'])}")
        articles = list(split["train"]) + unlabelled_articles(sources)
        targets = teacher_word_logits(t_model, t_tok, articles, cfg.data.max_length, cfg.data.overlap,
                                      cfg.train.eval_batch_size)
        del t_model
        rows = student_rows(s_tok, articles, [True] * len(split["train"]) + [False] * len(sources), targets,
                            student.config.label2id, cfg.data.max_length, cfg.data.overlap)
        if not rows:
            raise DataError("no training windows: the gold and unlabelled articles are empty")
        dev_f = encode_articles(s_tok, split["dev"], cfg.data.max_length, cfg.data.overlap) if split["dev"] else None
        t1 = time.perf_counter()
        result = _fit(cfg, student, s_tok, rows, dev_f, work / "checkpoints", resume, callbacks)
        t2 = time.perf_counter()
        if not is_main():
            return final
        _publish(cfg, result, split, corpus.files + report["files"], report, work, final, overwrite,
                 {"load_data": t1 - t0, "train": t2 - t1}, t0)
    return final


def _teacher(run: str) -> tuple[Any, Any]:
    """The teacher run's model (on the GPU when there is one) and tokenizer."""
    import torch

    config = read_config(run)
    model = read_weights(run)
    if torch.cuda.is_available():
        model = model.to("cuda")
    tokenizer = read_tokenizer(run, config)
    # Whole articles are tokenised, then cut into windows: the over-long-sequence warning does not apply.
    tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
    return model, tokenizer


def _fit(cfg: RunConfig, model: Any, tokenizer: Any, rows: list[dict], dev_f: Any, checkpoints: Path, resume: bool,
         callbacks: Sequence[Any]) -> FitResult:
    """Train the student (resuming from the newest checkpoint with ``resume``); the best by dev F1."""
    trainer, precision = make_distill_trainer(cfg, model, tokenizer, rows, dev_f, checkpoints, callbacks)
    start = _resume_point(checkpoints) if resume else None
    _train_from(trainer, start, checkpoints)
    history = [{k: v for k, v in h.items() if k in ("epoch", "step", "loss", "learning_rate") or k.startswith("eval_")}
               for h in trainer.state.log_history if "loss" in h or "eval_loss" in h]
    best = {"metric": cfg.train.best_metric if dev_f is not None else None, "value": trainer.state.best_metric,
            "step": trainer.state.best_global_step, "global_step": trainer.state.global_step,
            "epoch": trainer.state.epoch}
    return FitResult(trainer, trainer.model, tokenizer, dev_f, history, best, {"train": {"windows": len(rows)}},
                     start.name if start else None, precision)


def _publish(cfg: RunConfig, result: FitResult, split: dict, files: list[str], report: dict, work: Path, final: Path,
             overwrite: bool, timings: dict, t0: float) -> None:
    """Score the student as ``train`` scores a run and write its run folder."""
    metrics = _scores(cfg, result, split)
    t3 = time.perf_counter()
    m = result.model
    info = run_info(cfg, files, {**timings, "evaluate": t3 - t0 - sum(timings.values()),
                                 "total": time.perf_counter() - t0},
                    {"split": {k: [a.doc_id for a in v] for k, v in split.items()}, "precision": result.precision,
                     "resumed_from": result.resumed_from, "steps": result.best["global_step"],
                     "distill": {"teacher": cfg.distill.teacher, "student_layers": m.config.num_hidden_layers,
                                 "hidden_size": m.config.hidden_size, "embeddings": cfg.distill.embeddings if
                                 cfg.distill.hidden_size else None,
                                 "intermediate_size": m.config.intermediate_size,
                                 "parameters": m.num_parameters(), "unlabelled": report},
                     "data": {"windows": result.data_report}})
    card = model_card(cfg, metrics, info).replace(
        "\n## Training data\n", f"\n## Training data\n\nDistilled from the run `{cfg.distill.teacher}` into "
        f"{m.config.num_hidden_layers} encoder layers ({m.config.hidden_size} wide, feed-forward {m.config.intermediate_size}) on {report['articles']} unlabelled article(s) and the gold "
        f"(KL at temperature {cfg.distill.temperature:g}, weight {cfg.distill.alpha:g}).\n", 1)
    write_run(work, final, cfg, metrics, info, card, overwrite,
              save_model=lambda out: _save_and_gate(result, cfg, out, split["dev"]),
              keep_checkpoints=cfg.train.keep_checkpoints)
    _print_summary(final, metrics, time.perf_counter() - t0)
