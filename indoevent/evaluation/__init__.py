"""Evaluation of a run on annotated articles, through the extraction path: strict span scores,
error analysis, bootstrap intervals, an HTML report, and a comparison of runs."""

from .evaluate import ArticleResult, EvaluationError, Report, evaluate, load_gold

__all__ = ["ArticleResult", "EvaluationError", "Report", "evaluate", "load_gold"]
