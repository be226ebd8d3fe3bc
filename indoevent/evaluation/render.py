"""Text tables of an evaluation's metrics (Markdown, for the terminal and notebooks)."""

from __future__ import annotations

from typing import Any


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _ci(iv: list | None) -> str:
    return "" if not iv else f" [{iv[0]:.2f}, {iv[1]:.2f}]"


def headline_table(m: dict) -> str:
    """Strict character-span P/R/F1 per label, then micro (with 95% intervals) and macro per group."""
    iv = m.get("intervals", {})
    lines = ["| group | label | precision | recall | F1 | gold | predicted |", "|---|---|---|---|---|---|---|"]
    for group in ("entities", "triggers"):
        for label, v in m["spans"][group]["labels"].items():
            ci = iv.get(f"label.{label}", {})
            lines.append(f"| {group} | {label} | {_f(v['precision'])}{_ci(ci.get('precision'))} "
                         f"| {_f(v['recall'])}{_ci(ci.get('recall'))} | {_f(v['f1'])}{_ci(ci.get('f1'))} "
                         f"| {v['support']} | {v['predicted']} |")
    for group in ("entities", "triggers", "all"):
        mi, ma = m["spans"][group]["micro"], m["spans"][group]["macro"]
        ci = iv.get(f"spans.{group}", {})
        lines.append(f"| {group} | **micro** | {_f(mi['precision'])}{_ci(ci.get('precision'))} "
                     f"| {_f(mi['recall'])}{_ci(ci.get('recall'))} | {_f(mi['f1'])}{_ci(ci.get('f1'))} "
                     f"| {mi['support']} | {mi['predicted']} |")
        lines.append(f"| {group} | **macro** | {_f(ma['precision'])} | {_f(ma['recall'])} | {_f(ma['f1'])} | | |")
    if m.get("seqeval"):
        w = m["seqeval"]
        lines += ["", f"seqeval word-level micro F1 (conlleval, as published Indonesian NER tables): entities "
                      f"{_f(w['entities'])}, triggers {_f(w['triggers'])}, all {_f(w['all'])}"]
    if m.get("bootstrap"):
        lines.append("")
        lines.append(m["bootstrap"]["note"])
    return "\n".join(lines)


def frames_table(m: dict) -> str:
    """Trigger and argument identification / classification, with 95% intervals."""
    iv = m.get("intervals", {})
    lines = ["| measure | precision | recall | F1 | gold | predicted |", "|---|---|---|---|---|---|"]
    for name, v in m.get("frames", {}).items():
        ci = iv.get(name, {})
        lines.append(f"| {name} | {_f(v['precision'])}{_ci(ci.get('precision'))} | {_f(v['recall'])}"
                     f"{_ci(ci.get('recall'))} | {_f(v['f1'])}{_ci(ci.get('f1'))} | {v['gold']} | {v['predicted']} |")
    return "\n".join(lines)


def errors_table(m: dict) -> str:
    """nervaluate's error classes per scheme, for entities and triggers."""
    cols = ("correct", "incorrect", "partial", "missed", "spurious", "precision", "recall", "f1")
    lines = ["| group | scheme | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for group in ("entities", "triggers"):
        for scheme, c in m["nervaluate"][group]["overall"].items():
            lines.append(f"| {group} | {scheme} | " + " | ".join(_cell(c[k]) for k in cols) + " |")
    return "\n".join(lines)


def _cell(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)
