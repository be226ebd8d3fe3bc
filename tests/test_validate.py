"""`indoevent validate`: every kind of bad export gives a clear message naming the task and offset."""

import json

import pytest

from indoevent.annotation.labelconfig import check_config, render_config
from indoevent.annotation.lsexport import ExportError, read_export, utf16_to_codepoints
from indoevent.cli import main

GOOD = "⟦e1:PER Putin⟧ ⟦t1:CONSULT bertemu > actor=e1 recipient=e2 place=e3⟧ ⟦e2:PER Kim⟧ di ⟦e3:GPE Beijing⟧."


def span(start, end, text, label, rid, control=None):
    control = control or ("event" if label.isupper() and len(label) > 4 and label != "DATE" else "entity")
    return {"id": rid, "from_name": control, "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text, "labels": [label]}}


def task(text, results, tid=7, doc_id="berita"):
    return {"id": tid, "data": {"text": text, "doc_id": doc_id}, "annotations": [{"id": 1, "result": results}]}


def run_validate(capsys, path):
    code = main(["validate", str(path)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_gold_export_is_valid(root, capsys):
    code, out, err = run_validate(capsys, root / "annotations" / "seeds.json")
    assert code == 0, err
    assert "valid" in out and "CONSULT" in out and "actor" in out


def test_good_export_from_markup(make_export, capsys):
    code, out, _ = run_validate(capsys, make_export(GOOD))
    assert code == 0
    assert "PER        entity       2" in out


def test_malformed_json_names_line_and_column(tmp_path, capsys):
    p = tmp_path / "bad.json"
    p.write_text('[{"id": 1,\n  "data": {"text": "x"},,}]', encoding="utf-8")
    code, _, err = run_validate(capsys, p)
    assert code == 1
    assert f"{p}:2:" in err and "malformed JSON" in err


def test_not_utf8(tmp_path):
    p = tmp_path / "latin1.json"
    p.write_bytes('[{"data": {"text": "Jum\'at café"}}]'.encode("latin-1"))
    with pytest.raises(ExportError, match="not UTF-8"):
        read_export(p)


def test_not_a_list_of_tasks(tmp_path):
    p = tmp_path / "obj.json"
    p.write_text('{"tasks": []}', encoding="utf-8")
    with pytest.raises(ExportError, match="list of tasks"):
        read_export(p)


@pytest.mark.parametrize("bad_task,expected", [
    ({"id": 3, "data": {"body": "x"}, "annotations": []}, "task 3: data.text is missing"),
    (task("Putin tiba", [span(6, 40, "tiba", "CONSULT", "a")]), "task 7 (berita) at [6, 40): offsets outside the text"),
    (task("Putin tiba", [span(0, 5, "Puton", "PER", "a")]),
     "task 7 (berita) at [0, 5): text at offsets is 'Putin' but value.text is 'Puton'"),
    (task("Putin tiba", [span(0, 5, "Putin", "PRESIDEN", "a")]), "task 7 (berita) at [0, 5): result 'a': unknown label 'PRESIDEN'"),
    (task("Putin tiba", [span(0, 5, "Putin", "PER", "a", control="event")]),
     "label PER belongs to control 'entity', not 'event'"),
    (task("Vladimir Putin tiba", [span(0, 14, "Vladimir Putin", "PER", "a"), span(9, 14, "Putin", "PER", "b")]),
     "task 7 (berita) at [9, 14): PER 'Vladimir Putin' [0, 14) overlaps PER 'Putin'"),
    (task("Putin tiba", [span(0, 5, "Putin", "PER", "a"), span(6, 10, "tiba", "CONSULT", "t"),
                         {"from_id": "t", "to_id": "zz", "type": "relation", "labels": ["actor"]}]),
     "relation actor t -> zz points to missing span id 'zz'"),
    (task("Putin tiba", [span(0, 5, "Putin", "PER", "a"), span(6, 10, "tiba", "CONSULT", "t"),
                         {"from_id": "a", "to_id": "t", "type": "relation", "labels": ["actor"]}]),
     "not at an event trigger"),
    (task("Putin tiba", [span(0, 5, "Putin", "PER", "a"), span(6, 10, "tiba", "CONSULT", "t"),
                         {"from_id": "t", "to_id": "a", "type": "relation", "labels": ["time"]}]),
     "role time of CONSULT 'tiba' points to PER 'Putin'; allowed: DATE"),
    (task("Putin, tiba", [span(0, 6, "Putin,", "PER", "a")]), "at [0, 6): PER span 'Putin,' ends with punctuation ','"),
    (task(" Putin tiba", [span(0, 6, " Putin", "PER", "a")]), "starts or ends with whitespace"),
])
def test_bad_exports_are_reported(make_export, capsys, bad_task, expected):
    code, _, err = run_validate(capsys, make_export(bad_task))
    assert code == 1
    assert expected in err


def test_every_problem_is_listed(make_export, capsys):
    bad = task("Putin tiba", [span(0, 5, "Puton", "PER", "a"), span(6, 99, "tiba", "CONSULT", "b")])
    code, _, err = run_validate(capsys, make_export(bad, task("Kim", [span(0, 3, "Kim", "XX", "c")], tid=8, doc_id="b")))
    assert code == 1
    assert "value.text is 'Puton'" in err and "offsets outside" in err and "task 8 (b)" in err
    assert "3 problem(s)" in err


def test_utf16_offsets_are_converted_with_a_warning(make_export, capsys):
    text = "Putin 😀 bertemu Kim"
    # Label Studio's browser counts the emoji as two UTF-16 units: Kim is at [17, 20) there, [16, 19) here.
    code, out, err = run_validate(capsys, make_export(task(text, [span(17, 20, "Kim", "PER", "k")])))
    assert code == 0, err
    assert "UTF-16 offsets converted to code points [16, 19)" in err
    doc = read_export(make_export(task(text, [span(17, 20, "Kim", "PER", "k")]))).documents[0]
    assert text[doc.spans[0].start:doc.spans[0].end] == "Kim"


def test_code_point_offsets_with_emoji_need_no_conversion(make_export):
    text = "Putin 😀 bertemu Kim"
    result = read_export(make_export(task(text, [span(16, 19, "Kim", "PER", "k")])))
    assert not result.problems and not result.warnings


def test_utf16_table():
    assert utf16_to_codepoints("😀😀") == [0, 0, 1, 1, 2]


def test_label_config_file_agrees_with_labels(root):
    xml = (root / "annotations" / "label_config.xml").read_text(encoding="utf-8")
    assert check_config(xml) == []
    assert xml == render_config()


@pytest.mark.parametrize("mutate,expected", [
    (lambda x: x.replace('<Label value="GPE"', '<Label value="NORP"'), "<Labels name='entity'> has"),
    (lambda x: x.replace('name="event"', 'name="trigger"'), "missing <Labels name='event'>"),
    (lambda x: x.replace('<Relation value="time"/>', ""), "<Relations> has"),
    (lambda x: x.replace("</View>", ""), "not well-formed"),
    (lambda x: x.replace('#4363d8', '#e6194b'), "repeats a colour"),
])
def test_label_config_mismatch_is_detected(mutate, expected):
    problems = check_config(mutate(render_config()))
    assert any(expected in p for p in problems), problems


def test_validate_checks_config_option(root, tmp_path, capsys):
    bad = tmp_path / "config.xml"
    bad.write_text(render_config().replace('value="ASSAULT"', 'value="ATTACK"'), encoding="utf-8")
    code = main(["validate", str(root / "annotations" / "seeds.json"), "--config", str(bad)])
    assert code == 1
    assert "ATTACK" in capsys.readouterr().err


def test_annotation_choice(make_export):
    t = task("Putin tiba", [span(0, 5, "Putin", "PER", "a")])
    t["annotations"] = [
        {"id": 1, "completed_by": 1, "updated_at": "2025-09-01", "result": [span(0, 5, "Putin", "PER", "a")]},
        {"id": 2, "completed_by": 2, "updated_at": "2025-09-03", "result": [span(0, 5, "Putin", "ORG", "a")]},
        {"id": 3, "completed_by": 3, "updated_at": "2025-09-05", "was_cancelled": True, "result": []},
    ]
    path = make_export(t)
    assert read_export(path).documents[0].spans[0].label == "ORG"          # latest non-cancelled
    assert read_export(path, "first").documents[0].spans[0].label == "PER"
    assert read_export(path, "annotator=1").documents[0].spans[0].label == "PER"
    assert read_export(path, "annotator=3").skipped == {"unannotated": ["task 7 (berita)"]}


def test_unannotated_tasks_are_counted(make_export, capsys):
    code, out, _ = run_validate(capsys, make_export(GOOD, {"id": 9, "data": {"text": "Kosong."}, "annotations": []}))
    assert code == 0
    assert "skipped (unannotated): 1: task 9" in out


def test_single_export_file_is_json(root):
    assert isinstance(json.loads((root / "annotations" / "seeds.json").read_text(encoding="utf-8")), list)


def test_relation_direction_left_points_to_from_id(make_export):
    rel = {"from_id": "a", "to_id": "t", "type": "relation", "direction": "left", "labels": ["actor"]}
    doc = read_export(make_export(task("Putin tiba", [span(0, 5, "Putin", "PER", "a"),
                                                       span(6, 10, "tiba", "CONSULT", "t"), rel]))).documents[0]
    assert [(r.trigger_id, r.entity_id) for r in doc.relations] == [("t", "a")]


def test_a_wrong_end_offset_is_reported_with_a_short_excerpt(make_export, capsys):
    text = "Putin tiba di Beijing. " + "Kalimat berikutnya panjang sekali. " * 40
    code, _, err = run_validate(capsys, make_export(task(text, [span(0, 1000, "Putin", "PER", "a")])))
    assert code == 1
    line = next(x for x in err.splitlines() if "value.text" in x)
    assert "text at offsets is 'Putin tiba di Beijing" in line and "(1000 characters)" in line
    assert len(line) < 200


def test_an_unknown_label_is_one_problem_not_one_per_relation(make_export, capsys):
    results = [span(0, 5, "Putin", "PRESIDEN", "a"), span(6, 10, "tiba", "CONSULT", "t"),
               span(14, 21, "Beijing", "GPE", "b"),
               {"from_id": "t", "to_id": "a", "type": "relation", "labels": ["actor"]},
               {"from_id": "t", "to_id": "a", "type": "relation", "labels": ["recipient"]},
               {"from_id": "t", "to_id": "b", "type": "relation", "labels": ["place"]}]
    code, _, err = run_validate(capsys, make_export(task("Putin tiba di Beijing", results)))
    assert code == 1
    assert "unknown label 'PRESIDEN'" in err and "missing span id" not in err
    assert "1 problem(s)" in err


@pytest.mark.parametrize("tasks, expected", [
    ([1, 2], "task 0: expected an object, got int 1"),
    ([{"id": 1, "data": {"text": "x"}}, "tugas"], "task 1: expected an object, got string 'tugas'"),
    (7, "expected a Label Studio JSON export (a list of tasks), got int"),
])
def test_a_non_task_says_which_item_is_wrong(tmp_path, tasks, expected):
    p = tmp_path / "x.json"
    p.write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(ExportError) as e:
        read_export(p)
    assert str(e.value) == f"{p}: {expected}"


@pytest.mark.parametrize("field, where", [("id", "id"), ("doc_id", "data.doc_id")])
def test_json_true_is_not_an_id(make_export, capsys, field, where):
    t = task("Putin tiba", [span(0, 5, "Putin", "PER", "a")])
    if field == "id":
        t["id"] = True
    else:
        t["data"]["doc_id"] = True
    result = read_export(make_export(t))
    assert [p.message for p in result.problems] == [f"{where} must be a string or an integer, got true"]
    assert "True" not in str(result.problems[0]) and result.documents[0].doc_id != "True"


def test_validate_reads_the_jsonl_that_push_takes(make_export, tmp_path, capsys):
    from indoevent.annotation.lsexport import load_tasks

    tasks = json.loads(make_export(GOOD, task("Putin tiba", [span(0, 5, "Putin", "PER", "a")], tid=8)).read_text())
    p = tmp_path / "results.jsonl"
    p.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks), encoding="utf-8")
    assert load_tasks(p) == tasks == [json.loads(line) for line in p.read_text().splitlines()]
    code, out, err = run_validate(capsys, p)
    assert code == 0, err
    assert f"{p}: 2 tasks, 2 annotated, 0 prediction(s)" in out
    same = tmp_path / "results.json"  # JSONL under a .json name is read too
    same.write_text(p.read_text(), encoding="utf-8")
    assert read_export(same).n_tasks == 2
    p.write_text(p.read_text() + "[1]\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"results\.jsonl:3: expected a task object, got list"):
        read_export(p)


@pytest.mark.parametrize("command", ["validate", "convert"])
def test_a_bad_annotation_choice_says_what_choice_accepts(root, tmp_path, capsys, command):
    args = [command, str(root / "annotations" / "seeds.json"), "--annotation", "bogus"]
    with pytest.raises(SystemExit) as e:
        main(args + (["--out", str(tmp_path / "o")] if command == "convert" else []))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "'bogus' is not a CHOICE: use latest" in err and "annotator=ID" in err and "Traceback" not in err
    with pytest.raises(ValueError, match="use latest"):
        read_export(root / "annotations" / "seeds.json", "bogus")


# What an annotator sees of a label (its colour at 30% over white) must tell it apart; the rule:
EVENT_PAIR_MIN = 11.5     # CIEDE2000 between any two event labels: different at a glance
HUE_GAP_MIN = 14          # degrees of CIE LCh hue between any two event labels: no two in one hue family
WHITE_MIN = 10            # CIEDE2000 from white: every event span reads as highlighted
CHROMA_MIN = 9.5          # CIE LCh chroma: a dark label stays a tint of its hue, never a grey
ENTITY_EVENT_MIN = 7      # an event against an entity label: other controls, shown in other groups


def seen(label: str):
    """A label's colour as Label Studio highlights a span: at HIGHLIGHT_OPACITY over white."""
    from coloraide import Color

    from indoevent.schema import COLORS, HIGHLIGHT_OPACITY

    return Color.layer([Color(COLORS[label]).set("alpha", HIGHLIGHT_OPACITY), "white"], space="srgb")


def test_event_colours_stay_apart_at_label_studios_highlight_opacity():
    """Measured on every pair of event labels at 30% over white: CIEDE2000 >= 11.5 and hue
    angles >= 14 degrees apart (CONSULT, AID and RETREAT all read as cyan, SANCTION, COERCE,
    THREATEN and ACCUSE all as grey, in the palette before), each >= 10 from white and of chroma
    >= 9.5; an event against an entity >= 7 (different controls, in different groups). Stricter
    sets (12 between events with 8 against entities, or 10 against entities and white) have no
    solution with 16 event labels at this opacity."""
    from itertools import combinations

    from coloraide import Color

    from indoevent.schema import COLORS, ENTITY_LABELS, EVENT_LABELS

    def far(a, b):
        return round(a.delta_e(b, method="2000"), 1)

    lch = {e: seen(e).convert("lch-d65") for e in EVENT_LABELS}
    hues = {e: c["hue"] for e, c in lch.items()}
    close = [(a, b, far(seen(a), seen(b))) for a, b in combinations(EVENT_LABELS, 2)
             if far(seen(a), seen(b)) < EVENT_PAIR_MIN]
    assert close == []
    family = [(a, b, hues[a], hues[b]) for a, b in combinations(EVENT_LABELS, 2)
              if min(abs(hues[a] - hues[b]), 360 - abs(hues[a] - hues[b])) < HUE_GAP_MIN]
    assert family == [], sorted((round(h), e) for e, h in hues.items())  # the hue angles, in order
    assert [(e, far(seen(e), Color("white"))) for e in EVENT_LABELS if far(seen(e), Color("white")) < WHITE_MIN] == []
    assert [(e, round(c["chroma"], 1)) for e, c in lch.items() if c["chroma"] < CHROMA_MIN] == []
    assert [(a, b, far(seen(a), seen(b))) for a in EVENT_LABELS for b in ENTITY_LABELS
            if far(seen(a), seen(b)) < ENTITY_EVENT_MIN] == []
    assert len(set(COLORS.values())) == len(COLORS)


def test_the_guideline_sets_projects_up_with_indoevent_ls(root):
    text = (root / "annotations" / "guidelines.md").read_text(encoding="utf-8")
    section = text[text.index("## 8. Label Studio"):text.index("## 9.")]
    assert "indoevent ls push" in section and "indoevent ls pull" in section
    assert "paste" not in section.lower()


def test_validate_checks_every_prediction_as_push_does(tmp_path, capsys):
    # `ls push` refuses a bad prediction and its hint names `indoevent validate`: validate must see it too.
    from indoevent.studio.client import check_tasks

    good = {"model_version": "tiny-abc", "score": 0.4, "result": [span(0, 5, "Putin", "PER", "a")]}
    bad = {"model_version": "tiny-abc", "score": "high", "result": [span(6, 99, "tiba", "CONSULT", "t")]}
    tasks = [{"id": 1, "data": {"text": "Putin tiba", "doc_id": "a"}, "predictions": [good]},
             {"id": 2, "data": {"text": "Putin tiba", "doc_id": "b"}, "predictions": [good, bad]}]
    p = tmp_path / "predictions.jsonl"
    p.write_text("".join(json.dumps(t) + "\n" for t in tasks[:1]), encoding="utf-8")
    code, out, err = run_validate(capsys, p)
    assert code == 0 and "1 tasks, 0 annotated, 1 prediction(s)" in out, err
    p.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    code, out, err = run_validate(capsys, p)
    assert code == 1
    assert "task 2 (b) prediction 1 (tiny-abc): score must be a number or null, got 'high'" in err
    assert "task 2 (b) prediction 1 (tiny-abc) at [6, 99): offsets outside the text" in err
    assert "2 problem(s)" in err
    assert len(check_tasks(tasks)[0]) == 2  # the same two problems stop a push


@pytest.mark.parametrize("content, name", [("[]", "empty.json"), ("", "empty.jsonl")])
def test_validate_an_empty_export_is_an_error_with_its_path(tmp_path, capsys, content, name):
    export = tmp_path / name
    export.write_text(content, encoding="utf-8")
    assert main(["validate", str(export)]) == 1
    err = capsys.readouterr().err
    assert f"indoevent: error: {export}: no tasks" in err and "Traceback" not in err
