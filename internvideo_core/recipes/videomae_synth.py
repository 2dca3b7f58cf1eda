"""VideoMAE on SynthMotion: masked pretraining on unlabelled clips, then fine-tuning on few labels.

The recipe behind notebooks 02 (masked video pretraining) and 03 (action recognition). It picks sizes and
hyper-parameters per profile and calls the training loops of :mod:`internvideo_core.train` (pretraining:
:func:`~internvideo_core.train.pretrain.pretrain`, fine-tuning: :func:`~internvideo_core.train.finetune.finetune`).

Setting (the semi-supervised regime of the VideoMAE paper, where pretraining matters most):

- **pretraining pool** (no labels): the training clips of the SynthMotion ``classification`` and ``ssv2`` parts;
- **fine-tuning**: ``labels_per_class`` labelled clips per class of the ``classification`` part (12 motions),
  taken from the same pool (their labels are the only ones the model ever sees);
- **test**: the ``val`` and ``test`` clips of the ``classification`` part (never seen in any training).

Clips are rendered at ``render_size`` px with ``clip_frames`` frames; the model sees ``clip_frames / frame_stride``
frames (a temporal offset in ``[0, frame_stride)``: random in training, the temporal views in testing) and an
``img_size`` crop (random in training, centre or three crops in testing). No horizontal flip: it would swap
"move left" and "move right".

Why these settings (measured on a 2-core CPU, 12 classes, 10 labels per class, chance 8.3 %, top-1 of the
fine-tuned classifier, pretrained / scratch):

- SynthMotion's default clips (textured backgrounds, pixel noise) make the normalised-pixel target of flat,
  noisy patches pure noise: the loss stays at (n-1)/n = 0.969 and fine-tuning gains nothing (12.5 / 11.2).
  Plain, noise-free clips fix that: 31.2 / 10.4, 27.5 / 12.1, 31.2 / 12.5 (seeds 0-2).
- Larger objects (radius 22-32 % of the frame instead of 11-19 %) give more object patches to predict:
  41.7 / 16.2, 33.3 / 10.8 (seeds 0, 1). This is the tutorial default.
- Raw-pixel targets (``norm_pix_loss=False``) on the same clips learn the background colour and little else
  for recognition: 17.5 / 16.2.
- A randomly initialised autoencoder loaded the same way gives the scratch number (plain clips, seed 0: 10.4),
  so the gain comes from pretraining, not from the autoencoder's initialisation.

    model, history = pretrain_on_synthmotion("tutorial", seed=0)              # tube masking, ratio 0.9
    path = save_pretrained(model, "tutorial")
    clf, history, metrics = finetune_on_synthmotion(init=path, profile="tutorial", seed=0)
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from internvideo_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "VideoMAESynthRecipe", "RECIPES", "get_recipe", "SynthData", "load_synth_data", "ClipLoader",
    "clips_to_input", "build_pretrain_model", "build_classifier", "pretrain_on_synthmotion",
    "finetune_on_synthmotion", "predict_logits", "evaluate_classifier", "pretrain_checkpoint_path",
    "save_pretrained", "encoder_features", "linear_probe", "reconstruction_error", "reconstruction_report",
    "copy_neighbour_error",
    "shuffle_frames", "checkpoint_matches", "classifier_checkpoint_path", "save_classifier", "make_mask", "direction_accuracy",
]


# ------------------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class VideoMAESynthRecipe:
    """Everything that defines a run. Learning rates are per 256 clips (scaled by batch / 256, official rule).

    Input: ``render_size`` px rendered, ``img_size`` px crops, ``clip_frames`` rendered frames, every
    ``frame_stride``-th one used. Model: ViT with ``patch_size`` x ``tubelet_size`` tubelets, ``embed_dim`` /
    ``depth`` / ``num_heads``; decoder ``decoder_*``. Data: ``pretrain_parts`` form the unlabelled pool;
    ``labels_per_class`` labelled clips of ``finetune_part`` per class for fine-tuning.
    """

    render_size: int = 28
    img_size: int = 24
    clip_frames: int = 16
    frame_stride: int = 2
    synth: tuple[tuple[str, Any], ...] = (("noise", 0.0), ("textured", False), ("radius", (0.22, 0.32)))
    patch_size: int = 4
    tubelet_size: int = 2
    embed_dim: int = 96
    depth: int = 4
    num_heads: int = 3
    decoder_embed_dim: int = 64
    decoder_depth: int = 1
    decoder_num_heads: int = 2
    # data
    pretrain_parts: tuple[str, ...] = ("classification", "ssv2")
    finetune_part: str = "classification"
    labels_per_class: int = 10
    # pretraining
    mask_type: str = "tube"
    mask_ratio: float = 0.9
    norm_pix_loss: bool = True
    pretrain_epochs: int = 10
    pretrain_batch_size: int = 8
    pretrain_lr: float = 1.2e-2
    pretrain_warmup_epochs: float = 2
    pretrain_weight_decay: float = 0.05
    # fine-tuning
    finetune_epochs: int = 30
    finetune_batch_size: int = 8
    finetune_lr: float = 6.4e-2
    finetune_warmup_epochs: float = 3
    finetune_weight_decay: float = 0.05
    layer_decay: float = 0.75
    smoothing: float = 0.1
    drop_path_rate: float = 0.1
    # testing
    test_temporal_views: int = 2
    test_spatial_views: int = 3

    @property
    def num_frames(self) -> int:
        """Frames the model sees."""
        return self.clip_frames // self.frame_stride

    @property
    def grid(self) -> tuple[int, int, int]:
        s = self.img_size // self.patch_size
        return (self.num_frames // self.tubelet_size, s, s)

    def replace(self, **changes: Any) -> "VideoMAESynthRecipe":
        return dataclasses.replace(self, **changes)

    def fingerprint(self) -> str:
        """Short hash of the fields that shape the pretrained autoencoder (data, model, pretraining), stored in
        the checkpoint so that notebook 03 can tell whether notebook 02's file fits its recipe."""
        import hashlib
        import json

        skip = ("finetune_", "layer_decay", "smoothing", "drop_path_rate", "labels_per_class", "test_")
        fields = {k: v for k, v in dataclasses.asdict(self).items() if not k.startswith(skip)}
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def model_overrides(self) -> dict[str, Any]:
        """Config overrides of the kit's ``*_tiny_synth`` models for this recipe."""
        return dict(img_size=self.img_size, patch_size=self.patch_size, num_frames=self.num_frames,
                    tubelet_size=self.tubelet_size, embed_dim=self.embed_dim, depth=self.depth,
                    num_heads=self.num_heads)


