"""Regenerate the nbval reference copies of the notebooks: ``make nbval-refresh`` (``python tests/nbval/refresh.py``).

nbval compares a notebook's fresh outputs with the outputs stored in the ``.ipynb``; the notebooks in
``notebooks/`` are committed without outputs, so the expected outputs live in reference copies here: the same
cells (``PROFILE = "smoke"``), with the outputs and execution counts of the cells marked ``# NBVAL_CHECK_OUTPUT``
kept (images dropped: nbval does not compare them; machine paths sanitized as ``sanitize.cfg`` says) and every
other output and count cleared. ``tests/test_nbval.py`` runs
``pytest --nbval-lax`` on them and checks that their code is the notebooks' code. Rerun this after changing a
marked cell on purpose, and review the diff of the stored outputs.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
#: Notebooks with marked cells; each gets ``tests/nbval/<name>.ipynb``.
NOTEBOOKS = ("00_quickstart", "01_video_data")
MARK = "# NBVAL_CHECK_OUTPUT"
PROFILE_LINE = ('PROFILE = "tutorial"', 'PROFILE = "smoke"')


def is_marked(source: str) -> bool:
    return any(line.strip() == MARK for line in source.splitlines())


def kernel_env(runs_dir: str | os.PathLike) -> dict[str, str]:
    """The environment of the kernels (refresh and check alike): a private runs folder, offline, and the Agg
    backend: figures are not compared (and the inline backend displays them a different number of times under
    nbval and nbclient), so none are displayed."""
    from internvideo_core.notebooks import KERNEL_ENV

    return {**os.environ, **KERNEL_ENV, "MPLBACKEND": "Agg", "INTERNVIDEO_RUNS": str(runs_dir),
            "INTERNVIDEO_OFFLINE": "1"}


def reference_sources(name: str) -> list[str]:
    """The code of ``notebooks/<name>.ipynb`` as the reference copy holds it (smoke profile)."""
    import nbformat

    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            src = cell.source
            if "parameters" in cell.metadata.get("tags", []):
                src = src.replace(*PROFILE_LINE)
            out.append(src)
    return out


def sanitizers() -> list[tuple[str, str]]:
    """``(regex, replacement)`` pairs of ``sanitize.cfg`` (the file nbval is given with ``--nbval-sanitize-with``)."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(HERE / "sanitize.cfg", encoding="utf-8")
    return [(cfg[s]["regex"], cfg[s]["replace"]) for s in cfg.sections()]


def _sanitize(text: str) -> str:
    import re

    for regex, replacement in sanitizers():
        text = re.sub(regex, replacement, text)
    return text


def _strip(outputs: list) -> list:
    """Outputs without images and execution counts, with machine-specific text sanitized (nbval sanitizes the
    fresh outputs the same way before comparing)."""
    kept = []
    for out in outputs:
        if "data" in out:
            out["data"] = {k: v for k, v in out["data"].items() if not k.startswith("image/")}
            if "text/plain" in out["data"]:
                out["data"]["text/plain"] = _sanitize(out["data"]["text/plain"])
        if "text" in out:
            out["text"] = _sanitize(out["text"])
        kept.append(out)
    return kept


def refresh(name: str) -> Path:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            assert PROFILE_LINE[0] in cell.source, f"{name}: the parameters cell must set {PROFILE_LINE[0]}"
            cell.source = cell.source.replace(*PROFILE_LINE)
    with tempfile.TemporaryDirectory() as runs:
        backup = dict(os.environ)
        os.environ.update(kernel_env(runs))
        try:
            # as nbval runs cells: without history, so a trailing ``;`` does not hide a cell's value
            client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                    resources={"metadata": {"path": str(REPO / "notebooks")}})
            with client.setup_kernel():
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == "code":
                        client.execute_cell(cell, index, store_history=False)
        finally:
            os.environ.clear()
            os.environ.update(backup)
    count = 0
    for cell in nb.cells:  # nbval refuses stored outputs without an execution count: marked cells get one
        if cell.cell_type == "code":
            count += 1
            marked = is_marked(cell.source)
            cell.outputs = _strip(cell.outputs) if marked else []
            cell.execution_count = count if marked else None
    nb.metadata.pop("widgets", None)
    path = HERE / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    for notebook in sys.argv[1:] or NOTEBOOKS:
        print("wrote", refresh(notebook))
