"""Testing and analysing the recipe's models on clips: multi-view classification, pooled features and a
linear probe, reconstruction quality against a trivial baseline, the information leakage of a mask, and how
well time-reversed motions are told apart."""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .config import VideoMAESynthRecipe
from .data import clips_to_input

__all__ = ["predict_logits", "evaluate_classifier", "encoder_features", "linear_probe", "reconstruction_error",
           "reconstruction_report", "copy_neighbour_error", "direction_accuracy"]


@torch.no_grad()
def predict_logits(model: nn.Module, videos: torch.Tensor, recipe: VideoMAESynthRecipe, *,
                   temporal_views: int = 1, spatial_views: int = 1, batch_size: int = 64) -> torch.Tensor:
    """Logits of every view ``[N, V, C]``, ``V = temporal_views x spatial_views`` (temporal offsets spread over
    ``[0, frame_stride)``, crops spread along the frame as the official three-crop test)."""
    from internvideo_core.data.transforms import spatial_crops

    model.eval()
    dev = next(model.parameters()).device
    r = recipe
    span = videos.shape[2] - r.img_size
    offsets = sorted({int(k * r.frame_stride / temporal_views) for k in range(temporal_views)})
    if spatial_views == 1:
        crops = [(span // 2, span // 2)]
    else:
        probe = torch.zeros(1, 1, videos.shape[2], videos.shape[3])
        n = len(spatial_crops(probe, r.img_size, spatial_views))
        starts = [int(k * span / (n - 1)) for k in range(n)]
        crops = [(s, span // 2) for s in starts]  # square frames: crops along the height, as spatial_crops
    out = []
    for b in range(0, len(videos), batch_size):
        chunk = videos[b: b + batch_size]
        views = [model(clips_to_input(chunk, r, offset=o, crop=c).to(dev)).float().cpu()
                 for o in offsets for c in crops]
        out.append(torch.stack(views, dim=1))
    return torch.cat(out)


def evaluate_classifier(model: nn.Module, videos: torch.Tensor, labels: torch.Tensor,
                        recipe: VideoMAESynthRecipe, *, temporal_views: int = 1, spatial_views: int = 1
                        ) -> dict[str, Any]:
    """Top-1 / top-5 (percent) with softmax-per-view averaging, plus ``probs [N, C]`` and ``pred [N]``."""
    from internvideo_core.eval.classification import aggregate_views, topk_accuracy

    logits = predict_logits(model, videos, recipe, temporal_views=temporal_views, spatial_views=spatial_views)
    probs = aggregate_views(logits)
    out: dict[str, Any] = dict(topk_accuracy(probs, labels, (1, 5)))
    out.update(probs=probs, pred=probs.argmax(-1), num_views=logits.shape[1])
    return out


# ------------------------------------------------------------------------------------- probing, analysis
@torch.no_grad()
def encoder_features(model: nn.Module, videos: torch.Tensor, recipe: VideoMAESynthRecipe,
                     batch_size: int = 64) -> torch.Tensor:
    """Mean-pooled encoder features ``[N, D]`` of an autoencoder (all tokens visible) or a classifier."""
    model.eval()
    dev = next(model.parameters()).device
    feats = []
    for b in range(0, len(videos), batch_size):
        x = clips_to_input(videos[b: b + batch_size], recipe).to(dev)
        if hasattr(model, "encoder"):
            tokens = model.encoder(x, None)
        else:
            tokens = model.forward_tokens(x)
        feats.append(tokens.mean(1).float().cpu())
    return torch.cat(feats)


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor, *,
                 weight_decay: float = 1e-3, steps: int = 300) -> float:
    """Top-1 (percent) of a logistic-regression probe on standardised features (full-batch L-BFGS)."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = (train_x - mean) / std, (test_x - mean) / std
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    lin = nn.Linear(a.shape[1], num_classes)
    opt = torch.optim.LBFGS(lin.parameters(), lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(lin(a), train_y) + weight_decay * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return float((lin(b).argmax(-1) == test_y).float().mean()) * 100.0


@torch.no_grad()
def reconstruction_error(model: nn.Module, videos: torch.Tensor, recipe: VideoMAESynthRecipe, kind: str,
                         ratio: float, seed: int = 0, batch_size: int = 64) -> float:
    """Mean normalised-pixel loss of ``model`` on ``videos`` masked with ``kind`` at ``ratio`` (the ``model``
    entry of :func:`reconstruction_report`)."""
    return reconstruction_report(model, videos, recipe, kind, ratio, seed, batch_size)["model"]


@torch.no_grad()
def reconstruction_report(model: nn.Module, videos: torch.Tensor, recipe: VideoMAESynthRecipe, kind: str,
                          ratio: float, seed: int = 0, batch_size: int = 64) -> dict[str, float]:
    """What the autoencoder's loss means, on the masked tubelets of ``videos``:

    ``model``: its normalised-pixel MSE; ``mean_patch``: the MSE of predicting every tubelet's own mean (all
    zeros in normalised units; flat background tubelets are exactly 0 there, so this is the easy baseline);
    ``object_model`` / ``object_mean_patch``: the same on the tubelets with structure (any normalised value
    above 0.5: edges of the moving object), where the real work is; ``object_fraction``: their share.
    """
    from internvideo_core.masking import make_mask

    model.eval()
    dev = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    sums = dict(model=0.0, mean_patch=0.0, object_model=0.0, object_mean_patch=0.0)
    n_all = n_obj = 0
    for b in range(0, len(videos), batch_size):
        x = clips_to_input(videos[b: b + batch_size], recipe).to(dev)
        m = make_mask(kind, len(x), recipe.grid, ratio, generator=g).to(dev)
        target = model.targets(x, m)
        err = (model(x, m).float() - target).pow(2).mean(-1)  # [B, N_masked]
        base = target.pow(2).mean(-1)
        obj = target.abs().amax(-1) > 0.5
        sums["model"] += float(err.sum())
        sums["mean_patch"] += float(base.sum())
        sums["object_model"] += float(err[obj].sum())
        sums["object_mean_patch"] += float(base[obj].sum())
        n_all += err.numel()
        n_obj += int(obj.sum())
    out = {k: v / max(n_obj if k.startswith("object") else n_all, 1) for k, v in sums.items()}
    out["object_fraction"] = n_obj / max(n_all, 1)
    return out


@torch.no_grad()
def copy_neighbour_error(model: nn.Module, videos: torch.Tensor, recipe: VideoMAESynthRecipe, kind: str,
                         ratio: float, seed: int = 0) -> dict[str, float]:
    """The "information leakage" of a mask: how well masked tubelets are predicted by COPYING the same spatial
    position from the nearest visible time slot (no learning at all).

    Returns ``{"copyable": fraction of masked tokens that have a visible neighbour in time, "error": normalised
    pixel MSE of the copy on those tokens (NaN when none)}``. Tube masking gives ``copyable = 0``.
    """
    from internvideo_core.masking import make_mask

    g = torch.Generator().manual_seed(seed)
    x = clips_to_input(videos, recipe)
    mask = make_mask(kind, len(x), recipe.grid, ratio, generator=g)
    t = recipe.grid[0]
    target = rearrange(model.pixel_targets(x), "b (t s) p c -> b t s (p c)", t=t)  # the training targets
    m = rearrange(mask, "b (t s) -> b t s", t=t)
    total = int(m.sum())
    best = torch.full(m.shape, float("nan"))
    for ti in range(t):
        for dt in sorted(range(-t + 1, t), key=abs):
            src = ti + dt
            if dt == 0 or not 0 <= src < t:
                continue
            ok = m[:, ti] & ~m[:, src] & torch.isnan(best[:, ti])
            if ok.any():
                err = (target[:, ti] - target[:, src]).pow(2).mean(-1)
                best[:, ti] = torch.where(ok, err, best[:, ti])
    found = ~torch.isnan(best)
    copyable = int(found.sum())
    return {"copyable": copyable / max(total, 1),
            "error": float(best[found].mean()) if copyable else float("nan")}


def direction_accuracy(pred: torch.Tensor, labels: torch.Tensor, classes: Sequence[str]) -> dict[str, float]:
    """How well the time-reversal pairs of SynthMotion (move left / right, grow / shrink, ...) are told apart.

    Over the clips whose true class belongs to a direction pair: ``pair`` = percent predicted inside the right
    pair; ``direction`` = among those, percent with the right direction (chance 50 %); ``num_clips``.
    """
    from internvideo_core.data.synthmotion import DIRECTION_PAIRS

    partner = {}
    for a, b in DIRECTION_PAIRS:
        if a in classes and b in classes:
            ia, ib = classes.index(a), classes.index(b)
            partner[ia], partner[ib] = ib, ia
    in_pair = in_right_pair = right = 0
    for p, y in zip(pred.tolist(), labels.tolist()):
        if y not in partner:
            continue
        in_pair += 1
        if p in (y, partner[y]):
            in_right_pair += 1
            right += int(p == y)
    return {"pair": 100.0 * in_right_pair / max(in_pair, 1),
            "direction": 100.0 * right / max(in_right_pair, 1) if in_right_pair else float("nan"),
            "num_clips": float(in_pair)}
