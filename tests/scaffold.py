"""Test scaffolding: run folders with an untrained or hard-wired head, built offline.

Used by the tests and the speed benchmarks before a trained run exists; not part of the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indoevent.model.runtime import DEFAULT_MAX_LENGTH, DEFAULT_OVERLAP
from indoevent.schema import bio_tags


def init_run(base: str | Path, out: str | Path, max_length: int = DEFAULT_MAX_LENGTH,
             overlap: int = DEFAULT_OVERLAP, run_name: str | None = None, seed: int = 0,
             wire: dict[str, str] | None = None) -> Path:
    """Write a run directory with an untrained token-classification head on a base checkpoint,
    in the format training writes: for smoke tests and speed benchmarks before a trained run
    exists. ``wire`` hard-wires the head instead ({sub-word: tag}, see :func:`wire_head`)."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    tags = bio_tags()
    torch.manual_seed(seed)
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new head is "missing" from the base checkpoint, as intended
    try:
        model = AutoModelForTokenClassification.from_pretrained(
            base, id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)})
    finally:
        hf_logging.set_verbosity(level)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if wire:
        wire_head(model, tokenizer, wire)
    out = Path(out)
    model.config.indoevent = {"schema_version": 1, "max_length": max_length, "overlap": overlap,
                              "base_model": str(base), "run_name": run_name or out.name}
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def wire_head(model: Any, tokenizer: Any, wire: dict[str, str]) -> None:
    """Make a BERT predict fixed tags: each sub-word in ``wire`` always gets its tag, every
    other sub-word ``O``, whatever the context. A model whose output is known in advance
    tests everything around it (windows, offsets, frames, formats) without training.

    The encoder layers are turned into identities (their output projections zeroed, so the
    residual passes through), position and type embeddings zeroed, and one embedding
    dimension per wired tag flags its sub-words for the classifier."""
    import torch

    bert = model.base_model
    label2id = model.config.label2id
    targets = sorted(set(wire.values()))
    hidden = model.config.hidden_size
    if len(targets) >= hidden:
        raise ValueError("more wired tags than hidden dimensions")
    with torch.no_grad():
        for layer in bert.encoder.layer:
            for lin in (layer.attention.output.dense, layer.output.dense):
                lin.weight.zero_()
                lin.bias.zero_()
        emb = bert.embeddings
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        words = emb.word_embeddings.weight
        words[:, : len(targets)] = 0.0
        head = model.classifier
        head.weight.zero_()
        head.bias.fill_(-10.0)
        head.bias[label2id["O"]] = 0.0
        for d, tag in enumerate(targets):
            for token, t in wire.items():
                if t != tag:
                    continue
                tid = tokenizer.convert_tokens_to_ids(token)
                if tid == tokenizer.unk_token_id:
                    raise ValueError(f"sub-word {token!r} is not in the vocabulary")
                words[tid, d] = 1.0  # after LayerNorm this dimension stands out (about +11)
            head.weight[label2id[tag], d] = 2.0
        # Other words have that dimension at about 0 after LayerNorm: O wins by 10.
