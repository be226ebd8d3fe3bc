"""One real Label Studio server for the whole session (see start_label_studio.py).

The binary comes from $LABEL_STUDIO_BIN or PATH. Without one the tests are skipped with the
reason, except when $CI is set: there they fail, so CI can never pass by skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
import time
from pathlib import Path

import pytest

from indoevent.studio.connection import Studio, connect

_spec = importlib.util.spec_from_file_location("start_label_studio", Path(__file__).with_name("start_label_studio.py"))
launcher = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = launcher  # dataclasses look their module up there
_spec.loader.exec_module(launcher)


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    """A running server: ``.url``, ``.token`` (legacy API token), ``.log``."""
    try:
        binary = launcher.find_binary()
    except launcher.ServerError as e:
        pytest.fail(str(e))
    if binary is None:
        why = (f"Label Studio is not installed: set ${launcher.BIN_ENV} to its label-studio binary "
               "(`make label-studio` builds one in .venv-ls) or put label-studio on PATH")
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(why + " ($CI is set: the Label Studio tests must run in CI, not be skipped)")
        pytest.skip(why)
    t0 = time.monotonic()
    try:
        server = launcher.start(binary, tmp_path_factory.mktemp("label-studio"))
    except launcher.ServerError as e:
        pytest.fail(str(e))
    print(f"\nLabel Studio up at {server.url} in {time.monotonic() - t0:.0f} s")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def studio(label_studio) -> Studio:
    return connect(label_studio.url, label_studio.token)


@pytest.fixture
def title(request) -> str:
    """A project title no other test uses."""
    return f"{request.node.name[:40]}-{secrets.token_hex(3)}"
