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


# ------------------------------------------------------------------------ exact values, edges and errors
def test_resize_values_identity_and_shape_checks():
    import torch.nn.functional as F

    from internvideo_core.data.transforms import resize

    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    assert resize(x, (4, 4)) is x
    want = F.interpolate(x.reshape(1, 6, 4, 4), size=(2, 3), mode="bilinear", align_corners=False).reshape(2, 3, 2, 3)
    assert torch.equal(resize(x, (2, 3)), want)
    checker = (torch.arange(9)[:, None] + torch.arange(9)[None, :]).remainder(2).float().expand(1, 1, 9, 9)
    # 9 -> 3 without antialias samples pixels 1, 4, 7 exactly (OpenCV INTER_LINEAR behaviour); antialias averages
    assert torch.equal(resize(checker, (3, 3)), checker[..., 1::3, 1::3])
    assert (resize(checker, (3, 3), antialias=True) - 0.5).abs().max() < 0.12
    for fn in (lambda c: resize(c, (2, 2)), lambda c: resize_short_side(c, 2), lambda c: three_crop(c, 2),
               lambda c: random_resized_crop(c, 2), lambda c: multi_scale_crop(c, 2)):
        with pytest.raises(ValueError, match=r"expected a clip \[C, T, H, W\]"):
            fn(torch.zeros(3, 8, 8))


def test_resize_short_side_truncates_and_handles_squares():
    assert resize_short_side(torch.zeros(1, 1, 3, 5), 2).shape[-2:] == (2, 3)  # int(2 * 5 / 3) = 3
    assert resize_short_side(torch.zeros(1, 1, 5, 3), 2).shape[-2:] == (3, 2)
    assert resize_short_side(torch.zeros(1, 1, 6, 6), 4).shape[-2:] == (4, 4)
    x = torch.zeros(1, 1, 4, 9)
    assert resize_short_side(x, 4) is x


def test_crop_bounds_and_center_crop_rounding():
    from internvideo_core.data.transforms import crop

    x = _coord_clip(t=1, h=7, w=9)
    assert crop(x, 3, 5, 4, 4).shape[-2:] == (4, 4)  # touches the bottom-right corner exactly
    for args in ((-1, 0, 2, 2), (0, -1, 2, 2), (4, 0, 4, 2), (0, 6, 2, 4)):
        with pytest.raises(ValueError, match="does not fit a 7x9 clip"):
            crop(x, *args)
    y = center_crop(_coord_clip(t=1, h=5, w=7), 4)  # offsets round(0.5) = 0 and round(1.5) = 2
    assert (int(y[1, 0, 0, 0]), int(y[2, 0, 0, 0])) == (0, 2)
    y = center_crop(_coord_clip(t=1, h=10, w=10), (4, 6))
    assert y.shape[-2:] == (4, 6) and (int(y[1, 0, 0, 0]), int(y[2, 0, 0, 0])) == (3, 2)


def test_spatial_crops_counts_and_positions():
    from internvideo_core.data.transforms import spatial_crops

    wide = _coord_clip(t=1, h=6, w=16)
    assert [int(v[2, 0, 0, 0]) for v in spatial_crops(wide, 6, 1)] == [5]
    assert [int(v[2, 0, 0, 0]) for v in spatial_crops(wide, 6, 2)] == [0, 10]
    assert [int(v[2, 0, 0, 0]) for v in spatial_crops(wide, 6, 4)] == [0, 3, 6, 10]
    assert [int(v[1, 0, 0, 0]) for v in spatial_crops(wide, 4, 2)] == [1, 1]  # short side centre-cropped
    square = _coord_clip(t=1, h=6, w=6)
    assert [(int(v[1, 0, 0, 0]), int(v[2, 0, 0, 0])) for v in spatial_crops(square, 4, 2)] == [(0, 1), (2, 1)]
    with pytest.raises(ValueError, match="num_crops must be >= 1"):
        spatial_crops(wide, 6, 0)
    with pytest.raises(ValueError, match="both sides >= 7, got 6x16"):
        spatial_crops(wide, 7)


