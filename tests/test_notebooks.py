"""The notebooks run headless (nbclient) against the tiny model and draw their figures."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the dev extra installs nbformat, nbclient, ipykernel")
nbclient = pytest.importorskip("nbclient", reason="the dev extra installs nbformat, nbclient, ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# The figures each notebook must draw (image/png outputs).
FIGURES = {"01_annotations": 2, "02_evaluation": 3, "03_extract_new_article": 1, "04_merged_events": 1}


def test_the_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == sorted(FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs_and_opens_with_its_purpose(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert params == [nb.cells[1]] and params[0].source.startswith('MODEL = ""')
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None, f"{path.name}: stored with outputs"
            assert "def " not in c.source and "class " not in c.source  # thin: the logic lives in indoevent


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_draws_its_figures(path, eval_run):
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = f"MODEL = {str(eval_run)!r}"
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= FIGURES[path.stem], f"{path.name}: {len(pngs)} figure(s)"
    assert any("text/html" in o.get("data", {}) or "text/markdown" in o.get("data", {}) for o in outputs)


@pytest.mark.slow
def test_an_empty_model_parameter_trains_the_tiny_model(tmp_path):
    """What the notebooks do when MODEL is empty: train tiny.yaml on four seeds into models/tiny-notebook."""
    import json

    from indoevent.evaluation.views import model_or_tiny

    for name in ("training", "seeds", "annotations"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "notebooks").mkdir()
    run = model_or_tiny("", root=tmp_path / "notebooks", epochs=2)
    assert run == tmp_path / "models" / "tiny-notebook" and (run / "config.json").is_file()
    split = json.loads((run / "run_info.json").read_text())["split"]
    assert len(split["train"]) == 4 and split["test"] == ["004_81279350a79d8947"]
    assert model_or_tiny("", root=tmp_path) == run  # trained once, then reused
