"""Frame-index samplers: pure functions returning numpy int64 arrays of valid frame indices.

Three families, each following the official code it reproduces:

* ``dense_indices``: a window of ``clip_len`` frames spanning ``clip_len * rate`` frames (VideoMAE on
  Kinetics: 16 frames x rate 4). ``train``/``val``/``test`` as in VideoMAE ``datasets/kinetics.py``.
* ``segment_indices``: TSN segments, one frame per segment (VideoMAE on SSv2: 16 segments, test 2 temporal
  views), as in VideoMAE ``datasets/ssv2.py``.
* ``uniform_indices``: ``linspace(0, n-1, k)`` truncated to int (InternVideo-MM, 8 frames).

Randomness only through an explicit ``np.random.Generator`` (``rng``): same seed, same indices. With
``rng=None`` a fresh unseeded generator is used. Every index is in ``[0, num_frames)``; windows longer than
the video repeat the last frame (clamping); indices within one clip never decrease.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "dense_indices",
    "dense_views",
    "segment_indices",
    "segment_views",
    "uniform_indices",
    "union_indices",
]

_MODES = ("train", "val", "test")


def _check(num_frames: int, count: int, name: str) -> None:
    if int(num_frames) < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames} (a video without frames cannot be sampled)")
    if int(count) < 1:
        raise ValueError(f"{name} must be >= 1, got {count}")


def _window(clip_len: int, rate: int, start: int) -> np.ndarray:
    """Official VideoMAE window: ``linspace(start, start + clip_len*rate, clip_len)`` clipped to the window."""
    converted = clip_len * rate
    end = start + converted
    index = np.linspace(start, end, num=clip_len)
    return np.clip(index, start, end - 1).astype(np.int64)


def _short_video(num_frames: int, clip_len: int, rate: int) -> np.ndarray:
    """Official VideoMAE handling of videos not longer than the window: stride ``rate``, then repeat the last."""
    num = max(num_frames // rate, 1)  # official: n // rate (all frames = last when n < rate); we keep frame 0
    index = np.linspace(0, num_frames, num=num)
    index = np.concatenate([index, np.full(clip_len - num, float(num_frames))]) if clip_len > num else index[:clip_len]
    return np.clip(index, 0, num_frames - 1).astype(np.int64)


def dense_indices(
    num_frames: int,
    clip_len: int = 16,
    rate: int = 4,
    mode: str = "train",
    rng: np.random.Generator | None = None,
    num_clips: int = 1,
) -> np.ndarray:
    """Dense clip of ``clip_len`` frames covering ``clip_len * rate`` frames.

    ``train``: random window start (VideoMAE ``loadvideo_decord``: ``end ~ U[clip_len*rate, n)``, indices
    ``linspace(end - clip_len*rate, end, clip_len)`` clipped to ``end - 1``) -> ``[clip_len]``.
    ``val``: the same window, centred in the video -> ``[clip_len]``.
    ``test``: the official Kinetics test protocol -> ``[num_clips, clip_len]``: take every ``rate``-th
    frame of the whole video (``0, rate, 2*rate, ...``), repeat the last if fewer than ``clip_len``; clip
    ``c`` starts at position ``int(c * (L - clip_len) / (num_clips - 1))`` of that list of ``L`` frames, so
    the clips are evenly spaced from the first to the last frame (``num_clips == 1``: the centred clip).
    A video with ``num_frames <= clip_len * rate`` (train/val) uses stride ``rate`` from frame 0 and
    repeats the last frame, as the official loader does.
    """
    _check(num_frames, clip_len, "clip_len")
    if rate < 1:
        raise ValueError(f"rate must be >= 1, got {rate}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    n = int(num_frames)
    converted = clip_len * rate
    if mode == "test":
        if num_clips < 1:
            raise ValueError(f"num_clips must be >= 1, got {num_clips}")
        strided = np.arange(0, n, rate, dtype=np.int64)
        if strided.size < clip_len:
            strided = np.concatenate([strided, np.full(clip_len - strided.size, strided[-1], dtype=np.int64)])
        length = strided.size
        if num_clips == 1:
            starts = [(length - clip_len) // 2]
        else:
            step = max((length - clip_len) / (num_clips - 1), 0.0)
            starts = [int(c * step) for c in range(num_clips)]
        return np.stack([strided[s : s + clip_len] for s in starts]).astype(np.int64)
    if n <= converted:
        return _short_video(n, clip_len, rate)
    if mode == "train":
        rng = rng if rng is not None else np.random.default_rng()
        end = int(rng.integers(converted, n))
        return _window(clip_len, rate, end - converted)
    return _window(clip_len, rate, (n - converted) // 2)


def dense_views(num_frames: int, clip_len: int = 16, rate: int = 4, num_clips: int = 5) -> np.ndarray:
    """All test clips of :func:`dense_indices` -> int64 ``[num_clips, clip_len]``."""
    return dense_indices(num_frames, clip_len, rate, "test", num_clips=num_clips)


def segment_indices(
    num_frames: int,
    num_segments: int = 16,
    mode: str = "train",
    rng: np.random.Generator | None = None,
    view: int = 0,
    num_views: int = 1,
) -> np.ndarray:
    """TSN sampling: split the video into ``num_segments`` equal segments, one frame each -> ``[num_segments]``.

    ``train``: a random frame in each segment (VideoMAE ``ssv2.py``: ``s * (n // S) + U[0, n // S)``).
    ``val``/``test`` with ``num_views == 1``: the segment centres ``int(tick/2 + tick*s)``, ``tick = n/S``.
    ``test`` with ``num_views > 1``: view ``v`` takes ``int(tick*v/num_views + tick*s)``; for 2 views
    that is the official SSv2 protocol (view 0 = segment starts ``int(tick*s)``, view 1 = centres, which is
    what the official loader's sort-then-take-every-other-frame yields).
    Videos shorter than ``num_segments`` frames repeat frames evenly (``floor(s * n / S)``); the official
    train loader returns all zeros there, which we consider a bug.
    """
    _check(num_frames, num_segments, "num_segments")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if num_views < 1 or not 0 <= view < num_views:
        raise ValueError(f"need 0 <= view < num_views, got view={view}, num_views={num_views}")
    n, segs = int(num_frames), int(num_segments)
    if mode == "train":
        avg = n // segs
        if avg > 0:
            rng = rng if rng is not None else np.random.default_rng()
            return (np.arange(segs, dtype=np.int64) * avg + rng.integers(0, avg, size=segs)).astype(np.int64)
        return (np.arange(segs, dtype=np.int64) * n // segs).astype(np.int64)
    tick = n / float(segs)
    if mode == "val" or num_views == 1:
        index = [int(tick / 2.0 + tick * s) for s in range(segs)]
    else:
        index = [int(tick * view / num_views + tick * s) for s in range(segs)]
    # no clipping needed: the largest index is int(n - tick / 2) (val, one view) or int(n - tick / num_views)
    return np.asarray(index, dtype=np.int64)


def segment_views(num_frames: int, num_segments: int = 16, num_views: int = 2) -> np.ndarray:
    """All temporal test views of :func:`segment_indices` -> int64 ``[num_views, num_segments]``."""
    return np.stack([segment_indices(num_frames, num_segments, "test", view=v, num_views=num_views)
                     for v in range(num_views)])


def uniform_indices(num_frames: int, k: int = 8) -> np.ndarray:
    """InternVideo-MM sampling: ``linspace(0, n-1, k).astype(int)`` -> int64 ``[k]``."""
    _check(num_frames, k, "k")
    return np.linspace(0, int(num_frames) - 1, int(k)).astype(np.int64)


def union_indices(views: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct frames of several views and where each view finds them.

    ``views``: int ``[..., T]`` -> ``(unique [U], positions [..., T])`` with ``unique[positions] == views``:
    decode ``unique`` once, then gather every view with ``frames[positions]``.
    """
    arr = np.asarray(views, dtype=np.int64)
    unique, inverse = np.unique(arr, return_inverse=True)
    return unique, inverse.reshape(arr.shape)
