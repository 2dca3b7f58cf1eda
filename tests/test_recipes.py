"""The VideoMAE-on-SynthMotion recipe (notebooks 02 and 03) at smoke size: data, loader, training, testing."""
from __future__ import annotations

import pytest
import torch

from internvideo_core.recipes import videomae_synth as R
from internvideo_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD


@pytest.fixture(scope="module")
def recipe() -> R.VideoMAESynthRecipe:
    return R.get_recipe("smoke")


@pytest.fixture(scope="module")
def data(recipe) -> R.SynthData:
    return R.load_synth_data(recipe, seed=0)


def test_profiles_and_overrides():
    assert set(R.RECIPES) == {"smoke", "tutorial", "full"}
    r = R.get_recipe("tutorial", mask_ratio=0.75)
    assert r.mask_ratio == 0.75 and R.get_recipe("tutorial").mask_ratio == 0.9
    assert R.get_recipe("tutorial").mask_type == "tube"
    with pytest.raises(ValueError, match="unknown profile"):
        R.get_recipe("huge")
    for r in R.RECIPES.values():  # every recipe builds a consistent token grid
        assert r.img_size % r.patch_size == 0 and r.num_frames % r.tubelet_size == 0
        assert r.render_size >= r.img_size and r.clip_frames >= r.num_frames * r.frame_stride - r.frame_stride + 1


def test_fingerprint_tracks_model_and_pretraining_fields():
    base = R.get_recipe("tutorial")
    assert base.fingerprint() == R.get_recipe("tutorial").fingerprint()
    assert base.replace(embed_dim=base.embed_dim * 2).fingerprint() != base.fingerprint()
    assert base.replace(pretrain_epochs=base.pretrain_epochs + 1).fingerprint() != base.fingerprint()
    assert base.replace(finetune_epochs=base.finetune_epochs + 1).fingerprint() == base.fingerprint()


def test_data_split_sizes(recipe, data):
    n_classes = len(data.classes)
    assert n_classes == 12
    assert data.train_videos.shape[0] == recipe.labels_per_class * n_classes
    assert torch.bincount(data.train_labels, minlength=n_classes).tolist() == [recipe.labels_per_class] * n_classes
    assert data.pool.dtype == torch.uint8 and data.pool.shape[1:] == (recipe.clip_frames, recipe.render_size,
                                                                        recipe.render_size, 3)
    assert len(data.test_videos) == len(data.test_labels) > 0
    # the labelled clips are part of the unlabelled pool (semi-supervised setting), test clips are not
    pool = {bytes(v.flatten()[:4096].numpy()) for v in data.pool}
    assert all(bytes(v.flatten()[:4096].numpy()) in pool for v in data.train_videos)
    assert not any(bytes(v.flatten()[:4096].numpy()) in pool for v in data.test_videos)


def test_clips_to_input_matches_manual_crop_and_normalisation(recipe):
    g = torch.Generator().manual_seed(0)
    v = torch.randint(0, 256, (3, recipe.clip_frames, recipe.render_size, recipe.render_size, 3), dtype=torch.uint8,
                      generator=g)
    s, st = recipe.img_size, recipe.frame_stride
    off, top, left = torch.tensor([0, 1, st - 1]), torch.tensor([0, 2, 4]), torch.tensor([4, 0, 1])
    x = R.clips_to_input(v, recipe, offset=off, crop=(top, left))
    assert x.shape == (3, 3, recipe.num_frames, s, s)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1, 1)
    for i in range(3):
        o, y0, x0 = int(off[i]), int(top[i]), int(left[i])
        ref = v[i, o::st][: recipe.num_frames, y0:y0 + s, x0:x0 + s].permute(3, 0, 1, 2).float() / 255
        torch.testing.assert_close(x[i], (ref - mean) / std)
    centre = R.clips_to_input(v[:1], recipe)
    c = (recipe.render_size - s) // 2
    ref = v[0, ::st][: recipe.num_frames, c:c + s, c:c + s].permute(3, 0, 1, 2).float() / 255
    torch.testing.assert_close(centre[0], (ref - mean) / std)


def test_loader_shuffles_per_epoch_and_keeps_labels(recipe):
    n = 10
    videos = torch.zeros(n, recipe.clip_frames, recipe.render_size, recipe.render_size, 3, dtype=torch.uint8)
    for i in range(n):  # clip i is filled with the value 20 * i, its label is i
        videos[i] = 20 * i
    labels = torch.arange(n)
    loader = R.ClipLoader(videos, labels, recipe, batch_size=4, train=True, seed=1)
    assert len(loader) == 2  # last incomplete batch dropped

    def epoch_labels(e: int) -> list[int]:
        loader.set_epoch(e)
        out = []
        for x, y in loader:
            assert x.shape == (4, 3, recipe.num_frames, recipe.img_size, recipe.img_size)
            value = (x[:, 0, 0, 0, 0] * IMAGENET_STD[0] + IMAGENET_MEAN[0]) * 255  # undo normalisation
            assert torch.allclose(value, 20.0 * y.float(), atol=1e-3)
            out += y.tolist()
        return out

    assert epoch_labels(0) == epoch_labels(0)
    assert epoch_labels(0) != epoch_labels(1)
    test_loader = R.ClipLoader(videos, None, recipe, batch_size=4, train=False)
    assert len(test_loader) == 3 and sum(len(x) for x in test_loader) == n


