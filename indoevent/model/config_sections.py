"""Config sections beside the core ones: a ``data.conll`` entry (:class:`ConllSource`, a CoNLL column file
and how its labels map and weigh), and the stages around ``train``: ``pretrain`` (masked-LM on unlabelled
news, :mod:`.pretrain`) and ``distill`` (a smaller student learning a trained run, :mod:`.distill`).

They live in every :class:`~indoevent.model.config.RunConfig` (a run records them; ``train``
ignores them), so one YAML file, one ``--KEY=VALUE`` override syntax and one error style serve
every command. :func:`help_field` is the field helper of all config sections.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def help_field(default: Any = dataclasses.MISSING, help: str = "", factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its help text (listed by ``--help`` and the README)."""
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class ConllSource:
    """A CoNLL-style column file (token TAB tag, blank line between sentences)."""

    path: str = help_field("", "the file: first column the token, last column its IOB/IOB2 tag (or use hf)")
    split: str = help_field("train", "where its sentences go: train (added to every training set, also in --cv), "
                                     "dev or test")
    label_map: dict[str, str | list[str] | None] = help_field(
        factory=dict, help="source label -> project label, e.g. {PPL: PER, PLC: [GPE, LOC], IND: ORG, EVT: O}; "
                           "a list leaves the word any of those labels (training sources only); O or null drops "
                           "the label; labels neither mapped nor in the project's set fail")
    labels: str | list[str] | None = help_field(
        None, "the labels the file annotates in full (partial labels: its O words may also be any other label, "
              "and dev scores count only these): null for the label_map's targets and the project labels its "
              "tags use, all for every label (each O word is O), or a list, e.g. [PER, ORG, GPE, LOC]")
    hf: str | None = help_field(None, "instead of path: a dataset loaded with datasets.load_dataset, with tokens "
                                      "and ner_tags columns: a hub id (indonlp/indonlu) or a local folder")
    hf_config: str | None = help_field(None, "the hf dataset's configuration, e.g. nerp")
    weight: float = help_field(1.0, "loss weight of its words against a gold word's 1.0 (training sources only), "
                                    "e.g. 0.3 so that many NER-only sentences do not outweigh the gold articles")


@dataclass
class PretrainConfig:
    """Masked-LM with whole-word masking on unlabelled news (``indoevent pretrain``)."""

    unlabelled: str | list[str] | None = help_field(
        None, "unlabelled news: .txt folders or id/text JSONL files (the inputs extract takes)")
    from_scratch: bool = help_field(False, "start from a random-init BERT of the size below instead of the weights "
                                           "of model.name_or_path")
    tokenizer: str = help_field("keep", "keep: the tokenizer of model.name_or_path; train: a WordPiece vocabulary "
                                        "trained on the unlabelled text (from_scratch only)")
    vocab_size: int = help_field(8000, "vocabulary size of a trained tokenizer")
    layers: int = help_field(4, "encoder layers of a from-scratch BERT")
    hidden_size: int = help_field(256, "width of a from-scratch BERT (feed-forward 4x, 64 per attention head)")
    mlm_probability: float = help_field(0.15, "share of words masked (all sub-words of a chosen word together)")
    dev: float = help_field(0.05, "share of unlabelled articles held out for the dev masked-LM loss (0: none)")


@dataclass
class DistillConfig:
    """A smaller student learns a trained run's tag distributions (``indoevent distill``)."""

    teacher: str | None = help_field(None, "the trained run folder to distil")
    unlabelled: str | list[str] | None = help_field(
        None, "unlabelled news the student learns the teacher's tags on: .txt folders or id/text JSONL")
    layers: int = help_field(0, "encoder layers of the student, the teacher's lowest ones; 0: half the teacher's")
    intermediate_size: int = help_field(
        0, "feed-forward width of the student's layers, below the teacher's for a faster student: each layer keeps "
           "the teacher's feed-forward units with the largest weights; 0: the teacher's width")
    hidden_size: int = help_field(
        0, "hidden width of a narrower student: fresh encoder layers and classifier, the teacher's tokenizer and "
           "attention heads (a multiple of their number); feed-forward distill.intermediate_size, 0: the teacher's "
           "ratio to its width; 0: the teacher's width")
    embeddings: str = help_field("pca", "a narrower student's embeddings: pca (the teacher's, projected on the top "
                                        "principal axes of its word embeddings) or fresh (random)")
    student: str | None = help_field(None, "start the student from this backbone (hub id or folder) instead of the "
                                           "teacher's lower layers; its tokenizer may differ from the teacher's")
    temperature: float = help_field(2.0, "softmax temperature of the teacher and student distributions in the KL term")
    alpha: float = help_field(0.5, "weight of the KL term (x temperature^2); 1 - alpha weighs cross-entropy on the gold")


