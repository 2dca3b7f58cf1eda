"""Executed notebooks rendered to HTML (nbconvert) beside the report, so a reader without Jupyter sees every
figure; and the figures the report embeds (base64 PNG, no external file)."""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any


def render_notebook_html(ipynb: Path, out: Path) -> Path:
    """``ipynb`` -> ``out`` (self-contained: nbconvert inlines output images as data URIs)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


def last_figure(ipynb: Path) -> str | None:
    """The base64 PNG of the last figure in an executed notebook (usually its result), or None."""
    import nbformat

    try:
        nb = nbformat.read(ipynb, as_version=4)
    except (OSError, ValueError):
        return None
    found = None
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            png = out.get("data", {}).get("image/png")
            if png:
                found = png
    return "".join(found.split()) if isinstance(found, str) else None


def figure_to_base64(fig: Any) -> str:
    """A matplotlib figure as base64 PNG (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def headline_chart(rows: list[tuple[str, str, float, str, float]]) -> str | None:
    """Bars of each notebook's first headline beside its baseline: ``rows`` = ``[(notebook, label, value,
    baseline_label, baseline), ...]``. Returns base64 PNG, None when there is nothing to draw."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cols = min(4, len(rows))
    nrows = (len(rows) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.6 * nrows), squeeze=False)
    for ax, (nb, label, value, blabel, base) in zip(axes.flat, rows):
        ax.bar([0, 1], [value, base], color=["tab:blue", "tab:gray"])
        ax.set_xticks([0, 1], [_wrap(label), _wrap(blabel)], fontsize=7)
        ax.set_title(nb, fontsize=8)
        for x, v in ((0, value), (1, base)):
            ax.annotate(f"{v:.3g}", (x, v), ha="center", va="bottom", fontsize=7)
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    fig.tight_layout()
    return figure_to_base64(fig)


def schedule_chart(spans: list[tuple[str, float, float, bool]]) -> str | None:
    """The run as a timeline: one bar per notebook from its start to its end (seconds since the run began),
    red when it failed. Shows which notebooks ran side by side."""
    if not spans:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    spans = sorted(spans, key=lambda s: s[1])
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(spans) + 1))
    for i, (name, start, end, ok) in enumerate(spans):
        ax.barh(i, end - start, left=start, color="tab:blue" if ok else "tab:red")
        ax.annotate(f" {end - start:.0f} s", (end, i), va="center", fontsize=7)
    ax.set_yticks(range(len(spans)), [s[0] for s in spans], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the start of the run")
    fig.tight_layout()
    return figure_to_base64(fig)


def _wrap(text: str, width: int = 18) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:3])
