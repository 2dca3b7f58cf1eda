"""Optimizer parameter groups (official layer decay / no-weight-decay), lr scaling and schedules."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from internvideo_core import create_model
from internvideo_core.train.config import FinetuneConfig, PretrainConfig
from internvideo_core.train.loop import setup_optimization
from internvideo_core.train.optim import create_optimizer, official_layer_id, param_groups, scale_lr, unwrap_model
from internvideo_core.train.schedule import WarmupCosine, apply_schedule, cosine_scheduler

TINY = dict(img_size=32, num_frames=4, embed_dim=32, depth=3, num_heads=2)


pytestmark = pytest.mark.usefixtures("one_thread")


def _official_layer(name: str, num_max_layer: int) -> int:
    """Restatement of the official ``get_num_layer_for_vit`` (num_max_layer = depth + 2)."""
    if name in ("cls_token", "mask_token", "pos_embed"):
        return 0
    if name.startswith("patch_embed"):
        return 0
    if name.startswith("rel_pos_bias"):
        return num_max_layer - 1
    if name.startswith("blocks"):
        return int(name.split(".")[1]) + 1
    return num_max_layer - 1


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    return create_model("videomae_vit_tiny_synth", **TINY)


def test_layer_decay_groups_follow_official_mapping(classifier):
    ld, wd = 0.75, 0.05
    groups = param_groups(classifier, weight_decay=wd, layer_decay=ld)
    depth = classifier.get_num_layers()
    assert depth == 3
    seen = {}
    for g in groups:
        for name, p in zip(g["param_names"], g["params"]):
            seen[name] = (g["lr_scale"], g["weight_decay"])
    names = [n for n, p in classifier.named_parameters() if p.requires_grad]
    assert sorted(seen) == sorted(names)
    skip = classifier.no_weight_decay()
    for name, p in classifier.named_parameters():
        layer = _official_layer(name, depth + 2)
        scale, decay = seen[name]
        assert scale == pytest.approx(ld ** (depth + 1 - layer), rel=1e-12), name
        official_no_wd = p.ndim == 1 or name.endswith(".bias") or name in skip
        assert decay == (0.0 if official_no_wd else wd), name
    # spot checks of the mapping
    assert seen["patch_embed.proj.weight"] == (pytest.approx(ld ** 4), wd)
    assert seen["blocks.0.attn.q_bias"] == (pytest.approx(ld ** 3), 0.0)
    assert seen["blocks.2.mlp.fc1.weight"] == (pytest.approx(ld ** 1), wd)
    assert seen["fc_norm.weight"] == (1.0, 0.0)
    assert seen["head.weight"] == (1.0, wd)
    assert official_layer_id("encoder.blocks.1.norm1.weight", 3) == 2
    assert official_layer_id("head.bias", 3) == 4


def test_no_layer_decay_gives_two_groups_and_pretrain_skips():
    model = create_model("videomae_pretrain_tiny_synth", **TINY, decoder_embed_dim=16, decoder_depth=1,
                         decoder_num_heads=2)
    groups = {g["group_name"]: g for g in param_groups(model, weight_decay=0.05)}
    assert set(groups) == {"decay", "no_decay"}
    assert "mask_token" in groups["no_decay"]["param_names"]  # 3-D but in no_weight_decay()
    assert "encoder.patch_embed.proj.bias" in groups["no_decay"]["param_names"]
    assert "encoder_to_decoder.weight" in groups["decay"]["param_names"]
    assert all(g["lr_scale"] == 1.0 for g in groups.values())


def test_scalar_params_get_no_weight_decay():
    m = torch.nn.Module()
    m.logit_scale = torch.nn.Parameter(torch.tensor(2.0))
    m.proj = torch.nn.Parameter(torch.ones(3, 3))
    groups = {g["group_name"]: g["param_names"] for g in param_groups(m, weight_decay=0.1)}
    assert groups == {"no_decay": ["logit_scale"], "decay": ["proj"]}


def test_create_optimizer_and_schedule_apply_lr_scale(classifier):
    opt = create_optimizer(classifier, lr=1e-3, weight_decay=0.05, layer_decay=0.5, betas=(0.9, 0.95))
    assert isinstance(opt, torch.optim.AdamW)
    for g in opt.param_groups:
        assert g["lr"] == pytest.approx(1e-3 * g["lr_scale"])
        assert g["betas"] == (0.9, 0.95)
    sched = WarmupCosine(base=2e-3, final=1e-5, total_steps=10, warmup_steps=2, start_warmup_value=0.0)
    wd = WarmupCosine(base=0.05, final=0.2, total_steps=10)
    lr = apply_schedule(opt, 1, sched, wd)
    assert lr == pytest.approx(2e-3)
    for g in opt.param_groups:
        assert g["lr"] == pytest.approx(2e-3 * g["lr_scale"])
        assert g["weight_decay"] == (pytest.approx(wd(1)) if "_decay" in g["group_name"] and
                                     not g["group_name"].endswith("no_decay") else 0.0)


def test_lr_is_scaled_by_total_batch_over_256(classifier):
    assert scale_lr(1e-3, 512) == pytest.approx(2e-3)
    assert scale_lr(1.5e-4, 64) == pytest.approx(3.75e-5)
    loader = DataLoader(TensorDataset(torch.zeros(24, 1)), batch_size=8)
    cfg = FinetuneConfig(epochs=2, base_lr=1e-3, min_lr=1e-6, warmup_lr=1e-6, warmup_epochs=1, layer_decay=0.75)
    opt, lr_s, wd_s, spe, peak = setup_optimization(classifier, cfg, loader, layer_decay=0.75)
    assert spe == 3 and peak == pytest.approx(1e-3 * 8 / 256)
    assert lr_s.total_steps == 6 and lr_s.warmup_steps == 3
    assert lr_s(0) == pytest.approx(1e-6 * 8 / 256)  # warmup_lr is scaled as well (official)
    assert lr_s(2) == pytest.approx(peak)
    assert lr_s(5) == pytest.approx(1e-6 * 8 / 256 + 0.5 * (peak - 1e-6 * 8 / 256) * (1 + math.cos(math.pi * 2 / 3)))
    cfg2 = PretrainConfig(epochs=1, scale_lr=False, base_lr=0.1)
    _, lr2, _, _, peak2 = setup_optimization(classifier, cfg2, loader)
    assert peak2 == 0.1


def _official_cosine(base, final, epochs, niter, warmup_epochs=0, start=0.0, warmup_steps=-1):
    """Restatement of the official ``utils.cosine_scheduler`` (numpy)."""
    warm = np.array([])
    warmup_iters = warmup_epochs * niter
    if warmup_steps > 0:
        warmup_iters = warmup_steps
    if warmup_epochs > 0:
        warm = np.linspace(start, base, warmup_iters)
    iters = np.arange(epochs * niter - warmup_iters)
    sched = np.array([final + 0.5 * (base - final) * (1 + math.cos(math.pi * i / len(iters))) for i in iters])
    return np.concatenate((warm, sched))


@pytest.mark.parametrize("args", [
    (1.0, 0.1, 10, 10, 2, 0.0, -1),
    (5e-4, 1e-6, 7, 3, 1, 1e-6, -1),
    (1.5e-4, 1e-5, 4, 5, 1, 1e-6, 7),
    (1e-3, 0.0, 3, 4, 0, 0.0, -1),
])
def test_warmup_cosine_equals_official_array(args):
    ours = cosine_scheduler(*args)
    ref = _official_cosine(*args)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_warmup_cosine_values_at_chosen_steps():
    s = WarmupCosine.from_epochs(1.0, 0.1, epochs=10, iters_per_epoch=10, warmup_epochs=2)
    assert s(0) == 0.0
    assert s(10) == pytest.approx(10 / 19)
    assert s(19) == pytest.approx(1.0)  # last warmup step reaches the peak
    assert s(20) == pytest.approx(1.0)  # cosine starts at the peak
    assert s(60) == pytest.approx(0.55)  # half-way through the cosine
    assert s(99) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 79 / 80)))
    assert s(500) == s(99)  # past the end: stays at the last value
    with pytest.raises(ValueError):
        WarmupCosine(1.0, 0.0, total_steps=5, warmup_steps=6)


class _Toy(torch.nn.Module):
    """Two 'blocks' and a head, all 2-D weights plus biases; no get_num_layers / no_weight_decay."""

    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)])
        self.head = torch.nn.Linear(2, 1)


def test_unwrap_model_removes_ddp_and_compile_wrappers_at_any_depth():
    inner = _Toy()
    ddp = torch.nn.Module()
    ddp.module = inner
    compiled = torch.nn.Module()
    compiled._orig_mod = ddp
    assert unwrap_model(compiled) is inner
    assert unwrap_model(ddp) is inner
    assert unwrap_model(inner) is inner
    odd = torch.nn.Module()
    odd.module = "not a module"
    assert unwrap_model(odd) is odd


def test_param_groups_layer_decay_needs_the_depth_and_honours_overrides():
    toy = _Toy()
    with pytest.raises(ValueError, match=r"layer_decay=0.5 needs the depth: _Toy has no get_num_layers\(\)"):
        param_groups(toy, weight_decay=0.1, layer_decay=0.5)
    groups = {g["group_name"]: g for g in param_groups(toy, weight_decay=0.1, layer_decay=0.5, num_layers=2)}
    assert groups["layer_1_decay"]["param_names"] == ["blocks.0.weight"]
    assert groups["layer_1_decay"]["lr_scale"] == 0.25 and groups["layer_1_decay"]["weight_decay"] == 0.1
    assert groups["layer_2_no_decay"]["param_names"] == ["blocks.1.bias"]
    assert groups["layer_2_no_decay"]["lr_scale"] == 0.5 and groups["layer_2_no_decay"]["weight_decay"] == 0.0
    assert groups["layer_3_decay"]["param_names"] == ["head.weight"] and groups["layer_3_decay"]["lr_scale"] == 1.0
    # a custom layer-id function and an explicit skip list
    groups = {g["group_name"]: g for g in param_groups(toy, weight_decay=0.1, layer_decay=0.5, num_layers=2,
                                                        layer_id_fn=lambda n: 0, skip_list=["head.weight"])}
    assert set(groups) == {"layer_0_decay", "layer_0_no_decay"}
    assert groups["layer_0_decay"]["lr_scale"] == 0.125
    assert groups["layer_0_no_decay"]["param_names"] == ["blocks.0.bias", "blocks.1.bias", "head.weight",
                                                         "head.bias"]
    # a model's own get_layer_id wins over the official mapping
    toy.get_num_layers = lambda: 2
    toy.get_layer_id = lambda n: 3
    groups = param_groups(toy, weight_decay=0.1, layer_decay=0.5)
    assert {g["group_name"] for g in groups} == {"layer_3_decay", "layer_3_no_decay"}
    assert all(g["lr_scale"] == 1.0 for g in groups)


def test_a_multi_dimensional_bias_gets_no_weight_decay():
    m = torch.nn.Module()
    m.sub = torch.nn.Module()
    m.sub.bias = torch.nn.Parameter(torch.ones(2, 2))  # 2-D, so only the ".bias" name rule applies
    m.bias_like = torch.nn.Parameter(torch.ones(2, 2))  # name does not end with ".bias"
    groups = {g["group_name"]: g["param_names"] for g in param_groups(m, weight_decay=0.1)}
    assert groups == {"no_decay": ["sub.bias"], "decay": ["bias_like"]}


def test_param_groups_skip_frozen_params_and_layer_decay_one_is_off():
    toy = _Toy()
    toy.blocks[0].weight.requires_grad_(False)
    groups = {g["group_name"]: g for g in param_groups(toy, weight_decay=0.1, layer_decay=1.0)}
    assert set(groups) == {"decay", "no_decay"}  # 1.0 means no layer decay (no depth needed)
    assert groups["decay"]["param_names"] == ["blocks.1.weight", "head.weight"]


def test_create_optimizer_defaults_on_cpu():
    toy = _Toy()
    opt = create_optimizer(toy, lr=0.1)
    assert opt.defaults["betas"] == (0.9, 0.999) and opt.defaults["eps"] == 1e-8
    assert opt.defaults["weight_decay"] == 0.0 and not opt.defaults.get("fused")
    assert {g["group_name"]: g["weight_decay"] for g in opt.param_groups} == {"decay": 0.05, "no_decay": 0.0}
    assert all(g["lr"] == 0.1 for g in opt.param_groups) and opt.defaults["lr"] == 0.1
    assert create_optimizer(toy, lr=0.1, fused=True).defaults["fused"] is True  # an explicit choice is passed on
    opt = create_optimizer(toy, lr=0.1, eps=1e-6, skip_list=["head.weight"], fused=False)
    assert opt.defaults["eps"] == 1e-6
    assert "head.weight" in {n for g in opt.param_groups if g["weight_decay"] == 0.0 for n in g["param_names"]}


def test_warmup_cosine_single_warmup_step_and_no_cosine_phase():
    s = WarmupCosine(base=1.0, final=0.0, total_steps=3, warmup_steps=1, start_warmup_value=0.25)
    assert s(0) == 0.25  # one warmup step: the official linspace(start, base, 1) == [start]
    assert s(1) == 1.0 and s(2) == 0.5  # cosine over the 2 remaining steps
    assert s(3) == 0.5 and s(4) == 0.5  # past the end: held at the last value, not at final
    only_warmup = WarmupCosine(base=1.0, final=0.5, total_steps=3, warmup_steps=3, start_warmup_value=0.0)
    assert only_warmup.as_array().tolist() == [0.0, 0.5, 1.0]
    assert only_warmup(3) == 1.0 and only_warmup(10) == 1.0  # no cosine steps: stays at the peak
    s = WarmupCosine(base=2.0, final=1.0, total_steps=4, warmup_steps=2, start_warmup_value=1.0)
    assert s.as_array().tolist() == [1.0, 2.0, 2.0, 1.5]
    assert isinstance(s(0), float) and isinstance(s(3), float)


def test_warmup_cosine_validates_its_lengths():
    with pytest.raises(ValueError, match="total_steps must be positive"):
        WarmupCosine(1.0, 0.0, total_steps=0)
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosine(1.0, 0.0, total_steps=5, warmup_steps=-1)
    assert WarmupCosine(1.0, 0.0, total_steps=1).as_array().tolist() == [1.0]
    assert WarmupCosine(1.0, 0.0, total_steps=5, warmup_steps=5)(4) == 1.0


def test_from_epochs_warmup_steps_win_and_are_capped_at_the_total():
    s = WarmupCosine.from_epochs(1.0, 0.0, epochs=2, iters_per_epoch=3, warmup_epochs=1, warmup_steps=2,
                                 start_warmup_value=0.5)
    assert (s.total_steps, s.warmup_steps, s.start_warmup_value) == (6, 2, 0.5)
    assert WarmupCosine.from_epochs(1.0, 0.0, 2, 3, warmup_epochs=1, warmup_steps=0).warmup_steps == 3
    assert WarmupCosine.from_epochs(1.0, 0.0, 2, 3, warmup_epochs=1.5).warmup_steps == 4
    assert WarmupCosine.from_epochs(1.0, 0.0, 2, 3, warmup_steps=9).warmup_steps == 6
    assert WarmupCosine.from_epochs(1.0, 0.0, 2, 3).warmup_steps == 0
    assert WarmupCosine.from_epochs(1.0, 0.0, 2, 3, warmup_epochs=1, warmup_steps=1).warmup_steps == 1
    assert cosine_scheduler(1.0, 0.0, 2, 3, 1)[0] == 0.0  # start_warmup_value defaults to 0
    np.testing.assert_array_equal(cosine_scheduler(1.0, 0.0, 2, 3, 1, 0.5, 2), s.as_array())
    np.testing.assert_array_equal(cosine_scheduler(1.0, 0.0, 2, 3),
                                  WarmupCosine(1.0, 0.0, total_steps=6).as_array())


def test_apply_schedule_without_schedules_and_with_undecayed_groups():
    p1, p2, p3 = (torch.nn.Parameter(torch.ones(2, 2)) for _ in range(3))
    opt = torch.optim.AdamW([{"params": [p1], "lr": 0.3, "weight_decay": 0.1, "lr_scale": 0.5},
                             {"params": [p2], "lr": 0.6, "weight_decay": 0.0},
                             {"params": [p3], "lr": 0.6, "weight_decay": 0.2}], lr=0.3)
    assert apply_schedule(opt, 0, None) == 0.3  # the first group's lr
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.6, 0.6]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0, 0.2]
    lr = WarmupCosine(base=0.4, final=0.4, total_steps=2)
    wd = WarmupCosine(base=0.7, final=0.7, total_steps=2)
    out = apply_schedule(opt, 1, lr, wd)
    assert out == 0.4 and isinstance(out, float)
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.4, 0.4]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.7, 0.0, 0.7]
    apply_schedule(opt, 1, None, WarmupCosine(base=0.9, final=0.9, total_steps=2))
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.4, 0.4]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.9, 0.0, 0.9]


def test_a_single_cosine_step_is_the_official_formula_to_the_bit():
    """With one step after the warmup the official array holds ``final + 0.5 * (base - final) * (1 + cos 0)``,
    which is not always ``base`` in floating point (here 0.09999999999999998); the kit computes the same."""
    s = WarmupCosine(base=0.1, final=0.7, total_steps=2, warmup_steps=1, start_warmup_value=0.0)
    official = 0.7 + 0.5 * (0.1 - 0.7) * (1 + math.cos(0.0))
    assert official != 0.1
    assert s(1) == official and s(5) == official
    assert s.as_array().tolist() == [0.0, official]
