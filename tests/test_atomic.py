"""Folders and files are published whole, with ordinary permissions, or not at all."""

import os
import stat

import pytest

from indoevent.atomic import OutputExistsError, building, write_text


def test_building_publishes_an_ordinary_folder(tmp_path):
    out = tmp_path / "run"
    with building(out) as tmp:
        (tmp / "a.txt").write_text("x")
    assert (out / "a.txt").read_text() == "x"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask  # not mkdtemp's owner-only 0700
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_failing_build_leaves_the_old_folder(tmp_path):
    out = tmp_path / "run"
    with building(out) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with building(out) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("crash")
    assert (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_no_overwrite_refuses_before_building(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with building(tmp_path / "run", overwrite=False):
            pass


def test_write_text_replaces_whole_file(tmp_path):
    p = tmp_path / "x" / "f.json"
    write_text(p, "[1]")
    write_text(p, "[1, 2]")
    assert p.read_text() == "[1, 2]" and [q.name for q in p.parent.iterdir()] == ["f.json"]
