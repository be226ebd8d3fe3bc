"""Annotators working task by task without a browser against a real Label Studio: `ls next` writes
the next task as markup with its pre-annotation, `ls submit` validates and stores an edited file,
`ls pull --ann` gives the project back as markup."""

from __future__ import annotations

import pytest

from indoevent.annotation.inline import parse
from indoevent.annotation.labelconfig import render_config
from indoevent.annotation.lsexport import document_to_results
from indoevent.cli import main
from indoevent.studio.tasks import api, project_tasks

pytestmark = pytest.mark.labelstudio

TEXTS = {"005_a": "Polisi menangkap Budi di Medan.", "006_b": "KPK memeriksa Ani di Jakarta.",
         "007_c": "Warga dievakuasi dari Cianjur."}
GOLD = "⟦e1:ORG Polisi⟧ ⟦t1:COERCE menangkap > actor=e1 recipient=e2 place=e3⟧ ⟦e2:PER Budi⟧ di ⟦e3:GPE Medan⟧."


def _project(studio, title: str, scores: dict[str, float]) -> int:
    """A project with the three tasks, each with a prediction of version m-1 and a score."""
    project = studio.client.projects.create(title=title, label_config=render_config())
    studio.client.projects.import_tasks(project.id, request=[{"data": {"text": t, "doc_id": k}} for k, t in TEXTS.items()])
    ids = {t["data"]["doc_id"]: t["id"] for t in project_tasks(studio, project.id)}
    pred = document_to_results(parse("⟦p1:ORG Polisi⟧ menangkap ⟦p2:LOC Budi⟧ di Medan.", "005_a"))
    studio.client.projects.import_predictions(project.id, request=[
        {"task": ids[k], "model_version": "m-1", "score": s, "result": pred if k == "005_a" else []}
        for k, s in scores.items()])
    studio.client.projects.update(project.id, sampling="Uncertainty sampling", model_version="m-1")
    return project.id


def _annotations(studio, pid: int) -> int:
    return sum(len(api(studio, "GET", f"api/tasks/{t['id']}", "reading a task")["annotations"])
               for t in project_tasks(studio, pid))


def test_next_edit_submit_pull(label_studio, studio, tmp_path, capsys, title):
    pid = _project(studio, title, {"005_a": 0.2, "006_b": 0.9, "007_c": 0.5})
    ls = ["--url", label_studio.url, "--token", label_studio.token]
    work = tmp_path / "work"
    assert main(["ls", "next", "--project", title, "--out", str(work), *ls]) == 0
    assert "005_a" in capsys.readouterr().out  # lowest score first
    ann = work / "005_a.ann"
    assert ann.read_text(encoding="utf-8") == "⟦e1:ORG Polisi⟧ menangkap ⟦e2:LOC Budi⟧ di Medan."
    assert main(["ls", "next", "--project", title, "--out", str(work), *ls]) == 1  # the same task: file kept
    assert "unsubmitted" in capsys.readouterr().err

    ann.write_text(GOLD.replace("Medan⟧.", "Medan⟧!"), encoding="utf-8")  # the text changed: refused
    assert main(["ls", "submit", str(ann), "--project", title, *ls]) == 1
    assert "character 30" in capsys.readouterr().err
    assert _annotations(studio, pid) == 0

    ann.write_text(GOLD, encoding="utf-8")
    assert main(["ls", "submit", str(ann), "--project", title, *ls]) == 0
    assert "created annotation" in capsys.readouterr().out
    assert main(["ls", "submit", str(ann), "--project", title, *ls]) == 0  # again: replaced, not doubled
    assert "updated annotation" in capsys.readouterr().out
    assert _annotations(studio, pid) == 1

    ann.unlink()
    assert main(["ls", "next", "--project", title, "--out", str(work), "--no-predictions", *ls]) == 0
    assert (work / "007_c.ann").read_text(encoding="utf-8") == TEXTS["007_c"]  # next lowest, bare text

    back = tmp_path / "gold"
    assert main(["ls", "pull", title, "--out", str(tmp_path / "p.json"), "--ann", str(back), *ls]) == 0
    assert "wrote 1 .ann files" in capsys.readouterr().out
    assert (back / "005_a.ann").read_text(encoding="utf-8") == GOLD
