"""Extraction at scale on Ray Data: ``indoevent extract INPUT... --engine ray``.

The same :class:`~indoevent.events.extractor.Extractor` runs in Ray actors (one model replica
each, one per GPU with ``num_gpus_per_worker=1``) through ``ray.data`` ``map_batches``; the
driver writes the same result records as the local engine (:func:`.batch.result_record`)
into the same resumable JSONL, flushed line by line::

    JSONL / Parquet files (local, s3://, gs://, anything ray.data reads)
        -> read_binary_files (JSONL: whole files, parsed by the local engine's reader, so a bad
           line is reported as path:line) | read_parquet (rows checked as JSONL records)
        -> drop ids already in --out (resume) -> map_batches(_ExtractActor) -> driver writes

What differs from the local engine: records arrive in the order workers finish, not in input
order (resume does not care: it goes by id), and a duplicate id is reported when its second
copy reaches the driver. Ray is imported only here, and only when this engine runs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..model.runtime import onnx_export_ready
from ..text.inputs import InputError, Source, jsonl_sources, record_source
from .batch import BatchReport, _check_path, check_results, exclusive, read_results, result_record, write_task_list
from .extractor import Extractor

JSONL = (".jsonl", ".ndjson")


def _is_parquet(path: str) -> bool:
    """``.parquet`` files, and folders or prefixes (``s3://bucket/news/``): ray.data reads the Parquet files in them."""
    name = Path(path.rstrip("/")).name.lower()
    return name.endswith(".parquet") or path.endswith("/") or "." not in name


def _row(item: Source | InputError, done: set[str]) -> dict:
    """One article (or input error) as a Ray row; ids already written come out as ``skip``."""
    if not isinstance(item, InputError) and not item.text.strip():
        item = InputError(item.source, "empty text")  # as the local engine's reader says
    if isinstance(item, InputError):
        return {"id": "", "text": "", "source": item.where, "meta": "", "error": item.message, "skip": False}
    return {"id": item.id, "text": item.text, "source": item.source, "meta": json.dumps(item.meta, ensure_ascii=False),
            "error": "", "skip": item.id in done}


def _jsonl_rows(file: dict, done_ref) -> list[dict]:
    """A JSONL file's bytes -> rows, through the local engine's line reader and checks."""
    import ray

    done = ray.get(done_ref)
    return [_row(item, done) for item in jsonl_sources(file["bytes"].splitlines(keepends=True), file["path"])]


def _parquet_row(row: dict, done_ref) -> dict:
    import ray

    where = f"{row.pop('path', 'parquet')}: row id {row.get('id')!r}"
    return _row(record_source(row, where), ray.get(done_ref))


class _ExtractActor:
    """One model replica: rows in, one JSON result line (or the error passed through) out."""

    def __init__(self, model: str, load: dict, fmt: str, with_text: bool):
        self.extractor = Extractor.from_pretrained(model, **load)
        self.fmt, self.with_text = fmt, with_text

    def __call__(self, batch: dict) -> dict:
        n = len(batch["id"])
        lines, words = [""] * n, [0] * n
        todo = [i for i in range(n) if not batch["error"][i] and not batch["skip"][i]]
        arts = self.extractor.extract_many([batch["text"][i] for i in todo], ids=[batch["id"][i] for i in todo])
        ex = self.extractor
        for i, art in zip(todo, arts, strict=True):
            src = Source(batch["id"][i], batch["text"][i], batch["source"][i], json.loads(batch["meta"][i]))
            lines[i] = json.dumps(result_record(art, src, ex.name, ex.version, self.fmt, self.with_text),
                                  ensure_ascii=False)
            words[i] = art.stats["words"]
        return {"id": batch["id"], "source": batch["source"], "error": batch["error"], "skip": batch["skip"],
                "line": lines, "words": words, "version": [ex.version] * n}


def split_inputs(inputs: Sequence[str]) -> tuple[list[str], list[str]]:
    """The JSONL and the Parquet inputs; anything else is a ValueError (before Ray starts).

    >>> split_inputs(["a.jsonl", "s3://news/2024/", "b.parquet"])
    (['a.jsonl'], ['s3://news/2024/', 'b.parquet'])
    """
    jsonl = [str(p) for p in inputs if str(p).lower().endswith(JSONL)]
    parquet = [str(p) for p in inputs if str(p) not in jsonl and _is_parquet(str(p))]
    others = [str(p) for p in inputs if str(p) not in jsonl and str(p) not in parquet]
    if others:
        raise ValueError(f"--engine ray reads .jsonl files and Parquet files or folders, not {others[0]}: convert "
                         f"it, or use the local engine")
    return jsonl, parquet


def read_dataset(inputs: Sequence[str], done: set[str]):
    """The inputs as one ``ray.data`` dataset of rows (see the module's docstring)."""
    import ray
    import ray.data

    done_ref = ray.put(done)
    parts = []
    jsonl, parquet = split_inputs(inputs)
    if jsonl:
        parts.append(ray.data.read_binary_files(jsonl, include_paths=True)
                     # ray's stubs want a one-argument function: they leave out the fn_kwargs it is given
                     .flat_map(_jsonl_rows, fn_kwargs={"done_ref": done_ref}))  # type: ignore[arg-type]
    if parquet:
        parts.append(ray.data.read_parquet(parquet, include_paths=True)
                     .map(_parquet_row, fn_kwargs={"done_ref": done_ref}))  # type: ignore[arg-type]  # as above
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def extract_ray(model: str | Path, inputs: Sequence[str | Path], out: str | Path, fmt: str = "jsonl", *,
                address: str | None = None, workers: int = 1, num_gpus_per_worker: float = 0,
                cpus_per_worker: float = 1, batch_size: int | None = None, with_text: bool = False,
                load: dict | None = None, on_error: Callable[[InputError], None] | None = None,
                overwrite: bool = False) -> BatchReport:
    """:func:`~indoevent.events.batch.extract_files` on Ray: ``workers`` actors each hold one
    model (``load``: the keyword arguments of :meth:`Extractor.from_pretrained`), on
    ``num_gpus_per_worker`` GPUs and ``cpus_per_worker`` CPUs each. ``address``: a running
    cluster (``"auto"``), else a Ray already started in this process, else a local one."""
    import ray  # noqa: F401  (without Ray installed, fail here, before --out is locked or truncated)

    split_inputs([str(p) for p in inputs])
    out = _check_path(out, inputs, fmt)  # the local engine's checks on --out, lock and resume rule
    with exclusive(out):
        res = read_results(out)
        check_results(out, res, fmt, None, overwrite)  # the version: once the first result names it
        report = BatchReport(out)
        if res.cut and not overwrite:
            report.truncated_line = True  # a crash cut the last line: its article is redone
            os.truncate(out, res.good)
        done = set() if overwrite else res.done
        # Starting over writes beside ``out`` and replaces it at the end, as the local engine does:
        # a crash keeps the old results.
        target = out.with_name(f".{out.name}.{os.getpid()}.tmp") if overwrite else out
        try:
            _extract(model, inputs, target, fmt, res, done, report, address, workers, num_gpus_per_worker,
                     cpus_per_worker, batch_size, with_text, load, on_error, overwrite)
            if overwrite:
                os.replace(target, out)
                if fmt == "label-studio":
                    report.tasks_json = write_task_list(out, out.with_suffix(".json"))
        finally:
            if overwrite:
                target.unlink(missing_ok=True)
        report.out = out
        return report


def _extract(model, inputs, out: Path, fmt: str, res, done: set[str], report: BatchReport, address, workers,
             num_gpus_per_worker, cpus_per_worker, batch_size, with_text, load, on_error, overwrite) -> BatchReport:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    load = dict(load or {})
    if num_gpus_per_worker and not load.get("device"):
        load["device"] = "cuda"
    if batch_size:
        load["batch_size"] = batch_size
    model = str(model)
    if load.get("runtime", "auto") == "auto" and not num_gpus_per_worker and Path(model).is_dir():
        onnx_export_ready(model)  # the auto runtime's ONNX export, once, here: not by every actor at the same time
    ds = read_dataset([str(p) for p in inputs], done).map_batches(
        _ExtractActor, fn_constructor_kwargs={"model": model, "load": load, "fmt": fmt, "with_text": with_text},
        batch_size=max(8, 4 * (batch_size or 8)), batch_format="numpy", concurrency=workers,
        num_gpus=num_gpus_per_worker or None, num_cpus=cpus_per_worker)
    seen: set[str] = set()
    t0 = time.perf_counter()
    with out.open("a", encoding="utf-8", newline="\n") as f:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            for i in range(len(batch["id"])):
                art_id, source = str(batch["id"][i]), str(batch["source"][i])
                if batch["error"][i]:
                    _report(report, InputError(source, str(batch["error"][i])), on_error)
                elif batch["skip"][i]:
                    report.skipped_done += 1
                elif art_id in seen:
                    _report(report, InputError(source, f"duplicate id {art_id!r}"), on_error)
                else:
                    if not seen:  # the first result names the model version: never mix two in one file
                        check_results(out, res, fmt, str(batch["version"][i]), overwrite)
                    seen.add(art_id)
                    f.write(str(batch["line"][i]) + "\n")
                    f.flush()
                    report.written += 1
                    report.words += int(batch["words"][i])
    report.seconds = time.perf_counter() - t0
    if fmt == "label-studio" and not overwrite:  # with overwrite: once ``out`` is replaced
        report.tasks_json = write_task_list(out, out.with_suffix(".json"))
    return report


def _report(report: BatchReport, err: InputError, on_error) -> None:
    report.errors.append(err)
    if on_error:
        on_error(err)
