"""What every command shares."""

from __future__ import annotations

import argparse
import sys

from ..annotation.lsexport import CHOICES, check_choice


def fail(message: str, code: int = 1) -> int:
    """Print one clear error line and return the exit code."""
    print(f"indoevent: error: {message}", file=sys.stderr)
    return code


def annotation_choice(value: str) -> str:
    """argparse type of --annotation: a bad CHOICE is a usage error that lists the good ones."""
    try:
        return check_choice(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a CHOICE: use {CHOICES}") from None