def test_shuffle_frames_permutes_each_clip():
    g = torch.Generator().manual_seed(0)
    v = torch.arange(4 * 8, dtype=torch.uint8).view(4, 8, 1, 1, 1).expand(4, 8, 2, 2, 3).contiguous()
    s = R.shuffle_frames(v, g)
    assert s.shape == v.shape
    for i in range(4):
        assert sorted(s[i, :, 0, 0, 0].tolist()) == v[i, :, 0, 0, 0].tolist()
    assert not torch.equal(s, v)


def test_copy_baseline_shows_leakage_of_random_masking_only():
    r = R.get_recipe("smoke", frame_stride=2)  # 8 frames: 4 time slots
    model = R.build_pretrain_model(r)
    g = torch.Generator().manual_seed(0)
    v = torch.randint(0, 256, (4, r.clip_frames, r.render_size, r.render_size, 3), dtype=torch.uint8, generator=g)
    tube = R.copy_neighbour_error(model, v, r, "tube", 0.9)
    rand = R.copy_neighbour_error(model, v, r, "random", 0.9)
    assert tube["copyable"] == 0.0
    assert rand["copyable"] > 0.1
    static = v[:, :1].expand_as(v).contiguous()  # a still video: copying a neighbour is exact
    assert R.copy_neighbour_error(model, static, r, "random", 0.9)["error"] < 1e-6


def test_linear_probe_separates_separable_features():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=g) * 5
    y = torch.arange(60) % 3
    x = centres[y] + 0.1 * torch.randn(60, 8, generator=g)
    assert R.linear_probe(x[:30], y[:30], x[30:], y[30:]) == 100.0


