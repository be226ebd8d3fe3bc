"""The pretrained model a run starts from: loaded with the project's labels, checked, explained.

:func:`load_model` gives the backbone as a token classifier with the labels of ``schema.py``
and its fast tokenizer, or an error that says what to do: a :class:`ModelLoadError` naming the
model and how to train offline from a local copy, a :class:`ConfigError` when ``max_length`` is
longer than the model accepts. The tiny test backbone is built on first use.

transformers is imported inside the function: ``import indoevent`` stays light.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..schema import bio_tags
from .checkpoint import ModelLoadError, reach_hub
from .config import ConfigError
from .runs import is_hub_id, say
from .tiny import ensure_tiny_bert


def _position_limit(model: Any, tokenizer: Any) -> int:
    """Longest input the model accepts: its position table (RoBERTa-style models reserve the
    first two positions) and the tokenizer's own limit when it has a finite one."""
    cfg = model.config
    limit = getattr(cfg, "max_position_embeddings", None) or 10**9
    if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"):
        limit -= 2
    if tokenizer.model_max_length and tokenizer.model_max_length < 10**6:
        limit = min(limit, tokenizer.model_max_length)
    return limit


def load_model(model_cfg: Any, max_length: int, tags: Sequence[str] | None = None) -> tuple[Any, Any]:
    """The backbone as ``AutoModelForTokenClassification`` with the project's labels, and its tokenizer.

    Raises :class:`ModelLoadError` naming the model and how to point the config at a local
    copy when it cannot be fetched, and :class:`ConfigError` when ``max_length`` is longer
    than the model accepts.
    """
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tags = list(tags or bio_tags())
    name = model_cfg.name_or_path
    ensure_base(model_cfg)
    try:
        reach_hub(name, model_cfg.revision)  # before transformers' five retries
        tokenizer = AutoTokenizer.from_pretrained(name, revision=model_cfg.revision)
        model = AutoModelForTokenClassification.from_pretrained(
            name, revision=model_cfg.revision, num_labels=len(tags),
            id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)})
    except Exception as e:  # noqa: BLE001 - re-raised below unless it is a loading problem
        if not isinstance(e, OSError) and not any(w in type(e).__name__ for w in ("Connect", "Timeout", "HTTP")):
            raise
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        if Path(name).exists():
            where = "a local folder without a complete checkpoint (config.json, weights, tokenizer)"
        elif not is_hub_id(name):
            where = "a local folder that does not exist"
        else:
            where = ("not in the local cache, and the hub is off (HF_HUB_OFFLINE=1)" if offline else
                     "not in the local cache, and the hub could not be reached")
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(
            f"cannot load the model {name!r} ({where}): {reason}\n"
            f"To train offline, copy the model to a folder on this machine (on a connected one: "
            f"`hf download {name} --local-dir DIR`), point the config at it with "
            f"`model.name_or_path: DIR` (or `--model.name_or_path=DIR`), and set HF_HUB_OFFLINE=1.") from e
    if not getattr(tokenizer, "is_fast", True):
        raise ModelLoadError(f"{name}: its tokenizer has no fast (Rust) version, which windows need for word ids")
    limit = _position_limit(model, tokenizer)
    if max_length > limit:
        raise ConfigError(f"data.max_length={max_length} is longer than {name} accepts ({limit} positions)")
    if "uncased" in name.lower():
        # Lowercasing belongs to the tokenizer's own config, in training and inference alike; an
        # uncased model whose tokenizer keeps case sees words it was never trained on.
        a = tokenizer("Jakarta", add_special_tokens=False)["input_ids"]
        b = tokenizer("jakarta", add_special_tokens=False)["input_ids"]
        if a != b:
            say(f"warning: {name} is uncased but its tokenizer does not lowercase; set do_lower_case in its "
                "tokenizer_config.json", file=sys.stderr)
    # The saved tokenizer's limit is the window the model was trained with: finite, so that a plain
    # pipeline never feeds it more positions than it has.
    tokenizer.model_max_length = max_length
    no_long_sequence_warning(tokenizer)
    return model, tokenizer


def ensure_base(model_cfg: Any) -> None:
    """Build the tiny test backbone if the config asks for it and it is missing."""
    if model_cfg.tiny_corpus:
        ensure_tiny_bert(model_cfg.name_or_path, model_cfg.tiny_corpus)


def no_long_sequence_warning(tokenizer: Any) -> None:
    """Silence one warning of ``tokenizer`` (the ``model_max_length`` check), no other."""
    # Whole articles are tokenised once and then cut into windows: the tokenizer's warning that a
    # sequence is longer than the model's limit ("will result in indexing errors") does not apply.
    tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
