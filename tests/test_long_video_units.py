"""Sliding-window inference over a long video, on a stand-in video whose frames carry their own index: the window
ranges, the frames scored in each window, the seconds and the top-k labels are exact."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from internvideo_core.eval import long_video
from internvideo_core.eval.long_video import WindowPrediction, predict_windows, top_k_labels

class FakeVideo:
    """``open_video`` stand-in: ``read(idx)`` gives frames ``[T, 1, 1, 3]`` whose value is the frame index."""

    def __init__(self, path, num_frames: int, fps):
        self.info = SimpleNamespace(num_frames=num_frames, fps=fps)
        self.reads: list[list[int]] = []

    def read(self, idx):
        idx = [int(i) for i in idx]
        self.reads.append(idx)
        return torch.tensor(idx, dtype=torch.float32).reshape(-1, 1, 1, 1).expand(-1, 1, 1, 3).clone()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def fake_video(monkeypatch):
    """Patch ``open_video``: returns a dict that records the backend asked for and the last video opened."""
    state: dict = {"num_frames": 50, "fps": 10.0}

    def fake_open(path, backend="auto"):
        state["path"], state["backend"] = path, backend
        state["video"] = FakeVideo(path, state["num_frames"], state["fps"])
        return state["video"]

    monkeypatch.setattr(long_video, "open_video", fake_open)
    return state


def _first_frames(frames: torch.Tensor) -> torch.Tensor:
    """score(): the indices of the frames it was given, as a double ``[T]`` vector (the 'probabilities')."""
    return frames[:, 0, 0, 0].double()


def test_each_window_scores_clip_len_frames_every_rate_frames_and_reports_seconds(fake_video):
    out = predict_windows("v.mp4", _first_frames, clip_len=4, rate=3, stride=10, progress=False, backend="pyav")
    assert fake_video["backend"] == "pyav" and fake_video["path"] == "v.mp4"
    # span 12 frames every 10 over 50 frames: starts 0, 10, 20, 30 and the flush-right 38
    assert [(w.first, w.last) for w in out] == [(0, 11), (10, 21), (20, 31), (30, 41), (38, 49)]
    assert fake_video["video"].reads[0] == [0, 3, 6, 9]
    assert fake_video["video"].reads[-1] == [38, 41, 44, 47]
    assert [(w.start, w.end) for w in out] == [(0.0, 1.2), (1.0, 2.2), (2.0, 3.2), (3.0, 4.2), (3.8, 5.0)]
    assert all(isinstance(w, WindowPrediction) for w in out)
    assert out[1].probs.dtype == torch.float32 and out[1].probs.tolist() == [10.0, 13.0, 16.0, 19.0]
    assert all(type(w.first) is int and type(w.last) is int for w in out)


def test_the_default_stride_is_the_window_length_and_the_default_rate_is_one(fake_video):
    fake_video["num_frames"] = 12
    out = predict_windows("v.mp4", _first_frames, clip_len=4, progress=False)
    assert fake_video["backend"] == "auto"
    assert [(w.first, w.last) for w in out] == [(0, 3), (4, 7), (8, 11)]
    assert fake_video["video"].reads == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_a_video_shorter_than_the_window_repeats_its_last_frame(fake_video):
    fake_video["num_frames"] = 5
    (w,) = predict_windows("v.mp4", _first_frames, clip_len=4, rate=2, progress=False)
    assert fake_video["video"].reads == [[0, 2, 4, 4]]          # min(0 + [0, 2, 4, 6], 5 - 1)
    assert (w.first, w.last, w.start, w.end) == (0, 4, 0.0, 0.5)


def test_a_video_without_a_frame_rate_is_timed_in_frames(fake_video):
    fake_video["num_frames"], fake_video["fps"] = 8, None
    out = predict_windows("v.mp4", _first_frames, clip_len=4, progress=False)
    assert [(w.start, w.end) for w in out] == [(0.0, 4.0), (4.0, 8.0)]


def test_scores_of_any_shape_become_a_flat_float_vector_without_grad(fake_video):
    fake_video["num_frames"] = 4
    weight = torch.ones(1, requires_grad=True)
    (w,) = predict_windows("v.mp4", lambda f: (_first_frames(f).float() * weight).reshape(2, 2), clip_len=4,
                           progress=False)
    assert w.probs.shape == (4,) and not w.probs.requires_grad and w.probs.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_the_progress_bar_counts_windows_and_is_silent_when_asked(fake_video, capsys):
    predict_windows("v.mp4", _first_frames, clip_len=5, progress=False)
    assert capsys.readouterr().err == ""
    predict_windows("v.mp4", _first_frames, clip_len=5, progress=True)
    err = capsys.readouterr().err
    assert "windows: " in err and "10/10" in err and "window/s" in err
    predict_windows("v.mp4", _first_frames, clip_len=5)
    assert "windows: " in capsys.readouterr().err                          # shown by default


def test_top_k_labels_are_the_most_probable_classes_best_first():
    probs = torch.tensor([0.1, 0.5, 0.15, 0.25])
    names = ["a", "b", "c", "d"]
    got = top_k_labels(probs, names, k=2)
    assert got == [("b", pytest.approx(0.5)), ("d", pytest.approx(0.25))]
    assert all(type(v) is float for _, v in got)
    assert [n for n, _ in top_k_labels(probs, names)] == ["b", "d", "c", "a"]     # k=5 > 4 classes: all of them
    assert len(top_k_labels(torch.rand(9), list("abcdefghi"))) == 5                # the default k is 5
