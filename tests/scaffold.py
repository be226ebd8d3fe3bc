"""Test scaffolding: run folders with an untrained or hard-wired head, built offline, and the
helpers only tests use (per-word window merging, scoring a run on word-level articles).

Used by the tests and the speed benchmarks before a trained run exists; not part of the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from indoevent.model.runtime import DEFAULT_MAX_LENGTH, DEFAULT_OVERLAP
from indoevent.model.windows import Window, best_window
from indoevent.schema import bio_tags
from indoevent.text.iob import TaggedWords

ROOT = Path(__file__).resolve().parents[1]

# The sub-words the wired head tags (see :func:`wire_head`), as most tests use it.
WIRE = {"putin": "B-PER", "kim": "B-PER", "jong": "I-PER", "un": "I-PER", "beijing": "B-GPE",
        "bertemu": "B-CONSULT", "rabu": "B-DATE"}


def tiny_config(**overrides):
    """tiny.yaml with absolute paths (tests run from any directory) and a few epochs."""
    from indoevent.model.config import load_config

    base = {"model.name_or_path": str(ROOT / "models" / "_base" / "tiny-bert"),
            "model.tiny_corpus": str(ROOT / "seeds"), "data.export": str(ROOT / "annotations" / "seeds.json"),
            "train.epochs": 3, "train.logging_steps": 2}
    return load_config(ROOT / "training" / "configs" / "tiny.yaml", {**base, **overrides})


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


def merge_windows(windows: Sequence[Window], window_scores: Sequence[Any], n_words: int,
                  num_labels: int) -> tuple[Any, Any]:
    """Per-word scores from overlapping windows: each word takes the scores at its first
    sub-word in the window where it is furthest from an edge (see :func:`best_window`). The
    reference the prediction path (``model/predict.py``, vectorised) is checked against.

    ``window_scores[k]`` is an array ``(len(windows[k].input_ids), num_labels)`` (logits or
    probabilities). Returns ``(scores, covered)``: a float array ``(n_words, num_labels)``
    and a bool array saying which words got scores (a word the tokenizer turned into no
    sub-word gets none, and should be tagged ``O``).
    """
    import numpy as np

    best = best_window(windows, n_words)
    scores = np.zeros((n_words, num_labels), dtype=np.float32)
    covered = np.zeros(n_words, dtype=bool)
    for k, w in enumerate(windows):
        arr = np.asarray(window_scores[k])
        for pos, word in w.first_subword_positions():
            if best[word] == k:
                scores[word] = arr[pos]
                covered[word] = True
    return scores, covered


def evaluate_model(model_dir: str | Path, articles: Sequence[TaggedWords], batch_size: int = 32) -> tuple[dict, list]:
    """Strict character-span scores of a run on word-level articles (``TaggedWords.spans``), through
    the one prediction path, and the predictions per article: the headline of ``evaluate``
    without the analysis, as training scores its dev articles."""
    from indoevent.model.metrics import score_articles
    from indoevent.model.predict import Predictor

    return score_articles(Predictor.from_pretrained(model_dir, batch_size=batch_size).predict_many, articles)


def check_extract_and_serve(run: Path, tmp_path: Path) -> None:
    """What a run folder must do for users, checked on a fresh run (pretrain -> train, distill, self-train):
    ``indoevent extract`` writes one result per article, and ``indoevent serve``'s backend answers /predict."""
    import json

    import pytest

    from indoevent.cli import main

    news = tmp_path / "news.jsonl"
    news.write_text(json.dumps({"id": "b1", "text": "Putin bertemu Kim Jong Un di Beijing pada Rabu."}) + "\n",
                    encoding="utf-8")
    out = tmp_path / "events.jsonl"
    assert main(["extract", str(news), "--model", str(run), "--out", str(out)]) == 0
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["b1"]
    pytest.importorskip("fastapi")  # the studio extra, as in test_studio_loop.py
    from fastapi.testclient import TestClient

    from indoevent.studio.backend import Backend
    from indoevent.studio.webapp import create_app

    client = TestClient(create_app(Backend(run, device="cpu", work_dir=tmp_path / "serve")))
    tasks = [{"id": 1, "data": {"text": "Prabowo bertemu Xi Jinping di Beijing."}}]
    results = client.post("/predict", json={"tasks": tasks}).json()["results"]
    assert len(results) == 1 and isinstance(results[0]["result"], list)


# --- a real headless browser (the report's and the view's browser tests) -------------------------
def chromium() -> str:
    """The Chromium binary; skips the calling test module without one, fails under CI=true (.ci/run installs it)."""
    import os
    import shutil

    import pytest

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but no chromium on PATH: .ci/run installs it with "
                        "`apt-get install -y chromium`", pytrace=False)
        pytest.skip("no chromium on PATH (apt-get install -y chromium); CI runs this test", allow_module_level=True)
    return found


def open_in_chromium(url: str, tmp: Path) -> tuple[str, list[str]]:
    """The DOM of ``url`` after the page's scripts ran, and every console message the page logged."""
    import subprocess

    # The profile lives in tmp: no state shared between runs; --no-sandbox because CI runs as root.
    proc = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0",
                           "--virtual-time-budget=3000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