RECIPES: dict[str, VideoMAESynthRecipe] = {
    # CI: seconds; 16 x 16 crops of 4 frames, 8 tokens, one block.
    "smoke": VideoMAESynthRecipe(render_size=20, img_size=16, patch_size=8, frame_stride=4, embed_dim=32, depth=1,
                                 num_heads=2, decoder_embed_dim=32, decoder_num_heads=2, labels_per_class=2,
                                 pretrain_epochs=1, finetune_epochs=1, pretrain_warmup_epochs=0,
                                 finetune_warmup_epochs=0),
    # CPU laptop, a few minutes (found by experiment, see the module docstring).
    "tutorial": VideoMAESynthRecipe(),
    # GPU: larger clips and model, longer schedules (not tuned; a starting point).
    "full": VideoMAESynthRecipe(render_size=72, img_size=64, patch_size=8, frame_stride=1, embed_dim=192, depth=6,
                                num_heads=3, decoder_embed_dim=96, decoder_depth=2, decoder_num_heads=3,
                                labels_per_class=30, pretrain_epochs=200, pretrain_batch_size=64, pretrain_lr=4e-3,
                                pretrain_warmup_epochs=20, finetune_epochs=60, finetune_batch_size=16,
                                finetune_lr=3.2e-2, finetune_warmup_epochs=5),
}


def get_recipe(profile: str, **overrides: Any) -> VideoMAESynthRecipe:
    """The recipe of ``profile`` (``smoke`` / ``tutorial`` / ``full``) with ``overrides`` applied."""
    if profile not in RECIPES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {list(RECIPES)}")
    return RECIPES[profile].replace(**overrides)


# --------------------------------------------------------------------------------------------------- data
@dataclass
class SynthData:
    """In-memory SynthMotion clips, all uint8 ``[N, clip_frames, render_size, render_size, 3]``.

    ``pool``: unlabelled pretraining clips; ``train_videos`` / ``train_labels``: the labelled fine-tuning subset;
    ``test_videos`` / ``test_labels``: held-out evaluation clips; ``classes``: class names of the labels.
    """

    pool: torch.Tensor
    train_videos: torch.Tensor
    train_labels: torch.Tensor
    test_videos: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    seconds: float = 0.0


