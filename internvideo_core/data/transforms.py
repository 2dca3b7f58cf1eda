"""Clip transforms on float tensors ``[C, T, H, W]``; random parameters are drawn once per clip.

Every frame of a clip gets the same crop, scale and flip (a clip is one sample). Randomness comes only from
an explicit ``torch.Generator`` (``generator=None`` uses torch's global generator).

Resizing is bilinear with ``antialias=False`` by default: the official VideoMAE and InternVideo loaders
resize decoded numpy frames with OpenCV ``INTER_LINEAR``, which does not low-pass filter, and this kit
matches them. Pass ``antialias=True`` when shrinking by a large factor (e.g. 1080p to 256) for a cleaner
image at the cost of a small deviation from the official numbers.

Horizontal flipping is switchable and must be **off** for classes defined by direction (SSv2 "pushing
something from left to right", SynthMotion "move left"/"rotate cw"): a flip turns them into the opposite
class. The official VideoMAE recipe disables it for SSv2.

    clip = frames_to_tensor(read_video(path, idx))              # [3, T, H, W] in [0, 1]
    train = Compose([RandomResizedCrop(224), RandomHorizontalFlip(enabled=True), Normalize(*IMAGENET)])
    x = train(clip, generator=torch.Generator().manual_seed(0))
"""
from __future__ import annotations

import inspect
import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from .input_spec import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "CLIP_MEAN", "CLIP_STD", "IMAGENET", "CLIP",
    "frames_to_tensor", "resize", "resize_short_side", "center_crop", "spatial_crops", "spatial_crop_offsets",
    "three_crop", "crop",
    "random_resized_crop_params", "random_resized_crop", "multi_scale_crop_params", "multi_scale_crop",
    "horizontal_flip", "random_horizontal_flip", "normalize", "normalize_", "denormalize",
    "Compose", "ResizeShortSide", "CenterCrop", "ThreeCrop", "RandomResizedCrop", "MultiScaleCrop",
    "RandomHorizontalFlip", "Normalize",
]

IMAGENET = (IMAGENET_MEAN, IMAGENET_STD)
CLIP = (CLIP_MEAN, CLIP_STD)


def _check_clip(x: torch.Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"expected a clip [C, T, H, W], got shape {tuple(x.shape)}")