def test_smoke_pretrain_save_finetune_roundtrip(recipe, data, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    torch.set_num_threads(1)
    model, history = R.pretrain_on_synthmotion(recipe, 0, data=data)
    assert history["mask"] == "tube" and history["ratio"] == 0.9
    assert len(history["loss"]) == recipe.pretrain_epochs * (len(data.pool) // recipe.pretrain_batch_size)
    assert all(torch.isfinite(torch.tensor(history["loss"])))
    path = R.save_pretrained(model, recipe)
    assert path == R.pretrain_checkpoint_path("smoke") and path.exists()
    assert R.checkpoint_matches(path, recipe) and not R.checkpoint_matches(path, recipe.replace(embed_dim=64))
    # the classifier takes the encoder weights: compare one block's qkv weight
    clf = R.build_classifier(recipe, len(data.classes), path)
    torch.testing.assert_close(clf.blocks[0].attn.qkv.weight, model.encoder.blocks[0].attn.qkv.weight)
    assert any(k.startswith("decoder.") for k in clf.load_report.ignored)
    clf, hist, metrics = R.finetune_on_synthmotion(recipe, 0, init=path, data=data)
    assert 0.0 <= metrics["top1"] <= 100.0 and metrics["probs"].shape == (len(data.test_labels), 12)
    assert hist["load_report"] is not None and len(hist["loss"]) > 0
    multi = R.evaluate_classifier(clf, data.test_videos, data.test_labels, recipe, temporal_views=2, spatial_views=3)
    assert multi["num_views"] == 6
    torch.testing.assert_close(multi["probs"].sum(-1), torch.ones(len(data.test_labels)))
    rec = model.reconstruct(R.clips_to_input(data.test_videos[:2], recipe),
                            R.make_mask("tube", 2, recipe.grid, 0.9, seed=0))
    assert rec.shape == (2, 3, recipe.num_frames, recipe.img_size, recipe.img_size)


def test_reconstruction_report_baselines(recipe, data):
    """The mean-patch baseline is the mean square of the targets; a model that outputs zeros equals it."""
    torch.manual_seed(0)
    model = R.build_pretrain_model(recipe)
    rep = R.reconstruction_report(model, data.val_videos[:8], recipe, "tube", 0.9, seed=0)
    assert set(rep) == {"model", "mean_patch", "object_model", "object_mean_patch", "object_fraction"}
    from internvideo_core.masking import make_mask

    x = R.clips_to_input(data.val_videos[:8], recipe)  # one batch: the same mask draw as the report's
    mask = make_mask("tube", 8, recipe.grid, 0.9, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert abs(rep["model"] - float(model.loss(x, mask))) < 1e-5  # the training loss on those masks
    assert R.reconstruction_error(model, data.val_videos[:8], recipe, "tube", 0.9, seed=0) == rep["model"]
    with torch.no_grad():  # decoder head -> zeros: the model IS the mean-patch baseline
        model.decoder.head.weight.zero_()
        model.decoder.head.bias.zero_()
    zero = R.reconstruction_report(model, data.val_videos[:8], recipe, "tube", 0.9, seed=0)
    assert abs(zero["model"] - zero["mean_patch"]) < 1e-6
    assert abs(zero["object_model"] - zero["object_mean_patch"]) < 1e-6
    assert 0.0 < zero["object_fraction"] < 1.0 and zero["object_mean_patch"] > zero["mean_patch"]


def test_save_classifier_records_classes_and_fingerprint(recipe, data, tmp_path, monkeypatch):
    from safetensors import safe_open
    import json

    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    clf = R.build_classifier(recipe, len(data.classes))
    path = R.save_classifier(clf, recipe, data.classes)
    assert path == R.classifier_checkpoint_path("smoke") and path.exists()
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
    assert json.loads(meta["classes"]) == list(data.classes) and meta["fingerprint"] == recipe.fingerprint()
    with pytest.raises(ValueError, match="outputs"):
        R.save_classifier(clf, recipe, data.classes[:3])


def test_recipe_carries_its_profile_and_a_profile_name_stands_for_its_recipe():
    assert {name: r.profile for name, r in R.RECIPES.items()} == {"smoke": "smoke", "tutorial": "tutorial",
                                                                  "full": "full"}
    assert R.get_recipe("smoke", mask_ratio=0.75).profile == "smoke"
    assert R.as_recipe("smoke") == R.get_recipe("smoke")
    with pytest.raises(TypeError, match="profile name"):
        R.as_recipe(3)


def test_data_has_separate_validation_and_test_clips(data):
    assert data.val_videos is not None and len(data.val_videos) == len(data.val_labels) > 0
    val = {bytes(v.flatten()[:4096].numpy()) for v in data.val_videos}
    assert not any(bytes(v.flatten()[:4096].numpy()) in val for v in data.test_videos)


def test_shuffle_frames_returns_the_order_it_used():
    v = torch.arange(2 * 6, dtype=torch.uint8).view(2, 6, 1, 1, 1).expand(2, 6, 2, 2, 3).contiguous()
    out, order = R.shuffle_frames(v, torch.Generator().manual_seed(0), return_order=True)
    assert torch.equal(out[:, :, 0, 0, 0], torch.gather(v[:, :, 0, 0, 0], 1, order))
    again = R.shuffle_frames(v, torch.Generator().manual_seed(0))
    assert torch.equal(again, out) and sorted(order[0].tolist()) == list(range(6))


def test_scratch_baseline_picks_the_learning_rate_on_validation_clips(recipe, data, monkeypatch):
    from internvideo_core.recipes.videomae_synth import training

    calls = []
    real = training.finetune_on_synthmotion

    def fake(r, seed, init=None, **kw):  # the real loop, but report a val score that prefers the larger lr
        model, hist, metrics = real(r, seed, init, **kw)
        calls.append((init, kw["lr"], kw["layer_decay"], kw["evaluate_on"]))
        return model, hist, {**metrics, "top1": 1000 * kw["lr"]}

    monkeypatch.setattr(training, "finetune_on_synthmotion", fake)
    torch.set_num_threads(1)
    model, hist, metrics = R.train_from_scratch(recipe, 0, data=data, lrs=(0.01, 0.05))
    assert calls == [(None, 0.01, 1.0, "val"), (None, 0.05, 1.0, "val")]  # from scratch, no layer decay, on val
    assert hist["lr"] == 0.05 and hist["sweep"] == {0.01: 10.0, 0.05: 50.0}
    assert metrics["probs"].shape == (len(data.test_labels), 12)          # scored on the test clips


def test_mask_explorer_draws_a_static_figure_when_not_interactive(recipe, data):
    import matplotlib

    matplotlib.use("Agg")
    torch.manual_seed(0)
    model = R.build_pretrain_model(recipe).eval()
    fig = R.mask_explorer(model, data.test_videos[0], recipe, interactive=False, ratios=(0.5, 0.75))
    assert len(fig.axes) == 4 * 3 * 3  # (2 kinds x 2 ratios) rows, 3 pictures x 3 frames
    panel = R.explorer_panel(model, data.test_videos[0], recipe, "tube", 0.75)
    assert panel["visible_stats"].shape == panel["true_stats"].shape == (3, recipe.num_frames, recipe.img_size,
                                                                         recipe.img_size)
    assert not R.widgets_available()  # no IPython kernel under pytest: the static path is what CI checks


def test_visible_statistics_use_only_visible_tokens():
    grid = (1, 2, 2)
    mean = torch.tensor([[[1.0], [2.0], [3.0], [100.0]]])  # token 3 is hidden: its value must not leak
    mask = torch.tensor([[False, False, False, True]])
    est, _ = R.visible_statistics(mean, mean, mask, grid)
    assert torch.all(est <= 3.0)  # the hidden 100 never enters an estimate
