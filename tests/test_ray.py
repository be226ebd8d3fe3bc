"""`indoevent extract --engine ray`: the same records as the local engine, on a local Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import ray
    import ray.data  # noqa: F401
except ImportError:
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        raise  # CI installs the dev extra, which has ray[data]: it must run there, not be skipped
    pytest.skip("the Ray engine needs the [ray] extra (ray[data])", allow_module_level=True)

from indoevent.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def run(wired_run) -> Path:
    return wired_run


def articles() -> list[dict]:
    rows = [{"id": f"seed{i}", "text": f.read_bytes().decode("utf-8"), "site": "kompas"} for i, f in enumerate(SEEDS)]
    return rows + [{"id": 7, "text": "Putin bertemu Kim Jong Un di Beijing, Rabu."}]


def write_inputs(folder: Path) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in articles()]
    lines.insert(2, "{not json")                       # line 3: malformed
    lines.insert(4, json.dumps({"id": "e", "text": " "}))  # line 5: empty text
    path = folder / "news.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def records(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len({r["id"] for r in rows}) == len(rows)  # no id twice
    return {r["id"]: {k: v for k, v in r.items() if k != "timing"} for r in rows}


def test_ray_engine_writes_the_local_records(local_ray, run, tmp_path, capsys):
    news = write_inputs(tmp_path)
    assert main(["extract", str(news), "--model", str(run), "--out", str(tmp_path / "local.jsonl"),
                 "--no-progress"]) == 1  # 1: two bad lines
    local_err = capsys.readouterr().err
    code = main(["extract", str(news), "--model", str(run), "--out", str(tmp_path / "ray.jsonl"), "--engine", "ray",
                 "--workers", "1"])
    out = capsys.readouterr()
    assert code == 1, out
    local, on_ray = records(tmp_path / "local.jsonl"), records(tmp_path / "ray.jsonl")
    assert len(local) == len(articles()) and any(r["entities"] for r in local.values())
    assert on_ray == local
    for where in (f"{news}:3: malformed JSON", f"{news}:5: empty text"):
        assert where in local_err and where in out.err

    # Resume: the same command skips every id already written and adds nothing.
    before = (tmp_path / "ray.jsonl").read_bytes()
    assert main(["extract", str(news), "--model", str(run), "--out", str(tmp_path / "ray.jsonl"),
                 "--engine", "ray"]) == 1
    assert f"{len(articles())} article(s) already in" in capsys.readouterr().out
    assert (tmp_path / "ray.jsonl").read_bytes() == before


def test_ray_engine_reads_parquet_and_resumes_a_partial_file(local_ray, run, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = articles()
    table = pa.table({"id": [str(r["id"]) for r in rows], "text": [r["text"] for r in rows]})
    pq.write_table(table, tmp_path / "news.parquet")
    (tmp_path / "news.jsonl").write_text("".join(json.dumps({"id": str(r["id"]), "text": r["text"]}) + "\n"
                                                 for r in rows), encoding="utf-8")
    assert main(["extract", str(tmp_path / "news.jsonl"), "--model", str(run), "--out", str(tmp_path / "local.jsonl"),
                 "--no-progress"]) == 0
    local = records(tmp_path / "local.jsonl")
    # A results file holding the first two articles (as a crash would leave it): only the rest is done.
    partial = tmp_path / "ray.jsonl"
    partial.write_text("".join(line + "\n" for line in
                               (tmp_path / "local.jsonl").read_text(encoding="utf-8").splitlines()[:2]))
    assert main(["extract", str(tmp_path / "news.parquet"), "--model", str(run), "--out", str(partial),
                 "--engine", "ray"]) == 0
    assert "2 article(s) already in" in capsys.readouterr().out
    got = records(partial)
    assert got.keys() == local.keys()
    strip = lambda r: {k: v for k, v in r.items() if k != "source"}  # noqa: E731  (path:line vs parquet row)
    assert {k: strip(v) for k, v in got.items()} == {k: strip(v) for k, v in local.items()}


def test_local_engine_does_not_import_ray(run, tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(SEEDS[0].read_bytes())
    code = ("import sys; from indoevent.cli import main; "
            f"rc = main(['extract', {str(src)!r}, '--model', {str(run)!r}, '--out', {str(tmp_path / 'o.jsonl')!r}, "
            "'--no-progress', '--runtime', 'torch']); assert 'ray' not in sys.modules, 'ray imported'; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr


def test_ray_engine_refuses_other_inputs_before_starting(run, tmp_path, capsys):
    src = tmp_path / "a.txt"
    src.write_text("Putin bertemu Kim Jong Un.", encoding="utf-8")
    assert main(["extract", str(src), "--model", str(run), "--out", str(tmp_path / "o.jsonl"), "--engine", "ray"]) == 1
    assert "reads .jsonl files and Parquet" in capsys.readouterr().err and not (tmp_path / "o.jsonl").exists()


def test_ray_overwrite_keeps_the_old_results_until_the_new_run_is_done(tmp_path, monkeypatch):
    """--engine ray --overwrite emptied --out before extracting: a crash lost the old results."""
    from indoevent.events import ray_engine

    out = tmp_path / "r.jsonl"
    old = json.dumps({"id": "a", "entities": [], "triggers": [], "events": [], "model_version": "m@1"}) + "\n"
    out.write_text(old)
    src = write_inputs(tmp_path)

    def crash(model, inputs, target, *args):
        Path(target).write_text("half a line")
        raise RuntimeError("worker died")

    monkeypatch.setattr(ray_engine, "_extract", crash)
    with pytest.raises(RuntimeError):
        ray_engine.extract_ray("run", [src], out, overwrite=True)
    assert out.read_text() == old and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
