"""A tiny BERT built offline: random weights and a WordPiece vocabulary trained on the seeds.

Tests and ``training/configs/tiny.yaml`` use it where users load
``indobenchmark/indobert-base-p1`` from the hub: it is saved as an ordinary checkpoint
folder, so everything after it (``AutoTokenizer``/``AutoModelForTokenClassification.
from_pretrained``) runs through the very same code path.
"""

from __future__ import annotations

import json
from pathlib import Path

from .atomic import building

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(texts: list[str], vocab_size: int = 2000, lowercase: bool = True) -> list[str]:
    """Train a BERT WordPiece vocabulary on ``texts``; returns the tokens in id order."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, min_frequency=1,
                                        show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    vocab = tok.get_vocab()
    return [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]


def build_tiny_bert(out: str | Path, corpus: str | Path = "seeds", vocab_size: int = 2000, hidden_size: int = 128,
                    layers: int = 2, heads: int = 2, max_length: int = 512, seed: int = 0,
                    lowercase: bool = True) -> Path:
    """Write a tiny random-init ``BertModel`` checkpoint with a seed-trained vocabulary to ``out``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    corpus = Path(corpus)
    files = sorted(corpus.glob("*.txt")) if corpus.is_dir() else [corpus]
    if not files:
        raise FileNotFoundError(f"{corpus}: no .txt files to train a vocabulary on")
    texts = [f.read_text(encoding="utf-8") for f in files]
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
        BertModel(config).save_pretrained(tmp, safe_serialization=True)
        (tmp / "tiny.json").write_text(json.dumps({"corpus": [f.name for f in files], "vocab_size": len(vocab),
                                                   "seed": seed}, indent=1) + "\n", encoding="utf-8")
    return out


def ensure_tiny_bert(out: str | Path, corpus: str | Path = "seeds", **kwargs) -> Path:
    """Build the tiny checkpoint at ``out`` unless it is already there."""
    out = Path(out)
    if (out / "config.json").exists() and (out / "vocab.txt").exists():
        return out
    return build_tiny_bert(out, corpus, **kwargs)
