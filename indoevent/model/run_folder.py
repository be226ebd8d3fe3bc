"""The folder a run is built in, around the run: locked, prepared, cleaned up, given the model.

:mod:`.runs` says how a finished run is written and published (``.<name>.partial/final`` renamed
to ``<name>``); this module holds what happens before and around that, for one run and for
cross-validation alike:

    with owning(final):                       # a refused run leaves no .partial folder; the lock goes
        work = prepare_work(final, ...)       # locked, checked (--resume, --overwrite), config saved
        ...                                   # train into work / "checkpoints"
        write_run(..., save_model=lambda out: save_model(model, tokenizer, cfg, out))

The lock is ``.<name>.lock`` beside the run folder (filelock: every platform), so that a second
``train`` on the same folder stops at once instead of mixing its checkpoints into the first one's.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..atomic import lock_beside, try_lock, unlock
from .checkpoint import ModelLoadError
from .config import ConfigError, RunConfig, dump_yaml
from .data import DataError
from .runs import SCHEMA_VERSION, RunExistsError, RunWriteError, is_main, partial_dir, say, write_failure

_LOCKS: dict[Path, Any] = {}  # run folder -> its held lock, held until the run ends (or the process)


def _lock(final: Path, command: str | None = None) -> None:
    """Hold ``.<name>.lock`` next to the run folder, so that a second ``train`` on it stops at once
    instead of mixing its checkpoints into the first one's ``.partial`` folder. The holder's pid and
    ``command`` (``train``, ``pretrain``, ``self-train``...) are written into it for the second one's
    message (on Unix; Windows keeps a locked file closed to others, and the message says pid ?)."""
    key = final.resolve()
    if key in _LOCKS:  # this process already holds it (self-train around its last round's train)
        return
    path = lock_beside(final)
    try:
        held = try_lock(path)
    except OSError as e:
        raise RunWriteError(f"cannot write {path} ({write_failure(e) or e.strerror or e})") from e
    if held is None:
        raise RunExistsError(f"{final} is being written by {_holder(path)}: wait for it to finish, "
                             "or choose another --output-dir")
    with suppress(OSError):
        path.write_text(f"{os.getpid()} {command or ''}".strip(), encoding="utf-8")
    _LOCKS[key] = held


def _holder(lock: Path) -> str:
    """Who holds ``lock``, from what it wrote into it: "another `indoevent pretrain` (pid 7, lock L)"."""
    try:
        pid, _, command = lock.read_text(encoding="utf-8").strip().partition(" ")
    except OSError:
        pid, command = "", ""
    who = f"`indoevent {command}`" if command else "indoevent run"
    return f"another {who} (pid {pid or '?'}, lock {lock})"


def _unlock(final: Path) -> None:
    """Release and remove the lock of :func:`_lock`, if this process holds it."""
    held = _LOCKS.pop(final.resolve(), None)
    if held is not None:
        unlock(held)


@contextmanager
def holding(final: Path, command: str) -> Iterator[None]:
    """Hold the run folder's lock for a block of several runs (``self-train``'s rounds, its last one
    trained into ``final``): ``train`` inside it takes it as its own and leaves it held. Only the
    main process locks, as in :func:`prepare_work` (the other GPU processes of a launch share it)."""
    if is_main():
        _lock(final, command)
    try:
        yield
    finally:
        _unlock(final)


# A run refused for these reasons has nothing worth resuming: its new .partial folder goes.
_REFUSALS = (ConfigError, DataError, ModelLoadError, RunExistsError)


@contextmanager
def owning(final: Path) -> Iterator[None]:
    """Around a run: on a refusal (bad config, data or model) remove the ``.partial`` folder this
    call created, and always remove the run's lock file at the end, so nothing is left beside it."""
    work = partial_dir(final)
    existed = work.exists()
    held_before = final.resolve() in _LOCKS  # by :func:`holding`, which releases it
    try:
        yield
    except _REFUSALS:
        if is_main() and not existed:
            shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if not held_before:
            _unlock(final)


def prepare_work(final: Path, resume: bool, overwrite: bool, cfg: RunConfig, command: str | None = None) -> Path:
    """The ``.<name>.partial`` folder of a run: checked, created, with the resolved config in it.
    Called once the data is read and checked, so a bad config or corpus creates nothing. ``command``
    (``train``, ``pretrain``) names the run in the message of a second one on the same folder."""
    if is_main():
        _lock(final, command)
    if final.exists() and not overwrite:
        raise RunExistsError(f"{final} already exists: pass --overwrite to replace it, or choose another "
                             "--output-dir or run_name")
    work = partial_dir(final)
    saved = work / "training_config.yaml"
    if work.exists() and not resume:
        left = ("checkpoints" if any(work.rglob("checkpoint-*")) else
                "finished folds" if any(work.glob("fold-*/result.json")) else None)
        if left and not overwrite:
            raise RunExistsError(f"{work} holds {left} of an interrupted run: pass --resume to continue it, "
                                 "or --overwrite to start again")
        if is_main():
            shutil.rmtree(work)
    if resume and saved.exists():
        import yaml

        before, now = yaml.safe_load(saved.read_text(encoding="utf-8")), yaml.safe_load(dump_yaml(cfg))
        diff = [f"{s}.{k}" for s in now if isinstance(now[s], dict)
                for k in now[s] if before.get(s, {}).get(k) != now[s][k]]
        if diff:
            say(f"warning: resuming with a config that differs from the interrupted run's in {', '.join(diff)}",
                file=sys.stderr)
    if is_main():  # other GPU processes only read it
        try:
            work.mkdir(parents=True, exist_ok=True)
            saved.write_text(dump_yaml(cfg), encoding="utf-8")
        except OSError as e:
            raise RunWriteError(f"cannot write {saved} ({write_failure(e) or e.strerror or e})") from e
    return work


def save_model(model: Any, tokenizer: Any, cfg: RunConfig, out: Path) -> None:
    """Write the trained model and its tokenizer into ``out`` (the run's ``final/``), with the
    windows it was trained with in its config (``config.json``'s ``indoevent`` attribute)."""
    model.config.indoevent = {"schema_version": SCHEMA_VERSION, "max_length": cfg.data.max_length,
                              "overlap": cfg.data.overlap, "base_model": cfg.model.name_or_path,
                              "run_name": cfg.run_name}
    model.save_pretrained(out)  # safetensors: the transformers 5 default
    tokenizer.save_pretrained(out)
    # safetensors writes its file owner-only; give it the permissions of every other file of the run.
    umask = os.umask(0)
    os.umask(umask)
    for f in out.glob("*.safetensors"):
        os.chmod(f, 0o666 & ~umask)
