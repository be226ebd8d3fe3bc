"""Files: write them so that a crash leaves the old version or the new one, never half of one; hash them."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


class OutputExistsError(FileExistsError):
    """The destination exists and replacing it was not asked for."""


@contextmanager
def replacing(path: str | Path, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing (streaming is fine); it replaces
    ``path`` when the block succeeds and is removed when it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open(mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` through a temporary file in the same folder, then rename it into place."""
    with replacing(path) as f:
        f.write(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def publish(built: Path, final: Path, overwrite: bool = True) -> Path:
    """Move a finished folder into place, replacing an old one only with ``overwrite``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        if not overwrite:
            raise OutputExistsError(f"{final} already exists: pass --overwrite to replace it, or choose another folder")
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(built, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(built, final)
    return final


@contextmanager
def building(final: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``final``; publish it there if the block succeeds,
    remove it if the block raises (``final`` is then untouched)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not overwrite:
        raise OutputExistsError(f"{final} already exists: pass --overwrite to replace it, or choose another folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes the folder private; the result is an ordinary folder
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish(tmp, final, overwrite=True)


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (weights files are hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
