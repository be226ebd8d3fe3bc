"""The analyst's view: the one span renderer (escaping, nested and crossing spans), the page's data
from extract results, texts and merge output, `indoevent view`, and serve's /ui page."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from indoevent.cli import main
from indoevent.document import Span
from indoevent.view import ViewError, build_view, highlight
from indoevent.view.page import embed_json

ROOT = Path(__file__).resolve().parents[1]
EVIL = 'Putin </script><script>document.title="pwned"</script><img src=x onerror="document.title=1"> & Kim'


class Pieces(HTMLParser):
    """Walks rendered marks: the text outside ``<sub>`` labels, and the text each span's pieces hold."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text, self.by_span, self.stack, self.open_tags, self.in_sub = [], {}, [], [], 0
        self.ends: dict[int, list[bool]] = {}  # per span, per piece: whether its label is drawn after it

    def handle_starttag(self, tag, attrs):
        self.open_tags.append(tag)
        if tag == "mark":
            i = int(dict(attrs)["data-s"])
            self.stack.append(i)
            self.ends.setdefault(i, []).append("x" not in dict(attrs)["class"].split())
        elif tag == "sub":
            self.in_sub += 1

    def handle_endtag(self, tag):
        assert self.open_tags and self.open_tags.pop() == tag, f"</{tag}> closes nothing open: not well formed"
        if tag == "mark":
            self.stack.pop()
        elif tag == "sub":
            self.in_sub -= 1

    def handle_data(self, data):
        if self.in_sub:
            return
        self.text.append(data)
        for i in set(self.stack):
            self.by_span[i] = self.by_span.get(i, "") + data


def pieces(html: str) -> Pieces:
    p = Pieces()
    p.feed(html)
    p.close()
    assert p.open_tags == []
    assert all(ends[-1] and not any(ends[:-1]) for ends in p.ends.values()), "the label follows the last piece only"
    return p


# --- the renderer -------------------------------------------------------------------------------
def test_the_renderer_escapes_text_and_titles():
    html, n = highlight(EVIL, [Span(0, 5, "PER"), Span(len(EVIL) - 3, len(EVIL), "PER")], titles=['"x" <b>', ""])
    assert n == 2 and "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;/script&gt;&lt;script&gt;" in html and 'title="&quot;x&quot; &lt;b&gt;"' in html
    assert "".join(pieces(html).text) == EVIL


def test_nested_and_crossing_spans_are_all_drawn_and_well_formed():
    teks = "Presiden Prabowo Subianto bertemu Anwar Ibrahim di Jakarta pada Rabu."
    spans = [Span(0, 25, "PER"), Span(9, 25, "PER"), Span(17, 40, "ORG"), Span(26, 33, "CONSULT"),
             Span(51, 58, "GPE"), Span(51, 58, "LOC"), Span(64, 68, "DATE")]
    html, n = highlight(teks, spans)
    assert n == len(spans) == len(re.findall(r'<mark class="span ', html))
    p = pieces(html)
    assert "".join(p.text) == teks
    assert {i: p.by_span[i] for i in range(len(spans))} == {i: teks[s.start:s.end] for i, s in enumerate(spans)}
    assert 'class="span-cont L-ORG"' in html  # the crossing ORG span is reopened after PER closes


def test_random_overlapping_spans_keep_text_and_every_span():
    rnd = random.Random(7)
    teks = "Kim Jong Un tiba di Beijing & bertemu <Xi> pada 3/9/2025. " * 3
    for _ in range(200):
        spans = []
        for _ in range(rnd.randint(0, 8)):
            a = rnd.randrange(len(teks))
            spans.append(Span(a, rnd.randint(a, min(len(teks), a + 30)), rnd.choice(["PER", "GPE", "CONSULT"])))
        html, n = highlight(teks, spans)
        p = pieces(html)
        assert "".join(p.text) == teks
        drawn = [i for i, s in enumerate(spans) if s.start < s.end]
        assert n == len(drawn) == html.count('<mark class="span ')
        assert all(p.by_span[i] == teks[spans[i].start:spans[i].end] for i in drawn)


def test_embedded_json_cannot_end_its_script_element():
    data = {"text": EVIL + "<!-- <script>"}
    out = embed_json(data)
    assert "</" not in out and "<!--" not in out and json.loads(out) == data


