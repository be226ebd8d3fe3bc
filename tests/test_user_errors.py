"""What a user gets wrong, answered in one line that names the file, line or option, with nothing
written: an output path under a file or that is a folder, a cluster file that is not YAML or not
UTF-8, gold clusters of other stories than the merged frames, an option the action ignores, and
two self-trains on one run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indoevent import atomic
from indoevent.annotation.event_clusters import ClusterError, load_clusters
from indoevent.annotation.inline import parse
from indoevent.atomic import OutputExistsError
from indoevent.cli import main
from indoevent.events.mentions import gold_records

ROOT = Path(__file__).resolve().parents[1]
RESULT = {"id": "a", "text": "Putin bertemu Kim di Beijing.", "events": [], "entities": [], "triggers": []}


def err_of(capsys) -> str:
    return capsys.readouterr().err


@pytest.fixture
def results(tmp_path) -> Path:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(RESULT) + "\n", encoding="utf-8")
    return path


# --- output paths --------------------------------------------------------------------------------
def test_the_output_rule_refuses_a_path_under_a_file(tmp_path):
    (tmp_path / "results.jsonl").write_text("{}\n")
    with pytest.raises(OutputExistsError, match=r"results\.jsonl is a file, not a folder"):
        atomic.check_output(tmp_path / "results.jsonl" / "merged" / "events.jsonl")
    assert atomic.file_in_the_way(tmp_path / "new" / "x.html") is None


def test_view_under_a_file_is_refused_before_any_work(results, capsys):
    assert main(["view", str(results), "--out", str(results / "view.html")]) == 1
    err = err_of(capsys)
    assert "results.jsonl is a file, not a folder" in err and "File exists" not in err


def test_view_into_an_empty_folder_asks_for_a_file_name(results, tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["view", str(results), "--out", str(folder)]) == 1
    err = err_of(capsys)
    assert "is a folder: give the HTML file" in err and "free some space" not in err
    assert not any(folder.iterdir()) and len(err.strip().splitlines()) == 1


def test_a_write_failure_says_what_is_in_the_way(tmp_path):
    from indoevent.cli.common import write_problem

    (tmp_path / "f").write_text("x")
    assert write_problem(tmp_path / "f" / "o.html", FileExistsError(17, "File exists")) == f"{tmp_path / 'f'} is a file, not a folder"
    assert "is a folder" in write_problem(tmp_path, IsADirectoryError(21, "Is a directory"))
    assert write_problem(tmp_path / "o", PermissionError(13, "Permission denied")) == "Permission denied"


# --- cluster files -------------------------------------------------------------------------------
ARTICLES = {
    "901_a": "⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1⟧ Kim di Beijing. ⟦t2:CONSULT Pertemuan⟧ itu lama.",
    "902_b": "⟦t1:CONSULT Pertemuan⟧ Putin dan Kim berlangsung lama.",
    "903_c": "⟦e1:GPE Cianjur⟧ ⟦t1:ASSAULT diguncang⟧ gempa.",
}
STORY = "story: cerita\narticles: [901_a, 902_b]\nevents:\n  - id: pertemuan\n    mentions:\n" \
        "      - 901:t1 bertemu\n      - 902:t1 Pertemuan\n"
OTHER = "story: lain\narticles: [903_c]\nevents: []\n"


@pytest.fixture
def docs():
    return [parse(text, doc_id) for doc_id, text in ARTICLES.items()]


@pytest.mark.parametrize("text, where, message", [
    ("story: x\n  events\n    mentions: [a]\n", r"x\.yaml:3", "not valid YAML: mapping values are not allowed here"),
    ("story: x\narticles: [901_a\n", r"x\.yaml:3", r"not valid YAML: .* \(while parsing a flow sequence at line 2\)"),
])
def test_a_cluster_file_that_is_not_yaml_is_one_line_with_its_line(tmp_path, docs, text, where, message):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ClusterError, match=rf"/{where}: {message}$") as e:
        load_clusters([path], docs)
    assert "\n" not in str(e.value) and "<unicode string>" not in str(e.value)


def test_a_latin1_cluster_file_names_its_line(tmp_path, docs):
    path = tmp_path / "x.yaml"
    path.write_bytes(STORY.encode() + "# catatan: café\n".encode("latin-1"))
    with pytest.raises(ClusterError, match=r"x\.yaml:8: not UTF-8 \(byte \d+: b'\\xe9'\)"):
        load_clusters([path], docs)


def test_a_missing_cluster_file_says_so_plainly(tmp_path, docs):
    with pytest.raises(ClusterError, match=r"nope\.yaml: cannot read: No such file or directory$"):
        load_clusters([tmp_path / "nope.yaml"], docs)


def test_a_story_file_given_twice_is_read_once(tmp_path, docs):
    (tmp_path / "cerita.yaml").write_text(STORY, encoding="utf-8")
    events = load_clusters([tmp_path, tmp_path / "cerita.yaml"], docs)  # the folder holds it too
    assert sorted(e.id for e in events) == ["901:t2", "pertemuan"]


# --- merge --gold: only the stories of the merged articles count ----------------------------------
@pytest.fixture
def merge_inputs(tmp_path, docs):
    frames = tmp_path / "frames.jsonl"
    frames.write_text("".join(json.dumps(r) + "\n" for r in gold_records(docs[:2], {"901_a": "2025-09-03",
                                                                                 "902_b": "2025-09-03"})))
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": i, "data": {"text": d.text, "doc_id": d.doc_id}, "annotations": [
        {"id": i, "result": _results(d), "was_cancelled": False}]} for i, d in enumerate(docs, 1)]))
    clusters = tmp_path / "clusters"
    clusters.mkdir()
    (clusters / "cerita.yaml").write_text(STORY, encoding="utf-8")
    (clusters / "lain.yaml").write_text(OTHER, encoding="utf-8")
    return frames, export, clusters


def _results(doc):
    from indoevent.annotation.lsexport import document_to_results

    return document_to_results(doc)


def test_merge_gold_of_other_stories_is_refused_before_writing(merge_inputs, tmp_path, capsys):
    frames, export, clusters = merge_inputs
    out = tmp_path / "merged"
    assert main(["merge", str(frames), "--out", str(out), "--no-progress", "--gold", str(clusters / "lain.yaml"),
                 "--gold-export", str(export)]) == 1
    assert "no article of the clusters' stories is in FRAMES" in err_of(capsys) and not out.exists()


def test_merge_gold_folder_scores_only_the_merged_stories(merge_inputs, tmp_path, capsys):
    frames, export, clusters = merge_inputs
    out = tmp_path / "merged"
    assert main(["merge", str(frames), "--out", str(out), "--no-progress", "--gold", str(clusters),
                 "--gold-export", str(export)]) == 0
    assert "left out: lain" in err_of(capsys)
    scores = json.loads((out / "gold_scores.json").read_text())
    assert scores["gold_mentions"] == 3  # 901's two triggers and 902's one; 903's is not counted as missed


def test_a_merge_scored_with_gold_can_be_replaced_with_overwrite(merge_inputs, tmp_path, capsys):
    frames, export, clusters = merge_inputs
    args = ["merge", str(frames), "--out", str(tmp_path / "merged"), "--no-progress", "--gold", str(clusters),
            "--gold-export", str(export)]
    assert main(args) == 0 and (tmp_path / "merged" / "gold_scores.json").is_file()
    assert main(args) == 1 and "pass --overwrite" in err_of(capsys)  # its own folder: not "never replaced"
    assert main([*args, "--overwrite"]) == 0


def test_a_frames_file_given_twice_is_named_once_not_as_a_clash_with_itself(merge_inputs, tmp_path, capsys):
    frames, _, _ = merge_inputs
    out = tmp_path / "merged"
    assert main(["merge", str(frames), str(tmp_path / "." / frames.name), "--out", str(out), "--no-progress"]) == 1
    err = err_of(capsys)
    assert "frames.jsonl is given twice" in err and "also at" not in err and not out.exists()


# --- options an action ignores ------------------------------------------------------------------
def test_linker_evaluate_refuses_out(tmp_path, capsys):
    out = tmp_path / "linker.json"
    assert main(["linker", "evaluate", str(ROOT / "annotations" / "seeds.json"), "--out", str(out)]) == 1
    assert "`linker evaluate` prints its report" in err_of(capsys) and not out.exists()


# --- two self-trains on one run folder ----------------------------------------------------------
def test_a_second_self_train_on_one_folder_stops_at_once(tmp_path, capsys, monkeypatch):
    out = tmp_path / "st"
    calls = []  # a test that never trains, whatever the lock does
    monkeypatch.setattr("indoevent.model.self_train.train", lambda *a, **k: calls.append(a))
    lock = atomic.lock_beside(out)  # the run folder's lock, held by the first one between rounds
    held = atomic.try_lock(lock)
    lock.write_text("4242 self-train", encoding="utf-8")
    try:
        assert main(["self-train", "--config", str(ROOT / "training" / "configs" / "tiny.yaml"),
                     "--unlabelled", str(ROOT / "training" / "unlabelled" / "sample.jsonl"),
                     "--output-dir", str(out)]) == 1
    finally:
        atomic.unlock(held)
    assert "being written by another `indoevent self-train` (pid 4242" in err_of(capsys)
    assert not calls and sorted(p.name for p in tmp_path.iterdir()) == []


# --- --help explains every option ---------------------------------------------------------------
def _parsers(parser, name="indoevent"):
    import argparse

    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_of_every_command_has_a_help_text():
    import argparse

    from indoevent.cli import build_parser

    bare = [f"{name}: {a.option_strings or a.dest}" for name, p in _parsers(build_parser()) for a in p._actions
            if a.help is None and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]
    assert bare == []


# --- Ctrl-C ----------------------------------------------------------------------------------------
def test_an_interrupted_training_command_says_how_to_go_on(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("indoevent.cli.learn.pretrain", interrupted)
    assert main(["pretrain", "--config", str(ROOT / "training" / "configs" / "pretrain-tiny.yaml")]) == 130
    assert "interrupted; the same command with --resume continues it" in err_of(capsys)


# --- --model and --port -------------------------------------------------------------------------
def test_a_model_that_does_not_load_is_one_plain_line(results, tmp_path, capsys):
    from indoevent.cli.common import cannot_load

    # what transformers raises for these (the commands' loaders pass it on)
    assert cannot_load(tmp_path / "nope", ValueError("Repo id must be in the form 'repo_name'")) == 1
    assert err_of(capsys).strip().endswith("cannot load model " + str(tmp_path / "nope") + ": no such run folder")
    assert cannot_load(results, OSError("the config file at 'results.jsonl' is not a valid JSON file")) == 1
    assert "results.jsonl: a file, not a run folder" in err_of(capsys)  # "cannot load model .../results.jsonl: ..."
    assert cannot_load(Path("nope"), OSError("We couldn't connect.\nCheck your internet connection.")) == 1
    err = err_of(capsys)
    assert len(err.strip().splitlines()) == 1 and "no folder nope here" in err


def test_serve_refuses_a_port_out_of_range_as_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["serve", "--model", str(tmp_path), "--port", "99999"])
    assert e.value.code == 2 and "give a port from 0 to 65535" in err_of(capsys)