def load_synth_data(recipe: VideoMAESynthRecipe, profile: str, seed: int = 0) -> SynthData:
    """Render the clips of ``recipe`` (SynthMotion sizes of ``profile``, the same clips for the same seed)."""
    from internvideo_core.data.synthmotion import SynthConfig, synthmotion_clips

    start = time.perf_counter()
    cfg = SynthConfig(size=recipe.render_size, num_frames=recipe.clip_frames, **dict(recipe.synth))
    parts = {p: synthmotion_clips(p, "train", profile, seed, cfg=cfg) for p in recipe.pretrain_parts}
    if recipe.finetune_part not in parts:
        parts[recipe.finetune_part] = synthmotion_clips(recipe.finetune_part, "train", profile, seed, cfg=cfg)
    pool = torch.cat([parts[p].videos for p in recipe.pretrain_parts])
    labelled = parts[recipe.finetune_part]
    keep: list[int] = []
    counts: dict[int, int] = {}
    for i, y in enumerate(labelled.labels.tolist()):  # the first labels_per_class clips of every class
        if counts.get(y, 0) < recipe.labels_per_class:
            counts[y] = counts.get(y, 0) + 1
            keep.append(i)
    test_splits = ("val", "test") if recipe.finetune_part != "ssv2" else ("val",)
    tests = [synthmotion_clips(recipe.finetune_part, s, profile, seed, cfg=cfg) for s in test_splits]
    idx = torch.as_tensor(keep)
    return SynthData(pool=pool, train_videos=labelled.videos[idx], train_labels=labelled.labels[idx],
                     test_videos=torch.cat([t.videos for t in tests]), test_labels=torch.cat([t.labels for t in tests]),
                     classes=tuple(labelled.classes), seconds=time.perf_counter() - start)


def clips_to_input(videos: torch.Tensor, recipe: VideoMAESynthRecipe, *, offset: int | torch.Tensor = 0,
                   crop: str | tuple[int, int] | tuple[torch.Tensor, torch.Tensor] = "center") -> torch.Tensor:
    """uint8 ``[B, T0, S, S, 3]`` -> ImageNet-normalised float ``[B, 3, T0 / stride, img, img]``.

    ``offset``: first frame of the strided sampling (an int, or one per clip ``[B]``); ``crop``: ``"center"``
    or ``(top, left)`` (ints, or one per clip ``[B]`` each).
    """
    b, size, s = videos.shape[0], videos.shape[2], recipe.img_size
    if crop == "center":
        crop = ((size - s) // 2, (size - s) // 2)
    top, left = (torch.as_tensor(v).expand(b).tolist() for v in crop)
    off = torch.as_tensor(offset).expand(b).tolist()
    stride, nf = recipe.frame_stride, recipe.num_frames
    if max(off, default=0) + stride * (nf - 1) >= videos.shape[1]:
        raise ValueError(f"clips of {videos.shape[1]} frames are too short for {nf} frames every {stride} "
                         f"from offset {max(off)}")
    frames = torch.stack([videos[i, o: o + stride * (nf - 1) + 1: stride, y: y + s, x: x + s]
                          for i, (o, y, x) in enumerate(zip(off, top, left))])
    x = rearrange(frames, "b t h w c -> b c t h w").float()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1, 1) * 255.0
    return (x - mean) / std


class ClipLoader:
    """A re-iterable of batches from in-memory clips: ``x [B, 3, T, img, img]`` or ``(x, labels [B])``.

    Training mode (``train=True``) shuffles each epoch (seeded by ``seed`` and the epoch, see
    :meth:`set_epoch`), drops the last incomplete batch and draws a random temporal offset and crop per clip.
    """

    def __init__(self, videos: torch.Tensor, labels: torch.Tensor | None, recipe: VideoMAESynthRecipe, *,
                 batch_size: int, train: bool = True, seed: int = 0) -> None:
        if train and len(videos) < batch_size:
            batch_size = max(1, len(videos))
        self.videos, self.labels, self.recipe = videos, labels, recipe
        self.batch_size, self.train, self.seed, self.epoch = batch_size, train, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.videos)
        return n // self.batch_size if self.train else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        r = self.recipe
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        n = len(self.videos)
        order = torch.randperm(n, generator=g) if self.train else torch.arange(n)
        span = self.videos.shape[2] - r.img_size
        for b in range(len(self)):
            idx = order[b * self.batch_size: (b + 1) * self.batch_size]
            if self.train:
                off = torch.randint(r.frame_stride, (len(idx),), generator=g)
                top, left = torch.randint(span + 1, (2, len(idx)), generator=g)
                x = clips_to_input(self.videos[idx], r, offset=off, crop=(top, left))
            else:
                x = clips_to_input(self.videos[idx], r)
            yield x if self.labels is None else (x, self.labels[idx])


