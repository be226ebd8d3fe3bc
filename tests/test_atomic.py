"""Folders and files are published whole, with ordinary permissions, or not at all."""

import os
import stat

import pytest

from indoevent import atomic
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


def test_building_without_overwrite_refuses_a_folder_made_meanwhile(tmp_path):
    # building() checks overwrite early; another process may create the folder while we build.
    out = tmp_path / "run"
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with building(out, overwrite=False) as tmp:
            (tmp / "a.txt").write_text("new")
            out.mkdir()
            (out / "a.txt").write_text("theirs")
    assert (out / "a.txt").read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def _publish_twice(tmp_path):
    out = tmp_path / "run"
    with building(out) as tmp:
        (tmp / "a.txt").write_text("old")
    with building(out) as tmp:
        (tmp / "a.txt").write_text("new")
    return out


def test_replacing_a_folder_leaves_only_the_new_one(tmp_path):
    out = _publish_twice(tmp_path)
    assert (out / "a.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_the_two_rename_fallback_also_works(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)  # a system without renameat2
    out = _publish_twice(tmp_path)
    assert (out / "a.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not atomic._exchange(a, b):
        pytest.skip("no renameat2(RENAME_EXCHANGE) here")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_a_crash_between_the_two_renames_is_repaired_on_the_next_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    with building(out) as tmp:
        (tmp / "a.txt").write_text("old")
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    real, calls = os.replace, []

    def crash_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies after moving the old folder aside
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        with building(out) as tmp:
            (tmp / "a.txt").write_text("new")
    monkeypatch.setattr(atomic.os, "replace", real)
    assert not out.exists() and atomic.old_dir(out).exists()  # what the crash left
    # The next run finds the old folder again: it is restored, reported, and not replaced silently.
    with pytest.warns(UserWarning, match="restored"):
        with pytest.raises(OutputExistsError):
            with building(out, overwrite=False) as tmp:
                (tmp / "a.txt").write_text("newer")
    assert (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_check_output_names_the_commands_own_option(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("x")
    with pytest.raises(OutputExistsError, match="choose another --output-dir$"):
        atomic.check_output(tmp_path / "run", option="--output-dir")
    with pytest.raises(OutputExistsError, match="choose another --out$"):
        atomic.check_output(tmp_path / "run")
