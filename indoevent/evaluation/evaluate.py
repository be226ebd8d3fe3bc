"""``indoevent evaluate``: score a saved run on annotated articles."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..model.data import Collator
from ..model.metrics import score
from ..model.train import ModelLoadError, _no_long_sequence_warning, predict
from ..model.data import encode_articles
from ..schema import bio_tags
from ..text.iob import TaggedWords


def evaluate_model(model_dir: str | Path, articles: Sequence[TaggedWords], batch_size: int = 32) -> tuple[dict, list]:
    """Score a run directory on articles, with the windows it was trained with; returns the
    metrics and the predicted word tags per article."""
    import tempfile

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, Trainer, TrainingArguments

    model_dir = Path(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    _no_long_sequence_warning(tokenizer)
    meta = getattr(model.config, "indoevent", None) or {}
    if list(model.config.id2label.values()) != bio_tags():
        raise ModelLoadError(f"{model_dir}: its labels are not indoevent's 43 IOB2 tags")
    max_length = meta.get("max_length") or tokenizer.model_max_length
    overlap = meta.get("overlap", 64)
    features = encode_articles(tokenizer, articles, max_length, overlap)
    with tempfile.TemporaryDirectory() as scratch:  # the Trainer wants an output folder; nothing is saved
        args = TrainingArguments(output_dir=scratch, per_device_eval_batch_size=batch_size, report_to="none",
                                 disable_tqdm=False, save_strategy="no",
                                 dataloader_pin_memory=torch.cuda.is_available())
        trainer = Trainer(model=model, args=args, data_collator=Collator(tokenizer.pad_token_id),
                          processing_class=tokenizer,
                          preprocess_logits_for_metrics=lambda logits, labels: logits.argmax(-1))
        tags = predict(trainer, features)
    return score([a.tags for a in articles], tags), tags