def test_random_resized_crop_params_follow_the_draws_exactly():
    import math

    from internvideo_core.data.transforms import random_resized_crop_params

    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        ref = torch.Generator().manual_seed(seed)
        box = random_resized_crop_params(40, 60, (0.3, 0.6), (1.0, 1.5), generator=g)  # always fits
        u1, u2 = float(torch.rand((), generator=ref)), float(torch.rand((), generator=ref))
        target = 2400 * (0.3 + 0.3 * u1)
        aspect = math.exp(math.log(1.0) + (math.log(1.5) - math.log(1.0)) * u2)
        w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        top = int(torch.randint(0, 40 - h + 1, (), generator=ref))
        left = int(torch.randint(0, 60 - w + 1, (), generator=ref))
        assert box == (top, left, h, w)
    # impossible areas fall back to a central crop with the closest allowed aspect
    g = torch.Generator().manual_seed(0)
    assert random_resized_crop_params(100, 10, scale=(2.0, 2.0), generator=g) == (43, 0, 13, 10)
    assert random_resized_crop_params(10, 100, scale=(2.0, 2.0), generator=g) == (0, 43, 10, 13)
    assert random_resized_crop_params(10, 12, scale=(2.0, 2.0), generator=g) == (0, 0, 10, 12)
    # a crop exactly the size of the clip is allowed (no fallback needed)
    assert random_resized_crop_params(10, 10, scale=(1.0, 1.0), ratio=(1.0, 1.0), generator=g) == (0, 0, 10, 10)


def test_random_resized_crop_passes_its_settings_on():
    x = _coord_clip(t=1, h=40, w=60)
    y = random_resized_crop(x, 8, scale=(1.0, 1.0), ratio=(1.5, 1.5), generator=torch.Generator().manual_seed(0))
    assert y.shape == (3, 1, 8, 8)
    # the whole 40 x 60 clip (aspect 1.5, full area): corners map to rows 0..39 and columns 0..59
    assert float(y[1].min()) < 3 and float(y[1].max()) > 36 and float(y[2].min()) < 4 and float(y[2].max()) > 55
    t = RandomResizedCrop(8, scale=(1.0, 1.0), ratio=(1.5, 1.5), antialias=True)
    assert repr(t) == "RandomResizedCrop(size=8, scale=(1.0, 1.0), ratio=(1.5, 1.5), antialias=True)"
    assert torch.equal(t(x, generator=torch.Generator().manual_seed(0)),
                       random_resized_crop(x, 8, (1.0, 1.0), (1.5, 1.5), torch.Generator().manual_seed(0), True))


def test_multi_scale_crop_params_follow_the_draws_exactly():
    for more, n_off in ((True, 13), (False, 5)):
        for seed in range(60):  # enough draws to visit every one of the 13 offsets
            g = torch.Generator().manual_seed(seed)
            ref = torch.Generator().manual_seed(seed)
            top, left, h, w = multi_scale_crop_params(100, 200, 90, scales=(1.0, 0.5), max_distort=1,
                                                      more_fix_crop=more, generator=g)
            pairs = [(100, 100), (50, 100), (100, 50), (50, 50)]  # (w, h) with |i - j| <= 1
            cw, ch = pairs[int(torch.randint(0, 4, (), generator=ref))]
            ws, hs = (200 - cw) // 4, (100 - ch) // 4
            offsets = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs),
                       (0, 2 * hs), (4 * ws, 2 * hs), (2 * ws, 4 * hs), (2 * ws, 0),
                       (ws, hs), (3 * ws, hs), (ws, 3 * hs), (3 * ws, 3 * hs)][:n_off]
            lo, to = offsets[int(torch.randint(0, n_off, (), generator=ref))]
            assert (top, left, h, w) == (to, lo, ch, cw)
    # snapping: sides within 3 px of size become size; max_distort=0 keeps squares only
    sides = {multi_scale_crop_params(100, 100, 98, scales=(1.0, 0.97), max_distort=0,
                                     generator=torch.Generator().manual_seed(s))[2:] for s in range(20)}
    assert sides == {(98, 98)}  # 100 and 97 are both within 3 px of 98: snapped, squares only
    rect = {multi_scale_crop_params(100, 100, 50, scales=(1.0, 0.8), max_distort=0,
                                    generator=torch.Generator().manual_seed(s))[2:] for s in range(20)}
    assert rect == {(100, 100), (80, 80)}
    snapped = {multi_scale_crop_params(100, 100, 98, scales=(1.0,), generator=torch.Generator().manual_seed(0))[2:]}
    assert snapped == {(98, 98)}
    unsnapped = multi_scale_crop_params(100, 100, 97, scales=(1.0,), generator=torch.Generator().manual_seed(0))
    assert unsnapped[2:] == (100, 100)  # 3 px away: not snapped


