"""Loop pieces: video mixup/cutmix (one box for all frames), multi-view evaluation, precision helpers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from internvideo_core.train.evaluate import evaluate
from internvideo_core.train.finetune import make_criterion, make_mixup
from internvideo_core.train.config import FinetuneConfig
from internvideo_core.train.loop import autocast, make_scaler
from internvideo_core.train.mixup import VideoMixup


def _distinct_videos(b=4, t=4, s=16):
    """Sample i is filled with the value i + 1 everywhere: [B, 3, T, S, S]."""
    return torch.arange(1, b + 1, dtype=torch.float32).view(b, 1, 1, 1, 1).expand(b, 3, t, s, s).contiguous()


@pytest.mark.parametrize("seed", range(5))
def test_cutmix_uses_one_box_for_all_frames(seed):
    np.random.seed(seed)
    x = _distinct_videos()
    y = torch.arange(4)
    mix = VideoMixup(mixup_alpha=0.0, cutmix_alpha=1.0, prob=1.0, label_smoothing=0.0, num_classes=4)
    out, target = mix(x.clone(), y)
    assert out.shape == x.shape and target.shape == (4, 4)
    for i in range(4):
        pasted = out[i] == 4 - i  # "batch" mode pastes from the flipped batch: sample 3 - i, value 4 - i
        own = out[i] == i + 1
        assert torch.all(pasted | own)
        box = pasted[0, 0]
        # the same pixels in every channel and every frame ...
        assert torch.equal(pasted, box.expand_as(pasted))
        # ... forming one rectangle ...
        rows, cols = box.any(1).nonzero().flatten(), box.any(0).nonzero().flatten()
        if len(rows):
            assert box[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
            assert int(box.sum()) == len(rows) * len(cols)
        # ... whose area fraction is 1 - lam of the soft target
        lam = float(target[i, i])
        assert float(box.float().mean()) == pytest.approx(1 - lam, abs=1e-6)
        assert float(target[i, 3 - i]) == pytest.approx(1 - lam, abs=1e-6)


def test_mixup_blends_whole_videos():
    np.random.seed(3)
    x = _distinct_videos()
    out, target = VideoMixup(mixup_alpha=1.0, cutmix_alpha=0.0, label_smoothing=0.0, num_classes=4)(x.clone(),
                                                                                                     torch.arange(4))
    lam = float(target[0, 0])
    assert 0 < lam < 1
    torch.testing.assert_close(out, lam * x + (1 - lam) * x.flip(0))
    with pytest.raises(ValueError, match="even batch"):
        VideoMixup(num_classes=4)(x[:3].clone(), torch.arange(3))


def test_criterion_follows_official_choice():
    from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy

    cfg = FinetuneConfig()
    assert make_mixup(cfg, 10) is not None
    assert isinstance(make_criterion(cfg, True), SoftTargetCrossEntropy)
    assert isinstance(make_criterion(cfg, False), LabelSmoothingCrossEntropy)
    plain = FinetuneConfig(mixup=0, cutmix=0, smoothing=0)
    assert make_mixup(plain, 10) is None and isinstance(make_criterion(plain, False), nn.CrossEntropyLoss)


class MeanLinear(nn.Module):
    """Stand-in classifier: logits from the per-channel means of the clip [B, 3, T, H, W] -> [B, K]."""

    def __init__(self, k: int = 5) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(3, k)

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3, 4)))


def test_multi_view_evaluation_softmax_then_mean():
    model = MeanLinear()
    g = torch.Generator().manual_seed(0)
    views = torch.randn(6, 4, 3, 2, 4, 4, generator=g)  # 6 videos x 4 views
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    with torch.no_grad():
        logits = torch.stack([model(views[:, v]) for v in range(4)], 1)
    probs = logits.softmax(-1).mean(1)
    expected_top1 = float((probs.argmax(1) == labels).float().mean() * 100)
    grouped = [(views[:3], labels[:3]), (views[3:], labels[3:])]
    res = evaluate(model, grouped, device="cpu", progress=False, return_predictions=True)
    torch.testing.assert_close(res["probs"], probs)
    assert res["top1"] == pytest.approx(expected_top1) and res["num_videos"] == 6 and res["num_views"] == 4
    # the same views one per row with video / view ids, shuffled, with padded duplicates (distributed sampler)
    rows = [(v, vw) for v in range(6) for vw in range(4)]
    order = torch.randperm(len(rows), generator=g).tolist()
    rows = [rows[i] for i in order] + [rows[order[0]], rows[order[1]]]
    flat_batches = []
    for s in range(0, len(rows), 5):
        chunk = rows[s:s + 5]
        flat_batches.append((torch.stack([views[v, vw] for v, vw in chunk]), labels[[v for v, _ in chunk]],
                             [f"vid{v}" for v, _ in chunk], [vw for _, vw in chunk]))
    flat = evaluate(model, flat_batches, device="cpu", progress=False, return_predictions=True)
    assert flat["num_videos"] == 6
    idx = [int(v[3:]) for v in flat["video_ids"]]
    torch.testing.assert_close(flat["probs"], probs[idx])
    assert flat["top1"] == pytest.approx(expected_top1) and flat["top5"] == pytest.approx(res["top5"])
    # logits-mean instead of softmax-mean would differ here (the protocol matters)
    assert not torch.allclose(logits.mean(1).softmax(-1), probs)
    assert model.training  # evaluation restores the mode


def test_precision_helpers_on_cpu():
    cpu = torch.device("cpu")
    assert not make_scaler(cpu, "auto").is_enabled()
    assert not make_scaler(cpu, "bf16").is_enabled()
    assert make_scaler(cpu, "fp16").is_enabled()
    with autocast(cpu, "auto"):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32
    with autocast(cpu, "bf16"):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.bfloat16
    with pytest.raises(ValueError):
        make_scaler(cpu, "fp8")
