"""Where a training step's time goes: the model's forward and backward, the optimiser, and the rest.

The rest (data loading and collation, loss bookkeeping, logging, callbacks, the scheduler)
is what the training code adds on top of the model; the target is under 5% of a step.
Measured on the very Trainer that ``indoevent train`` builds (``make_trainer``), with the
windows of the seed articles, against a bare PyTorch loop over the same batches in the same
run (the baseline). No evaluation or checkpointing happens during the measured steps.

    .venv/bin/python benchmarks/training.py                       # tiny BERT, CPU: a minute
    .venv/bin/python benchmarks/training.py --model base --steps 30 --max-length 512   # BERT-base size (GPU)

``--model base`` is a random-init BERT of IndoBERT-base's shape (12 layers, 768 wide, 50k
vocabulary) built offline: timing needs the architecture, not the weights.

Like every benchmark here it prints the machine, the load and a calibration matmul before and
after (``benchmarks/machine.py``), and judges the target only on an idle machine; busy, it prints
``machine busy: rerun`` and exits 0 (exit 1 means the target was judged and missed). The
calibration is the CPU's: on a GPU it only says how busy the host was.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import Machine  # noqa: E402


def build_base(out: Path, tiny: Path) -> Path:
    """A random-init BertModel of IndoBERT-base's shape, with the tiny tokenizer (its ids fit the 50k vocabulary)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=50000)).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny).save_pretrained(out)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["tiny", "base"], default="tiny")
    ap.add_argument("--steps", type=int, default=60, help="measured steps (after --warmup); medians are reported")
    ap.add_argument("--warmup", type=int, default=5, help="steps not measured (allocator, caches)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--precision", default="auto", help="auto, fp32, bf16 or fp16 (as train.precision)")
    ap.add_argument("--settle", type=float, default=90.0,
                    help="at most this many seconds to wait, after the run, for the 1-minute load average to "
                         "lose this benchmark's own threads")
    args = ap.parse_args()
    m = Machine(settle=args.settle)
    m.begin()

    import torch
    from transformers import TrainerCallback, set_seed

    from indoevent.annotation.convert import convert_export
    from indoevent.model.backbone import load_model
    from indoevent.model.config import load_config
    from indoevent.model.data import Collator, encode_articles
    from indoevent.model.tiny import ensure_tiny_bert
    from indoevent.model.trainer import make_trainer, resolve_precision

    cuda = torch.cuda.is_available()

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    tiny = ensure_tiny_bert(ROOT / "models" / "_base" / "tiny-bert", ROOT / "seeds")
    scratch = Path(tempfile.mkdtemp(prefix="indoevent-bench-"))
    name = str(tiny) if args.model == "tiny" else str(build_base(scratch / "base", tiny))
    total = args.warmup + args.steps
    cfg = load_config(ROOT / "training" / "configs" / "tiny.yaml", {
        "model.name_or_path": name, "model.tiny_corpus": None, "data.max_length": args.max_length,
        "data.overlap": args.max_length // 4, "train.batch_size": args.batch_size, "train.max_steps": total,
        "train.precision": args.precision, "train.logging_steps": 10})
    set_seed(0)
    model, tokenizer = load_model(cfg.model, cfg.data.max_length)
    articles = convert_export(ROOT / "annotations" / "seeds.json")[0]
    features = encode_articles(tokenizer, articles, cfg.data.max_length, cfg.data.overlap)
    rows = [features[i] for i in range(len(features))]
    while len(rows) < total * args.batch_size:  # enough windows for every step of one epoch
        rows += rows

    # --- baseline: a bare PyTorch loop over the same batches, one step after each Trainer step, so
    # that both see the same machine load (the comparison stays fair on a shared machine) ---------
    collate = Collator(tokenizer.pad_token_id, 8 if resolve_precision(args.precision) != "fp32" else None)
    batches = [rows[i:i + args.batch_size] for i in range(0, total * args.batch_size, args.batch_size)]
    set_seed(0)
    bare_model, _ = load_model(cfg.model, cfg.data.max_length)
    times: dict[str, list[float]] = {"step": [], "fwd_bwd": [], "optimizer": [], "bare": []}
    bare_state: dict = {}

    def bare_step(k: int) -> None:
        precision, device = bare_state["precision"], bare_state["device"]
        if "opt" not in bare_state:
            bare_model.to(device).train()
            bare_state["opt"] = torch.optim.AdamW(bare_model.parameters(), lr=1e-4, fused=True)
            bare_state["scaler"] = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        opt, scaler = bare_state["opt"], bare_state["scaler"]
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        batch = {key: v.to(device) for key, v in collate(batches[k]).items()}
        sync()
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = bare_model(**batch).loss
        (scaler.scale(loss) if scaler else loss).backward()
        if scaler:
            scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(bare_model.parameters(), 1.0)
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        if k >= args.warmup:
            times["bare"].append(time.perf_counter() - t)

    # --- the Trainer of `indoevent train`, instrumented ---------------------------------------
    clip = {"s": 0.0}  # seconds of the last gradient clipping

    class Clock(TrainerCallback):
        last = None

        def on_pre_optimizer_step(self, a, state, control, **kw):
            sync()
            self.t_opt = time.perf_counter()

        def on_optimizer_step(self, a, state, control, **kw):
            sync()
            if state.global_step >= args.warmup:
                times["optimizer"].append(time.perf_counter() - self.t_opt + clip["s"])

        def on_step_end(self, a, state, control, **kw):
            sync()
            now = time.perf_counter()
            if self.last is not None and state.global_step > args.warmup:
                times["step"].append(now - self.last)
            bare_step(state.global_step - 1)
            self.last = time.perf_counter()  # the bare step is not part of the next Trainer step

    trainer, precision = make_trainer(cfg, model, tokenizer, rows, None, scratch / "ckpt", [Clock()])
    trainer.args.save_strategy = "no"
    bare_state.update(precision=precision, device=trainer.args.device)
    step_fn, clip_fn = trainer.training_step, trainer._clip_grad_norm

    def timed_step(*a, **kw):
        sync()
        t = time.perf_counter()
        out = step_fn(*a, **kw)
        sync()
        if trainer.state.global_step >= args.warmup:
            times["fwd_bwd"].append(time.perf_counter() - t)
        return out

    def timed_clip(*a, **kw):  # gradient clipping belongs to the optimiser's share
        sync()
        t = time.perf_counter()
        out = clip_fn(*a, **kw)
        sync()
        clip["s"] = time.perf_counter() - t
        return out

    trainer.training_step, trainer._clip_grad_norm = timed_step, timed_clip
    trainer.train()
    m.end()

    # --- collation alone, on the same batches ----------------------------------------------------
    t = time.perf_counter()
    for b in batches:
        collate(b)
    collation = (time.perf_counter() - t) / len(batches)

    # Medians of per-step values: robust to the odd step slowed down by another process.
    n = min(len(times["step"]), len(times["fwd_bwd"]), len(times["optimizer"]))
    step = statistics.median(times["step"][:n])
    fb = statistics.median(times["fwd_bwd"][:n])
    op = statistics.median(times["optimizer"][:n])
    # strict=False: the three lists may differ by a step (see n above); zip stops at the shortest.
    rest = statistics.median(s - f - o
                             for s, f, o in zip(times["step"], times["fwd_bwd"], times["optimizer"], strict=False))
    bare = statistics.median(times["bare"])
    device_name = torch.cuda.get_device_name(0) if cuda else "cpu"
    print(f"model {args.model} ({model.config.num_hidden_layers} layers, {model.config.hidden_size} wide, "
          f"vocabulary {model.config.vocab_size}), batch {args.batch_size} x {args.max_length} sub-words, "
          f"{device_name}, {precision}, {len(times['step'])} measured steps, torch threads {torch.get_num_threads()}")
    print(f"  Trainer step (indoevent train)  {step * 1e3:8.1f} ms  100.0%")
    print(f"    forward + backward            {fb * 1e3:8.1f} ms  {fb / step:6.1%}")
    print(f"    optimiser (clip + AdamW)      {op * 1e3:8.1f} ms  {op / step:6.1%}")
    print(f"    rest: loading, collation, logging, callbacks, scheduler "
          f"{rest * 1e3:6.1f} ms  {rest / step:6.1%}")
    print(f"      of which collation alone    {collation * 1e3:8.2f} ms  {collation / step:6.1%}")
    print(f"  bare PyTorch loop, same batches {bare * 1e3:8.1f} ms  (Trainer / bare: {step / bare:.3f}x)")
    print(f"share of step time outside forward and backward: {1 - fb / step:.1%} "
          f"(optimiser {op / step:.1%}, the rest {rest / step:.1%})")
    if cuda:
        peak = f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB (both models and optimisers)"
    else:
        import resource

        peak = f"peak process memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    print(f"throughput: {args.batch_size / step:.1f} sequences/s ({args.batch_size * args.max_length / step:.0f} "
          f"sub-words/s) in the Trainer; {peak}")
    ok = rest / step < 0.05
    verdict = m.judge(ok)
    print(f"target: data collation, logging and the rest under 5% of a step: {rest / step:.1%} -> {verdict}")
    return 1 if verdict == "NOT met" else 0


if __name__ == "__main__":
    sys.exit(main())