def test_multi_scale_crop_transform_passes_its_settings_on():
    x = _coord_clip(t=1, h=40, w=60)
    t = MultiScaleCrop(8, scales=(0.5,), max_distort=0, more_fix_crop=False, antialias=True)
    assert repr(t) == "MultiScaleCrop(size=8, scales=(0.5,), max_distort=0, more_fix_crop=False, antialias=True)"
    assert torch.equal(t(x, generator=torch.Generator().manual_seed(2)),
                       multi_scale_crop(x, 8, (0.5,), 0, False, torch.Generator().manual_seed(2), True))
    y = multi_scale_crop(x, 20, scales=(0.5,), generator=torch.Generator().manual_seed(2))
    assert y.shape == (3, 1, 20, 20)
    ref = torch.Generator().manual_seed(2)
    top, left, h, w = multi_scale_crop_params(40, 60, 20, scales=(0.5,), generator=ref)
    assert (h, w) == (20, 20) and torch.equal(y, x[..., top:top + 20, left:left + 20])


def test_flip_edges_do_not_draw_and_use_p_strictly():
    x = _moving_dot(+1)
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert random_horizontal_flip(x, p=0.0, generator=g) is x
    assert random_horizontal_flip(x, p=0.9, enabled=False, generator=g) is x
    assert torch.equal(g.get_state(), state)  # no draw without a possible flip
    u = float(torch.rand((), generator=torch.Generator().manual_seed(0)))
    assert random_horizontal_flip(x, p=u, generator=torch.Generator().manual_seed(0)) is x  # u < u is false
    assert _direction(random_horizontal_flip(x, p=u + 1e-6, generator=torch.Generator().manual_seed(0))) == -1
    t = RandomHorizontalFlip()
    assert (t.p, t.enabled) == (0.5, True) and repr(t) == "RandomHorizontalFlip(p=0.5, enabled=True)"
    assert torch.equal(RandomHorizontalFlip(p=u + 1e-6)(x, generator=torch.Generator().manual_seed(0)), x.flip(-1))


def test_transform_objects_defaults_reprs_and_lists():
    assert repr(CenterCrop(32)) == "CenterCrop(size=32)"
    assert repr(ResizeShortSide(8)) == "ResizeShortSide(size=8, antialias=False)"
    assert repr(Compose([CenterCrop(2), ThreeCrop(2)])) == "Compose([CenterCrop(size=2), ThreeCrop(size=2)])"
    n = Normalize()
    assert (n.mean, n.std) == (IMAGENET_MEAN, IMAGENET_STD)
    views = (torch.ones(3, 1, 1, 1), torch.zeros(3, 1, 1, 1))
    out = n(views)
    assert isinstance(out, list) and torch.equal(out[1], normalize(views[1], IMAGENET_MEAN, IMAGENET_STD))
    x = torch.rand(3, 1, 6, 6)
    assert torch.equal(ResizeShortSide(4, antialias=True)(x), resize_short_side(x, 4, antialias=True))
    t = RandomResizedCrop(4)
    assert (t.scale, t.ratio, t.antialias) == ((0.08, 1.0), (3 / 4, 4 / 3), False)
    m = MultiScaleCrop(4)
    assert (m.scales, m.max_distort, m.more_fix_crop, m.antialias) == ((1.0, 0.875, 0.75, 0.66), 1, True, False)
    assert denormalize(torch.zeros(3, 1, 1, 1), IMAGENET_MEAN, IMAGENET_STD).flatten().tolist() == \
        pytest.approx(list(IMAGENET_MEAN))


