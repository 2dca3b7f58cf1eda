"""Frame samplers: official conventions on known cases, and properties over many video lengths."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from internvideo_core.data.sampling import (
    dense_indices,
    dense_views,
    segment_indices,
    segment_views,
    union_indices,
    uniform_indices,
)

lengths = st.integers(min_value=1, max_value=2000)
clip_lens = st.integers(min_value=1, max_value=32)
rates = st.integers(min_value=1, max_value=8)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
FAST = settings(max_examples=150, deadline=None)


def _valid(idx: np.ndarray, n: int) -> None:
    assert idx.dtype == np.int64
    assert idx.min() >= 0 and idx.max() < n
    assert np.all(np.diff(idx, axis=-1) >= 0)


# ------------------------------------------------------------------------------------- known values
def test_uniform_matches_official_fixture():
    # internvideo_mm_preprocess_io.safetensors: arm_wrestling_demo.mp4 (280 frames), 8 frames
    assert uniform_indices(280, 8).tolist() == [0, 39, 79, 119, 159, 199, 239, 279]


def test_dense_test_k400_protocol():
    """Official kinetics.py test: every 4th frame, 5 clips at int(c * (L - 16) / 4) of that list."""
    views = dense_indices(300, 16, 4, "test", num_clips=5)
    assert views.shape == (5, 16)
    strided = np.arange(0, 300, 4)  # L = 75
    for c in range(5):
        start = int(c * (75 - 16) / 4)
        assert views[c].tolist() == strided[start : start + 16].tolist()
    assert views[0, 0] == 0 and views[-1, -1] == 296  # first and last strided frames are covered
    assert np.all(np.diff(views, axis=1) == 4)


def test_dense_test_short_video_repeats_last():
    views = dense_views(30, 16, 4, num_clips=5)  # strided: 0..28 (8 frames) + 8 repeats of 28
    assert views.shape == (5, 16)
    assert (views == views[0]).all()
    assert views[0].tolist() == [0, 4, 8, 12, 16, 20, 24, 28] + [28] * 8


def test_dense_test_single_clip_is_centred():
    (clip,) = dense_indices(300, 16, 4, "test", num_clips=1)
    strided = np.arange(0, 300, 4)
    assert clip.tolist() == strided[(75 - 16) // 2 :][:16].tolist()


def test_dense_train_window_official_formula():
    rng = np.random.default_rng(3)
    end = int(np.random.default_rng(3).integers(64, 300))
    idx = dense_indices(300, 16, 4, "train", rng=rng)
    expected = np.clip(np.linspace(end - 64, end, 16), end - 64, end - 1).astype(np.int64)
    assert idx.tolist() == expected.tolist()
    assert idx[-1] - idx[0] == 63


def test_dense_val_is_centred_and_deterministic():
    idx = dense_indices(300, 16, 4, "val")
    assert idx[0] == (300 - 64) // 2 and idx[-1] == (300 - 64) // 2 + 63
    assert np.array_equal(idx, dense_indices(300, 16, 4, "val"))


def test_dense_short_video_clamps():
    idx = dense_indices(20, 16, 4, "train", rng=np.random.default_rng(0))
    assert idx.shape == (16,) and idx.max() == 19 and (idx[-8:] == 19).all()
    assert dense_indices(1, 16, 4, "val").tolist() == [0] * 16


def test_segment_ssv2_two_views_official():
    """Official ssv2.py test: sort(centres + starts), view 0 takes the even entries, view 1 the odd."""
    n, s = 47, 16
    tick = n / s
    official = np.sort(np.array([int(tick / 2.0 + tick * x) for x in range(s)] + [int(tick * x) for x in range(s)]))
    views = segment_views(n, s, 2)
    assert views.shape == (2, 16)
    assert views[0].tolist() == official[0::2].tolist()
    assert views[1].tolist() == official[1::2].tolist()


def test_segment_single_view_is_centres():
    assert segment_indices(160, 16, "test").tolist() == [5 + 10 * k for k in range(16)]
    assert segment_indices(160, 16, "val").tolist() == [5 + 10 * k for k in range(16)]


def test_segment_train_one_per_segment():
    idx = segment_indices(160, 16, "train", rng=np.random.default_rng(1))
    assert ((idx // 10) == np.arange(16)).all()


def test_segment_short_video_repeats_evenly():
    assert segment_indices(4, 8, "train").tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_union_indices_decode_once():
    views = dense_views(300, 16, 4, 5)
    unique, pos = union_indices(views)
    assert len(unique) < views.size  # neighbouring clips overlap
    assert np.array_equal(unique[pos], views)


@pytest.mark.parametrize("call", [
    lambda: dense_indices(0, 16, 4, "val"),
    lambda: dense_indices(10, 0, 4, "val"),
    lambda: dense_indices(10, 16, 0, "val"),
    lambda: dense_indices(10, 16, 4, "bogus"),
    lambda: segment_indices(10, 4, "test", view=2, num_views=2),
    lambda: uniform_indices(10, 0),
])
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


# ------------------------------------------------------------------------------------------ properties
@FAST
@given(n=lengths, clip_len=clip_lens, rate=rates, seed=seeds, mode=st.sampled_from(["train", "val"]))
def test_dense_properties(n, clip_len, rate, seed, mode):
    idx = dense_indices(n, clip_len, rate, mode, rng=np.random.default_rng(seed))
    assert idx.shape == (clip_len,)
    _valid(idx, n)
    again = dense_indices(n, clip_len, rate, mode, rng=np.random.default_rng(seed))
    assert np.array_equal(idx, again)
    if n > clip_len * rate:
        assert idx[-1] - idx[0] <= clip_len * rate - 1


@FAST
@given(n=lengths, clip_len=clip_lens, rate=rates, clips=st.integers(1, 10))
def test_dense_test_properties(n, clip_len, rate, clips):
    views = dense_indices(n, clip_len, rate, "test", num_clips=clips)
    assert views.shape == (clips, clip_len)
    _valid(views, n)
    assert np.all(np.diff(views[:, 0]) >= 0)  # clips ordered in time


@FAST
@given(n=lengths, segs=st.integers(1, 32), seed=seeds)
def test_segment_train_properties(n, segs, seed):
    idx = segment_indices(n, segs, "train", rng=np.random.default_rng(seed))
    assert idx.shape == (segs,)
    _valid(idx, n)
    assert np.array_equal(idx, segment_indices(n, segs, "train", rng=np.random.default_rng(seed)))
    if n >= segs:  # each frame lies in its own segment
        avg = n // segs
        assert np.all(idx // avg >= np.arange(segs)) and np.all(idx < (np.arange(segs) + 1) * avg)


@FAST
@given(n=lengths, segs=st.integers(1, 32), views=st.integers(1, 4))
def test_segment_test_properties(n, segs, views):
    all_views = segment_views(n, segs, views)
    assert all_views.shape == (views, segs)
    _valid(all_views, n)


@FAST
@given(n=lengths, k=st.integers(1, 64))
def test_uniform_properties(n, k):
    idx = uniform_indices(n, k)
    assert idx.shape == (k,)
    _valid(idx, n)
    assert idx[0] == 0 and (k == 1 or idx[-1] == n - 1)


def test_train_randomness_depends_on_seed():
    a = {tuple(dense_indices(1000, 16, 4, "train", rng=np.random.default_rng(s))) for s in range(10)}
    b = {tuple(segment_indices(1000, 16, "train", rng=np.random.default_rng(s))) for s in range(10)}
    assert len(a) > 5 and len(b) > 5


@pytest.mark.parametrize("call, message", [
    (lambda: dense_indices(0, 16, 4, "val"), r"num_frames must be >= 1, got 0 \(a video without frames"),
    (lambda: dense_indices(10, 0, 4, "val"), "clip_len must be >= 1, got 0"),
    (lambda: dense_indices(10, 16, 0, "val"), "rate must be >= 1, got 0"),
    (lambda: dense_indices(10, 16, 4, "bogus"), r"mode must be one of \('train', 'val', 'test'\), got 'bogus'"),
    (lambda: dense_indices(10, 16, 4, "test", num_clips=0), "num_clips must be >= 1, got 0"),
    (lambda: segment_indices(10, 0, "test"), "num_segments must be >= 1, got 0"),
    (lambda: segment_indices(10, 4, "eval"), "mode must be one of"),
    (lambda: segment_indices(10, 4, "test", view=2, num_views=2), "need 0 <= view < num_views, got view=2, num_views=2"),
    (lambda: segment_indices(10, 4, "test", view=-1, num_views=2), "need 0 <= view < num_views"),
    (lambda: segment_indices(10, 4, "test", view=0, num_views=0), "need 0 <= view < num_views"),
    (lambda: uniform_indices(10, 0), "k must be >= 1, got 0"),
])
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_defaults_and_edges_of_every_sampler():
    assert dense_indices(300, mode="val").tolist() == dense_indices(300, 16, 4, "val").tolist()
    assert dense_views(300).shape == (5, 16) and np.array_equal(dense_views(300), dense_indices(300, 16, 4, "test",
                                                                                               num_clips=5))
    assert dense_indices(300, mode="test").shape == (1, 16)
    assert segment_indices(160, mode="val").shape == (16,)
    assert segment_views(47).shape == (2, 16) and np.array_equal(segment_views(47)[1], segment_views(47, 16, 2)[1])
    assert uniform_indices(15).tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert uniform_indices(1, 3).tolist() == [0, 0, 0]
    # a video exactly as long as the window uses the short-video rule (stride from frame 0)
    assert dense_indices(64, 16, 4, "val").tolist() == dense_indices(64, 16, 4, "train").tolist()
    assert dense_indices(64, 16, 4, "val").tolist() == [int(x) for x in np.linspace(0, 64, 16)][:15] + [63]
    # one frame longer: the window rule (val centred at (65 - 64) // 2 = 0)
    assert dense_indices(65, 16, 4, "val").tolist() == np.clip(np.linspace(0, 64, 16), 0, 63).astype(int).tolist()
    # fewer strided frames than num, and rate larger than the video
    assert dense_indices(3, 4, 8, "val").tolist() == [0, 2, 2, 2]
    assert dense_indices(10, 2, 3, "val").tolist() == [2, 7]  # window linspace(2, 8, 2) clipped to 7
    # test views when the strided list is exactly clip_len long: every clip is the same
    assert (dense_indices(64, 16, 4, "test", num_clips=3) == np.arange(0, 64, 4)).all()
    # several test views of a segment sampler and the train fallback without an rng
    assert segment_indices(8, 4, "test", view=1, num_views=2).tolist() == [1, 3, 5, 7]
    assert segment_indices(8, 4, "test", view=0, num_views=2).tolist() == [0, 2, 4, 6]
    idx = segment_indices(40, 4, "train")
    assert ((idx // 10) == np.arange(4)).all() and idx.dtype == np.int64
    assert dense_indices(300, 16, 4, "train").shape == (16,)


def test_train_is_the_default_mode_and_union_returns_int64():
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    assert dense_indices(300, rng=rng_a).tolist() == dense_indices(300, 16, 4, "train", rng=rng_b).tolist()
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    assert segment_indices(160, rng=rng_a).tolist() == segment_indices(160, 16, "train", rng=rng_b).tolist()
    unique, pos = union_indices(np.array([[4.0, 2.0], [2.0, 9.0]]))
    assert unique.dtype == np.int64 and unique.tolist() == [2, 4, 9] and pos.tolist() == [[1, 0], [0, 2]]


def test_segment_train_draws_one_offset_per_segment_and_val_ignores_views():
    rng, ref = np.random.default_rng(1), np.random.default_rng(1)
    assert segment_indices(160, 16, "train", rng=rng).tolist() == \
        (np.arange(16) * 10 + ref.integers(0, 10, size=16)).tolist()
    # one frame per segment on average (16 <= n < 32): frames 0..S-1, not the repeat rule
    assert segment_indices(7, 4, "train").tolist() == [0, 1, 2, 3]
    # "val" always takes the centres, whatever view is asked for
    assert segment_indices(8, 4, "val", view=0, num_views=2).tolist() == [1, 3, 5, 7]
    assert segment_indices(8, 4, "test", view=0, num_views=2).tolist() == [0, 2, 4, 6]
