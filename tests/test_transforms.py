"""Clip transforms: shapes, one set of random parameters per clip, flips, normalization constants."""
from __future__ import annotations

import pytest
import torch

from internvideo_core.data.transforms import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    CenterCrop,
    Compose,
    MultiScaleCrop,
    Normalize,
    RandomHorizontalFlip,
    RandomResizedCrop,
    ResizeShortSide,
    ThreeCrop,
    center_crop,
    denormalize,
    frames_to_tensor,
    multi_scale_crop,
    multi_scale_crop_params,
    normalize,
    random_horizontal_flip,
    random_resized_crop,
    resize_short_side,
    three_crop,
)


def _coord_clip(t: int = 4, h: int = 48, w: int = 64) -> torch.Tensor:
    """[3, T, H, W] whose channels encode (frame, row, column) so crops can be located exactly."""
    tt, yy, xx = torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij")
    return torch.stack([tt, yy, xx]).float()


def _moving_dot(direction: int, t: int = 6, size: int = 32) -> torch.Tensor:
    """A bright column moving left (-1) or right (+1) over ``t`` frames -> [3, T, H, W]."""
    x = torch.zeros(3, t, size, size)
    for k in range(t):
        col = 4 + 4 * k if direction > 0 else size - 5 - 4 * k
        x[:, k, :, col] = 1.0
    return x


def _direction(x: torch.Tensor) -> int:
    cols = x[0].mean(dim=1).argmax(dim=-1)  # [T] bright column per frame
    return int(torch.sign(cols[-1] - cols[0]))


def test_frames_to_tensor():
    frames = torch.randint(0, 256, (5, 12, 20, 3), dtype=torch.uint8)
    x = frames_to_tensor(frames)
    assert x.shape == (3, 5, 12, 20) and x.dtype == torch.float32
    assert torch.allclose(x[1, 2], frames[2, :, :, 1].float() / 255)
    assert 0.0 <= x.min() and x.max() <= 1.0
    with pytest.raises(ValueError, match=r"\[T, H, W, 3\]"):
        frames_to_tensor(torch.zeros(5, 3, 12, 20, dtype=torch.uint8))


@pytest.mark.parametrize("hw,expected", [((256, 340), (224, 297)), ((340, 256), (297, 224)), ((224, 400), (224, 400))])
def test_resize_short_side(hw, expected):
    x = torch.rand(3, 2, *hw)
    y = resize_short_side(x, 224)
    assert tuple(y.shape[-2:]) == expected and y.shape[:2] == (3, 2)


def test_resize_keeps_constant_images():
    x = torch.full((3, 2, 50, 80), 0.25)
    assert torch.allclose(resize_short_side(x, 20), torch.full((3, 2, 20, 32), 0.25))
    assert torch.allclose(resize_short_side(x, 20, antialias=True), torch.full((3, 2, 20, 32), 0.25))


def test_center_crop_location():
    y = center_crop(_coord_clip(), 32)
    assert y.shape == (3, 4, 32, 32)
    assert y[1, 0, 0, 0] == 8 and y[2, 0, 0, 0] == 16  # (48-32)/2, (64-32)/2


def test_three_crop_along_long_side():
    views = three_crop(_coord_clip(h=48, w=80), 48)
    assert len(views) == 3 and all(v.shape == (3, 4, 48, 48) for v in views)
    assert [int(v[2, 0, 0, 0]) for v in views] == [0, 16, 32]  # left, centre, right
    tall = three_crop(_coord_clip(h=80, w=48), 48)
    assert [int(v[1, 0, 0, 0]) for v in tall] == [0, 16, 32]  # top, middle, bottom
    with pytest.raises(ValueError, match="resize first"):
        three_crop(_coord_clip(h=40, w=80), 48)


def _same_box_every_frame(y: torch.Tensor) -> None:
    # the row/column channels must be identical in every frame and the frame channel constant per frame
    assert torch.allclose(y[1:], y[1:, :1].expand_as(y[1:]))
    for k in range(y.shape[1]):
        assert torch.allclose(y[0, k], torch.full_like(y[0, k], float(k)))


@pytest.mark.parametrize("seed", range(5))
def test_random_resized_crop_same_for_all_frames(seed):
    y = random_resized_crop(_coord_clip(), 24, generator=torch.Generator().manual_seed(seed))
    assert y.shape == (3, 4, 24, 24)
    _same_box_every_frame(y)