def test_compose_hands_the_generator_to_kwargs_callables_only():
    from internvideo_core.data.transforms import _accepts_generator

    seen = []
    pipeline = Compose([lambda x, **kw: seen.append(kw) or x, lambda x: x + 1, abs])
    g = torch.Generator()
    assert torch.equal(pipeline(torch.tensor([-2.0]), generator=g), torch.tensor([1.0]))
    assert seen == [{"generator": g}]
    assert _accepts_generator(lambda x, generator=None: x) and not _accepts_generator(lambda x: x)
    assert _accepts_generator(lambda x, **kw: x)


def test_normalize_works_in_the_clip_dtype_and_device():
    x = torch.ones(3, 1, 1, 1, dtype=torch.float64)
    want = torch.tensor([(1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)], dtype=torch.float64)
    assert torch.equal(normalize(x, IMAGENET_MEAN, IMAGENET_STD).flatten(), want)  # float64 constants, exactly
    back = torch.tensor([0.5 * s + m for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)], dtype=torch.float64)
    assert torch.equal(denormalize(torch.full((3, 1, 1, 1), 0.5, dtype=torch.float64), IMAGENET_MEAN,
                                   IMAGENET_STD).flatten(), back)
    half = torch.ones(3, 1, 1, 1, dtype=torch.float16)
    assert normalize(half, IMAGENET_MEAN, IMAGENET_STD).dtype == torch.float16
    assert denormalize(half, IMAGENET_MEAN, IMAGENET_STD).dtype == torch.float16
    meta = torch.zeros(3, 1, 2, 2, device="meta")
    assert normalize(meta, IMAGENET_MEAN, IMAGENET_STD).device.type == "meta"
    assert denormalize(meta, IMAGENET_MEAN, IMAGENET_STD).device.type == "meta"


def test_spatial_crops_default_to_three():
    from internvideo_core.data.transforms import spatial_crops

    assert len(spatial_crops(_coord_clip(t=1, h=6, w=16), 6)) == 3


def test_antialias_off_by_default_and_passed_on_when_asked():
    from internvideo_core.data.transforms import resize

    checker = (torch.arange(9)[:, None] + torch.arange(9)[None, :]).remainder(2).float().expand(1, 1, 9, 9)
    sharp = resize(checker, (3, 3))
    full = dict(scale=(1.0, 1.0), ratio=(1.0, 1.0))
    assert torch.equal(resize_short_side(checker, 3), sharp)
    assert not torch.equal(resize_short_side(checker, 3, antialias=True), sharp)
    assert torch.equal(random_resized_crop(checker, 3, **full, generator=torch.Generator().manual_seed(0)), sharp)
    assert not torch.equal(random_resized_crop(checker, 3, **full, antialias=True), sharp)
    assert torch.equal(multi_scale_crop(checker, 3, scales=(1.0,), generator=torch.Generator().manual_seed(0)), sharp)
    assert not torch.equal(multi_scale_crop(checker, 3, scales=(1.0,), antialias=True), sharp)


def test_multi_scale_crop_default_distortion_is_one_step():
    x = _coord_clip(t=1, h=48, w=64)
    for seed in range(8):
        assert torch.equal(multi_scale_crop(x, 8, generator=torch.Generator().manual_seed(seed)),
                           multi_scale_crop(x, 8, max_distort=1, generator=torch.Generator().manual_seed(seed)))


