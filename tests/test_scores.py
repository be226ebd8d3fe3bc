"""P/R/F1 is written once (``indoevent/scores.py``): no second copy of the arithmetic in the package."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np

from indoevent.scores import f1_of, prf

PACKAGE = Path(__file__).resolve().parents[1] / "indoevent"
HOME = PACKAGE / "scores.py"


def _factors(node: ast.expr) -> list[ast.expr]:
    """The factors of a product ``a * b * c`` (the node itself when it is no product)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    return [node]


def _terms(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _terms(node.left) + _terms(node.right)
    return [node]


def _doubled(node: ast.expr) -> bool:
    return any(isinstance(f, ast.Constant) and f.value in (2, 2.0) for f in _factors(node))


def f1_copies(source: str, name: str) -> list[str]:
    """``name:line`` of each F1 written out: ``2 * p * r / (p + r)`` (two factors and a 2 over a sum)
    or ``2 * tp / (2 * tp + fp + fn)`` (a doubled count over a sum holding a doubled count).

    >>> f1_copies("f = 2 * p * r / (p + r) if p + r else 0.0", "x.py")
    ['x.py:1']
    >>> f1_copies("f = 2 * tp / (2 * tp + fp + fn)", "x.py"), f1_copies("m = (a + b) / 2", "x.py")
    (['x.py:1'], [])
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _doubled(node.left)):
            continue
        terms = _terms(node.right)
        if len(terms) > 1 and (len(_factors(node.left)) >= 3 or any(_doubled(t) for t in terms)):
            found.append(f"{name}:{node.lineno}")
    return found


def test_the_arithmetic_is_written_once():
    """Every P/R/F1 in the package comes from ``indoevent.scores``; a second copy fails here."""
    found = [hit for p in sorted(PACKAGE.rglob("*.py")) if p != HOME
             for hit in f1_copies(p.read_text(encoding="utf-8"), str(p.relative_to(PACKAGE.parent)))]
    assert found == [], "P/R/F1 written outside indoevent/scores.py: call indoevent.scores.prf or f1_of"
    assert f1_copies(HOME.read_text(encoding="utf-8"), "scores.py"), "the search must see the one copy"


def test_f1_of_arrays_keeps_undefined_scores_undefined():
    """The bootstrap's intervals: an undefined precision or recall (NaN) gives an undefined F1, both 0 give 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = f1_of(np.array([np.nan, 0.0, 0.5]), np.array([0.5, 0.0, 1.0]))
    assert np.isnan(f[0]) and f[1] == 0.0 and f[2] == f1_of(0.5, 1.0) == prf(1, 1, 2)["f1"]
