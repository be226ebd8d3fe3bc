"""The evaluation report opened in a real headless Chromium (Debian's `chromium`, installed by .ci/run).

Skips with a reason when there is no chromium, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indoevent.evaluation import evaluate
from scaffold import chromium, open_in_chromium

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # a real browser, on a trained run

chromium()  # skips the module without a browser (fails under CI=true)


@pytest.fixture(scope="module")
def written(eval_run, tmp_path_factory) -> Path:
    return evaluate(eval_run, [ROOT / "annotations" / "seeds.json"], resamples=200).write(
        tmp_path_factory.mktemp("report") / "r")


def test_report_loads_without_console_errors_and_shows_every_span(written, tmp_path):
    dom, console = open_in_chromium((written / "report.html").resolve().as_uri(), tmp_path)
    assert console == []
    m = json.loads((written / "metrics.json").read_text(encoding="utf-8"))
    assert len(re.findall(r'<mark class="span ', dom)) == m["highlighted_spans"] > 0
    assert dom.count('<details class="article"') == len(m["articles"])
    assert len(re.findall(r'<img alt="plot" src="data:image/png;base64,', dom)) >= 2


def test_the_console_check_catches_a_broken_page(written, tmp_path):
    """The check above can fail: a page with a script error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text((written / "report.html").read_text(encoding="utf-8").replace(
        "<script>", "<script>noSuchFunction();", 1), encoding="utf-8")
    _, console = open_in_chromium(bad.resolve().as_uri(), tmp_path)
    assert any("noSuchFunction" in line for line in console)
