"""More of what a user gets wrong (the second user pass), each answered in one line naming the file,
line or id: a bad index or splits file, an article given twice through a folder, a JSONL line cut
short, a /ui/view request that is not UTF-8, an output nobody can write; and the run folder's lock,
held by self-training across its rounds and naming the command that holds it."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest

from indoevent import atomic
from indoevent.cli import main
from indoevent.events.mentions import FramesError, read_indexes
from indoevent.jsonl import records
from indoevent.model.runs import RunExistsError
from indoevent.model.splits import load_splits
from indoevent.text.inputs import read_inputs

ROOT = Path(__file__).resolve().parents[1]
FRAMES = {"id": "a1", "text": "Putin bertemu Kim.", "events": [], "entities": []}


# --- R2: --index --------------------------------------------------------------------------------
def test_a_bad_index_is_blamed_on_the_index_file(tmp_path, capsys):
    frames = tmp_path / "rn.jsonl"
    frames.write_text(json.dumps(FRAMES) + "\n", encoding="utf-8")
    index = tmp_path / "index.json"
    index.write_text(json.dumps([{"id": "a1", "published": "kemarin"}]), encoding="utf-8")
    assert main(["merge", str(frames), "--index", str(index), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert f"{index}: article 'a1': cannot read its date 'kemarin'" in err and "rn.jsonl:1" not in err
    assert not (tmp_path / "m").exists()
    latin = tmp_path / "latin.json"
    latin.write_bytes('[{"id": "a1", "published": "Rabu, 3 September 2025 \u2013 caf\u00e9"}]'.encode("latin-1", "replace"))
    for bad, why in [(tmp_path, "is a folder"), (latin, "not UTF-8 (byte"), (tmp_path / "no.json", "No such file")]:
        with pytest.raises(FramesError) as e:
            read_indexes([bad])
        assert e.value.problems[0].startswith(f"{bad}: ") and why in e.value.problems[0]
        assert "Errno" not in e.value.problems[0]


# --- R3: data.splits ------------------------------------------------------------------------------
def test_a_bad_splits_file_is_one_line_without_python_internals(tmp_path):
    path = tmp_path / "splits.json"
    cases = [("[1]", "expected {\"train\""), ('{"train": ["a"], "dev": []}', "test is missing or not a list"),
             ('{"train": [1], "dev": [], "test": []}', "article ids must be strings")]
    for text, why in cases:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match="^" + str(path).replace("\\", "\\\\")) as e:
            load_splits(path)
        assert why in str(e.value) and "indices" not in str(e.value)
    path.write_bytes('{"train": ["caf\u00e9"], "dev": [], "test": []}'.encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8 \(byte 15"):
        load_splits(path)
    with pytest.raises(ValueError, match="cannot read the splits file: No such file") as e:
        load_splits(tmp_path / "missing.json")
    assert "Errno" not in str(e.value)


# --- R4: one article through its folder and by name ----------------------------------------------
def test_a_file_given_directly_and_through_its_folder_names_both(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "000_x.txt").write_text("Putin bertemu Kim.", encoding="utf-8")
    got = list(read_inputs([folder, folder / "000_x.txt"]))
    assert got[0].id == "000_x"
    assert str(got[1]) == (f"{folder / '000_x.txt'}: duplicate id '000_x' (also {folder / '000_x.txt'} via the "
                           f"folder {folder}); give each article once")


# --- R7: a JSONL line cut short -------------------------------------------------------------------
def test_a_last_line_cut_short_says_so_and_a_bad_line_does_not():
    cut = b'{"id": "a"}\n{"id": "b", "text": "Putin bertemu Ki'
    (_, first), (where, err) = records(io.BytesIO(cut), "r.jsonl")
    assert first == {"id": "a"} and where == "r.jsonl:2" and "looks cut short" in str(err)
    for whole in (b'{"id": "a",}\n{"id": "b"}', b'{"id": "a"}\n{"id": "b"}}', b'{"id": "b", "text": "x\n'):
        assert not any("cut short" in str(v) for _, v in records(io.BytesIO(whole), "r.jsonl"))


# --- R8: /ui/view ---------------------------------------------------------------------------------
def test_ui_view_refuses_a_body_not_utf8_and_an_id_that_is_no_string():
    from indoevent.studio.webapp import view_request

    assert view_request('{"text": "Presiden \u00e9"}'.encode("latin-1")).startswith("the request body is not UTF-8")
    assert view_request(b'{"text": "Putin", "id": {"a": 1}}') == '"id" must be a string, got object'
    assert view_request(b'[1]') == 'expected {"text": ...}, got list'
    assert view_request(b'{"text": "Putin", "id": "a1"}') == {"text": "Putin", "id": "a1"}


# --- R9: pretrain's tokenizer -----------------------------------------------------------------------
def test_pretrain_windows_whole_articles_without_the_length_warning(base):
    from transformers import AutoTokenizer

    from indoevent.model.pretrain import mlm_rows, window_tokenizer
    from indoevent.text.inputs import Source

    tokenizer = AutoTokenizer.from_pretrained(base)
    window_tokenizer(tokenizer, 16)
    seen = []
    handler = logging.Handler()
    handler.emit = lambda r: seen.append(r.getMessage())
    logger = logging.getLogger("transformers.tokenization_utils_base")
    logger.addHandler(handler)
    try:
        rows = mlm_rows(tokenizer, [Source("a", "Putin bertemu Kim di Beijing pada Rabu. " * 20, "x")], 16)
    finally:
        logger.removeHandler(handler)
    assert len(rows) > 1 and all(len(r["input_ids"]) <= 16 for r in rows)
    assert tokenizer.model_max_length == 16 and not [m for m in seen if "sequence length is longer" in m]


# --- R11, R12: an output nobody can write -----------------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_merge_into_an_unwritable_place_stops_before_the_merge(tmp_path, capsys, monkeypatch):
    frames = tmp_path / "f.jsonl"
    frames.write_text(json.dumps({**FRAMES, "date": "2025-09-03"}) + "\n", encoding="utf-8")
    monkeypatch.setattr("indoevent.cli.events.read_frames", lambda *a: pytest.fail("read before the check"))
    assert main(["merge", str(frames), "--out", "/proc/m"]) == 1
    err = capsys.readouterr().err
    assert "--out /proc/m: cannot create files in /proc" in err and "another" not in err
    assert atomic.not_writable(tmp_path / "new" / "m") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_lock_file_that_cannot_be_created_is_not_another_run():
    with pytest.raises(OSError):
        atomic.try_lock("/proc/.m.lock")
    with pytest.raises(OSError), atomic.locked("/proc/m", "`indoevent merge`"):
        pass


# --- R1, R5: the run folder's lock ------------------------------------------------------------------
def test_self_train_holds_the_run_folders_lock_across_its_rounds(tmp_path, monkeypatch):
    from indoevent.model import self_train as st
    from indoevent.model.run_folder import owning, prepare_work
    from scaffold import tiny_config

    final, seen = tmp_path / "st", []

    def fake_train(cfg, out, overwrite=False):  # what train does with the lock, without training
        with owning(Path(out)):
            prepare_work(Path(out), False, overwrite, cfg, "train")
            seen.append(atomic.try_lock(atomic.lock_beside(final)) is None)  # held by self-train
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / "metrics.json").write_text('{"dev": null}', encoding="utf-8")
        seen.append(atomic.try_lock(atomic.lock_beside(final)) is None)  # still held after the round
        return Path(out)

    monkeypatch.setattr(st, "train", fake_train)
    monkeypatch.setattr(st, "pseudo_label", lambda run, arts, thr, out: {"articles": 1, "articles_with_silver": 0,
                                                                       "spans_kept": 0, "spans_below_threshold": 0})
    cfg = tiny_config(**{"self_train.rounds": 2})
    assert st.self_train(cfg, [ROOT / "training" / "unlabelled" / "sample.jsonl"], final) == final
    assert seen == [True] * 6 and not atomic.lock_beside(final).exists()  # released at the end


def test_a_second_run_on_a_locked_folder_names_the_command_holding_it(tmp_path):
    from indoevent.model.run_folder import holding, owning, prepare_work
    from scaffold import tiny_config

    final = tmp_path / "run"
    with holding(final, "pretrain"):
        assert atomic.lock_beside(final).read_text(encoding="utf-8").split()[1:] == ["pretrain"]
    held = atomic.try_lock(atomic.lock_beside(final))  # another process's, as the file says
    atomic.lock_beside(final).write_text("4242 pretrain", encoding="utf-8")
    try:
        with pytest.raises(RunExistsError, match=r"another `indoevent pretrain` \(pid 4242"), owning(final):
            prepare_work(final, False, False, tiny_config(), "train")
    finally:
        atomic.unlock(held)


# --- R10: a hub id that is not here, with no network -------------------------------------------------
@pytest.fixture
def unreachable_hub(monkeypatch) -> list[str]:
    """The hub's metadata request fails as with no network; the URLs asked are listed."""
    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    tries: list[str] = []

    def unreachable(url, **kw):
        tries.append(url)
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", unreachable)
    return tries


