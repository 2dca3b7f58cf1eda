"""nbval, for real: the deterministic, profile-independent cells of the notebooks (marked ``# NBVAL_CHECK_OUTPUT``:
shapes, sampled indices, a seeded SynthMotion summary, the zoo table) reproduce the outputs stored in the
reference copies ``tests/nbval/*.ipynb``, and nbval fails when one of them changes.

Regenerate the references after an intended change: ``make nbval-refresh`` (then review the diff).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "tests" / "nbval"
sys.path.insert(0, str(HERE))
import refresh  # noqa: E402  (tests/nbval/refresh.py)

REFERENCES = [HERE / f"{name}.ipynb" for name in refresh.NOTEBOOKS]


def _nbval(paths: list[Path], runs: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-sanitize-with", str(HERE / "sanitize.cfg"),
           "-p", "no:cacheprovider", "-q", "-o", "addopts=", *map(str, paths)]
    return subprocess.run(cmd, cwd=REPO, env=refresh.kernel_env(runs), capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("name", refresh.NOTEBOOKS)
def test_reference_copy_holds_the_notebooks_code_and_the_marked_outputs(name):
    ref = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    code = [c for c in ref.cells if c.cell_type == "code"]
    assert [c.source for c in code] == refresh.reference_sources(name), (
        f"tests/nbval/{name}.ipynb is stale: notebooks/{name}.ipynb changed; run `make nbval-refresh` and review")
    marked = [c for c in code if refresh.is_marked(c.source)]
    assert len(marked) >= 3, f"{name}: mark the deterministic cells with {refresh.MARK}"
    for cell in code:
        assert bool(cell.outputs) == refresh.is_marked(cell.source), "only marked cells keep outputs"
        assert (cell.execution_count is not None) == refresh.is_marked(cell.source)
    stored = json.dumps([c.outputs for c in marked])
    assert "image/png" not in stored and str(REPO) not in stored


def test_every_notebook_with_marked_cells_has_a_reference_copy():
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if refresh.MARK in path.read_text(encoding="utf-8"):
            assert path.stem in refresh.NOTEBOOKS, f"add {path.stem} to tests/nbval/refresh.py NOTEBOOKS"


@pytest.mark.notebook
@pytest.mark.slow
def test_marked_outputs_reproduce_under_nbval(tmp_path):
    run = _nbval(REFERENCES, tmp_path / "runs")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout


@pytest.mark.notebook
@pytest.mark.slow
def test_nbval_fails_when_a_marked_output_changes(tmp_path):
    """Change one stored value (the sampled frame indices of notebook 00) and nbval must report it."""
    nb = nbformat.read(HERE / "00_quickstart.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "uniform_indices" in c.source)
    stream = next(o for o in cell.outputs if "indices [" in o.get("text", ""))
    assert "indices [0, 39, 79" in stream.text
    stream.text = stream.text.replace("indices [0, 39, 79", "indices [0, 40, 79")
    altered = tmp_path / "00_quickstart.ipynb"
    nbformat.write(nb, altered)
    run = _nbval([altered], tmp_path / "runs")
    assert run.returncode != 0, "nbval did not notice a changed output"
    assert "1 failed" in run.stdout and "[0, 39, 79" in run.stdout, run.stdout[-4000:]
