"""``indoevent evaluate``: score a saved run on annotated articles."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..model.predict import Predictor
from ..model.train import score_articles
from ..text.iob import TaggedWords


def evaluate_model(model_dir: str | Path, articles: Sequence[TaggedWords], batch_size: int = 32) -> tuple[dict, list]:
    """Score a run directory on articles through the one prediction path (that of ``indoevent
    extract``, with the run's windows); returns the strict character-span metrics and the
    predictions per article."""
    return score_articles(Predictor.from_pretrained(model_dir, batch_size=batch_size), articles)
