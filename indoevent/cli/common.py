"""What every command shares."""

from __future__ import annotations

import sys


def fail(message: str, code: int = 1) -> int:
    """Print one clear error line and return the exit code."""
    print(f"indoevent: error: {message}", file=sys.stderr)
    return code
