"""The view opened in a real headless Chromium (Debian's `chromium`, installed by .ci/run): no console
errors, the counts shown are the inputs', a filter in the URL fragment narrows the table, an article's
``<script>`` is shown as text and never runs.

Skips with a reason when there is no chromium, except under CI=true, where it fails.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from indoevent.cli import main
from indoevent.events.extractor import Extraction
from indoevent.view import build_view, page_html
from indoevent.view.page import embed_json
from indoevent.view.pasted import extraction_view
from scaffold import chromium, open_in_chromium

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # a real browser
EVIL = ('Putin </script><script>document.title="pwned";console.error("ran")</script>'
        '<img src=x onerror="document.title=\'pwned\'"> bertemu Kim.')

chromium()  # skips the module without a browser (fails under CI=true)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.fixture(scope="module")
def view(tmp_path_factory) -> dict:
    """The view of the seeds' gold frames and their merge, plus an article quoting a script."""
    d = tmp_path_factory.mktemp("view")
    assert main(["frames", str(ROOT / "annotations" / "seeds.json"), "--index", str(ROOT / "seeds" / "index.json"),
                 "--out", str(d / "frames.jsonl")]) == 0
    assert main(["merge", str(d / "frames.jsonl"), "--out", str(d / "merged"), "--no-progress"]) == 0
    with open(d / "frames.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "evil", "text": EVIL, "entities": [{"start": 0, "end": 5, "label": "PER"}],
                            "triggers": [], "events": [], "model_version": "gold", "date": "2025-09-03"}) + "\n")
    report = build_view(d / "frames.jsonl", d / "view.html", [ROOT / "seeds"], d / "merged")
    return {"page": report.path, "counts": report.counts, "events": lines(d / "merged" / "events.jsonl"),
            "frames": lines(d / "frames.jsonl")}


def shown(dom: str, name: str) -> int:
    return int(re.search(rf'id="n-{name}">(\d+)<', dom).group(1))


def test_the_view_shows_the_inputs_counts_without_console_errors(view, tmp_path):
    dom, console = open_in_chromium(view["page"].resolve().as_uri(), tmp_path)
    assert console == []
    assert shown(dom, "articles") == len(view["frames"]) == 6
    assert shown(dom, "frames") == sum(len(r["events"]) for r in view["frames"]) > 0
    assert shown(dom, "events") == shown(dom, "shown") == len(view["events"]) > 0
    assert len(re.findall(r'<tr class="ev"', dom)) == min(100, len(view["events"]))
    assert dom.count('<details class="article"') == 6
    assert len(re.findall(r'<rect [^>]*class="day"', dom)) > 0 and len(re.findall(r'<line [^>]*class="edge"', dom)) > 0


def test_a_filter_in_the_fragment_narrows_the_table(view, tmp_path):
    consult = [e for e in view["events"] if e["type"] == "CONSULT"]
    assert 0 < len(consult) < len(view["events"])
    dom, console = open_in_chromium(view["page"].resolve().as_uri() + "#type=CONSULT&sort=mentions&desc=1", tmp_path)
    assert console == []
    assert shown(dom, "shown") == len(consult) == len(re.findall(r'<tr class="ev"', dom))
    ids = re.findall(r'<tr class="ev" data-event="(E\d+)"', dom)
    assert set(ids) == {e["event"] for e in consult}
    assert ids[0] == max(consult, key=lambda e: e["mentions"])["event"]  # sorted by mentions, most first
    country = next(a["country"] for e in view["events"] for a in e["actors"] if a["country"])
    dom, _ = open_in_chromium(view["page"].resolve().as_uri() + f"#country={country}&type=CONSULT", tmp_path)
    want = [e for e in consult if country in {a["country"] for a in e["actors"] + e["recipients"]}
            or (e["place"] or {}).get("country") == country]
    assert shown(dom, "shown") == len(want) <= len(consult)


def test_an_articles_script_is_shown_as_text_and_never_runs(view, tmp_path):
    dom, console = open_in_chromium(view["page"].resolve().as_uri() + "#article=evil", tmp_path)
    assert console == []  # the script would have logged "ran"
    assert "<title>indoevent view: frames.jsonl</title>" in dom
    opened = re.search(r'<details class="article" data-i="5"[^>]* open=""[^>]*>(.*?)</details>', dom, re.S)
    assert opened, "the article named in the fragment is opened"
    assert "&lt;/script&gt;&lt;script&gt;document.title=\"pwned\"" in opened.group(1)
    assert "<img" not in opened.group(1) and "<script" not in opened.group(1)