def _uniform(generator: torch.Generator | None, low: float = 0.0, high: float = 1.0) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _randint(generator: torch.Generator | None, low: int, high: int) -> int:
    """Integer in ``[low, high]`` (inclusive)."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def frames_to_tensor(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``[T, H, W, 3]`` (from :func:`read_video`) -> float32 ``[3, T, H, W]`` in ``[0, 1]``."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames [T, H, W, 3], got shape {tuple(frames.shape)}")
    # contiguous [3, T, H, W] (not a channels-last view): later reshapes and gathers stay views / fast copies
    return frames.permute(3, 0, 1, 2).to(torch.float32, memory_format=torch.contiguous_format).div_(255.0)


def resize(x: torch.Tensor, size: tuple[int, int], antialias: bool = False) -> torch.Tensor:
    """Bilinear resize of every frame: ``[C, T, H, W] -> [C, T, size[0], size[1]]``."""
    _check_clip(x)
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    c, t = x.shape[:2]
    # [C*T, 1, H, W]: every frame plane is one image of one channel. (A [1, C*T, H, W] layout made
    # interpolate pick a channels-last output whose reshape back cost a full copy.)
    frames = x.reshape(c * t, 1, *x.shape[-2:])
    out = F.interpolate(frames, size=tuple(size), mode="bilinear", align_corners=False, antialias=antialias)
    return out.reshape(c, t, *size)


def resize_short_side(x: torch.Tensor, size: int, antialias: bool = False) -> torch.Tensor:
    """Resize so the short side is ``size``, long side ``int(size * long / short)`` (as the official code).

    ``[C, T, H, W] -> [C, T, H', W']``; a clip whose short side is already ``size`` is returned as is.
    """
    _check_clip(x)
    h, w = x.shape[-2:]
    if min(h, w) == size:
        return x
    if w < h:
        new_h, new_w = int(size * h / w), size
    else:
        new_h, new_w = size, int(size * w / h)
    return resize(x, (new_h, new_w), antialias=antialias)


def crop(x: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """``x[..., top:top+height, left:left+width]`` with bounds checking."""
    h, w = x.shape[-2:]
    if top < 0 or left < 0 or top + height > h or left + width > w:
        raise ValueError(f"crop ({top}, {left}, {height}, {width}) does not fit a {h}x{w} clip; resize first")
    return x[..., top : top + height, left : left + width]


def center_crop(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Centre crop ``[C, T, H, W] -> [C, T, s, s]`` (offsets ``int(round((H - s) / 2))``, as torchvision)."""
    th, tw = (size, size) if isinstance(size, int) else size
    h, w = x.shape[-2:]
    return crop(x, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


def spatial_crops(x: torch.Tensor, size: int, num_crops: int = 3) -> list[torch.Tensor]:
    """``num_crops`` square crops spread evenly along the long side (official VideoMAE multi-crop test).

    Crop ``k`` starts at ``int(k * (long - size) / (num_crops - 1))`` along the long side (one crop: the
    centre, ``(long - size) // 2``); the short side, which the official test has already resized to
    ``size``, is centre-cropped. ``[C, T, H, W]`` -> ``num_crops`` x ``[C, T, size, size]``.
    """
    _check_clip(x)
    return [crop(x, top, left, size, size) for top, left in spatial_crop_offsets(*x.shape[-2:], size, num_crops)]


def spatial_crop_offsets(height: int, width: int, size: int, num_crops: int = 3) -> list[tuple[int, int]]:
    """``(top, left)`` of the :func:`spatial_crops` views of a ``height x width`` clip."""
    if num_crops < 1:
        raise ValueError(f"num_crops must be >= 1, got {num_crops}")
    h, w = int(height), int(width)
    if min(h, w) < size:
        raise ValueError(f"cropping {size}x{size} views needs both sides >= {size}, got {h}x{w}; resize first")
    long = max(h, w)
    if num_crops == 1:
        starts = [(long - size) // 2]
    else:
        step = (long - size) / (num_crops - 1)
        starts = [int(k * step) for k in range(num_crops)]
    if h >= w:
        return [(s, (w - size) // 2) for s in starts]
    return [((h - size) // 2, s) for s in starts]


def three_crop(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Three ``size x size`` crops along the long side (start, middle, end): the official VideoMAE test.

    ``[C, T, H, W]`` -> 3 x ``[C, T, size, size]``; see :func:`spatial_crops`.
    """
    return spatial_crops(x, size, 3)


def random_resized_crop_params(
    height: int, width: int, scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3), generator: torch.Generator | None = None,
) -> tuple[int, int, int, int]:
    """Inception-style crop box ``(top, left, h, w)``: area fraction in ``scale``, log-uniform aspect ``ratio``."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * _uniform(generator, *scale)
        aspect = math.exp(_uniform(generator, *log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return _randint(generator, 0, height - h), _randint(generator, 0, width - w), h, w
    in_ratio = width / height  # fallback: central crop with the closest allowed aspect
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def random_resized_crop(
    x: torch.Tensor, size: int, scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3), generator: torch.Generator | None = None, antialias: bool = False,
) -> torch.Tensor:
    """One random box for the whole clip, resized to ``size``: ``[C, T, H, W] -> [C, T, size, size]`` float.

    ``x`` may also be uint8 in ``[0, 255]`` (``frames.permute(3, 0, 1, 2)``): then only the box is converted to
    ``[0, 1]`` floats, which gives the same numbers as converting the whole clip first (cheaper on big frames)."""
    _check_clip(x)
    top, left, h, w = random_resized_crop_params(x.shape[-2], x.shape[-1], scale, ratio, generator)
    box = crop(x, top, left, h, w)
    if box.dtype == torch.uint8:  # uint8 [C, T, H, W] (a permuted view of decoded frames): only the box becomes
        box = box.to(torch.float32).div_(255.0)  # float, with frames_to_tensor's exact arithmetic
    return resize(box, (size, size), antialias=antialias)


def multi_scale_crop_params(
    height: int, width: int, size: int, scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66),
    max_distort: int = 1, more_fix_crop: bool = True, generator: torch.Generator | None = None,
) -> tuple[int, int, int, int]:
    """TSN / VideoMAE ``GroupMultiScaleCrop`` box ``(top, left, h, w)``.

    Side lengths ``int(min(H, W) * s)`` (snapped to ``size`` when within 3 px), width and height scale
    indices at most ``max_distort`` apart, offset one of the 13 fixed positions (5 without
    ``more_fix_crop``) on a 4 x 4 grid of the remaining space.
    """
    base = min(height, width)
    sides = [int(base * s) for s in scales]
    sides = [size if abs(s - size) < 3 else s for s in sides]
    pairs = [(sides[j], sides[i]) for i in range(len(sides)) for j in range(len(sides)) if abs(i - j) <= max_distort]
    crop_w, crop_h = pairs[_randint(generator, 0, len(pairs) - 1)]
    ws, hs = (width - crop_w) // 4, (height - crop_h) // 4
    offsets = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs)]
    if more_fix_crop:
        offsets += [(0, 2 * hs), (4 * ws, 2 * hs), (2 * ws, 4 * hs), (2 * ws, 0),
                    (ws, hs), (3 * ws, hs), (ws, 3 * hs), (3 * ws, 3 * hs)]
    left, top = offsets[_randint(generator, 0, len(offsets) - 1)]
    return top, left, crop_h, crop_w


def multi_scale_crop(
    x: torch.Tensor, size: int, scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66), max_distort: int = 1,
    more_fix_crop: bool = True, generator: torch.Generator | None = None, antialias: bool = False,
) -> torch.Tensor:
    """VideoMAE pretraining crop: one multi-scale box for the clip, resized to ``[C, T, size, size]``."""
    _check_clip(x)
    top, left, h, w = multi_scale_crop_params(x.shape[-2], x.shape[-1], size, scales, max_distort,
                                              more_fix_crop, generator)
    return resize(crop(x, top, left, h, w), (size, size), antialias=antialias)


def horizontal_flip(x: torch.Tensor) -> torch.Tensor:
    """Mirror every frame left-right: ``[C, T, H, W]``."""
    return x.flip(-1)


def random_horizontal_flip(
    x: torch.Tensor, p: float = 0.5, enabled: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Flip the whole clip with probability ``p``; ``enabled=False`` never flips (direction-sensitive classes).

    The generator is advanced only when ``enabled``.
    """
    if not enabled or p <= 0:
        return x
    return horizontal_flip(x) if _uniform(generator) < p else x


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(x - mean) / std`` per channel of ``[C, T, H, W]`` (x in [0, 1])."""
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    return (x - m) / s


def normalize_(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """In-place :func:`normalize` (the same two operations, bit-identical result, no new clip-sized tensor)."""
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    return x.sub_(m).div_(s)


def denormalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Inverse of :func:`normalize` (for display): ``[C, T, H, W]`` back to [0, 1] scale."""
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    return x * s + m


# ------------------------------------------------------------------------------------------ callables
def _accepts_generator(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "generator" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class Compose:
    """Apply transforms in order; each is called as ``t(x, generator=generator)`` or ``t(x)``."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)
        self._takes_generator = [_accepts_generator(t) for t in self.transforms]

    def __call__(self, x, generator: torch.Generator | None = None):
        for t, takes in zip(self.transforms, self._takes_generator):
            x = t(x, generator=generator) if takes else t(x)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(map(repr, self.transforms)) + "])"


class _Transform:
    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class ResizeShortSide(_Transform):
    def __init__(self, size: int, antialias: bool = False) -> None:
        self.size, self.antialias = size, antialias

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return resize_short_side(x, self.size, self.antialias)


class CenterCrop(_Transform):
    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return center_crop(x, self.size)


class ThreeCrop(_Transform):
    """Returns a list of 3 views; put it last in a Compose (or before transforms that accept lists)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        return three_crop(x, self.size)


class RandomResizedCrop(_Transform):
    def __init__(self, size: int, scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3 / 4, 4 / 3), antialias: bool = False) -> None:
        self.size, self.scale, self.ratio, self.antialias = size, scale, ratio, antialias

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return random_resized_crop(x, self.size, self.scale, self.ratio, generator, self.antialias)


class MultiScaleCrop(_Transform):
    def __init__(self, size: int, scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66), max_distort: int = 1,
                 more_fix_crop: bool = True, antialias: bool = False) -> None:
        self.size, self.scales, self.max_distort = size, tuple(scales), max_distort
        self.more_fix_crop, self.antialias = more_fix_crop, antialias

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return multi_scale_crop(x, self.size, self.scales, self.max_distort, self.more_fix_crop, generator,
                                self.antialias)


class RandomHorizontalFlip(_Transform):
    """``enabled=False`` for direction-sensitive datasets (SSv2, SynthMotion directions)."""

    def __init__(self, p: float = 0.5, enabled: bool = True) -> None:
        self.p, self.enabled = p, enabled

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return random_horizontal_flip(x, self.p, self.enabled, generator)


class Normalize(_Transform):
    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, x, generator: torch.Generator | None = None):
        if isinstance(x, (list, tuple)):
            return [normalize(v, self.mean, self.std) for v in x]
        return normalize(x, self.mean, self.std)