def test_a_hub_id_not_cached_fails_at_the_first_connection_error(monkeypatch, capsys, tmp_path, unreachable_hub):
    import transformers

    from indoevent.model.backbone import load_model
    from indoevent.model.checkpoint import ModelLoadError

    for auto in (transformers.AutoConfig, transformers.AutoTokenizer):  # its five retries never start
        monkeypatch.setattr(auto, "from_pretrained", lambda *a, **k: pytest.fail("transformers was asked"))
    assert main(["extract", str(ROOT / "seeds" / "000_ecb91a2b1942d157.txt"), "--model", "nobody/no-model",
                 "--out", str(tmp_path / "r.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "nobody/no-model: not in the local cache, and the hub could not be reached" in err and len(unreachable_hub) == 1
    model_cfg = type("M", (), {"name_or_path": "nobody/no-model", "revision": None, "tiny_corpus": None})()
    with pytest.raises(ModelLoadError, match="the hub could not be reached"):
        load_model(model_cfg, 128)
    assert len(unreachable_hub) == 2


def test_pretrain_fails_at_the_first_connection_error_too(monkeypatch, unreachable_hub):
    import transformers

    from indoevent.model.checkpoint import ModelLoadError
    from indoevent.model.config import load_config
    from indoevent.model.pretrain import load_backbone

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: pytest.fail("transformers was asked"))
    cfg = load_config(ROOT / "training" / "configs" / "pretrain-tiny.yaml",
                      ["model.name_or_path=nobody/no-model", "model.tiny_corpus=null"])
    with pytest.raises(ModelLoadError, match="nobody/no-model: not in the local cache, and the hub could not be reached"):
        load_backbone(cfg, ["Presiden bertemu menteri."], ROOT / "unused")
    assert len(unreachable_hub) == 1
