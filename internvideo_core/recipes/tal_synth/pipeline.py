"""Notebook 08's steps: untrimmed SynthMotion files, encoders, snippet features, the head, baselines, mAP.

    recipe = get_recipe("tutorial")
    root = make_tal_data(recipe, 0)                                # mp4 + ActivityNet JSON (cached)
    enc, _ = finetuned_encoder(recipe, 0)                          # notebook 03's classifier (trained if absent)
    feat_dir = extract_features(recipe, enc, root, "finetuned")
    train, val = load_split_videos(feat_dir, root)
    head, hist = train_head(recipe, 0, train)
    dets = predict_segments(head, val, TAL_CLASSES); evaluate(dets, val)
    baselines = classification_baselines(recipe, 0, train, val)   # {"sliding window": dets, "whole video": dets}
"""
from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from internvideo_core.data.synthmotion_scenes import TAL_CLASSES
from internvideo_core.tal import TALVideo

from .config import TALSynthRecipe, get_recipe

__all__ = ["synth_config", "make_tal_data", "annotation_file", "pretrained_encoder", "finetuned_encoder",
           "untrained_encoder",
           "extract_features", "load_split_videos", "train_head", "evaluate", "snippet_labels", "snippet_classifier",
           "sliding_window_baseline", "whole_video_baseline", "classification_baselines", "TAL_CLASSES"]


def _mae_recipe(profile: str):
    from internvideo_core.recipes.videomae_synth import get_recipe as mae_recipe

    return mae_recipe(profile)


def synth_config(recipe: TALSynthRecipe):
    """SynthMotion rendering of notebook 02's clips of ``recipe.profile`` (size, plain background, no noise, large
    objects)."""
    from internvideo_core.data.synthmotion import SynthConfig

    r = _mae_recipe(recipe.profile)
    return SynthConfig(size=r.render_size, num_frames=r.clip_frames, **dict(r.synth))


def make_tal_data(recipe: TALSynthRecipe, seed: int = 0) -> Path:
    """The ``tal`` part (mp4 + ActivityNet JSON) in ``<cache>/synthmotion/tal_<profile>_seed<seed>``, generated
    once (reused while sizes and rendering are unchanged)."""
    from internvideo_core.data.synthmotion import ensure_synthmotion
    from internvideo_core.paths import cache_dir

    sizes = {"tal": recipe.tal_videos, "tal_frames": recipe.tal_frames}
    return ensure_synthmotion(sizes, seed, root=cache_dir() / "synthmotion" / f"tal_{recipe.profile}_seed{seed}",
                              parts=["tal"], cfg=synth_config(recipe))


def annotation_file(root: Path) -> Path:
    from internvideo_core.data.synthmotion_writers import ACTIVITYNET_JSON

    return Path(root) / "activitynet" / ACTIVITYNET_JSON


def pretrained_encoder(recipe: TALSynthRecipe, seed: int = 0) -> tuple[nn.Module, Path]:
    """Notebook 02's autoencoder (``runs/checkpoints/<profile>/videomae_synth_pretrain.safetensors``), pretrained
    here with the same recipe when the file is missing or from another recipe. Returns (model, checkpoint)."""
    from internvideo_core.checkpoint import load_checkpoint
    from internvideo_core.recipes import videomae_synth as R

    profile = recipe.profile
    r = R.get_recipe(profile)
    path = R.pretrain_checkpoint_path(profile)
    if not R.checkpoint_matches(path, r):
        print(f"{path.name} missing or from another recipe: pretraining here (as notebook 02 does)")
        mae, _ = R.pretrain_on_synthmotion(r, seed)
        R.save_pretrained(mae, r)
    model = R.build_pretrain_model(r)
    model.load_report = load_checkpoint(model, str(path), strict=True)
    return model.eval(), path


def finetuned_encoder(recipe: TALSynthRecipe, seed: int = 0) -> tuple[nn.Module, Path]:
    """Notebook 03's classifier: notebook 02's encoder fine-tuned on the labelled SynthMotion clips
    (``runs/checkpoints/<profile>/videomae_synth_classifier.safetensors``), fine-tuned here with the same recipe
    when the file is missing or from another recipe. InternVideo extracts its TAL features from fine-tuned
    models in the same way. Returns (classifier, checkpoint)."""
    from internvideo_core.data.synthmotion import KNOWN_MOTIONS
    from internvideo_core.recipes import videomae_synth as R

    profile = recipe.profile
    r = R.get_recipe(profile)
    path = R.classifier_checkpoint_path(profile)
    if not R.checkpoint_matches(path, r):
        init = pretrained_encoder(recipe, seed)[1]
        print(f"{path.name} missing or from another recipe: fine-tuning here (as notebook 03 does)")
        clf, _, _ = R.finetune_on_synthmotion(r, seed, init=init)
        R.save_classifier(clf, r, KNOWN_MOTIONS)
    return R.build_classifier(r, len(KNOWN_MOTIONS), path).eval(), path


