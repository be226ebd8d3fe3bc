"""Apply a trained run to new articles: spans with scores, and event frames.

The :class:`~indoevent.model.predict.Predictor` finds the spans (the one prediction path that
training, evaluation and the Label Studio backend share); the extractor adds event frames by
linking each trigger's arguments in its sentence.

Usage (a trained run; the tests build one offline)::

    from indoevent import Extractor
    ex = Extractor.from_pretrained("models/my-run")          # device="cuda", quantize="int8" ...
    art = ex.extract("Presiden Rusia Vladimir Putin bertemu Kim Jong Un di Beijing.")
    [(s.label, s.text) for s in art.entities]   # [('GPE', 'Rusia'), ('PER', 'Vladimir Putin'), ...]
    art.events[0].arguments["actor"]            # (Span(..., 'PER', 'Vladimir Putin'),)
    for art in ex.extract_many(texts, batch_size=16): ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..annotation.lsexport import document_to_results
from ..document import Document, Relation, Span, span_id
from ..model.predict import Prediction, Predictor, id_text_pairs
from ..schema import TEXT_NAME
from ..text.inputs import encodable
from .frames import Frame, frames_from_relations
from .learned_linker import LearnedLinker
from .linking import link_rules

log = logging.getLogger("indoevent")


@dataclass
class Extraction:
    """What the model found in one article: its :class:`~indoevent.model.predict.Prediction`
    (text, entity and trigger spans, score) and the event frames linked from it. Offsets are
    code points into ``text``, end-exclusive. :meth:`to_dict` is the record ``indoevent extract``
    writes; :meth:`from_dict` reads one back (merge, the evaluation views)."""

    prediction: Prediction
    events: list[Frame] = field(default_factory=list)

    # The prediction's fields, read through: ``article.text``, ``article.entities`` ...
    @property
    def text(self) -> str:
        return self.prediction.text

    @property
    def entities(self) -> list[Span]:
        return self.prediction.entities

    @property
    def triggers(self) -> list[Span]:
        return self.prediction.triggers

    @property
    def id(self) -> str | None:
        return self.prediction.id

    @property
    def score(self) -> float | None:
        return self.prediction.score

    @property
    def stats(self) -> dict:
        return self.prediction.stats

    @property
    def spans(self) -> list[Span]:
        return self.prediction.spans

    def relations(self) -> list[Relation]:
        return [Relation(span_id(f.trigger), span_id(s), role)
                for f in self.events for role, args in f.arguments.items() for s in args]

    def to_dict(self, with_text: bool = False) -> dict:
        d: dict[str, Any] = {"id": self.id}
        if with_text:
            d["text"] = self.text
        d.update({"entities": [s.to_dict() for s in self.entities],
                  "triggers": [s.to_dict() for s in self.triggers],
                  "events": [f.to_dict() for f in self.events],
                  "score": None if self.score is None else round(self.score, 4)})
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Extraction:
        """The article of a :meth:`to_dict` record (other fields of the record, such as ``source``
        and ``timing``, are left out; ``text`` is ``""`` when the record has none). A
        ValueError says which part is wrong."""
        def spans(key: str) -> list[Span]:
            try:
                return [Span.from_dict(s) for s in d.get(key) or []]
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from None

        events = []
        for i, f in enumerate(d.get("events") or []):
            try:
                events.append(Frame.from_dict(f))
            except ValueError as e:
                raise ValueError(f"event {i}: {e}") from None
        pred = Prediction(d.get("text") or "", spans("entities"), spans("triggers"),
                          None if d.get("id") is None else str(d["id"]), d.get("score"))
        return cls(pred, events)

    def to_document(self) -> Document:
        """The article as a :class:`~indoevent.document.Document` (spans and argument relations)."""
        return Document(doc_id=str(self.id), text=self.text, spans=self.spans, relations=self.relations())

    def to_label_studio(self, model_version: str, data: dict | None = None) -> dict:
        """A Label Studio task holding this article as a prediction (per-span scores,
        relations for the event arguments), ready to import next to the labeling config."""
        task_data = {TEXT_NAME: self.text, "doc_id": self.id, **(data or {})}
        return {"data": task_data,
                "predictions": [{"model_version": model_version,
                                 "score": None if self.score is None else round(self.score, 4),
                                 "result": document_to_results(self.to_document())}]}


class Extractor:
    """Entity and trigger spans plus event frames from raw article text: a
    :class:`~indoevent.model.predict.Predictor` and an argument linker."""

    def __init__(self, predictor: Predictor, linker: Callable | None = link_rules):
        self.predictor = predictor
        self.linker = linker

    # What produced a result, for the results file and the Label Studio predictions.
    @property
    def name(self) -> str:
        return self.predictor.name

    @property
    def version(self) -> str:
        return self.predictor.version

    @property
    def runtime(self) -> str:
        return self.predictor.runtime

    @property
    def stats(self):
        return self.predictor.stats

    @classmethod
    def from_pretrained(cls, run: str | Path, device: str | None = None, precision: str = "auto",
                        quantize: str | None = None, runtime: str = "auto", batch_size: int | None = None,
                        linker: Callable | str | None = "auto", threads: int | None = None) -> Extractor:
        """Load a run directory (or a Hugging Face hub id).

        ``runtime="auto"`` (default): the fastest runtime that keeps the spans (GPU: torch
        bf16/fp16 autocast; CPU: ONNX Runtime fp32, exported into the run on first use, else
        torch bf16 on native-bf16 CPUs if measured to keep >= 99% of spans, else fp32; see
        :func:`~indoevent.model.runtime.load_run`); ``"torch"`` or ``"onnx"`` by hand.
        ``device``: ``cpu``, ``cuda``, ``cuda:1``; default GPU when present. ``precision``:
        ``auto``, ``fp32``, ``bf16``, ``fp16``. ``quantize="int8"``: the ONNX Runtime int8 model
        written by ``indoevent export-onnx RUN --quantize int8`` (CPU). ``batch_size``: windows per
        forward (default 32 on GPU; on CPU 4,096 positions, 8 windows of 512).
        ``linker``: ``"auto"`` the learned linker: the run's ``RUN/linker.json`` if there is one
        (``indoevent linker fit``), else the one shipped with the package; ``"rules"`` the rule
        linker; ``None`` makes frames without arguments; or any callable
        ``(text, entities, triggers, words) -> relations``.
        """
        if isinstance(linker, str) and linker not in LINKERS:
            raise ValueError(f"linker={linker!r}: give one of {', '.join(LINKERS)}, None or a callable")
        predictor = Predictor.from_pretrained(run, device, precision, quantize, runtime, batch_size, threads)
        return cls(predictor, load_linker(run, linker) if isinstance(linker, str) else linker)

    def extract(self, text: str, id: str | None = None) -> Extraction:
        """Spans and frames of one article."""
        return next(self.extract_many([text], ids=None if id is None else [id]))

    def extract_many(self, texts: Iterable[str], batch_size: int | None = None,
                     ids: Iterable[str | None] | None = None) -> Iterator[Extraction]:
        """Articles in input order, lazily (see :meth:`extract_pairs`); ``ids`` default to the
        articles' positions."""
        return self.extract_pairs(id_text_pairs(texts, ids), batch_size)

    def extract_pairs(self, articles: Iterable[tuple[str | None, str]],
                      batch_size: int | None = None) -> Iterator[Extraction]:
        """``(id, text)`` articles in input order, lazily (see :meth:`Predictor.predict_pairs`). A
        text that is not valid Unicode (a lone surrogate such as ``\\ud800``, which JSON can carry)
        gets an empty result and a warning: one article never fails a batch."""
        invalid: dict[int, str] = {}

        def checked() -> Iterator[tuple[str | None, str]]:
            for i, (art_id, text) in enumerate(articles):
                if not isinstance(text, str) or encodable(text):
                    yield art_id, text
                    continue
                invalid[i] = text
                log.warning("article %d holds a lone surrogate (not valid Unicode): answered with no spans", i)
                yield art_id, ""

        for i, p in enumerate(self.predictor.predict_pairs(checked(), batch_size)):
            if i in invalid:
                yield Extraction(replace(p, text=invalid.pop(i)))
            else:
                yield self.frames(p)

    def frames(self, p: Prediction) -> Extraction:
        """Link the arguments of a prediction's triggers into event frames."""
        t0 = time.perf_counter()
        relations = (self.linker(p.text, p.entities, p.triggers, p.words)
                     if self.linker and p.triggers and p.entities else [])
        events = frames_from_relations(p.triggers, p.entities, relations)
        dt = time.perf_counter() - t0
        self.stats.finish_seconds += dt
        stats = {**p.stats, "seconds": round(p.stats.get("seconds", 0.0) + dt, 4)}
        return Extraction(replace(p, stats=stats), events)




# The argument linkers `extract --linker` offers; "auto" (the learned one) scored better than the
# rules under cross-validation by story on the corpus (README, "Event frames").
LINKERS = ("auto", "rules")
SHIPPED_LINKER = Path(__file__).parent / "data" / "linker.json"


def shipped_linker() -> LearnedLinker:
    """The learned linker shipped with the package, fitted on the gold relations of the corpus'
    train and dev articles (``indoevent linker fit annotations/corpus.json --splits ...``)."""
    return LearnedLinker.load(SHIPPED_LINKER)


def load_linker(run: str | Path, kind: str = "auto") -> Callable:
    """The argument linker of a run: ``"auto"``: ``RUN/linker.json`` (learned) if present, else
    the shipped learned linker; ``"rules"``: the rule linker."""
    if kind == "rules":
        return link_rules
    path = Path(run) / "linker.json"
    return LearnedLinker.load(path) if path.is_file() else shipped_linker()