# --- the page from results, texts and merge output --------------------------------------------------
@pytest.fixture(scope="module")
def gold(tmp_path_factory) -> dict[str, Path]:
    """Gold frames of the seeds (no text in them), their merge, and an article quoting a script."""
    d = tmp_path_factory.mktemp("view")
    assert main(["frames", str(ROOT / "annotations" / "seeds.json"), "--index", str(ROOT / "seeds" / "index.json"),
                 "--out", str(d / "frames.jsonl")]) == 0
    assert main(["merge", str(d / "frames.jsonl"), "--out", str(d / "merged"), "--no-progress"]) == 0
    evil = {"id": "evil", "text": EVIL, "entities": [{"start": 0, "end": 5, "label": "PER", "text": "Putin"}],
            "triggers": [], "events": [], "model_version": "gold", "date": "2025-09-03"}
    with open(d / "frames.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(evil) + "\n")
    return {"dir": d, "frames": d / "frames.jsonl", "merged": d / "merged"}


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_the_view_counts_what_its_inputs_hold(gold, tmp_path):
    """Texts from --texts (the seeds) and from the record itself (the article quoting a script)."""
    out = tmp_path / "view.html"
    report = build_view(gold["frames"], out, [ROOT / "seeds"], gold["merged"])
    recs, events, mentions = lines(gold["frames"]), lines(gold["merged"] / "events.jsonl"), \
        lines(gold["merged"] / "mentions.jsonl")
    assert report.counts == {"articles": len(recs), "frames": sum(len(r["events"]) for r in recs),
                             "entities": sum(len(r["entities"]) for r in recs),
                             "triggers": sum(len(r["triggers"]) for r in recs), "events": len(events),
                             "mentions": len(mentions), "unmerged": sum(m["event"] is None for m in mentions)}
    page = out.read_text(encoding="utf-8")
    assert report.bytes == out.stat().st_size and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert page.count("<script") == 2  # the data and the code: the article's script is text
    data = json.loads(re.search(r'<script type="application/json" id="view-data">(.*?)</script>', page, re.S).group(1))
    assert sum(len(e["m"]) for e in data["events"]) == len(mentions) - report.counts["unmerged"]
    assert all(m["sentence"] and m["a"] >= 0 and m["s"] >= 0 for m in data["mentions"])


def test_a_result_without_its_text_names_its_line(gold, tmp_path):
    with pytest.raises(ViewError, match=r"frames\.jsonl:1: article '000_ecb91a2b1942d157' has no text"):
        build_view(gold["frames"], tmp_path / "v.html")


def test_the_wrong_texts_are_named(gold, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for f in (ROOT / "seeds").glob("*.txt"):
        (other / f.name).write_text("x" + f.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ViewError, match=r"frames\.jsonl:1: .* in the result but .* in the text \(the wrong --texts\?\)"):
        build_view(gold["frames"], tmp_path / "v.html", [other])


def test_the_command_prints_the_size_and_keeps_the_output_rule(gold, tmp_path, capsys):
    frames = tmp_path / "frames.jsonl"
    frames.write_text("".join(json.dumps(r) + "\n" for r in lines(gold["frames"]) if r["id"] != "evil"),
                      encoding="utf-8")
    out = tmp_path / "view.html"
    args = ["view", str(frames), "--texts", str(ROOT / "seeds"), "--merged", str(gold["merged"]), "--out", str(out)]
    assert main(args) == 0
    assert re.search(r"wrote .*view\.html: \d+\.\d\d MB; 5 article\(s\)", capsys.readouterr().out)
    assert main(args) == 1 and "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    notes = tmp_path / "notes.html"
    notes.write_text("<p>mine</p>", encoding="utf-8")
    assert main([*args[:-1], str(notes), "--overwrite"]) == 1
    assert notes.read_text(encoding="utf-8") == "<p>mine</p>"
    assert main([*args[:-1], str(frames), "--overwrite"]) == 1 and "is an input" in capsys.readouterr().err


# --- serve's /ui ----------------------------------------------------------------------------------
@pytest.mark.slow  # builds the tiny BERT and loads a wired run
def test_serve_ui_extracts_a_pasted_article_through_the_served_model(wired_run):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from indoevent.studio.backend import Backend
    from indoevent.studio.webapp import create_app

    client = TestClient(create_app(Backend(wired_run, device="cpu")))
    page = client.get("/ui")
    assert page.status_code == 200 and 'id="ui-form"' in page.text and 'action="ui/view"' in page.text
    answer = client.post("/ui/view", json={"text": "Putin bertemu Kim Jong Un di Beijing pada Rabu.",
                                           "date": "2025-09-03", "id": "a1"})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["counts"]["articles"] == 1 and data["counts"]["frames"] == 1 and data["counts"]["events"] == 1
    assert len(data["events"][0]["actors"]) == 2 and data["events"][0]["type"] == "CONSULT"
    assert '<mark class="span L-CONSULT"' in data["articles"][0]["html"]
    assert client.post("/ui/view", json={"text": "  "}).status_code == 400
    assert client.post("/ui/view", json={"text": "Putin", "date": "kemarin"}).status_code == 400
    assert client.get("/health").status_code == 200  # the Label Studio routes stay
