"""Shared fixtures: the repository root and Label Studio exports written from inline markup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent.annotation.inline import parse
from indoevent.annotation.lsexport import document_to_results

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


def task_from_markup(markup: str, task_id: int = 1, doc_id: str | None = None) -> dict:
    """A Label Studio task with one annotation, from inline markup."""
    doc = parse(markup, doc_id or f"doc{task_id}")
    return {"id": task_id, "data": {"text": doc.text, "doc_id": doc.doc_id},
            "annotations": [{"id": task_id, "result": document_to_results(doc), "was_cancelled": False,
                             "created_at": "2025-09-03T00:00:00Z", "updated_at": "2025-09-03T00:00:00Z"}]}


@pytest.fixture
def make_export(tmp_path):
    """Write tasks (dicts, or inline markup strings) to an export file and return its path."""
    def make(*tasks, name: str = "export.json") -> Path:
        items = [task_from_markup(t, i + 1) if isinstance(t, str) else t for i, t in enumerate(tasks)]
        path = tmp_path / name
        path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        return path
    return make


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny model trained on the seeds as ``scaffold.tiny_config`` says (seconds): the trained run
    that the training, extraction and evaluation tests read. Tests that change a run copy it."""
    from indoevent.model.train import train
    from scaffold import tiny_config

    return train(tiny_config(), tmp_path_factory.mktemp("runs") / "tiny")


@pytest.fixture(scope="session")
def eval_run(tmp_path_factory) -> Path:
    """The tiny model trained on four seed articles, the fifth held out as test (as `make demo`):
    a real run whose errors are a mix of every kind. Shared by the evaluation, report and notebook tests."""
    from indoevent.model.config import load_config
    from indoevent.model.train import train

    cfg = load_config(ROOT / "training" / "configs" / "tiny.yaml", {
        "model.name_or_path": str(ROOT / "models" / "_base" / "tiny-bert"), "model.tiny_corpus": str(ROOT / "seeds"),
        "data.export": str(ROOT / "annotations" / "seeds.json"), "data.dev": 0,
        "data.test": ["004_81279350a79d8947"], "train.epochs": 15})
    return train(cfg, tmp_path_factory.mktemp("eval") / "tiny-4", score_test=True)


@pytest.fixture(scope="session")
def base(tmp_path_factory) -> Path:
    """The tiny BERT base built afresh from the seeds (seconds): what wired and untrained heads sit on."""
    from indoevent.model.tiny import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny") / "base", ROOT / "seeds")


@pytest.fixture(scope="session")
def wired_run(base, tmp_path_factory) -> Path:
    """A run whose head tags the sub-words of ``scaffold.WIRE``, whatever the context: exact spans
    known in advance. Shared: tests that change a run copy it first."""
    from scaffold import WIRE, init_run

    return init_run(base, tmp_path_factory.mktemp("runs") / "wired", wire=WIRE)


@pytest.fixture(scope="session")
def untrained_run(tmp_path_factory) -> Path:
    """A run folder with an untrained head on the tiny base (seconds, no training): for tests of
    what commands do with a run, not of what it predicts."""
    from indoevent.model.tiny import ensure_tiny_bert
    from scaffold import init_run

    base = ensure_tiny_bert(ROOT / "models" / "_base" / "tiny-bert", ROOT / "seeds")
    return init_run(base, tmp_path_factory.mktemp("untrained") / "run")