def untrained_encoder(recipe: TALSynthRecipe, seed: int = 0) -> nn.Module:
    """The same autoencoder with its random initialisation (the comparison)."""
    from internvideo_core.recipes import videomae_synth as R

    torch.manual_seed(seed)
    return R.build_pretrain_model(R.get_recipe(recipe.profile)).eval()


def _fingerprint(model: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:12]


def extract_features(recipe: TALSynthRecipe, model: nn.Module, root: Path, name: str, progress: bool = False
                     ) -> Path:
    """Snippet features of every video of ``root`` with ``model`` in ``runs/features/tal_synth/<profile>/
    <name>-<weights hash>`` (resumable: a rerun with the same weights reuses them). Protocol: the encoder's input
    (``num_frames`` frames every ``frame_stride``, ``img_size`` centre crop), one snippet every ``feat_stride``."""
    from internvideo_core.features import extract_features_to_folder, list_videos
    from internvideo_core.paths import runs_dir

    r = recipe
    m = _mae_recipe(r.profile)
    out = runs_dir() / "features" / "tal_synth" / r.profile / f"{name}-{r.pool}-{_fingerprint(model)}"
    rep = extract_features_to_folder(model, list_videos(Path(root) / "activitynet" / "videos"), out,
                                     progress=progress, meta={"model": name}, clip_len=m.num_frames,
                                     frame_interval=m.frame_stride, stride=r.feat_stride, size=m.img_size,
                                     short_side=m.render_size, batch_size=64, pool=r.pool)
    if rep.failed:
        raise RuntimeError(f"feature extraction failed for {rep.failed}")
    return out


def load_split_videos(feature_dir: Path, root: Path) -> tuple[list[TALVideo], list[TALVideo]]:
    """(training videos, validation videos) with features and ground truth; features standardised with the
    mean / std of the training snippets."""
    from internvideo_core.tal import load_tal_videos

    ann = annotation_file(root)
    train = load_tal_videos(feature_dir, ann, "training", TAL_CLASSES)
    val = load_tal_videos(feature_dir, ann, "validation", TAL_CLASSES)
    _standardise(train, val)
    return train, val


def _standardise(train: Sequence[TALVideo], *others: Sequence[TALVideo]) -> None:
    """Feature mean / std of the training snippets applied to every video (in place)."""
    allf = np.concatenate([v.feats for v in train])
    mu, sd = allf.mean(0), allf.std(0) + 1e-6
    for group in (train, *others):
        for v in group:
            v.feats = ((v.feats - mu) / sd).astype(np.float32)