@pytest.mark.parametrize("seed", range(5))
def test_multi_scale_crop_same_for_all_frames(seed):
    y = multi_scale_crop(_coord_clip(), 24, generator=torch.Generator().manual_seed(seed))
    assert y.shape == (3, 4, 24, 24)
    _same_box_every_frame(y)


def test_multi_scale_crop_boxes_follow_tsn_scales():
    sizes = set()
    for seed in range(300):
        top, left, h, w = multi_scale_crop_params(256, 340, 224, generator=torch.Generator().manual_seed(seed))
        assert 0 <= top and top + h <= 256 and 0 <= left and left + w <= 340
        sizes.add((h, w))
    sides = {256, 224, 192, 168}  # int(256 * s) for s in 1, .875, .75, .66, snapped to 224
    assert {s for hw in sizes for s in hw} == sides
    assert all(abs(sorted(sides).index(h) - sorted(sides).index(w)) <= 1 for h, w in sizes)


def test_random_crops_are_seeded():
    x = _coord_clip()
    a = random_resized_crop(x, 24, generator=torch.Generator().manual_seed(7))
    b = random_resized_crop(x, 24, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    outs = {tuple(random_resized_crop(x, 24, generator=torch.Generator().manual_seed(s))[1:, 0, 0, 0].tolist())
            for s in range(10)}
    assert len(outs) > 3


def test_flip_switch():
    right = _moving_dot(+1)
    assert _direction(right) == 1
    flipped = [random_horizontal_flip(right, p=1.0, generator=torch.Generator().manual_seed(s)) for s in range(3)]
    assert all(_direction(f) == -1 for f in flipped)
    kept = [random_horizontal_flip(right, p=1.0, enabled=False) for _ in range(3)]
    assert all(_direction(k) == 1 for k in kept)
    pipeline = Compose([RandomResizedCrop(32, scale=(0.9, 1.0)), RandomHorizontalFlip(p=1.0, enabled=False)])
    for seed in range(5):
        assert _direction(pipeline(right, generator=torch.Generator().manual_seed(seed))) == 1


def test_flip_probability_half():
    g = torch.Generator().manual_seed(0)
    x = _moving_dot(+1)
    flips = sum(_direction(random_horizontal_flip(x, generator=g)) == -1 for _ in range(200))
    assert 70 < flips < 130


def test_normalization_constants_and_values():
    assert CLIP_MEAN == (0.48145466, 0.4578275, 0.40821073)
    assert CLIP_STD == (0.26862954, 0.26130258, 0.27577711)
    assert IMAGENET_MEAN == (0.485, 0.456, 0.406) and IMAGENET_STD == (0.229, 0.224, 0.225)
    x = torch.stack([torch.full((2, 3, 3), v) for v in CLIP_MEAN])
    assert torch.allclose(normalize(x, CLIP_MEAN, CLIP_STD), torch.zeros_like(x), atol=1e-7)
    ones = normalize(torch.ones(3, 1, 1, 1), IMAGENET_MEAN, IMAGENET_STD).flatten()
    assert torch.allclose(ones, torch.tensor([(1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]))
    y = torch.rand(3, 2, 4, 4)
    assert torch.allclose(denormalize(normalize(y, CLIP_MEAN, CLIP_STD), CLIP_MEAN, CLIP_STD), y, atol=1e-6)


def test_compose_eval_pipeline_and_three_crop():
    x = torch.rand(3, 4, 64, 96)
    evaluate = Compose([ResizeShortSide(32), CenterCrop(32), Normalize(CLIP_MEAN, CLIP_STD)])
    assert evaluate(x).shape == (3, 4, 32, 32)
    multi = Compose([ResizeShortSide(32), ThreeCrop(32), Normalize()])
    views = multi(x)
    assert len(views) == 3 and all(v.shape == (3, 4, 32, 32) for v in views)
    assert not torch.allclose(views[0], views[2])
    assert "ResizeShortSide" in repr(evaluate)


def test_compose_passes_generator_and_plain_callables():
    x = _coord_clip()
    pipeline = Compose([MultiScaleCrop(24), lambda clip: clip * 2])
    a = pipeline(x, generator=torch.Generator().manual_seed(1))
    b = pipeline(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (3, 4, 24, 24)
