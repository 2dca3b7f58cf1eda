"""The figures of notebook 10, from :func:`~internvideo_core.eval.openset.openset_report` dictionaries:
uncertainty histograms (known vs unknown, with the threshold), ROC curves and macro-F1 versus openness."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["plot_uncertainty_histograms", "plot_roc_curves", "plot_openness"]


def plot_uncertainty_histograms(reports: Mapping[str, Mapping[str, Any]], bins: int = 20):
    """One panel per model: histograms of the known-test and unknown uncertainties, the threshold as a line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(reports), figsize=(4.2 * len(reports), 3.2), squeeze=False)
    for ax, (name, rep) in zip(axes[0], reports.items()):
        k, u = np.asarray(rep["known_uncertainty"]), np.asarray(rep["unknown_uncertainty"])
        edges = np.linspace(min(k.min(), u.min()), max(k.max(), u.max()) + 1e-9, bins + 1)
        ax.hist(k, edges, alpha=0.6, density=True, label="known classes (test)")
        ax.hist(u, edges, alpha=0.6, density=True, label="unknown classes")
        ax.axvline(rep["threshold"], color="k", ls="--", lw=1, label="threshold (95 % of train)")
        ax.set_title(f"{name}  (AUROC {rep['auroc']:.2f})")
        ax.set_xlabel("uncertainty")
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_roc_curves(reports: Mapping[str, Mapping[str, Any]]):
    """ROC of unknown-vs-known detection for each model, with the chance diagonal."""
    import matplotlib.pyplot as plt

    from internvideo_core.eval.openset import roc_curve

    fig, ax = plt.subplots(figsize=(4.2, 4))
    for name, rep in reports.items():
        fpr, tpr = roc_curve(rep["known_uncertainty"], rep["unknown_uncertainty"])
        ax.plot(fpr, tpr, label=f"{name} ({rep['auroc']:.2f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="chance (0.50)")
    ax.set_xlabel("known clips rejected (FPR)")
    ax.set_ylabel("unknown clips caught (TPR)")
    ax.set_title("open-set ROC")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_openness(reports: Mapping[str, Mapping[str, Any]]):
    """Macro-F1 (x100) against openness (%) for each model, error bars over the random draws."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    for name, rep in reports.items():
        c = rep["openness"]
        ax.errorbar(c["openness"], np.asarray(c["macro_f1"]) * 100, yerr=np.asarray(c["std"]) * 100, marker="o",
                    capsize=3, label=f"{name} (open maF1 {rep['open_maF1'] * 100:.1f})")
    ax.set_xlabel("openness (%)")
    ax.set_ylabel("macro-F1 (x100)")
    ax.set_title("F1 versus openness")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
