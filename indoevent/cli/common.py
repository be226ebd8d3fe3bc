"""What every command shares."""

from __future__ import annotations

import argparse
import errno
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from ..annotation.lsexport import CHOICES, check_choice
from ..atomic import file_in_the_way, same_file


def fail(message: str, code: int = 1) -> int:
    """Print one clear error line and return the exit code."""
    print(f"indoevent: error: {message}", file=sys.stderr)
    return code


def print_problems(problems: Iterable[object]) -> None:
    """One ``error:`` line per problem (a validator's list), before the command's one-line failure."""
    for p in problems:
        print(f"error: {p}", file=sys.stderr)


def write_problem(path: Path, e: OSError) -> str:
    """Why writing ``path`` failed, in the user's words: the errno alone says "File exists" for a
    folder of the path that is a file, and "Is a directory" for a file path that is a folder."""
    blocker = file_in_the_way(path)
    if blocker is not None:
        return f"{blocker} is a file, not a folder"
    if e.errno == errno.EISDIR:
        return f"{path} is a folder: give a file name"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{e.strerror}: free some space"
    return e.strerror or str(e)


def cannot_write(path: Path, e: OSError) -> int:
    """One line for a failed write (a full disk, no permission); the atomic writers left nothing behind."""
    return fail(f"{path}: cannot write: {write_problem(path, e)}; nothing was written and any earlier "
                f"{path.name} is unchanged (choose another place, or make room, and rerun)")


def not_a_run(run: str | Path) -> str | None:
    """Why ``run`` cannot be a run folder or a hub model id, before transformers says it its way
    ("Repo id must be in the form 'repo_name'...", "the config file at 'r.jsonl' is not valid JSON").

    >>> not_a_run("/tmp/tidak/ada")
    'no such run folder'
    >>> not_a_run("indobenchmark/indobert-base-p1") is None  # a hub id, or a folder that may be there
    True
    """
    path, name = Path(run), str(run)
    if path.is_file():
        return "a file, not a run folder: give the folder `indoevent train` wrote"
    hub_like = not name.startswith((".", "/", "~")) and name.count("/") <= 1
    if not path.exists() and not hub_like:
        return "no such run folder"
    return None


def cannot_load(run: Path, e: Exception) -> int:
    """One line for a run that does not load (ModelLoadError, or transformers' OSError and ValueError)."""
    why = not_a_run(run)
    if why:
        return fail(f"cannot load model {run}: {why}")
    # Our own messages start with the run folder or its file; those of transformers and torch do not,
    # and span lines (the hub's "couldn't connect ... Check your internet connection").
    message = " ".join(str(e).split())
    if not Path(run).exists():
        message += f" (and there is no folder {run} here)"
    return fail(message if message.startswith(str(run)) else f"cannot load model {run}: {message}")


def given_twice(paths: Iterable[Path], what: str) -> str | None:
    """One line for an input named twice (its records would clash with themselves: "article X also
    at X"), or None.

    >>> given_twice([Path("berita.jsonl"), Path("arsip/../berita.jsonl")], "FRAMES")
    'FRAMES berita.jsonl is given twice (also as arsip/../berita.jsonl): give each once'
    """
    seen: list[Path] = []
    for p in paths:
        twin = next((q for q in seen if same_file(p, q)), None)
        if twin is not None:
            also = f" (also as {p})" if str(p) != str(twin) else ""
            return f"{what} {twin} is given twice{also}: give each once"
        seen.append(p)
    return None


def add_overwrite(p: argparse.ArgumentParser, what: str) -> None:
    """The --overwrite of a command that writes (the output rule: README, Outputs)."""
    p.add_argument("--overwrite", action="store_true",
                   help=f"replace an existing --out, if it is {what} (anything else is never replaced)")


# The devices torch names: cpu, cuda, cuda:1, mps, xpu:0 ...
DEVICE = re.compile(r"(cpu|cuda|mps|xpu|hpu|npu)(:\d+)?")


def bad_settings(args: argparse.Namespace) -> str | None:
    """What is wrong with --batch-size or --device, as one line (None: nothing), before a model is loaded."""
    size = getattr(args, "batch_size", None)
    if size is not None and size < 1:
        return f"--batch-size {size}: give 1 or more windows per forward"
    device = getattr(args, "device", None)
    if device is not None and not DEVICE.fullmatch(device):
        return f"--device {device!r}: give cpu, cuda, cuda:N or mps"
    return None


def annotation_choice(value: str) -> str:
    """argparse type of --annotation: a bad CHOICE is a usage error that lists the good ones."""
    try:
        return check_choice(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a CHOICE: use {CHOICES}") from None