def test_a_crop_exactly_as_large_as_the_clip_is_accepted_on_the_first_draw():
    from internvideo_core.data.transforms import random_resized_crop_params

    g = torch.Generator().manual_seed(0)
    assert random_resized_crop_params(10, 12, scale=(1.0, 1.0), ratio=(1.2, 1.2), generator=g) == (0, 0, 10, 12)
    ref = torch.Generator().manual_seed(0)
    for _ in range(2):
        torch.rand((), generator=ref)
    for _ in range(2):
        torch.randint(0, 1, (), generator=ref)
    assert torch.equal(g.get_state(), ref.get_state())  # two uniforms and two offsets, no fallback draws


def test_crop_sides_must_be_at_least_one_pixel():
    from internvideo_core.data.transforms import random_resized_crop_params

    def box(scale, ratio):
        return random_resized_crop_params(10, 10, scale=(scale, scale), ratio=(ratio, ratio),
                                          generator=torch.Generator().manual_seed(0))

    assert box(0.01, 1.0)[2:] == (1, 1)  # a 1 x 1 crop is a valid draw
    assert box(0.005, 0.01) == (0, 5, 10, 0)  # every draw has width 0: the central fallback
    assert box(0.005, 100.0) == (5, 0, 0, 10)  # every draw has height 0: the central fallback


def test_transform_objects_hand_over_their_settings_and_the_generator():
    x = _coord_clip(t=1, h=40, w=60)
    for seed in range(4):
        rrc = RandomResizedCrop(8, scale=(0.2, 0.9))(x, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(rrc, random_resized_crop(x, 8, (0.2, 0.9), generator=torch.Generator().manual_seed(seed)))
        msc = MultiScaleCrop(8)(x, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(msc, multi_scale_crop(x, 8, generator=torch.Generator().manual_seed(seed)))
    right = _moving_dot(+1)
    u = float(torch.rand((), generator=torch.Generator().manual_seed(0)))
    flip = RandomHorizontalFlip(p=u + 1e-6)
    assert _direction(flip(right, generator=torch.Generator().manual_seed(0))) == -1
    keep = RandomHorizontalFlip(p=u - 1e-6)
    assert _direction(keep(right, generator=torch.Generator().manual_seed(0))) == 1
    assert _direction(RandomHorizontalFlip(p=1.0, enabled=False)(right)) == 1


def test_frames_to_tensor_gives_a_contiguous_clip_not_a_channels_last_view():
    """The permuted uint8 frames are copied into a contiguous ``[3, T, H, W]`` clip, so ``view``-style
    reshapes downstream (``[C*T, 1, H, W]`` in :func:`resize`) need no further copy."""
    x = frames_to_tensor(torch.randint(0, 256, (3, 4, 5, 3), dtype=torch.uint8))
    assert x.is_contiguous() and x.stride() == (60, 20, 5, 1)
    assert x.view(9, 1, 4, 5).shape == (9, 1, 4, 5)  # a view, no copy


def test_spatial_crop_offsets_default_to_three_views():
    from internvideo_core.data.transforms import spatial_crop_offsets

    assert spatial_crop_offsets(48, 80, 48) == [(0, 0), (0, 16), (0, 32)]


def test_random_resized_crop_tries_ten_boxes_before_the_fallback():
    """torchvision's (and the official loaders') 10 attempts, two draws each: the fallback is reached after
    exactly 20 draws, so the random stream that follows is the official one."""
    from internvideo_core.data.transforms import random_resized_crop_params

    g = torch.Generator().manual_seed(0)
    assert random_resized_crop_params(10, 10, scale=(4.0, 4.0), generator=g) == (0, 0, 10, 10)  # never fits
    ref = torch.Generator().manual_seed(0)
    torch.rand(20, generator=ref)
    assert torch.equal(g.get_state(), ref.get_state())