def section_problems(pretrain: PretrainConfig, distill: DistillConfig) -> list[str]:
    """What is wrong in the two sections (types are checked before: these are ranges and choices).

    >>> section_problems(PretrainConfig(mlm_probability=1.5), DistillConfig())
    ['pretrain.mlm_probability must be in (0, 1), got 1.5']
    """
    p, d = pretrain, distill
    problems = []
    if not 0 < p.mlm_probability < 1:
        problems.append(f"pretrain.mlm_probability must be in (0, 1), got {p.mlm_probability}")
    if not 0 <= p.dev < 1:
        problems.append(f"pretrain.dev must be in [0, 1), got {p.dev}")
    if p.tokenizer not in ("keep", "train"):
        problems.append(f"pretrain.tokenizer must be keep or train, got {p.tokenizer!r}")
    if p.tokenizer == "train" and not p.from_scratch:
        problems.append("pretrain.tokenizer: train needs pretrain.from_scratch: true (new words, new embeddings)")
    for name in ("vocab_size", "layers", "hidden_size"):
        if getattr(p, name) < 1:
            problems.append(f"pretrain.{name} must be >= 1, got {getattr(p, name)}")
    if p.hidden_size % 64 and p.hidden_size >= 64:
        problems.append(f"pretrain.hidden_size must be a multiple of 64 (64 per attention head), got {p.hidden_size}")
    if d.layers < 0:
        problems.append(f"distill.layers must be >= 0 (0: half the teacher's), got {d.layers}")
    if d.intermediate_size < 0:
        problems.append(f"distill.intermediate_size must be >= 0 (0: the teacher's), got {d.intermediate_size}")
    if d.hidden_size < 0:
        problems.append(f"distill.hidden_size must be >= 0 (0: the teacher's), got {d.hidden_size}")
    if d.embeddings not in ("pca", "fresh"):
        problems.append(f"distill.embeddings must be pca or fresh, got {d.embeddings!r}")
    if d.temperature <= 0:
        problems.append(f"distill.temperature must be > 0, got {d.temperature}")
    if not 0 <= d.alpha <= 1:
        problems.append(f"distill.alpha must be in [0, 1], got {d.alpha}")
    return problems


def conll_problems(c: ConllSource, where: str) -> list[str]:
    """What is wrong with one ``data.conll`` entry."""
    problems = []
    if c.split not in ("train", "dev", "test"):
        problems.append(f"{where}.split must be train, dev or test, got {c.split!r}")
    if bool(c.path) == bool(c.hf):
        problems.append(f"{where}: give one of path and hf")
    if c.split != "train" and any(isinstance(v, list) and len(v) > 1 for v in c.label_map.values()):
        problems.append(f"{where}: a {c.split} source maps a label to several; its spans are scored, "
                        "so each label needs one target")
    if isinstance(c.labels, str) and c.labels != "all":
        problems.append(f"{where}.labels must be null, all or a list of labels, got {c.labels!r}")
    if c.weight <= 0:
        problems.append(f"{where}.weight must be > 0, got {c.weight}")
    elif c.split != "train" and c.weight != 1.0:  # a scored source is not trained on: the weight would do nothing
        problems.append(f"{where}.weight is for training sources; a {c.split} source is scored, not weighed "
                        f"(got {c.weight})")
    return problems
