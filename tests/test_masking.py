"""Tube and random masking: exact counts, tube structure, explicit generators, determinism."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from internvideo_core.masking import make_mask, num_masked, random_mask, tube_mask

grids = st.tuples(st.integers(1, 8), st.integers(1, 14), st.integers(1, 14))
ratios = st.floats(0.0, 0.99)


@settings(max_examples=60, deadline=None)
@given(batch=st.integers(1, 5), grid=grids, ratio=ratios, seed=st.integers(0, 2**31))
def test_tube_mask_invariants(batch, grid, ratio, seed):
    t, h, w = grid
    mask = tube_mask(batch, grid, ratio, generator=torch.Generator().manual_seed(seed))
    assert mask.dtype == torch.bool and mask.shape == (batch, t * h * w)
    per_slot = mask.view(batch, t, h * w)
    # the same spatial mask in every time slot
    assert torch.equal(per_slot, per_slot[:, :1].expand_as(per_slot))
    # exactly int(ratio * h * w) masked positions per slot (official TubeMaskingGenerator)
    assert (per_slot.sum(-1) == int(ratio * h * w)).all()
    assert (mask.sum(1) == num_masked("tube", grid, ratio)).all()


@settings(max_examples=60, deadline=None)
@given(batch=st.integers(1, 5), grid=grids, ratio=ratios, seed=st.integers(0, 2**31))
def test_random_mask_invariants(batch, grid, ratio, seed):
    n = grid[0] * grid[1] * grid[2]
    mask = random_mask(batch, grid, ratio, generator=torch.Generator().manual_seed(seed))
    assert mask.dtype == torch.bool and mask.shape == (batch, n)
    assert (mask.sum(1) == int(ratio * n)).all()
    assert (mask.sum(1) == num_masked("random", grid, ratio)).all()


def test_official_counts_at_224():
    g = torch.Generator().manual_seed(0)
    mask = tube_mask(2, (8, 14, 14), 0.9, generator=g)
    assert mask.sum(1).tolist() == [8 * 176, 8 * 176]
    assert random_mask(2, (8, 14, 14), 0.9, generator=g).sum(1).tolist() == [int(0.9 * 1568)] * 2


def test_same_seed_same_mask_and_batch_items_differ():
    a = tube_mask(4, (8, 4, 4), 0.75, generator=torch.Generator().manual_seed(3))
    b = tube_mask(4, (8, 4, 4), 0.75, generator=torch.Generator().manual_seed(3))
    c = tube_mask(4, (8, 4, 4), 0.75, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert len({tuple(row.tolist()) for row in a}) > 1


def test_global_rng_is_not_used():
    torch.manual_seed(0)
    state = torch.get_rng_state()
    tube_mask(3, (2, 3, 3), 0.5, generator=torch.Generator().manual_seed(0))
    random_mask(3, (2, 3, 3), 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(state, torch.get_rng_state())


def test_generator_is_required_and_arguments_are_checked():
    with pytest.raises(TypeError, match="torch.Generator"):
        tube_mask(1, (2, 2, 2), 0.5, generator=None)
    with pytest.raises(TypeError):
        random_mask(1, (2, 2, 2), 0.5)  # generator is keyword-only and required
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="ratio"):
        tube_mask(1, (2, 2, 2), 1.0, generator=g)
    with pytest.raises(ValueError, match="grid"):
        random_mask(1, (2, 0, 2), 0.5, generator=g)
    with pytest.raises(ValueError, match="unknown mask kind"):
        make_mask("block", 1, (2, 2, 2), 0.5, generator=g)


def test_make_mask_dispatches():
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(make_mask("tube", 2, (4, 3, 3), 0.6, generator=g1),
                       tube_mask(2, (4, 3, 3), 0.6, generator=g2))
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(make_mask("random", 2, (4, 3, 3), 0.6, generator=g1),
                       random_mask(2, (4, 3, 3), 0.6, generator=g2))


def test_positions_are_uniform():
    """Every spatial position is masked about equally often (no positional bias)."""
    mask = tube_mask(4000, (1, 4, 4), 0.75, generator=torch.Generator().manual_seed(0))
    freq = mask.float().mean(0)
    assert (freq - 0.75).abs().max() < 0.04
    rmask = random_mask(4000, (2, 2, 4), 0.5, generator=torch.Generator().manual_seed(0))
    assert (rmask.float().mean(0) - 0.5).abs().max() < 0.04


def test_random_mask_is_not_a_tube():
    mask = random_mask(8, (8, 4, 4), 0.75, generator=torch.Generator().manual_seed(0)).view(8, 8, 16)
    assert not torch.equal(mask, mask[:, :1].expand_as(mask))


def test_official_fixture_mask_is_a_tube_mask(official_dir):
    io = load_file(official_dir / "videomae_pretrain_io.safetensors")
    mask = io["mask"].bool().view(-1, 8, 4)
    assert torch.equal(mask, mask[:, :1].expand_as(mask))
    assert (mask.sum(-1) == int(0.75 * 4)).all()


def test_device_argument():
    mask = tube_mask(1, (2, 2, 2), 0.5, generator=torch.Generator().manual_seed(0), device="meta")
    assert mask.device.type == "meta"


@pytest.mark.parametrize("kind", ["tube", "random"])
def test_make_mask_passes_the_device_on(kind):
    mask = make_mask(kind, 2, (2, 2, 2), 0.5, generator=torch.Generator().manual_seed(0), device="meta")
    assert mask.device.type == "meta" and mask.shape == (2, 8)


def test_random_count_multiplies_the_ratio_by_n_in_one_step():
    """``1/3 * 21`` is 7.0 but ``1/3 * 7 * 3`` is 6.999...: the count is ``int(ratio * N)`` like the official
    ``RandomMaskingGenerator`` and :func:`random_mask`, not a product taken factor by factor."""
    ratio = 1 / 3
    assert num_masked("random", (1, 7, 3), ratio) == int(ratio * 21) == 7
    mask = random_mask(1, (1, 7, 3), ratio, generator=torch.Generator().manual_seed(0))
    assert int(mask.sum()) == 7


def test_visible_statistics_use_the_visible_tokens_only_weighted_by_inverse_squared_distance():
    from internvideo_core.masking import visible_statistics

    grid = (1, 1, 3)                                  # three tokens in a row
    mask = torch.tensor([[False, True, False]])       # the middle one hidden
    mean = torch.tensor([[[1.0], [100.0], [4.0]]])
    std = torch.tensor([[[2.0], [100.0], [8.0]]])
    est_mean, est_std = visible_statistics(mean, std, mask, grid)
    # token 0: itself (distance 0 counts as 1, weight 1) and token 2 (distance 2, weight 1/4)
    assert torch.allclose(est_mean[0, 0], torch.tensor([(1.0 + 4.0 / 4) / 1.25]))
    # the hidden middle token: both neighbours at distance 1, the hidden value never used
    assert torch.allclose(est_mean[0, 1], torch.tensor([2.5])) and torch.allclose(est_std[0, 1], torch.tensor([5.0]))
    everything_hidden = visible_statistics(mean, std, torch.ones(1, 3, dtype=torch.bool), grid)[0]
    assert torch.equal(everything_hidden, torch.zeros_like(mean))     # no source: 0, not NaN


def test_error_messages_say_what_to_pass():
    """The messages are user-facing: pinned whole, so a mangled one fails."""
    g = torch.Generator().manual_seed(0)
    with pytest.raises(TypeError, match=r"^pass an explicit torch\.Generator \(e\.g\. torch\.Generator\(\)"
                                        r"\.manual_seed\(0\)\); masks never draw from the global RNG$"):
        tube_mask(1, (2, 2, 2), 0.5, generator=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^need batch >= 0 and a grid of three positive sizes \(t, h, w\), "
                                         r"got -1, \(2, 2, 2\)$"):
        tube_mask(-1, (2, 2, 2), 0.5, generator=g)
    with pytest.raises(ValueError, match=r"^mask ratio must be in \[0, 1\), got -0\.1$"):
        random_mask(1, (2, 2, 2), -0.1, generator=g)


@pytest.mark.parametrize("grid", [(2, 2), (2, 2, 2, 2)])
@pytest.mark.parametrize("fn", [tube_mask, random_mask])
def test_a_grid_without_exactly_three_sizes_is_refused(fn, grid):
    # random_mask would happily multiply the first three sizes of (2, 2, 2, 2) without the check
    with pytest.raises(ValueError, match="a grid of three positive sizes"):
        fn(1, grid, 0.5, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("fn", [tube_mask, random_mask])
def test_an_empty_batch_is_allowed_and_gives_no_rows(fn):
    mask = fn(0, (2, 3, 3), 0.5, generator=torch.Generator().manual_seed(0))
    assert mask.shape == (0, 18) and mask.dtype == torch.bool


def test_ratio_zero_masks_nothing_and_sizes_of_one_are_valid():
    g = torch.Generator().manual_seed(0)
    assert not tube_mask(2, (1, 1, 1), 0.0, generator=g).any()
    assert not random_mask(2, (1, 1, 1), 0.0, generator=g).any()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA generator")
@pytest.mark.parametrize("fn", [tube_mask, random_mask])
def test_a_cuda_generator_draws_on_its_own_device(fn):
    g = torch.Generator(device="cuda").manual_seed(0)
    mask = fn(2, (2, 3, 3), 0.5, generator=g)
    assert mask.device.type == "cuda" and mask.shape == (2, 18)
    assert int(mask.sum()) == 2 * num_masked("tube" if fn is tube_mask else "random", (2, 3, 3), 0.5)


def test_visible_statistics_of_a_token_with_only_far_sources_is_their_weighted_mean_not_shrunk():
    """A hidden token whose visible sources have weights summing below 1 (one source at distance 2: 1/4) gets
    that source's value exactly: the normalisation divides by the weight sum, only guarding against 0."""
    from internvideo_core.masking import visible_statistics

    grid = (1, 1, 3)
    mask = torch.tensor([[False, True, True]])        # only token 0 visible
    mean = torch.tensor([[[3.0], [100.0], [100.0]]])
    std = torch.tensor([[[5.0], [100.0], [100.0]]])
    est_mean, est_std = visible_statistics(mean, std, mask, grid)
    assert torch.allclose(est_mean, torch.full((1, 3, 1), 3.0)) and torch.allclose(est_std, torch.full((1, 3, 1), 5.0))
