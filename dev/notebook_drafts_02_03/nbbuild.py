"""Throwaway builder: turns a list of (kind, source) cells into a clean .ipynb."""
import sys, nbformat
from nbformat.v4 import new_notebook, new_markdown_cell, new_code_cell

def build(path, cells):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    first_code = True
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            nb.cells.append(new_markdown_cell(src))
        else:
            c = new_code_cell(src)
            if first_code:
                c.metadata["tags"] = ["parameters"]
                first_code = False
            nb.cells.append(c)
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i:02d}"
    nbformat.write(nb, path)
