"""Evaluation of a run on annotated articles, through the extraction path."""
