"""Every numbered notebook is well-formed and runs headlessly (papermill) in the smoke profile.

The tutorial-profile numbers are checked by ``tests/test_tutorial_results.py`` after ``make run``.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from internvideo_core.notebooks import execute_notebook, notebook_paths

NOTEBOOKS = notebook_paths()
IDS = [p.stem for p in NOTEBOOKS]


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS, "notebooks/NN_*.ipynb missing"
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == sorted(set(numbers)), f"notebook numbers must be unique: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_clean_with_parameters_cell(path: Path):
    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", []), f"{path.name}: first code cell must be tagged 'parameters'"
    assert "PROFILE" in first_code.source and "SEED" in first_code.source
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: commit notebooks without outputs"
            assert cell.execution_count is None, f"{path.name}: clear execution counts"
    assert nb.cells[0].cell_type == "markdown", f"{path.name}: start with a markdown title/explanation"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_smoke_profile(path: Path, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    run = execute_notebook(path, profile="smoke", seed=0, timeout_s=600)
    executed = nbformat.read(run.output, as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    if any("viz." in c.source or "plt." in c.source for c in executed.cells if c.cell_type == "code"):
        images = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
                  if "image/png" in o.get("data", {})]
        assert images, f"{path.name} draws figures but the executed copy holds none (kernel backend must be inline)"
    results = tmp_path / "runs" / "results" / "smoke" / f"{path.stem}.json"
    assert results.exists(), f"{path.name} must write its headline numbers with save_results({path.stem!r}, PROFILE, ...)"
    values = json.loads(results.read_text())["values"]
    assert values, f"{path.name} wrote an empty results record"