@contextlib.contextmanager
def _intra_op_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` inside the block (unchanged when ``None``), restored after."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(max(1, min(n, before)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_head(recipe: TALSynthRecipe, seed: int, train: Sequence[TALVideo]) -> tuple[nn.Module, dict[str, Any]]:
    """A :class:`TALHead` trained on ``train`` with the recipe's settings, with at most ``recipe.head_threads``
    intra-op threads (the recipe's docstring says why)."""
    from internvideo_core.models.tal_head import TALHead, TALHeadConfig
    from internvideo_core.tal import TALTrainConfig, train_tal_head

    r = recipe
    torch.manual_seed(seed)
    head = TALHead(TALHeadConfig(in_dim=train[0].feats.shape[1], num_classes=len(TAL_CLASSES),
                                 embed_dim=r.embed_dim, num_levels=r.num_levels, dropout=r.dropout))
    with _intra_op_threads(r.head_threads):
        hist = train_tal_head(head, train, TALTrainConfig(epochs=r.epochs, batch_size=r.batch_size, lr=r.lr,
                                                          weight_decay=r.weight_decay,
                                                          warmup_epochs=r.warmup_epochs, seed=seed))
    return head, hist


def evaluate(detections: dict[str, list[dict[str, Any]]], videos: Sequence[TALVideo],
             thresholds: Sequence[float] | None = None) -> dict[str, Any]:
    """:func:`~internvideo_core.eval.localization.tal_map` of detections against the videos' ground truth."""
    from internvideo_core.eval.localization import ANET_TIOU_THRESHOLDS, tal_map
    from internvideo_core.tal import result_rows

    gt = [(v.video_id, float(s), float(e), TAL_CLASSES[c]) for v in videos for (s, e), c in zip(v.segments, v.labels)]
    return tal_map(gt, result_rows(detections), thresholds or ANET_TIOU_THRESHOLDS)


# ------------------------------------------------------------------------------------------------ baselines
def snippet_labels(v: TALVideo) -> np.ndarray:
    """int ``[N]``: the class whose segment contains the snippet's centre, or ``len(TAL_CLASSES)`` (background)."""
    from internvideo_core.tal import grid_to_seconds

    t = grid_to_seconds(np.arange(len(v.feats), dtype=np.float64), v)
    lab = np.full(len(t), len(TAL_CLASSES), dtype=np.int64)
    for (s, e), c in zip(v.segments, v.labels):
        lab[(t >= s) & (t < e)] = c
    return lab


def snippet_classifier(recipe: TALSynthRecipe, seed: int, train: Sequence[TALVideo]) -> nn.Module:
    """A linear classifier of single snippets into the classes + background (cross-entropy, Adam, full batch,
    ``recipe.probe_steps`` steps): the scorer of both baselines."""
    steps = recipe.probe_steps
    x = torch.from_numpy(np.concatenate([v.feats for v in train]))
    y = torch.from_numpy(np.concatenate([snippet_labels(v) for v in train]))
    torch.manual_seed(seed)
    clf = nn.Linear(x.shape[1], len(TAL_CLASSES) + 1)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2, weight_decay=1e-4)
    with torch.enable_grad():
        for _ in range(steps):
            loss = nn.functional.cross_entropy(clf(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return clf.eval()


@torch.no_grad()
def sliding_window_baseline(recipe: TALSynthRecipe, seed: int, train: Sequence[TALVideo], val: Sequence[TALVideo],
                            classifier: nn.Module | None = None) -> dict[str, list[dict[str, Any]]]:
    """Sliding-window classification without boundaries: every snippet's own window (its ``num_frames`` span) is
    a detection of each class with the snippet classifier's probability, soft-NMS per class. ``classifier``: a
    :func:`snippet_classifier` already trained on ``train`` (trained here when ``None``)."""
    from internvideo_core.eval.localization import segment_soft_nms

    clf = classifier if classifier is not None else snippet_classifier(recipe, seed, train)
    out = {}
    for v in val:
        prob = clf(torch.from_numpy(v.feats)).softmax(-1).numpy()[:, : len(TAL_CLASSES)]
        centre = (np.arange(len(v.feats)) * v.feat_stride + v.num_frames / 2) / v.fps
        half = v.num_frames / 2 / v.fps
        win = np.stack([np.clip(centre - half, 0, v.duration), np.clip(centre + half, 0, v.duration)], 1)
        dets = []
        for c in range(len(TAL_CLASSES)):
            segs, sc = segment_soft_nms(win, prob[:, c], sigma=0.5, score_threshold=1e-3, max_segments=20)
            dets += [{"label": TAL_CLASSES[c], "score": float(x), "segment": [float(a), float(b)]}
                     for (a, b), x in zip(segs, sc)]
        out[v.video_id] = sorted(dets, key=lambda d: -d["score"])[:100]
    return out


@torch.no_grad()
def whole_video_baseline(recipe: TALSynthRecipe, seed: int, train: Sequence[TALVideo], val: Sequence[TALVideo],
                         classifier: nn.Module | None = None) -> dict[str, list[dict[str, Any]]]:
    """Whole-video classification: one segment ``[0, duration]`` per class, scored by the mean snippet
    probability of that class (``classifier`` as in :func:`sliding_window_baseline`)."""
    clf = classifier if classifier is not None else snippet_classifier(recipe, seed, train)
    out = {}
    for v in val:
        prob = clf(torch.from_numpy(v.feats)).softmax(-1).mean(0).numpy()
        out[v.video_id] = [{"label": c, "score": float(prob[i]), "segment": [0.0, v.duration]}
                           for i, c in enumerate(TAL_CLASSES)]
    return out


def classification_baselines(recipe: TALSynthRecipe, seed: int, train: Sequence[TALVideo], val: Sequence[TALVideo]
                             ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Detections of both baselines without boundaries, ``{"sliding window": ..., "whole video": ...}``, from one
    :func:`snippet_classifier` trained once on ``train``."""
    clf = snippet_classifier(recipe, seed, train)
    return {"sliding window": sliding_window_baseline(recipe, seed, train, val, clf),
            "whole video": whole_video_baseline(recipe, seed, train, val, clf)}
