"""Opening a run folder's files: its config, its tokenizer and its weights.

Prediction (:func:`~indoevent.model.runtime.load_run`, behind extract, evaluate, serve and the
``ls`` commands) and ONNX export open runs only through here, so a damaged run reads the same
everywhere: a :class:`ModelLoadError` of one line that starts with the file (a ``model.safetensors``
cut short by an interrupted copy, a ``config.json`` that is not JSON, a tokenizer that is not the
model's), never a traceback of safetensors or transformers. A hub id, or a folder that does not
exist, keeps transformers' own error (an OSError).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class ModelLoadError(ValueError):
    """A run or backbone could not be loaded (no network, wrong name, missing or damaged files).
    A ValueError: the tokenizer check always raised one, and callers catch bad runs as such."""


# The files that make a tokenizer, whichever of them a run folder has.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt",
                   "special_tokens_map.json", "added_tokens.json", "sentencepiece.bpe.model", "spiece.model")


def _reason(e: Exception) -> str:
    """The first line of an error from transformers or safetensors (some run over several)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def reach_hub(name: str | Path, revision: str | None = None) -> None:
    """Fail at once when ``name`` is a hub id missing from the local cache and the hub cannot be
    reached: transformers would first retry five times with backoff (about 30 s) and then fail all
    the same. One request, no retry; anything but a network error (a 404, a gated model) is left to
    transformers' own loading path and message. Nothing is done with HF_HUB_OFFLINE set."""
    name = str(name)
    hub_like = not Path(name).exists() and name.count("/") <= 1 and not name.startswith((".", "/", "~"))
    if not hub_like or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        return
    from huggingface_hub import get_hf_file_metadata, hf_hub_url, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json", revision=revision), str):
        return  # cached: transformers falls back to the cache when the hub is down
    try:
        get_hf_file_metadata(hf_hub_url(name, "config.json", revision=revision), timeout=10)
    except Exception as e:  # noqa: BLE001 - only network errors are ours to report
        network = {"NetworkError", "TimeoutException", "ConnectionError", "TimeoutError"}
        if not network & {c.__name__ for c in type(e).__mro__}:
            return
        raise OSError(f"{name}: not in the local cache, and the hub could not be reached ({_reason(e)}); "
                      f"copy the model to a folder here (on a connected machine: `hf download {name} "
                      "--local-dir DIR`) and give that folder") from e


def read_config(run: str | Path) -> Any:
    """The run's ``AutoConfig``."""
    from transformers import AutoConfig

    config = Path(run) / "config.json"
    reach_hub(run)
    try:
        return AutoConfig.from_pretrained(run)
    except (OSError, ValueError) as e:
        if not config.is_file():
            raise
        raise ModelLoadError(f"{config}: not a model config ({_reason(e)}); copy the run's config.json again, "
                             "or retrain") from e


def read_tokenizer(run: str | Path, config: Any) -> Any:
    """The run's tokenizer, checked against the model (:func:`check_vocabulary`)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(run)
    except (OSError, ValueError) as e:  # a tokenizer.json that is not JSON is a JSONDecodeError
        if not Path(run).is_dir():
            raise
        raise ModelLoadError(f"{run}: cannot read the tokenizer ({_reason(e)}); copy the tokenizer files "
                             "(tokenizer.json ...) of the run's base model into the folder, or retrain") from e
    check_vocabulary(run, tokenizer, config)
    return tokenizer


def read_weights(run: str | Path, **kwargs: Any) -> Any:
    """The run's ``AutoModelForTokenClassification`` (``kwargs``: those of ``from_pretrained``)."""
    from safetensors import SafetensorError
    from transformers import AutoModelForTokenClassification

    try:
        return AutoModelForTokenClassification.from_pretrained(run, **kwargs)
    except SafetensorError as e:
        weights = Path(run) / "model.safetensors"
        where = weights if weights.is_file() else Path(run)
        raise ModelLoadError(f"{where}: damaged or cut short ({_reason(e)}); copy it again (an interrupted "
                             "copy or download?), or retrain") from e
    except OSError as e:  # no weights file in the folder
        if not Path(run).is_dir():
            raise
        raise ModelLoadError(f"{run}: {_reason(e)}") from e


def check_vocabulary(run: str | Path, tokenizer: Any, config: Any) -> None:
    """The tokenizer must be the model's: with its files missing, transformers quietly builds a
    5-token vocabulary and every word becomes [UNK] (silent garbage, not an error)."""
    size, rows = len(tokenizer), getattr(config, "vocab_size", None)
    # Embeddings may be padded past the vocabulary (to a multiple of 64 or 128), never short of it.
    if rows is not None and not rows - 128 <= size <= rows:
        files = ", ".join(n for n in TOKENIZER_FILES if (Path(run) / n).is_file()) or "none"
        raise ModelLoadError(f"{run}: the tokenizer has {size} tokens but the model's embeddings have {rows} rows "
                             f"(tokenizer files found: {files}); copy the tokenizer files (tokenizer.json ...) of "
                             "the run's base model into the folder, or retrain")
