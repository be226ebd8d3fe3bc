"""Files: write them so that a crash leaves the old version or the new one, never half of one; hash them."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from filelock import FileLock, Timeout


class OutputExistsError(FileExistsError):
    """The destination exists and replacing it was not asked for (or it is not ours to replace), or a
    file stands where one of its folders should be."""


# --- the output rule of every command ----------------------------------------------------------
def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (also through links and other spellings)."""
    a, b = Path(a), Path(b)
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def file_in_the_way(path: str | Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is a file, not a folder (nothing can be
    written under it; the system's word for it is a puzzling "File exists"), else None."""
    for p in Path(path).parents:
        if p.exists():
            return None if p.is_dir() else p
    return None


def check_output(out: str | Path, inputs: Iterable[str | Path] = (), overwrite: bool = False,
                 ours: Callable[[Path], bool] | None = None, kind: str = "an output of this command",
                 option: str = "--out") -> Path:
    """The one rule for what a command may write over (the README's "Outputs"): an input of
    the command never; nor a path under a file; an existing ``out`` (an empty folder counts as new) only with
    ``overwrite``; and never, even with it, unless ``ours(out)`` says it is of the kind the
    command writes (``kind`` names it in the messages; ``option`` is the command's output option). Raises :class:`OutputExistsError`; writing is the
    caller's, atomically (:func:`replacing`, :func:`building`)."""
    out = Path(out)
    for p in inputs:
        if same_file(out, p) or (out.is_dir() and Path(p).exists() and Path(p).resolve().is_relative_to(out.resolve())):
            raise OutputExistsError(f"{out}: is an input of this command (or holds one); give {option} another path")
    blocker = file_in_the_way(out)
    if blocker is not None:  # refused now, not after the command's work
        raise OutputExistsError(f"{out}: {blocker} is a file, not a folder; choose another {option}")
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return out
    if ours is not None and not ours(out):
        raise OutputExistsError(f"{out}: not {kind}, so it is never replaced, even with --overwrite; "
                                f"choose another {option}")
    if not overwrite:
        raise OutputExistsError(f"{out} already exists ({kind}): pass --overwrite to replace it, or choose "
                                f"another {option}")
    return out


def not_writable(out: str | Path) -> str | None:
    """Why nothing can be written at ``out`` (its files, their temporary files and lock go in
    its folder or beside it), found before the command's work, or None. A file is created and removed
    in the nearest existing folder above ``out``: permission bits alone miss read-only mounts and root."""
    here = Path(out).absolute().parent
    while not here.exists():
        here = here.parent
    try:
        with tempfile.TemporaryFile(dir=here):
            pass
    except OSError as e:
        return f"cannot create files in {here} ({e.strerror or e})"
    return None


def folder_of(names: Iterable[str]) -> Callable[[Path], bool]:
    """``ours`` for :func:`check_output`: a folder that holds only some of ``names`` (what the command writes)."""
    allowed = set(names)
    return lambda p: p.is_dir() and {c.name for c in p.iterdir()} <= allowed


def lock_beside(path: str | Path) -> Path:
    """The lock file of ``path``: ``.NAME.lock`` beside it.

    >>> lock_beside(Path("results/seeds.jsonl")).as_posix()
    'results/.seeds.jsonl.lock'
    """
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


def try_lock(lock: str | Path) -> FileLock | None:
    """Take the lock file ``lock`` without waiting, or None when another process holds it.

    filelock's native lock (``flock`` on Unix, ``LockFileEx`` on Windows): the system drops it
    when the holder dies, so a crash never leaves a stale lock. Two locks on one file in one
    process also exclude each other. A lock file that cannot be created (a read-only folder, /proc)
    raises the :class:`OSError`: filelock would report it as a timeout, "held by another run"."""
    Path(lock).parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(lock, os.O_RDWR | os.O_CREAT, 0o666))  # creates it, or raises why it cannot
    held = FileLock(lock, timeout=0, thread_local=False)
    try:
        held.acquire()
    except Timeout:
        return None
    return held


def unlock(held: FileLock) -> None:
    """Release a lock of :func:`try_lock` and remove its file. On Unix the file goes while still
    locked, so no one locks a file about to go (one that opened it just before sees it gone and
    does not take it); Windows cannot remove an open file, and filelock removes it on release."""
    with suppress(OSError):
        Path(held.lock_file).unlink(missing_ok=True)
    held.release()


@contextmanager
def locked(path: str | Path, what: str) -> Iterator[None]:
    """Hold ``path``'s lock file (``.NAME.lock`` beside it, :func:`try_lock`) for the block; a
    second writer fails at once with an :class:`OutputExistsError`. The lock file goes when the
    block ends (the system drops the lock itself if the process dies)."""
    held = try_lock(lock_beside(path))
    if held is None:
        raise OutputExistsError(f"{path}: another {what} is writing it; wait for it to finish, or "
                                f"choose another --out")
    try:
        yield
    finally:
        unlock(held)


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


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or file system cannot, so the caller falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # e.g. some network file systems
        return False
    raise OSError(err, os.strerror(err), str(b))


def old_dir(final: Path) -> Path:
    """Where the two-rename fallback parks the replaced folder.

    >>> old_dir(Path("data/seeds")).as_posix()
    'data/.seeds.old'
    """
    return final.with_name(f".{final.name}.old")


def recover(final: str | Path) -> str | None:
    """Undo what a crash between the fallback's two renames left: ``final`` missing and its old
    version parked in ``.NAME.old`` (put it back), or both present (the old one is garbage).
    Returns what was done, or None when there was nothing to do."""
    final = Path(final)
    old = old_dir(final)
    if not old.exists():
        return None
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        return f"removed {old}, left by an interrupted replacement of {final}"
    os.replace(old, final)
    return f"restored {final} from {old}: an earlier replacement was interrupted"


def publish(built: Path, final: Path, overwrite: bool = True) -> Path:
    """Move a finished folder into place, replacing an old one only with ``overwrite``.

    A reader sees the old folder or the new one, never neither: the two are exchanged in one
    step where the system can; elsewhere the old one is renamed aside first, and a crash
    between the two renames is repaired by :func:`recover` on the next run."""
    final.parent.mkdir(parents=True, exist_ok=True)
    note = recover(final)
    if note:
        warnings.warn(note, stacklevel=2)
    if not final.exists():
        os.replace(built, final)
        return final
    if not overwrite:
        raise OutputExistsError(f"{final} already exists: pass --overwrite to replace it, or choose another folder")
    if final.is_dir() and _exchange(built, final):
        shutil.rmtree(built, ignore_errors=True)  # it now holds the old folder
        return final
    old = old_dir(final)
    os.replace(final, old)
    os.replace(built, final)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)
    return final


@contextmanager
def building(final: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``final``; publish it there if the block succeeds,
    remove it if the block raises (``final`` is then untouched). Without ``overwrite`` an
    existing ``final`` is refused before the block runs and again when publishing (another
    process may have made it meanwhile)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    note = recover(final)
    if note:
        warnings.warn(note, stacklevel=3)
    if final.exists() and not overwrite:
        raise OutputExistsError(f"{final} already exists: pass --overwrite to replace it, or choose another folder")
    _remove_orphans(final)
    # The builder's pid is in the name, so a later run can tell a killed build from a live one.
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes the folder private; the result is an ordinary folder
    try:
        yield tmp
        publish(tmp, final, overwrite=overwrite)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when published


def _remove_orphans(final: Path) -> None:
    """Remove the build folders of :func:`building` beside ``final`` whose process is gone (killed)."""
    pattern = re.compile(rf"\.{re.escape(final.name)}\.(\d+)\.[^.]+")
    for p in final.parent.iterdir():
        m = pattern.fullmatch(p.name)
        if m and p.is_dir() and not _alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (weights files are hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