# ------------------------------------------------------------------------------------------------- models
def build_pretrain_model(recipe: VideoMAESynthRecipe, **overrides: Any) -> nn.Module:
    """The masked autoencoder of ``recipe`` (``videomae_pretrain_tiny_synth`` with the recipe's sizes)."""
    from internvideo_core.registry import create_model

    kw = dict(recipe.model_overrides(), decoder_embed_dim=recipe.decoder_embed_dim,
              decoder_depth=recipe.decoder_depth, decoder_num_heads=recipe.decoder_num_heads, norm_pix_loss=recipe.norm_pix_loss)
    return create_model("videomae_pretrain_tiny_synth", **{**kw, **overrides})


def build_classifier(recipe: VideoMAESynthRecipe, num_classes: int, checkpoint_path: str | Path | None = None,
                     **overrides: Any) -> nn.Module:
    """The classifier of ``recipe``; ``checkpoint_path`` (e.g. a pretraining checkpoint) is loaded strictly
    through :func:`~internvideo_core.registry.create_model` (decoder keys are reported as ignored)."""
    from internvideo_core.registry import create_model

    kw = dict(recipe.model_overrides(), num_classes=num_classes, drop_path_rate=recipe.drop_path_rate)
    return create_model("videomae_vit_tiny_synth", checkpoint_path=None if checkpoint_path is None else
                        str(checkpoint_path), **{**kw, **overrides})


def pretrain_checkpoint_path(profile: str) -> Path:
    """``runs/checkpoints/<profile>/videomae_synth_pretrain.safetensors`` (written by notebook 02)."""
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / profile / "videomae_synth_pretrain.safetensors"


def save_pretrained(model: nn.Module, profile: str, path: str | Path | None = None, *,
                    recipe: VideoMAESynthRecipe | None = None) -> Path:
    """Save the autoencoder (kit safetensors) to :func:`pretrain_checkpoint_path` (or ``path``), with the
    recipe's :meth:`~VideoMAESynthRecipe.fingerprint` in the metadata."""
    from internvideo_core.checkpoint import save_safetensors

    r = recipe or get_recipe(profile)
    return save_safetensors(model, path or pretrain_checkpoint_path(profile),
                            metadata={"recipe": "videomae_synth", "profile": profile, "fingerprint": r.fingerprint()})


def classifier_checkpoint_path(profile: str) -> Path:
    """``runs/checkpoints/<profile>/videomae_synth_classifier.safetensors`` (written by notebook 03, read by the
    demo)."""
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / profile / "videomae_synth_classifier.safetensors"


def save_classifier(model: nn.Module, profile: str, classes: Sequence[str], path: str | Path | None = None, *,
                    recipe: VideoMAESynthRecipe | None = None) -> Path:
    """Save a fine-tuned classifier (kit safetensors) to :func:`classifier_checkpoint_path` (or ``path``) with its
    class names (JSON list, index = output unit) and the recipe fingerprint in the metadata."""
    import json

    from internvideo_core.checkpoint import save_safetensors

    r = recipe or get_recipe(profile)
    head = getattr(model, "head", None)
    if isinstance(head, nn.Linear) and head.out_features != len(classes):
        raise ValueError(f"the classifier has {head.out_features} outputs but {len(classes)} class names were given")
    meta = {"recipe": "videomae_synth", "task": "classifier", "profile": profile, "fingerprint": r.fingerprint(),
            "classes": json.dumps(list(classes))}
    return save_safetensors(model, path or classifier_checkpoint_path(profile), metadata=meta)


def checkpoint_matches(path: str | Path, recipe: VideoMAESynthRecipe) -> bool:
    """True when ``path`` exists and was written by :func:`save_pretrained` for the same recipe."""
    path = Path(path)
    if not path.exists():
        return False
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except Exception:  # not a safetensors file / truncated: treat as missing
        return False
    return meta.get("fingerprint") == recipe.fingerprint()


