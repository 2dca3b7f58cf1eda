"""The metric modules' shared helpers: array conversion dtypes, the official tie order, VOC all-point AP."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from internvideo_core.eval._common import descending_order, to_numpy, voc_ap


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_tensors_become_float32_arrays(dtype):
    x = torch.tensor([0.5, -1.25, 3.0], dtype=dtype)
    arr = to_numpy(x)
    assert arr.dtype == np.float32
    assert arr.tolist() == [0.5, -1.25, 3.0]


@pytest.mark.parametrize("dtype, expected", [(torch.float32, np.float32), (torch.float64, np.float64)])
def test_single_and_double_precision_tensors_keep_their_precision(dtype, expected):
    x = torch.tensor([0.1, 2.0], dtype=dtype)
    arr = to_numpy(x)
    assert arr.dtype == expected
    np.testing.assert_array_equal(arr, x.numpy())


def test_a_tensor_that_requires_grad_is_detached_and_converted():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    arr = to_numpy(x * 2)
    assert arr.dtype == np.float64 and arr.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("x", [torch.tensor([3, 1]), np.array([3, 1], dtype=np.uint8), np.array([True, False]),
                               [3, 1]])
def test_integer_and_bool_inputs_become_float64_by_default_and_keep_their_dtype_on_request(x):
    arr = to_numpy(x)
    assert arr.dtype == np.float64
    assert arr.tolist() == [float(v) for v in np.asarray(x).tolist()]
    kept = to_numpy(x, float_dtype=False)
    assert kept.dtype == np.asarray(x).dtype and kept.dtype.kind in "iub"
    assert kept.tolist() == np.asarray(x).tolist()


def test_numpy_half_becomes_float32_unless_the_dtype_is_kept():
    x = np.array([0.5, 2.0], dtype=np.float16)
    assert to_numpy(x).dtype == np.float32
    assert to_numpy(x).tolist() == [0.5, 2.0]
    assert to_numpy(x, float_dtype=False).dtype == np.float16


def test_float_arrays_pass_through_unchanged():
    x = np.array([[0.25, 1.0]], dtype=np.float32)
    arr = to_numpy(x)
    assert arr.dtype == np.float32 and arr.shape == (1, 2)
    np.testing.assert_array_equal(arr, x)


def test_descending_order_puts_tied_scores_in_reverse_input_order_like_the_official_argsort():
    s = np.array([1.0, 2.0, 2.0, 1.0, 3.0])
    order = descending_order(s)
    assert order.tolist() == [4, 2, 1, 3, 0]
    assert order.tolist() == np.argsort(s)[::-1].tolist()  # what the official evaluators compute on small arrays


def test_descending_order_keeps_the_reverse_input_tie_order_on_large_arrays():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, size=3000).astype(np.float64)  # many ties: quicksort would scramble them
    expected = sorted(range(len(s)), key=lambda i: (-s[i], -i))
    assert descending_order(s).tolist() == expected


def test_voc_ap_integrates_the_precision_envelope_over_recall_steps():
    # ranks: TP, FP, TP with 2 positives -> precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    prec = np.array([1.0, 0.5, 2.0 / 3.0])
    rec = np.array([0.5, 0.5, 1.0])
    assert voc_ap(prec, rec) == pytest.approx(0.5 * 1.0 + 0.5 * (2.0 / 3.0), abs=1e-15)


def test_voc_ap_counts_the_first_recall_step_from_zero_and_misses_unreached_recall():
    # one TP out of 4 positives at rank 1: recall reaches only 1/4
    assert voc_ap([1.0], [0.25]) == pytest.approx(0.25, abs=1e-15)
    # a later higher precision lifts the envelope of earlier steps
    assert voc_ap([0.5, 1.0], [0.5, 1.0]) == pytest.approx(1.0, abs=1e-15)
    # recall that never moves adds nothing: all-FP ranking
    assert voc_ap([0.0, 0.0], [0.0, 0.0]) == 0.0


def test_voc_ap_of_empty_inputs_is_zero():
    assert voc_ap(np.array([]), np.array([])) == 0.0
    assert isinstance(voc_ap([], []), float)


def _official_interpolated_prec_rec(prec, rec):
    """ActivityNet's ``interpolated_prec_rec`` (VOC 2011 all-point AP), the loop form of the official script."""
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    return np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx])


@pytest.mark.parametrize("seed", range(6))
def test_voc_ap_equals_the_official_formula_bit_for_bit_on_long_rankings(seed):
    """Hundreds of ranks with many repeated recall values (false positives): only the recall steps are summed, in
    order, so the float sum is the official one exactly (not just to 1e-6)."""
    rng = np.random.default_rng(seed)
    tp = (rng.random(int(rng.integers(200, 700))) < 0.4).astype(np.float64)
    tp_c, fp_c = np.cumsum(tp), np.cumsum(1.0 - tp)
    num_gt = int(tp.sum()) + seed % 2 * 5  # odd seeds: some ground truth is never found
    prec, rec = tp_c / (tp_c + fp_c), tp_c / num_gt
    assert voc_ap(prec, rec) == _official_interpolated_prec_rec(prec, rec)
