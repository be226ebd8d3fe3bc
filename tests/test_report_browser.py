"""The evaluation report opened in a real headless Chromium (Debian's `chromium`, installed by .ci/run).

Skips with a reason when there is no chromium, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from indoevent.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.slow  # a real browser, on a trained run

if CHROMIUM is None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but no chromium on PATH: .ci/run installs it with "
                    "`apt-get install -y chromium`", pytrace=False)
    pytest.skip("no chromium on PATH (apt-get install -y chromium); CI runs this test", allow_module_level=True)


def open_in_chromium(page: Path, tmp: Path) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and every console message the page logged."""
    # The profile lives in tmp: no state shared between runs; --no-sandbox because CI runs as root.
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0",
                           "--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


@pytest.fixture(scope="module")
def written(eval_run, tmp_path_factory) -> Path:
    return evaluate(eval_run, [ROOT / "annotations" / "seeds.json"], resamples=200).write(
        tmp_path_factory.mktemp("report") / "r")


def test_report_loads_without_console_errors_and_shows_every_span(written, tmp_path):
    dom, console = open_in_chromium(written / "report.html", tmp_path)
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
    _, console = open_in_chromium(bad, tmp_path)
    assert any("noSuchFunction" in line for line in console)