def make_mask(kind: str, batch: int, grid: tuple[int, int, int], ratio: float, seed: int = 0) -> torch.Tensor:
    """``bool [batch, N]`` tube or random mask (True = masked) drawn from a generator seeded with ``seed``."""
    from internvideo_core.masking import make_mask as _make

    return _make(kind, batch, grid, ratio, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------- training
def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def pretrain_on_synthmotion(profile: str = "tutorial", seed: int = 0, mask: str | None = None,
                            ratio: float | None = None, *, recipe: VideoMAESynthRecipe | None = None,
                            data: SynthData | None = None, progress: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """Pretrain the recipe's masked autoencoder on the unlabelled pool.

    ``mask`` (``"tube"`` / ``"random"``) and ``ratio`` default to the recipe's (tube, 0.9). Returns the model
    (eval mode) and a history ``{"loss": per-step losses, "epoch_loss", "seconds", "mask", "ratio"}``.
    """
    from internvideo_core.train.pretrain import PretrainConfig, pretrain

    r = recipe or get_recipe(profile)
    mask = mask or r.mask_type
    ratio = r.mask_ratio if ratio is None else ratio
    data = data or load_synth_data(r, profile, seed)
    torch.manual_seed(seed)
    model = build_pretrain_model(r)
    loader = ClipLoader(data.pool, None, r, batch_size=r.pretrain_batch_size, train=True, seed=seed)
    cfg = PretrainConfig(epochs=r.pretrain_epochs, base_lr=r.pretrain_lr, min_lr=r.pretrain_lr / 100,
                         warmup_epochs=r.pretrain_warmup_epochs, weight_decay=r.pretrain_weight_decay,
                         mask_type=mask, mask_ratio=ratio, seed=seed, device=_device(), progress=progress)
    start = time.perf_counter()
    result = pretrain(model, loader, cfg)
    model.eval()
    history = {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs],
               "seconds": time.perf_counter() - start, "mask": mask, "ratio": ratio}
    return model, history


def finetune_on_synthmotion(init: str | Path | None = None, profile: str = "tutorial", seed: int = 0, *,
                            recipe: VideoMAESynthRecipe | None = None, data: SynthData | None = None,
                            progress: bool = False) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """Fine-tune a classifier on the labelled subset, from ``init`` (a pretraining checkpoint) or from scratch.

    Returns ``(model, history, metrics)``: history ``{"loss", "epoch_loss", "seconds", "load_report"}``;
    metrics of :func:`evaluate_classifier` on the test clips (single centre view).
    """
    from internvideo_core.train.finetune import FinetuneConfig, finetune

    r = recipe or get_recipe(profile)
    data = data or load_synth_data(r, profile, seed)
    torch.manual_seed(seed)
    model = build_classifier(r, len(data.classes), init)
    report = getattr(model, "load_report", None)
    loader = ClipLoader(data.train_videos, data.train_labels, r, batch_size=r.finetune_batch_size, train=True,
                        seed=seed)
    cfg = FinetuneConfig(epochs=r.finetune_epochs, base_lr=r.finetune_lr, min_lr=r.finetune_lr / 100,
                         warmup_epochs=r.finetune_warmup_epochs, weight_decay=r.finetune_weight_decay,
                         layer_decay=r.layer_decay, mixup=0.0, cutmix=0.0, smoothing=r.smoothing, seed=seed,
                         device=_device(), progress=progress)
    start = time.perf_counter()
    result = finetune(model, loader, cfg)
    seconds = time.perf_counter() - start
    model.eval()
    metrics = evaluate_classifier(model, data.test_videos, data.test_labels, r)
    history = {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs], "seconds": seconds,
               "load_report": report}
    return model, history, metrics


# ---------------------------------------------------------------------------------------------- testing
def shuffle_frames(videos: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The same clips with their frames in a random order (one permutation per clip): uint8 ``[N, T, ...]``."""
    perm = torch.stack([torch.randperm(videos.shape[1], generator=generator) for _ in range(len(videos))])
    return torch.gather(videos, 1, perm.view(*perm.shape, 1, 1, 1).expand_as(videos))


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
    """Mean normalised-pixel loss of ``model`` on ``videos`` masked with ``kind`` at ``ratio``."""
    from internvideo_core.masking import make_mask

    model.eval()
    dev = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    total, n = 0.0, 0
    for b in range(0, len(videos), batch_size):
        x = clips_to_input(videos[b: b + batch_size], recipe).to(dev)
        m = make_mask(kind, len(x), recipe.grid, ratio, generator=g).to(dev)
        total += float(model.loss(x, m)) * len(x)
        n += len(x)
    return total / n


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
    t, h, w = recipe.grid
    patches = model.patchify(model._unnormalize(x))  # [B, N, P, C]
    mean = patches.mean(dim=-2, keepdim=True)
    std = patches.var(dim=-2, unbiased=True, keepdim=True).sqrt()
    target = rearrange((patches - mean) / (std + 1e-6), "b (t s) p c -> b t s (p c)", t=t)
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
