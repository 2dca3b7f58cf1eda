"""Small helpers shared by the metric modules (array conversion, stable descending order)."""
from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any, *, float_dtype: bool = True) -> np.ndarray:
    """Turn a tensor, array or nested list into a numpy array.

    Torch tensors are detached and moved to the CPU; half-precision floats become float32, other floats keep their
    precision (float32 stays float32, float64 stays float64), so metrics see the numbers the caller computed.
    """
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach().cpu()
            if x.is_floating_point() and x.dtype in (torch.float16, torch.bfloat16):
                x = x.float()
            x = x.numpy()
    except ImportError:  # pragma: no cover - torch is a hard dependency of the kit
        pass
    arr = np.asarray(x)
    if float_dtype and arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    elif float_dtype and arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    return arr


def descending_order(scores: np.ndarray) -> np.ndarray:
    """Indices that sort ``scores`` [N] from high to low, the way ``np.argsort(scores)[::-1]`` does.

    The official evaluators (ActivityNet, AVA/PASCAL) sort with ``argsort()[::-1]``; for small arrays numpy's
    default sort is stable, so tied scores come out in *reverse* input order. We use a stable sort reversed, which
    reproduces that order for every size (numpy's introsort on large arrays leaves ties implementation-defined).
    """
    return np.argsort(scores, kind="stable")[::-1]


def voc_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """All-point interpolated average precision (PASCAL VOC 2010+ / ActivityNet).

    ``precision`` and ``recall`` [N] are the cumulative values over detections sorted by descending score. The
    precision envelope (running max from the right) is integrated over the recall steps, with recall padded by 0
    and 1 and precision by 0 and 0. Empty inputs give 0.
    """
    mprec = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    mrec = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))
