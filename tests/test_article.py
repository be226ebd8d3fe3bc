"""The one article type (``Extraction`` holds a ``Prediction`` and its frames): round trips through
``to_dict``/``from_dict``, and ``indoevent extract`` records unchanged by the change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent.document import Span
from indoevent.events.extractor import Extraction
from indoevent.events.frames import Frame
from indoevent.model.predict import Prediction

ROOT = Path(__file__).resolve().parent.parent
# What `indoevent extract` wrote for the seeds with the wired tiny run before the article type
# was one (commit d3255ca), both formats; `python tests/test_article.py OUT` writes it afresh.
RECORDS = Path(__file__).parent / "data" / "extract_seeds_wired.jsonl"
WIRE = {"putin": "B-PER", "kim": "B-PER", "beijing": "B-GPE", "bertemu": "B-CONSULT", "rabu": "B-DATE"}

PUTIN = Span(0, 5, "PER", "Putin", 0.98765, "e1")
KIM = Span(14, 17, "PER", "Kim", None, "e2")
MEET = Span(6, 13, "CONSULT", "bertemu", 0.9, "t1")


def test_span_round_trip():
    for s in (PUTIN, KIM, Span(3, 4, "GPE")):
        back = Span.from_dict(s.to_dict())
        assert back.to_dict() == s.to_dict() and (back.text, back.id) == (s.text, s.id)
    assert Span.from_dict(PUTIN.to_dict()).score == 0.9877  # to_dict rounds to 4 places
    with pytest.raises(ValueError, match="integer start and end"):
        Span.from_dict({"start": "0", "end": 5})


def test_frame_round_trip():
    f = Frame("CONSULT", MEET, {"actor": (PUTIN,), "recipient": (KIM,)})
    back = Frame.from_dict(f.to_dict())
    assert back == Frame("CONSULT", Span.from_dict(MEET.to_dict()), {"actor": (Span.from_dict(PUTIN.to_dict()),),
                                                                     "recipient": (KIM,)})
    assert back.to_dict() == f.to_dict()
    with pytest.raises(ValueError, match="^actor: a span needs"):
        Frame.from_dict({**f.to_dict(), "arguments": {"actor": [{"start": 1}]}})


def test_article_round_trip_and_fields():
    text = "Putin bertemu Kim."
    art = Extraction(Prediction(text, [PUTIN, KIM], [MEET], "a", 0.91234, {"words": 4}),
                     [Frame("CONSULT", MEET, {"actor": (PUTIN,), "recipient": (KIM,)})])
    assert (art.text, art.id, art.score, art.stats) == (text, "a", 0.91234, {"words": 4})
    assert art.spans == [PUTIN, MEET, KIM] and art.entities == [PUTIN, KIM] and art.triggers == [MEET]
    for with_text in (True, False):
        d = art.to_dict(with_text=with_text)
        back = Extraction.from_dict(json.loads(json.dumps(d)))
        assert back.to_dict(with_text=with_text) == d
    assert Extraction.from_dict(art.to_dict()).text == ""  # a record without its text
    with pytest.raises(ValueError, match=r"^event 0: trigger: a span needs"):
        Extraction.from_dict({"id": "a", "events": [{"type": "CONSULT", "trigger": {}}]})


# --- extract records before and after -----------------------------------------------------------
def extract_records(work: Path) -> str:
    """Both output formats of `indoevent extract` over the seeds with the wired tiny run, in
    ``work``, with what varies from run to run taken out: the paths, the seconds and the weights'
    hash in the model version."""
    from indoevent.events.batch import extract_files
    from indoevent.events.extractor import Extractor
    from indoevent.model.tiny import build_tiny_bert
    from scaffold import init_run

    run = init_run(build_tiny_bert(work / "base", ROOT / "seeds"), work / "wired", wire=WIRE)
    ex = Extractor.from_pretrained(run, device="cpu", runtime="torch")
    lines = []
    for fmt, with_text in (("jsonl", True), ("jsonl", False), ("label-studio", False)):
        out = work / f"{fmt}-{with_text}.jsonl"
        extract_files(ex, [ROOT / "seeds"], out, fmt, with_text=with_text, progress=False)
        for line in out.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            rec.get("timing", {}).pop("seconds", None)
            lines.append(json.dumps(rec, ensure_ascii=False).replace(str(ROOT), "ROOT").replace(ex.version, "VERSION"))
    return "".join(line + "\n" for line in lines)


@pytest.mark.slow  # builds a tiny model (about 15 s on 2 cores)
def test_extract_records_are_unchanged(tmp_path):
    pytest.importorskip("torch", reason="the extractor needs torch")
    assert extract_records(tmp_path) == RECORDS.read_text(encoding="utf-8")


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        Path(sys.argv[1]).write_text(extract_records(Path(d)), encoding="utf-8")
