"""A tiny BERT built offline: random weights and a WordPiece vocabulary trained on the seeds.

Tests and ``training/configs/tiny.yaml`` use it where users load
``indobenchmark/indobert-base-p1`` from the hub: it is saved as an ordinary checkpoint
folder, so everything after it (``AutoTokenizer``/``AutoModelForTokenClassification.
from_pretrained``) runs through the very same code path.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import building

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(texts: list[str], vocab_size: int = 2000, lowercase: bool = True) -> list[str]:
    """A WordPiece vocabulary for ``texts``, the same on every run: the special tokens, every
    character (alone and as a ``##`` continuation, so nothing becomes [UNK]), then whole words
    and word endings (``##nya``, ``##kan``) by frequency, ties in alphabetical order.

    (The ``tokenizers`` WordPiece trainer breaks frequency ties differently from run to run,
    which would make the tiny model, and every test built on it, irreproducible.)

    >>> v = train_wordpiece(["Perangnya dan perang", "Putin bertemu Kim"], vocab_size=60)
    >>> v[:5], "perang" in v, "##nya" in v
    (['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'], True, True)
    """
    from collections import Counter

    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    pre = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for w in words for c in w})
    vocab = SPECIALS + chars + [f"##{c}" for c in chars]
    pieces: Counter[str] = Counter()
    for w, n in words.items():
        if len(w) > 1:
            pieces[w] += n
        for k in range(2, min(6, len(w) - 1) + 1):
            pieces[f"##{w[-k:]}"] += n
    seen = set(vocab)
    for piece, _ in sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if piece not in seen:
            vocab.append(piece)
            seen.add(piece)
    return vocab


def corpus_files(corpus: str | Path | list) -> list[Path]:
    """The .txt files of a folder, a file, or a list of them, in a stable order."""
    parts = corpus if isinstance(corpus, (list, tuple)) else [corpus]
    files = []
    for part in map(Path, parts):
        found = sorted(part.glob("*.txt")) if part.is_dir() else [part]
        if not found:
            raise FileNotFoundError(f"{part}: no .txt files to train a vocabulary on")
        files += found
    return files


def build_tiny_bert(out: str | Path, corpus: str | Path | list = "seeds", vocab_size: int = 2000, hidden_size: int = 128,
                    layers: int = 2, heads: int = 2, max_length: int = 512, seed: int = 0,
                    lowercase: bool = True) -> Path:
    """Write a tiny random-init ``BertModel`` checkpoint with a seed-trained vocabulary to ``out``."""
    files = corpus_files(corpus)
    texts = [f.read_text(encoding="utf-8") for f in files]
    return build_bert(out, texts, {"corpus": [f.name for f in files]}, vocab_size, hidden_size, layers, heads,
                      max_length, seed, lowercase)


def build_bert(out: str | Path, texts: list[str], source: dict, vocab_size: int = 2000, hidden_size: int = 128,
               layers: int = 2, heads: int = 2, max_length: int = 512, seed: int = 0, lowercase: bool = True,
               model_class: str = "BertModel") -> Path:
    """Write a random-init BERT (``model_class``: ``BertModel``, or ``BertForMaskedLM`` for
    :mod:`.pretrain`) with a WordPiece vocabulary trained on ``texts`` to ``out``; ``source``
    (what the texts were) goes into its ``tiny.json``."""
    import torch
    import transformers
    from transformers import BertConfig, BertTokenizer

    vocab = train_wordpiece(texts, vocab_size, lowercase)
    out = Path(out)
    with building(out) as tmp:
        (tmp / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tokenizer = BertTokenizer(vocab=str(tmp / "vocab.txt"), do_lower_case=lowercase, model_max_length=max_length)
        if len(tokenizer) != len(vocab):  # transformers 5 can silently fall back to a 5-token vocabulary
            raise RuntimeError(f"tokenizer has {len(tokenizer)} tokens, vocabulary has {len(vocab)}")
        tokenizer.save_pretrained(tmp)
        torch.manual_seed(seed)
        config = BertConfig(vocab_size=len(vocab), hidden_size=hidden_size, num_hidden_layers=layers,
                            num_attention_heads=heads, intermediate_size=hidden_size * 2,
                            max_position_embeddings=max_length)
        getattr(transformers, model_class)(config).save_pretrained(tmp, safe_serialization=True)
        (tmp / "tiny.json").write_text(json.dumps({**source, "vocab_size": len(vocab), "seed": seed}, indent=1) + "\n",
                                       encoding="utf-8")
    return out


def ensure_tiny_bert(out: str | Path, corpus: str | Path | list = "seeds", **kwargs) -> Path:
    """Build the tiny checkpoint at ``out`` unless it is already there."""
    out = Path(out)
    if (out / "config.json").exists() and (out / "vocab.txt").exists():
        return out
    return build_tiny_bert(out, corpus, **kwargs)
