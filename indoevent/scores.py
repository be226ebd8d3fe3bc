"""Precision, recall and F1 from counts, written once for the whole project.

Span scores (``model/metrics.py``), annotator agreement (``annotation/agreement.py``), argument
linking (``events/frames.py``) and the evaluation's totals, buckets and bootstrap intervals
(``evaluation/analysis.py``) all call these two functions; ``tests/test_scores.py`` fails on a
second copy of the arithmetic anywhere in the package. A score with nothing to divide by is 0
here; callers that want "undefined" (``None``) say so before calling.
"""

from __future__ import annotations

from typing import Any


def f1_of(p: Any, r: Any) -> Any:
    """The harmonic mean of precision and recall, 0 where both are 0. Elementwise on numpy arrays,
    where a NaN (an undefined precision or recall) stays NaN.

    >>> f1_of(0.5, 1.0), f1_of(0.0, 0.0)
    (0.6666666666666666, 0.0)
    """
    s = p + r
    # Adding (s == 0) divides 0 by 1 where both are 0 (precision and recall are never negative),
    # so one expression serves floats and arrays, without a division-by-zero warning.
    return 2 * p * r / (s + (s == 0))


def prf(tp: float, n_gold: float, n_pred: float, *, tp_pred: float | None = None,
        digits: int | None = None) -> dict:
    """``{"precision", "recall", "f1"}`` from ``tp`` matched, ``n_gold`` gold and ``n_pred`` predicted
    items. ``tp_pred``: matched predictions, where they are counted apart from the matched gold items
    (a partial match can pair one prediction with two gold items). ``digits``: round all three (F1
    from the unrounded precision and recall).

    >>> prf(1, 2, 1)
    {'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666}
    >>> prf(1, 3, 2, tp_pred=2, digits=4)
    {'precision': 1.0, 'recall': 0.3333, 'f1': 0.5}
    >>> prf(0, 0, 0)
    {'precision': 0.0, 'recall': 0.0, 'f1': 0.0}
    """
    p = (tp if tp_pred is None else tp_pred) / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = f1_of(p, r)
    if digits is not None:
        return {"precision": round(p, digits), "recall": round(r, digits), "f1": round(f, digits)}
    return {"precision": p, "recall": r, "f1": f}