def test_the_console_check_catches_a_broken_page(view, tmp_path):
    """The check above can fail: a page whose script errors is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(view["page"].read_text(encoding="utf-8").replace("'use strict';", "'use strict'; noSuchFunction();", 1),
                   encoding="utf-8")
    _, console = open_in_chromium(bad.as_uri(), tmp_path)
    assert any("noSuchFunction" in line for line in console)


# What a reader does, played by a script added to a copy of the page: open the first event's mentions,
# follow a mention to its article, hover a frame's row, choose a type in the filter.
PLAY = """<script>
setTimeout(function () {
  var out = {}, row = document.querySelector('tr.ev');
  out.event = row.dataset.event;
  row.click();
  out.mentions = document.querySelectorAll('tr.detail table.mentions tr').length - 1;
  document.querySelector('tr.detail a').click();
  setTimeout(function () {
    var d = document.querySelector('details.article[open]');
    out.hash1 = location.hash;
    out.flashed = d.querySelectorAll('mark.flash').length;
    var frame = d.querySelector('table.frames tr:nth-child(2)');
    frame.dispatchEvent(new MouseEvent('mouseenter'));
    out.lit = d.querySelectorAll('mark.hl').length;
    frame.dispatchEvent(new MouseEvent('mouseleave'));
    out.unlit = d.querySelectorAll('mark.hl').length;
    var type = document.getElementById('f-type');
    type.value = 'CONSULT';
    type.dispatchEvent(new Event('change'));
    setTimeout(function () {
      out.hash2 = location.hash;
      out.shown = +document.getElementById('n-shown').textContent;
      document.body.setAttribute('data-played', JSON.stringify(out));
    }, 200);
  }, 200);
}, 200);
</script></body>"""


def test_a_reader_opens_mentions_follows_one_to_its_article_and_filters(view, tmp_path):
    played = tmp_path / "played.html"
    played.write_text(view["page"].read_text(encoding="utf-8").replace("</body>", PLAY, 1), encoding="utf-8")
    dom, console = open_in_chromium(played.as_uri(), tmp_path)
    assert console == []
    out = json.loads(html.unescape(re.search(r'data-played="([^"]*)"', dom).group(1)))
    mentions = lines(view["page"].parent / "merged" / "mentions.jsonl")
    first = [m for m in mentions if m["event"] == out["event"]]
    assert out["mentions"] == len(first) > 0
    assert out["hash1"].startswith(f"#article={first[0]['article']}&span=") and out["flashed"] >= 1
    assert out["lit"] >= 1 and out["unlit"] == 0  # a frame's words light up while hovered
    assert "type=CONSULT" in out["hash2"] and out["shown"] == sum(e["type"] == "CONSULT" for e in view["events"])


def test_the_ui_page_posts_the_pasted_article_and_shows_the_answer(tmp_path):
    """serve's /ui page in a browser, its server's answer stubbed (the endpoint has its own test)."""
    teks = "Putin bertemu Kim Jong Un di Beijing pada Rabu."
    rec = {"id": "a1", "text": teks, "entities": [{"start": 0, "end": 5, "label": "PER", "text": "Putin"},
                                                  {"start": 14, "end": 25, "label": "PER", "text": "Kim Jong Un"}],
           "triggers": [{"start": 6, "end": 13, "label": "CONSULT", "text": "bertemu"}],
           "events": [{"type": "CONSULT", "trigger": {"start": 6, "end": 13, "label": "CONSULT", "text": "bertemu"},
                       "arguments": {"actor": [{"start": 0, "end": 5, "label": "PER", "text": "Putin"}],
                                     "recipient": [{"start": 14, "end": 25, "label": "PER", "text": "Kim Jong Un"}]}}]}
    answer = extraction_view(Extraction.from_dict(rec), "m1", "2025-09-03")
    stub = f"""<script>
    var sent = null;
    window.fetch = function (url, opts) {{
      sent = {{url: url, body: JSON.parse(opts.body)}};
      return Promise.resolve({{ok: true, json: function () {{ return Promise.resolve({embed_json(answer)}); }}}});
    }};
    document.getElementById('ui-text').value = {json.dumps(teks)};
    document.getElementById('ui-date').value = '2025-09-03';
    document.getElementById('ui-form').requestSubmit();
    setTimeout(function () {{
      var d = document.querySelector('details.article[open]');
      document.body.setAttribute('data-played', JSON.stringify({{sent: sent, marks: d ? d.querySelectorAll('mark.span').length : 0,
        frames: +document.getElementById('n-frames').textContent, status: document.getElementById('ui-status').textContent}}));
    }}, 300);
    </script></body>"""
    page = tmp_path / "ui.html"
    page.write_text(page_html(None, "ui", ui=True).replace("</body>", stub, 1), encoding="utf-8")
    dom, console = open_in_chromium(page.as_uri(), tmp_path)
    assert console == []
    out = json.loads(html.unescape(re.search(r'data-played="([^"]*)"', dom).group(1)))
    assert out["sent"] == {"url": "ui/view", "body": {"text": teks, "date": "2025-09-03", "id": "pasted"}}
    assert out["frames"] == 1 and out["marks"] == 3 and out["status"] == "model m1"
