"""The layer rule holds: import-linter sees upward imports, and none hide inside functions."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
# Function-level imports still to lift, in modules other engineers own right now (reported, not hidden).
KNOWN: set[str] = set()  # files allowed function-level package imports: none


def function_level_imports(path: Path) -> list[str]:
    """``file:line`` of each import of an indoevent module made inside a function."""
    found = []
    for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            own = (isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("indoevent"))) \
                or (isinstance(node, ast.Import) and any(a.name.startswith("indoevent") for a in node.names))
            if own:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_function_level_imports_of_the_package():
    """A function-level import would dodge the import-linter contract, which reads only what runs at import."""
    found = [hit for p in sorted((ROOT / "indoevent").rglob("*.py")) if str(p.relative_to(ROOT)) not in KNOWN
             for hit in function_level_imports(p)]
    assert found == []


@pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (the dev extra)")
@pytest.mark.parametrize("module, line", [
    ("text/iob.py", "from ..events.frames import Frame"),             # straight up two layers
    ("schema.py", "from . import newmod"),                             # up through a module of no layer
])
def test_lint_imports_refuses_an_upward_import(tmp_path, module, line):
    """The contract covers the whole package: an upward import, direct or through a new module, breaks it."""
    shutil.copytree(ROOT / "indoevent", tmp_path / "indoevent", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    lint = lambda: subprocess.run([str(LINT)], cwd=tmp_path, capture_output=True, text=True,
                                  env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert lint().returncode == 0, "the clean copy must pass first"
    (tmp_path / "indoevent" / "newmod.py").write_text("from .cli import common\n")
    with open(tmp_path / "indoevent" / module, "a", encoding="utf-8") as f:
        f.write(f"\n{line}\n")
    out = lint()
    assert out.returncode != 0 and "BROKEN" in out.stdout.upper() + out.stderr.upper(), out.stdout
