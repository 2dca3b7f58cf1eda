"""Cases that sit exactly on a rule's edge, where a plausible one-line bug changes the answer.

Each test here was written against a planted bug (a mutant) that the rest of the suite let through: a value
exactly on a matching threshold, a near-flat tubelet where an epsilon decides the result, unaligned pairs where
a temperature clamp matters, a doubly escaped caption, a cached file whose published digest changed. The
docstring of each test names the bug it catches.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from internvideo_core import hub
from internvideo_core.eval.detection import ava_frame_map
from internvideo_core.eval.localization import tal_map
from internvideo_core.eval.openset import open_macro_f1_openness, open_set_macro_f1
from internvideo_core.registry import create_model
from internvideo_core.text import tokenize
from internvideo_core.train.contrastive import contrastive_loss

TINY_MAE = dict(img_size=32, patch_size=16, num_frames=4, embed_dim=32, depth=1, num_heads=2,
                decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2)


# ------------------------------------------------------------------------------ the normalised-pixel target
def _near_flat_clip(model: nn.Module) -> torch.Tensor:
    """A clip ``[1, 3, T, H, W]`` (ImageNet-normalised) whose tubelets are flat grey up to +-1/255 steps."""
    c = model.config
    g = torch.Generator().manual_seed(0)
    pixels = 0.5 + torch.randint(-1, 2, (1, 3, c.num_frames, c.img_size, c.img_size), generator=g) / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406])[None, :, None, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[None, :, None, None, None]
    return (pixels - mean) / std


def test_normalised_pixel_target_divides_by_unbiased_std_plus_eps_on_near_flat_tubelets():
    """Bug caught: the image-MAE formula ``(p - mean) / sqrt(var + 1e-6)`` instead of the official
    ``(p - mean) / (std_unbiased + 1e-6)``. On a static, almost flat tubelet (std ~ 4e-3) the two differ by
    about 5 % (targets of size ~1.2 move by 0.06); on an exactly flat one the official target is 0, and on tiny noise (std 1e-4)
    about 6x. Random-noise fixtures never show it."""
    torch.manual_seed(0)
    model = create_model("videomae_pretrain_small_patch16_224", **TINY_MAE).eval()
    x = _near_flat_clip(model)
    patches = model.patchify(model._unnormalize(x))  # [B, N, P, C]
    mean = patches.mean(dim=-2, keepdim=True)
    std = patches.var(dim=-2, unbiased=True, keepdim=True).sqrt()
    official = (patches - mean) / (std + 1e-6)
    image_mae = (patches - mean) / torch.sqrt(patches.var(dim=-2, unbiased=True, keepdim=True) + 1e-6)
    assert (official - image_mae).abs().max() > 0.03  # the case separates the two formulas (~5 %)
    torch.testing.assert_close(model.pixel_targets(x), official, atol=1e-5, rtol=1e-5)
    # a tiny-noise tubelet: the formulas differ about 6x; the kit follows the official one
    flat = torch.full_like(patches, 0.5)
    flat[..., 0, :] += 1e-4
    torch.testing.assert_close(model.patch_statistics(flat)[1],
                               flat.var(dim=-2, unbiased=True, keepdim=True).sqrt())


def test_reconstruct_round_trips_near_flat_tubelets():
    """Bug caught: de-normalising predictions with a different eps than the target (the round trip then
    rescales flat tubelets). A perfect prediction must give back the input pixels on flat content too."""
    torch.manual_seed(0)
    model = create_model("videomae_pretrain_small_patch16_224", **TINY_MAE).eval()
    x = _near_flat_clip(model)
    n = model.config.num_tokens if hasattr(model.config, "num_tokens") else model.patchify(x).shape[1]
    mask = torch.zeros(1, n, dtype=torch.bool)
    mask[:, ::2] = True
    rec = model.reconstruct(x, mask, pred=model.targets(x, mask))
    pixels = model._unnormalize(x).clamp(0, 1)
    assert (rec - pixels).abs().max() < 1e-5


def test_every_layer_norm_uses_the_configured_eps():
    """Bug caught: ``fc_norm`` (or any block norm) built with PyTorch's default eps 1e-5 instead of the
    configured 1e-6: the feature error (2e-5) hides under a loose parity tolerance."""
    for name, overrides in (("videomae_vit_small_patch16_224", dict(img_size=32, num_frames=4, depth=2)),
                            ("videomae_pretrain_small_patch16_224", TINY_MAE)):
        model = create_model(name, **overrides)
        norms = [(n, m.eps) for n, m in model.named_modules() if isinstance(m, nn.LayerNorm)]
        assert norms, name
        wrong = [(n, eps) for n, eps in norms if eps != model.config.layer_norm_eps]
        assert not wrong, f"{name}: LayerNorms with another eps than config.layer_norm_eps: {wrong}"


# ------------------------------------------------------------------------------------ matching thresholds
def test_tal_prediction_exactly_at_the_tiou_threshold_is_a_true_positive():
    """Bug caught: matching with ``tIoU > thr`` instead of the official ``>=`` (ActivityNet's
    ``compute_average_precision_detection`` skips a candidate only when ``tiou < thr``)."""
    gt = [("v", 0.0, 10.0, "a")]
    pred = [("v", 0.0, 5.0, "a", 0.9)]  # tIoU = 5 / 10 = 0.5 exactly
    out = tal_map(gt, pred, tiou_thresholds=[0.5, 0.75])
    assert out["mAP_per_tiou"] == [1.0, 0.0]


def test_ava_detection_exactly_at_iou_half_is_a_true_positive():
    """Bug caught: AVA matching at ``IoU > 0.5`` instead of the official ``>= 0.5`` (PASCAL VOC evaluator)."""
    gt = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1)]
    det = [("v", 902, 0.0, 0.0, 0.5, 1.0, 1, 0.8)]  # IoU = 0.5 / 1.0 exactly
    assert ava_frame_map(gt, det)["mAP"] == 1.0
    assert ava_frame_map(gt, [("v", 902, 0.0, 0.0, 0.49, 1.0, 1, 0.8)])["mAP"] == 0.0


def test_open_set_rejects_only_uncertainty_strictly_above_the_threshold():
    """Bug caught: rejecting at ``u >= threshold`` instead of the official ``u > threshold``. With ReLU
    evidence, u = 1.0 ties are common, so the boundary moves F1 by tens of points."""
    labels = np.array([0, 1, 2, 3])
    preds = np.array([0, 1, 2, 3])
    u = np.array([1.0, 1.0, 0.2, 1.0])
    assert open_set_macro_f1(labels, preds, u, threshold=1.0, num_known_classes=4) == 1.0
    curve = open_macro_f1_openness(labels, preds, u, np.array([0, 0]), np.array([1, 2]), np.array([1.0, 1.0]),
                                   threshold=1.0, num_known_classes=4, num_unknown_classes=1, num_rand=1)
    assert curve["macro_f1"][0] == 1.0  # u == threshold: still known
    # the unknown samples at u == threshold are NOT rejected either: their predictions stay closed-set
    assert curve["macro_f1"][1] < 1.0


# ------------------------------------------------------------------------------------ contrastive clamp
def test_contrastive_loss_clamps_the_temperature_on_unaligned_pairs():
    """Bug caught: no clamp of ``exp(logit_scale)`` at 100. On aligned pairs both losses are ~0, so only
    unaligned pairs show it."""
    g = torch.Generator().manual_seed(0)
    v, t = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    big = torch.tensor(10.0)  # exp(10) = 22026 > 100
    vn, tn = F.normalize(v, dim=-1), F.normalize(t, dim=-1)
    logits = 100.0 * vn @ tn.t()
    labels = torch.arange(6)
    expected = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
    got = contrastive_loss(v, t, big)
    torch.testing.assert_close(got, expected)
    unclamped = math.exp(10.0) * vn @ tn.t()
    assert abs(float(got) - float(0.5 * (F.cross_entropy(unclamped, labels)
                                         + F.cross_entropy(unclamped.t(), labels)))) > 1.0


# ------------------------------------------------------------------------------------------- tokenizer
def test_doubly_escaped_caption_with_a_tag_tokenizes_like_the_plain_one():
    """Bug caught: HTML unescaping once instead of twice (the official ``basic_clean``)."""
    torch.testing.assert_close(tokenize(["<i>Tom &amp;amp; Jerry</i>"]), tokenize(["<i>Tom & Jerry</i>"]))
    assert not torch.equal(tokenize(["<i>Tom &amp; Jerry</i>"]), tokenize(["<i>Tom amp Jerry</i>"]))


# ------------------------------------------------------------------------------------------------- hub
def test_cached_file_recorded_on_first_use_is_refused_when_the_published_digest_differs(tmp_path, monkeypatch):
    """Bug caught: trusting a cached file by its recorded size/time stamp although the *published* sha256
    (given now) differs from the digest recorded on first use. The file must be hashed, refused and removed."""
    dest = tmp_path / "model.pth"
    dest.write_bytes(b"PK\x03\x04 first download")
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", "1")
    assert hub.download_url("http://127.0.0.1:9/model.pth", dest, None, progress=False) == dest
    assert (tmp_path / "model.pth.sha256").exists()  # recorded, with a fresh stamp
    with pytest.raises(hub.HubError):  # offline: the refused file cannot be fetched again
        hub.download_url("http://127.0.0.1:9/model.pth", dest, "0" * 64, progress=False)
    assert not dest.exists()
