"""The preprocessing of an :class:`~internvideo_core.data.input_spec.InputSpec`: video -> model input.

    pre = VideoPreprocess(get_pretrained("videomae_vit_base_k400").input)
    x = pre("clip.mp4")                 # [1, 3, 16, 224, 224]: the centred clip, centre crop
    views = pre("clip.mp4", views="test")   # [15, 3, 16, 224, 224]: 5 clips x 3 crops (official K400 test)

Views are ordered temporal-view-major (``view = clip * crops + crop``) as the official test sets enumerate them;
score a video by the mean of the per-view softmax. Only the distinct frames of all views are decoded, once
(:func:`~internvideo_core.data.pipelines.decode_views`). A decoded video (uint8 ``[N, H, W, 3]``, e.g. a Gradio
upload) can be passed instead of a path.

Spatial steps, as the official test code: short side to ``short_side`` (bilinear, no antialias), normalise,
then one centre crop (torchvision ``CenterCrop`` offsets) or ``test_crops`` crops spread along the long side
(:func:`~internvideo_core.data.transforms.spatial_crops`).
"""
from __future__ import annotations

import os
from typing import Union

import numpy as np
import torch

from .input_spec import InputSpec
from .pipelines import decode_views
from .sampling import dense_views, segment_views, uniform_indices
from .transforms import center_crop, frames_to_tensor, normalize, resize_short_side, spatial_crops

__all__ = ["VideoPreprocess", "VIEWS"]

VIEWS = ("single", "test")
Video = Union[str, os.PathLike, torch.Tensor]


def _resize_short_side_bicubic(x: torch.Tensor, size: int) -> torch.Tensor:
    """``[C, T, H, W]`` -> short side ``size``: antialiased bicubic, clamped to ``[0, 1]`` (as PIL's
    ``Resize(size, BICUBIC)`` of the retrieval loaders, up to the filters' small differences)."""
    import torch.nn.functional as F

    c, t, h, w = x.shape
    if min(h, w) == size:
        return x
    new = (size, int(size * w / h)) if h <= w else (int(size * h / w), size)
    out = F.interpolate(x.reshape(1, c * t, h, w), size=new, mode="bicubic", align_corners=False, antialias=True)
    return out.clamp_(0.0, 1.0).reshape(c, t, *new)


class VideoPreprocess:
    """``preprocess(video, views="single"|"test") -> float [V, 3, T, crop, crop]`` for one :class:`InputSpec`."""

    def __init__(self, spec: InputSpec, backend: str = "auto") -> None:
        self.spec = spec
        self.backend = backend

    def __repr__(self) -> str:
        return f"VideoPreprocess({self.spec.describe()})"

    def _shape(self, views: str) -> tuple[int, int]:
        if views not in VIEWS:
            raise ValueError(f"views must be one of {VIEWS}, got {views!r}")
        s = self.spec
        return (s.test_clips, s.test_crops) if views == "test" else (1, 1)

    def indices(self, num_frames: int, views: str = "single") -> np.ndarray:
        """Frame indices of the temporal views of a ``num_frames`` video -> int64 ``[clips, T]``."""
        clips, _ = self._shape(views)
        s = self.spec
        if s.sampling == "dense":
            return dense_views(num_frames, s.num_frames, s.frame_interval, clips)
        if s.sampling == "segment":
            return segment_views(num_frames, s.num_frames, clips)
        row = uniform_indices(num_frames, s.num_frames)
        return np.stack([row] * clips)  # one temporal view is all ``linspace`` has

    def from_frames(self, frames: torch.Tensor, positions: np.ndarray, crops: int) -> torch.Tensor:
        """Decoded frames uint8 ``[U, H, W, 3]`` and where each view finds them (int ``[clips, T]``) ->
        float ``[clips * crops, 3, T, crop, crop]``."""
        s = self.spec
        x = frames_to_tensor(frames)  # [3, U, H, W] in [0, 1]
        if s.interpolation == "bilinear":
            x = resize_short_side(x, s.short_side)
        else:
            x = _resize_short_side_bicubic(x, s.short_side)
        x = normalize(x, s.mean, s.std)  # [3, U, H', W']
        out: list[torch.Tensor] = []
        for row in np.asarray(positions):
            clip = x[:, torch.from_numpy(np.asarray(row, dtype=np.int64))]
            out.extend([center_crop(clip, s.crop_size)] if crops == 1 else spatial_crops(clip, s.crop_size, crops))
        return torch.stack(out)

    def __call__(self, video: Video, views: str = "single") -> torch.Tensor:
        """A video path or uint8 frames ``[N, H, W, 3]`` -> float ``[V, 3, T, crop, crop]`` (``V`` = 1, or
        ``test_clips * test_crops`` with ``views="test"``)."""
        _, crops = self._shape(views)
        frames = video if isinstance(video, torch.Tensor) else None
        path = None if frames is not None else video
        decoded, positions = decode_views(path, lambda n: self.indices(n, views), frames, self.backend)
        return self.from_frames(decoded, positions, crops)
