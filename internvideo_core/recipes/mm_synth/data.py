"""InternVideo-MM on SynthMotion: video-text contrastive pretraining, zero-shot, retrieval and video QA.

The recipe behind notebooks 04 (video-language pretraining), 05 (zero-shot), 06 (retrieval) and 07 (video QA).
It picks sizes and hyper-parameters per profile and wires SynthMotion's caption part, the dual encoder
(``create_model("internvideo_mm_tiny_synth", ...)``), the contrastive loop
(:func:`internvideo_core.train.contrastive.train_contrastive`) and the metrics of :mod:`internvideo_core.eval`.

Data (the ``captions`` part of SynthMotion, MSR-VTT-like):

- **train**: ``train_videos`` captioned clips (the profile's training videos plus more from the same
  generator: clip ``i`` is the same clip whatever the count); each has several paraphrased captions, one drawn
  at random every time the clip is used (paraphrases as augmentation);
- **val / test**: the profile's clips (``test_videos`` may extend the test split, so the zero-shot numbers rest on
  more held-out clips); every 4th test clip shows a (shape, motion) combination that no training caption has.

Trained naively, a small model from scratch learns colour (enough to tell most pairs of a random batch apart)
and little else in a few CPU minutes. Four cheap choices make it learn *motion* as well:

- **pretrained, locked text tower**: InternVideo-MM starts from CLIP; without CLIP, the text tower is first
  trained alone on the captions (:func:`warm_start_text_tower`: two paraphrases of a clip must match, with
  colour / shape / motion words dropped at random) and then frozen (``freeze_text``, as in LiT);
- **attribute dropout**: the captions the video tower is matched against lose their colour and/or shape words at
  random (:func:`drop_attributes`), so the motion must be read from the video;
- **time reversal**: with probability ``reverse_prob`` a clip is played backwards and its captions are written
  for the reversed motion ("moves left" <-> "moves right", "grows" <-> "shrinks"...), generated from the clip's
  annotation; a reversal that would create a held-out combination is skipped;
- **hard-negative batches** (``hard_negative_group``, ``group_by``): clips of the same shape and colour are put
  in the same batch in groups, so that in-batch negatives often differ only in their motion.

Shape is what this 48-px model learns least in the tutorial budget; colour, motion and temporal order are
learned (see the tutorial numbers in ``tests/test_tutorial_results_mm.py``).

    model, history = train_dual_encoder_on_synthmotion("tutorial", seed=0)   # saved for notebooks 05-07
    model, history = get_dual_encoder("tutorial", seed=0)                    # load it, or train it if missing
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torch.utils.data import DataLoader, Dataset

from internvideo_core.data import synthmotion_annotations as A
from internvideo_core.data.synthmotion import (
    COLOURS, DIRECTION_PAIRS, KNOWN_MOTIONS, PROFILES as SYNTH_PROFILES, SHAPES, SynthConfig, synthmotion_clips,
)
from internvideo_core.data.synthmotion_plan import heldout_combinations
from internvideo_core.data.transforms import CLIP_MEAN, CLIP_STD

__all__ = [
    "MMSynthRecipe", "RECIPES", "get_recipe", "CaptionClips", "caption_clips", "REVERSED_MOTION",
    "frame_indices", "clips_to_input", "CaptionTrainSet", "drop_attributes", "GroupedBatchSampler", "text_parameters", "warm_start_text_tower", "build_dual_encoder",
    "train_dual_encoder_on_synthmotion", "checkpoint_path", "load_dual_encoder", "get_dual_encoder",
    "encode_videos", "encode_texts", "text_tokenizer", "WordCachedTokenizer", "similarity", "SYNTH_TEMPLATES", "colour_templates", "combination_classes",
    "combination_prompts", "zero_shot_combinations", "zero_shot_motions", "zero_shot_report",
    "temporal_order_accuracy", "multiple_choice_items",
    "multiple_choice_eval", "qa_items", "qa_features", "train_qa_head", "predict_answers",
]


# ------------------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class MMSynthRecipe:
    """Everything that defines a run.

    Data: ``train_videos`` training clips (``None`` = the profile's count), ``test_videos`` test clips (``None`` =
    the profile's), rendered at ``render_size`` px with ``clip_frames`` frames, resized to ``img_size``; the model
    sees ``num_frames`` of them (one random frame per segment in training, ``linspace`` in evaluation).
    Model: overrides of ``internvideo_mm_tiny_synth`` (``vision_*``, ``temporal_layers``, ``text_*``,
    ``embed_dim``, ``context_length``). ``freeze_token_embedding``: keep the text tower's random word vectors
    fixed (the 49408 x ``text_width`` table is most of the parameters; only a few hundred words occur).
    Training: AdamW with warmup + cosine, ``lr`` not scaled by the batch size. QA: the head on frozen features.
    """

    # data
    train_videos: int | None = 1200
    test_videos: int | None = 200
    render_size: int = 64
    clip_frames: int = 16
    img_size: int = 48
    num_frames: int = 4
    reverse_prob: float = 0.5
    hard_negative_group: int = 4
    group_by: tuple[str, ...] | tuple[tuple[str, ...], ...] = ("shape", "colour")
    reversed_twins: bool = False
    attribute_dropout: float = 0.5
    # model
    vision_width: int = 64
    vision_layers: int = 3
    vision_heads: int = 2
    vision_patch_size: int = 12
    temporal_layers: tuple[int, ...] = (1, 2)
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 2
    context_length: int = 32
    embed_dim: int = 64
    freeze_token_embedding: bool = True
    text_warmup_steps: int = 350
    text_warmup_batch: int = 128
    text_warmup_lr: float = 2e-3
    text_warmup_dropout: tuple[float, float, float] = (0.5, 0.5, 0.15)
    freeze_text: bool = True
    # contrastive training
    epochs: int = 16
    batch_size: int = 32
    lr: float = 2e-3
    min_lr: float = 2e-5
    warmup_epochs: float = 1.0
    weight_decay: float = 0.05
    # video QA head
    qa_train_videos: int | None = None
    qa_vocab_size: int | None = 32
    qa_fusion: str = "attention"
    qa_hidden: int = 128
    qa_epochs: int = 12
    qa_batch_size: int = 256
    qa_lr: float = 3e-3
    qa_weight_decay: float = 0.05

    def replace(self, **changes: Any) -> "MMSynthRecipe":
        return dataclasses.replace(self, **changes)

    def model_overrides(self) -> dict[str, Any]:
        """``create_model("internvideo_mm_tiny_synth", **overrides)`` for this recipe."""
        return dict(input_resolution=self.img_size, num_frames=self.num_frames, vision_width=self.vision_width,
                    vision_layers=self.vision_layers, vision_heads=self.vision_heads,
                    vision_patch_size=self.vision_patch_size, temporal_layers=tuple(self.temporal_layers),
                    temporal_heads=self.vision_heads, text_width=self.text_width, text_layers=self.text_layers,
                    text_heads=self.text_heads, context_length=self.context_length, embed_dim=self.embed_dim)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


RECIPES: dict[str, MMSynthRecipe] = {
    "smoke": MMSynthRecipe(train_videos=32, test_videos=None, vision_width=32, vision_layers=2, temporal_layers=(0, 1),
                           text_width=32, text_layers=1, embed_dim=32, epochs=1, batch_size=8, warmup_epochs=0,
                           qa_epochs=2, qa_hidden=32, qa_vocab_size=None, text_warmup_steps=20,
                           text_warmup_batch=16),
    "tutorial": MMSynthRecipe(),
    "full": MMSynthRecipe(train_videos=None, test_videos=None, img_size=96, num_frames=8, vision_width=256,
                          vision_layers=6, vision_heads=4, temporal_layers=(3, 4, 5), text_width=256, text_layers=4,
                          text_heads=4, embed_dim=256, epochs=40, batch_size=128, lr=5e-4, min_lr=5e-6,
                          warmup_epochs=2, freeze_token_embedding=False, qa_hidden=512, qa_vocab_size=None,
                          qa_epochs=60),
}


def get_recipe(profile: str, **overrides: Any) -> MMSynthRecipe:
    """The recipe of ``profile`` (``smoke`` / ``tutorial`` / ``full``) with ``overrides`` applied."""
    if profile not in RECIPES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {list(RECIPES)}")
    return RECIPES[profile].replace(**overrides)


# --------------------------------------------------------------------------------------------------- data
REVERSED_MOTION: dict[str, str] = {**{a: b for a, b in DIRECTION_PAIRS}, **{b: a for a, b in DIRECTION_PAIRS}}
"""The motion a clip shows when played backwards (motions not listed are their own reversal)."""


@dataclass
class CaptionClips:
    """Caption-part clips in memory.

    ``videos``: uint8 ``[N, 3, F, S, S]`` (every rendered frame, resized to ``img_size``); ``captions[i]``: the
    paraphrases of clip ``i``; ``metas[i]``: its annotation (motion, shape, colour, num_objects, zero_shot...);
    ``ids``: MSR-VTT-style ids (``video<k>``); ``reversed_captions[i]``: captions of the clip played backwards
    (``None`` where that would show a held-out combination; only filled for the training split).
    """

    videos: torch.Tensor
    captions: list[list[str]]
    metas: list[dict[str, Any]]
    ids: list[str]
    reversed_captions: list[list[str] | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def motions(self) -> list[str]:
        return [m["motion"] for m in self.metas]

    @property
    def zero_shot(self) -> torch.Tensor:
        """bool ``[N]``: the clip shows a held-out (shape, motion) combination."""
        return torch.tensor([bool(m.get("zero_shot")) for m in self.metas], dtype=torch.bool)

    def subset(self, index: Sequence[int]) -> "CaptionClips":
        idx = list(index)
        rev = [self.reversed_captions[i] for i in idx] if self.reversed_captions else []
        return CaptionClips(self.videos[idx], [self.captions[i] for i in idx], [self.metas[i] for i in idx],
                            [self.ids[i] for i in idx], rev)


def _resize_uint8(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``[N, T, H, W, 3]`` -> uint8 ``[N, 3, T, size, size]`` (bilinear with antialiasing)."""
    x = rearrange(frames, "n t h w c -> n c t h w")
    if frames.shape[2] == size and frames.shape[3] == size:
        return x.contiguous()
    n, c, t = x.shape[:3]
    x = F.interpolate(rearrange(x.float(), "n c t h w -> (n t) c h w"), size=(size, size), mode="bilinear",
                      antialias=True, align_corners=False)
    return rearrange(x.round_().clamp_(0, 255).to(torch.uint8), "(n t) c h w -> n c t h w", n=n)


def caption_clips(split: str, profile: str = "tutorial", seed: int = 0, recipe: MMSynthRecipe | None = None,
                  chunk: int = 100) -> CaptionClips:
    """SynthMotion caption clips of ``split`` (``train`` / ``val`` / ``test``), rendered and resized in chunks.

    The first clips of each split are exactly those of the profile's dataset on disk (same ids and captions);
    ``recipe.train_videos`` / ``recipe.test_videos`` only add clips after them.
    """
    recipe = recipe or get_recipe(profile)
    sizes = SYNTH_PROFILES[profile]
    train_n = recipe.train_videos or sizes.vl[0]
    vl = (train_n, sizes.vl[1], sizes.vl[2]) if split == "train" else \
        (sizes.vl[0], sizes.vl[1], recipe.test_videos or sizes.vl[2])
    sizes = dataclasses.replace(sizes, vl=vl)
    cfg = SynthConfig(size=recipe.render_size, num_frames=recipe.clip_frames)
    total = sizes.count("captions", split)
    videos, captions, metas, ids = [], [], [], []
    for lo in range(0, total, chunk):
        # synthmotion_clips renders clips 0..limit-1; render the whole prefix once per chunk boundary would be
        # quadratic, so clips are rendered through the same per-index function in chunks.
        part = _render_range(split, sizes, seed, cfg, lo, min(lo + chunk, total))
        videos.append(_resize_uint8(part.videos, recipe.img_size))
        for m in part.metas:
            captions.append(list(m["captions"]))
            metas.append({k: v for k, v in m.items() if k in ("motion", "shape", "colour", "size", "background",
                                                              "num_objects", "zero_shot")})
        ids.extend(part.ids)
    out = CaptionClips(torch.cat(videos) if videos else torch.zeros(0, 3, recipe.clip_frames, recipe.img_size,
                                                                    recipe.img_size, dtype=torch.uint8),
                       captions, metas, ids)
    if split == "train":
        out.reversed_captions = _reversed_captions(out, seed, sizes.zero_shot_combos)
    return out


def _render_range(split: str, sizes: Any, seed: int, cfg: SynthConfig, lo: int, hi: int):
    """Clips ``lo..hi-1`` of a caption split (same clips as :func:`synthmotion_clips`)."""
    from internvideo_core.data.synthmotion import SynthClips
    from internvideo_core.data.synthmotion_plan import CLIP_FNS
    from internvideo_core.data.synthmotion_writers import captions_of

    if lo == 0:
        return synthmotion_clips("captions", split, sizes, seed, cfg=cfg, limit=hi)
    clips = [CLIP_FNS["captions"](seed, split, i, sizes, cfg) for i in range(lo, hi)]
    for c in clips:
        c.meta["captions"] = captions_of(seed, c, sizes.captions_per_video)
    return SynthClips(torch.from_numpy(np.stack([c.frames for c in clips])),
                      torch.tensor([c.label for c in clips]), (), [c.vid for c in clips], [c.meta for c in clips])


def _reversed_captions(clips: CaptionClips, seed: int, zero_shot_combos: int) -> list[list[str] | None]:
    held = set(heldout_combinations(seed, zero_shot_combos))
    out: list[list[str] | None] = []
    for i, (meta, caps) in enumerate(zip(clips.metas, clips.captions)):
        motion = REVERSED_MOTION.get(meta["motion"], meta["motion"])
        if motion == meta["motion"]:
            out.append(caps)
        elif (meta["shape"], motion) in held:
            out.append(None)
        else:
            rng = np.random.default_rng([seed, 56, int(clips.ids[i].removeprefix("video"))])
            out.append(A.caption_variants({**meta, "motion": motion}, rng, len(caps)))
    return out


def frame_indices(clip_frames: int, num_frames: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Which of ``clip_frames`` frames the model sees: ``linspace`` (evaluation, the InternVideo-MM test
    sampling) or, with a generator, one random frame in each of ``num_frames`` equal segments (training)."""
    if generator is None:
        return torch.from_numpy(np.linspace(0, clip_frames - 1, num_frames).astype(np.int64))
    edges = torch.linspace(0, clip_frames, num_frames + 1)
    lo, hi = edges[:-1].floor().long(), edges[1:].floor().long().clamp(min=1)
    r = torch.rand(num_frames, generator=generator)
    return torch.minimum(lo + (r * (hi - lo).clamp(min=1)).long(), torch.full_like(lo, clip_frames - 1))


_MEAN = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1, 1)
_STD = torch.tensor(CLIP_STD).view(1, 3, 1, 1, 1)


def clips_to_input(videos: torch.Tensor, indices: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 ``[N, 3, F, S, S]`` -> float ``[N, 3, T, S, S]`` with CLIP mean/std (frames ``indices`` if given)."""
    x = videos if indices is None else videos[:, :, indices]
    return (x.float() / 255.0 - _MEAN) / _STD


class CaptionTrainSet(Dataset):
    """``(video [3, T, S, S], captions)`` pairs for :func:`train_contrastive` (with ``collate_video_text``).

    Index ``i < N``: clip ``i`` (played backwards with its reversed captions with probability ``reverse_prob``);
    index ``N + i``: clip ``i`` always played backwards (its *reversed twin*, see :class:`GroupedBatchSampler`).
    Frames: one random frame per segment. Randomness comes from torch's global generator (seeded by the loop).
    """

    def __init__(self, clips: CaptionClips, num_frames: int, reverse_prob: float = 0.0,
                 attribute_dropout: float = 0.0) -> None:
        self.clips, self.num_frames, self.reverse_prob = clips, num_frames, reverse_prob
        self.attribute_dropout = attribute_dropout

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, list[str]]:
        n = len(self.clips)
        twin = i >= n
        i = i - n if twin else i
        gen = torch.Generator().manual_seed(int(torch.randint(2 ** 62, (1,))))
        idx = frame_indices(self.clips.videos.shape[2], self.num_frames, gen)
        video = clips_to_input(self.clips.videos[i:i + 1], idx)[0]
        captions = self.clips.captions[i]
        rev = self.clips.reversed_captions[i] if self.clips.reversed_captions else None
        if rev is not None and (twin or (self.reverse_prob > 0 and float(torch.rand(1)) < self.reverse_prob)):
            video, captions = video.flip(1), rev
        if self.attribute_dropout > 0:
            meta = self.clips.metas[i]
            drop_colour, drop_shape = (torch.rand(2) < self.attribute_dropout).tolist()
            captions = [drop_attributes(c, meta, drop_colour, drop_shape) for c in captions]
        return video, list(captions)


def drop_attributes(caption: str, meta: dict[str, Any], colour: bool = True, shape: bool = False,
                    motion: bool = False) -> str:
    """The caption without the main object's colour (``"a red star spins"`` -> ``"a star spins"``), with its shape
    replaced by the word *shape* (-> ``"a red shape spins"``) and/or without its motion phrase (-> ``"a red star"``)."""
    if motion:
        for phrase in sorted(A.MOTION_PHRASES[meta["motion"]], key=len, reverse=True):
            if f" {phrase}" in caption:
                caption = caption.replace(f" {phrase}", "", 1)
                break
    words = caption.split()
    out: list[str] = []
    k = 0
    while k < len(words):
        w = words[k]
        if colour and w == meta["colour"] and k + 1 < len(words):
            k += 2 if words[k + 1] == "coloured" else 1
            continue
        out.append("shape" if shape and w == meta["shape"] else w)
        k += 1
    return " ".join(out)


class GroupedBatchSampler:
    """Batches made of groups of ``group_size`` clips that share a key (e.g. their colour), so that in-batch
    negatives differ in what the key leaves out (shape, motion). ``group_size <= 1`` = plain shuffled batches.
    ``keys`` is one key per clip, or a list of such lists (several keyings: each epoch, every clip is grouped
    by one of them at random).

    ``twins``: bool per clip, True where the clip has a *reversed twin* (dataset index ``N + i``, the same frames
    played backwards with captions of the opposite motion); if given, half of every group are such twins of the
    group's other clips, so the batch can only be solved by reading temporal order. Drops the last incomplete
    batch. Uses torch's global generator.
    """

    def __init__(self, keys: Sequence[Any], batch_size: int, group_size: int,
                 twins: Sequence[bool] | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        # several keyings (a list of key lists): every epoch each clip is grouped by one of them, at random
        self.keyings = [list(k) for k in keys] if keys and isinstance(keys[0], list) else [list(keys)]
        self.n = len(self.keyings[0])
        self.batch_size, self.group_size = batch_size, max(1, group_size)
        self.twins = list(twins) if twins is not None else None
        self.num_batches = self.n // batch_size

    def __len__(self) -> int:
        return self.num_batches

    def _chunks(self, members: list[int]) -> list[list[int]]:
        perm = [members[j] for j in torch.randperm(len(members)).tolist()]
        if self.twins is None:
            return [perm[j:j + self.group_size] for j in range(0, len(perm), self.group_size)]
        half = max(1, self.group_size // 2)
        with_twin = [i for i in perm if self.twins[i]]
        chunks = [sum(([i, self.n + i] for i in with_twin[j:j + half]), []) for j in range(0, len(with_twin), half)]
        rest = [i for i in perm if not self.twins[i]]
        return chunks + [rest[j:j + self.group_size] for j in range(0, len(rest), self.group_size)]

    def __iter__(self) -> Iterator[list[int]]:
        if self.group_size == 1:
            order = torch.randperm(self.n).tolist()
        else:
            pick = torch.randint(len(self.keyings), (self.n,)).tolist() if len(self.keyings) > 1 else [0] * self.n
            groups: dict[Any, list[int]] = {}
            for i in range(self.n):
                groups.setdefault((pick[i], self.keyings[pick[i]][i]), []).append(i)
            chunks = [c for members in groups.values() for c in self._chunks(members)]
            order = [i for c in torch.randperm(len(chunks)).tolist() for i in chunks[c]]
        for b in range(min(self.num_batches, len(order) // self.batch_size)):
            yield order[b * self.batch_size:(b + 1) * self.batch_size]


# ------------------------------------------------------------------------------------------------ training
_TEXT_PREFIXES = ("token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection")


def text_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The text tower's parameters (word and position embeddings, blocks, final norm, projection)."""
    return [p for n, p in model.named_parameters() if n.startswith(_TEXT_PREFIXES)]


def warm_start_text_tower(model: nn.Module, clips: CaptionClips, recipe: MMSynthRecipe, seed: int = 0) -> list[float]:
    """Pretrain the text tower alone on the training captions (a stand-in for the pretrained CLIP text tower that
    InternVideo-MM starts from): two paraphrases of the same clip are a positive pair, the other clips' captions
    negatives (symmetric InfoNCE, fixed temperature 1/20); each side drops the colour, the shape and/or the motion
    words at random (``text_warmup_dropout``: the three probabilities), so that every attribute, and the synonyms of each motion ("moves
    left", "drifts leftwards"), must be encoded. Reversed captions join as extra texts. Returns per-step losses."""
    from internvideo_core.train.contrastive import contrastive_loss

    if recipe.text_warmup_steps <= 0:
        return []
    texts = [(c, m) for c, m in zip(clips.captions, clips.metas) if len(c) > 1]
    texts += [(r, {**m, "motion": REVERSED_MOTION.get(m["motion"], m["motion"])})
              for r, m in zip(clips.reversed_captions, clips.metas) if r is not None and len(r) > 1]
    params = [p for p in text_parameters(model) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.text_warmup_lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed * 1000 + 7)
    tok = text_tokenizer(recipe)
    scale = torch.tensor(math.log(20.0))
    batch = min(recipe.text_warmup_batch, len(texts))
    losses: list[float] = []
    model.train()
    for step in range(recipe.text_warmup_steps):
        for g in opt.param_groups:
            g["lr"] = recipe.text_warmup_lr * 0.5 * (1 + math.cos(math.pi * step / recipe.text_warmup_steps))
        views: tuple[list[str], list[str]] = ([], [])
        for k in torch.randperm(len(texts), generator=gen)[:batch].tolist():
            caps, meta = texts[k]
            pair = torch.randperm(len(caps), generator=gen)[:2].tolist()
            for view, j in zip(views, pair):
                colour, shape, motion = (torch.rand(3, generator=gen) < torch.tensor(recipe.text_warmup_dropout)).tolist()
                view.append(drop_attributes(caps[j], meta, colour, shape, motion))
        loss = contrastive_loss(model.encode_text(tok(views[0])), model.encode_text(tok(views[1])), scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def build_dual_encoder(recipe: MMSynthRecipe) -> nn.Module:
    """The kit's tiny dual encoder with the recipe's sizes."""
    from internvideo_core.registry import create_model

    return create_model("internvideo_mm_tiny_synth", **recipe.model_overrides())


def checkpoint_path(profile: str) -> Path:
    """``runs/checkpoints/<profile>/mm_synth.safetensors`` (shared by notebooks 04-07)."""
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / profile / "mm_synth.safetensors"


def train_dual_encoder_on_synthmotion(profile: str = "tutorial", seed: int = 0, recipe: MMSynthRecipe | None = None,
                                      train: CaptionClips | None = None, save: bool = True, progress: bool = False,
                                      end_of_epoch: Callable[[int], dict[str, float] | None] | None = None
                                      ) -> tuple[nn.Module, dict[str, Any]]:
    """Contrastive video-text training of the tiny dual encoder on SynthMotion captions.

    Returns ``(model in eval mode, history)`` with ``history = {"loss": per-step losses, "epochs": per-epoch
    logs, "seconds": wall time, "logit_scale": final exp(logit_scale), "train_videos": N}``; with ``save`` the
    weights go to :func:`checkpoint_path` (the recipe and seed in the metadata).
    """
    from internvideo_core.train.contrastive import ContrastiveConfig, collate_video_text, train_contrastive

    recipe = recipe or get_recipe(profile)
    start = time.perf_counter()
    train = train if train is not None else caption_clips("train", profile, seed, recipe)
    torch.manual_seed(seed)
    model = build_dual_encoder(recipe)
    if recipe.freeze_token_embedding:
        model.token_embedding.weight.requires_grad_(False)
    t_text = time.perf_counter()
    text_losses = warm_start_text_tower(model, train, recipe, seed)
    text_seconds = time.perf_counter() - t_text
    if recipe.freeze_text:
        for p in text_parameters(model):
            p.requires_grad_(False)
    twins = None
    if recipe.reversed_twins:
        twins = [r is not None and REVERSED_MOTION.get(m["motion"], m["motion"]) != m["motion"]
                 for r, m in zip(train.reversed_captions, train.metas)]
    keyings = [recipe.group_by] if isinstance(recipe.group_by[0], str) else list(recipe.group_by)
    keys = [[tuple(m[k] for k in keying) for m in train.metas] for keying in keyings]
    sampler = GroupedBatchSampler(keys[0] if len(keys) == 1 else keys, recipe.batch_size, recipe.hard_negative_group,
                                  twins)
    loader = DataLoader(CaptionTrainSet(train, recipe.num_frames, recipe.reverse_prob, recipe.attribute_dropout),
                        batch_sampler=sampler,
                        collate_fn=collate_video_text)
    cfg = ContrastiveConfig(epochs=recipe.epochs, base_lr=recipe.lr, min_lr=recipe.min_lr, warmup_lr=0.0,
                            warmup_epochs=recipe.warmup_epochs, weight_decay=recipe.weight_decay,
                            context_length=recipe.context_length, seed=seed, progress=progress, device="cpu"
                            if not torch.cuda.is_available() else "auto")
    tok = text_tokenizer(recipe)
    result = train_contrastive(model, loader, cfg, end_of_epoch=end_of_epoch,
                               tokenize=lambda texts, context_length=recipe.context_length: tok(texts))
    model.eval().cpu()
    history = {"loss": list(result.losses), "text_warmup_loss": text_losses, "text_warmup_seconds": text_seconds,
               "epochs": list(result.epochs),
               "seconds": time.perf_counter() - start,
               "logit_scale": float(model.logit_scale.detach().exp()), "train_videos": len(train), "steps": result.step}
    if save:
        from internvideo_core.checkpoint import save_safetensors

        meta = {"recipe": recipe.to_json(), "seed": str(seed), "profile": profile,
                "history": json.dumps({k: v for k, v in history.items() if k != "epochs"})}
        save_safetensors(model, checkpoint_path(profile), metadata=meta)
    return model, history


def load_dual_encoder(profile: str = "tutorial", seed: int = 0, recipe: MMSynthRecipe | None = None
                      ) -> tuple[nn.Module, dict[str, Any]] | None:
    """The model saved by :func:`train_dual_encoder_on_synthmotion` for this profile, recipe and seed, or ``None``
    when there is no such file (or it was trained with another recipe or seed)."""
    from safetensors import safe_open

    from internvideo_core.checkpoint import load_checkpoint

    recipe = recipe or get_recipe(profile)
    path = checkpoint_path(profile)
    if not path.exists():
        return None
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata() or {}
    if meta.get("recipe") != recipe.to_json() or meta.get("seed") != str(seed):
        return None
    model = build_dual_encoder(recipe)
    load_checkpoint(model, path, strict=True)
    history = json.loads(meta.get("history", "{}"))
    return model.eval(), history


def get_dual_encoder(profile: str = "tutorial", seed: int = 0, recipe: MMSynthRecipe | None = None,
                     train: CaptionClips | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Load the dual encoder trained by notebook 04, or train it now with the same recipe (and save it)."""
    loaded = load_dual_encoder(profile, seed, recipe)
    if loaded is not None:
        print(f"loaded {checkpoint_path(profile)}")
        return loaded
    print(f"{checkpoint_path(profile)} not found (or from another recipe/seed): training the dual encoder "
          "as notebook 04 does ...", flush=True)
    return train_dual_encoder_on_synthmotion(profile, seed, recipe, train=train)


# ------------------------------------------------------------------------------------------------ encoding
class WordCachedTokenizer:
    """``texts -> LongTensor [N, context_length]``, equal to :func:`internvideo_core.text.tokenize` for texts made of
    lower-case words separated by single spaces (every SynthMotion caption, prompt and question), but each *word* is
    BPE-encoded once and cached, so tokenizing thousands of captions per second costs dictionary look-ups.
    Other texts (punctuation, upper case, extra spaces) go through ``tokenize`` itself."""

    def __init__(self, context_length: int) -> None:
        self.context_length = context_length
        self._words: dict[str, list[int]] = {}

    def _word(self, word: str) -> list[int]:
        ids = self._words.get(word)
        if ids is None:
            from internvideo_core.text import encode

            ids = self._words[word] = encode(word)
        return ids

    def __call__(self, texts: str | Sequence[str]) -> torch.Tensor:
        from internvideo_core.text import EOT_ID, SOT_ID, tokenize

        texts = [texts] if isinstance(texts, str) else list(texts)
        out = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            words = text.split(" ")
            if not all(w.isalpha() and w.islower() and w.isascii() for w in words):
                out[row] = tokenize([text], context_length=self.context_length)[0]
                continue
            ids = [SOT_ID] + [i for w in words for i in self._word(w)] + [EOT_ID]
            if len(ids) > self.context_length:
                ids = ids[: self.context_length]
                ids[-1] = EOT_ID
            out[row, : len(ids)] = torch.tensor(ids)
        return out


_TOKENIZERS: dict[int, WordCachedTokenizer] = {}


def text_tokenizer(recipe: MMSynthRecipe) -> Callable[[Sequence[str]], torch.Tensor]:
    """``texts -> LongTensor [N, context_length]`` for the recipe's text tower (a shared
    :class:`WordCachedTokenizer`)."""
    if recipe.context_length not in _TOKENIZERS:
        _TOKENIZERS[recipe.context_length] = WordCachedTokenizer(recipe.context_length)
    return _TOKENIZERS[recipe.context_length]


@torch.no_grad()
def encode_videos(model: nn.Module, clips: CaptionClips | torch.Tensor, recipe: MMSynthRecipe,
                  batch_size: int = 128, reverse: bool = False) -> torch.Tensor:
    """Video embeddings ``[N, E]`` (unnormalised) of uint8 clips ``[N, 3, F, S, S]`` with linspace frames."""
    videos = clips.videos if isinstance(clips, CaptionClips) else clips
    idx = frame_indices(videos.shape[2], recipe.num_frames)
    if reverse:
        idx = idx.flip(0)
    model.eval()
    out = [model.encode_video(clips_to_input(videos[i:i + batch_size], idx)) for i in range(0, len(videos), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, recipe.embed_dim)


@torch.no_grad()
def encode_texts(model: nn.Module, texts: Sequence[str], recipe: MMSynthRecipe, batch_size: int = 512) -> torch.Tensor:
    """Text embeddings ``[N, E]`` (unnormalised)."""
    tok = text_tokenizer(recipe)
    model.eval()
    out = [model.encode_text(tok(texts[i:i + batch_size])) for i in range(0, len(texts), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, recipe.embed_dim)


def similarity(text_emb: torch.Tensor, video_emb: torch.Tensor, logit_scale: float | torch.Tensor = 1.0) -> torch.Tensor:
    """``logit_scale * cosine``: ``[num_texts, num_videos]`` (rows = texts, as the retrieval metrics expect)."""
    return float(logit_scale) * F.normalize(text_emb.float(), dim=-1) @ F.normalize(video_emb.float(), dim=-1).T


@torch.no_grad()
def temporal_order_accuracy(model: nn.Module, clips: CaptionClips, recipe: MMSynthRecipe) -> float:
    """Does the model read temporal order? For clips whose motion has a time-reversed partner ("moves left" /
    "moves right"...), the percentage whose first caption is closer to the clip played forwards than to the same
    frames played backwards (50 = blind to order)."""
    keep = [i for i, m in enumerate(clips.metas) if m["motion"] in REVERSED_MOTION]
    if not keep:
        return float("nan")
    sub = clips.subset(keep)
    t = F.normalize(encode_texts(model, [c[0] for c in sub.captions], recipe), dim=-1)
    fwd = (t * F.normalize(encode_videos(model, sub, recipe), dim=-1)).sum(-1)
    bwd = (t * F.normalize(encode_videos(model, sub, recipe, reverse=True), dim=-1)).sum(-1)
    return float((fwd > bwd).double().mean()) * 100.0


# ------------------------------------------------------------------------------------------------ zero-shot
#: Sentence frames of SynthMotion captions that take a class name such as ``"star rotates clockwise"``.
SYNTH_TEMPLATES: tuple[str, ...] = ("a {}", "the {}", "one {}", "in this video a {}", "a clip where a {}",
                                    "in this video the {}")


def colour_templates(templates: Sequence[str] = SYNTH_TEMPLATES, colours: Sequence[str] = tuple(COLOURS)) -> list[str]:
    """Every template once per colour (``"a {}"`` -> ``"a red {}"``, ``"a green {}"`` ...).

    Every training caption names the object's colour, so a prompt without one is unlike anything the text tower
    has seen; ensembling over all colours keeps the prompt in-distribution without telling the model the colour.
    """
    return [t.replace("{}", f"{c} {{}}", 1) for t in templates for c in colours]


def combination_classes(motions: Sequence[str] = KNOWN_MOTIONS) -> list[tuple[str, str]]:
    """Every (shape, motion) pair: the label space of compositional zero-shot recognition."""
    return [(s, m) for s in SHAPES for m in motions]


def combination_prompts(classes: Sequence[tuple[str, str]], paraphrase: int = 0) -> list[str]:
    """Class names ``"<shape> <motion phrase>"`` with the ``paraphrase``-th phrase of each motion."""
    return [f"{s} {A.MOTION_PHRASES[m][paraphrase % len(A.MOTION_PHRASES[m])]}" for s, m in classes]


def zero_shot_combinations(model: nn.Module, video_emb: torch.Tensor, classes: Sequence[tuple[str, str]],
                           recipe: MMSynthRecipe, templates: Sequence[str] = SYNTH_TEMPLATES, paraphrases: int = 1,
                           ensemble: str = "softmax_mean") -> torch.Tensor:
    """Probabilities ``[N, C]`` over (shape, motion) classes from a prompt ensemble of ``templates`` x the first
    ``paraphrases`` motion phrases (see :func:`internvideo_core.eval.zeroshot.zero_shot_classify`)."""
    from internvideo_core.eval.zeroshot import class_text_embeddings, zero_shot_classify

    encode = model.encode_text
    tok = text_tokenizer(recipe)
    per = [class_text_embeddings(combination_prompts(classes, p), templates, encode, tok) for p in range(paraphrases)]
    emb = torch.cat(per, dim=0)                                           # [templates * paraphrases, C, E]
    return zero_shot_classify(video_emb, emb, ensemble=ensemble, logit_scale=float(model.logit_scale.detach().exp()))


def zero_shot_motions(model: nn.Module, video_emb: torch.Tensor, recipe: MMSynthRecipe,
                      motions: Sequence[str] = KNOWN_MOTIONS) -> torch.Tensor:
    """Probabilities ``[N, M]`` over motions from the dataset's class prompts (``"a shape that moves to the left"``,
    ``msrvtt/zero_shot.json``)."""
    from internvideo_core.eval.zeroshot import zero_shot_classify

    emb = F.normalize(encode_texts(model, [A.prompt_for(m) for m in motions], recipe), dim=-1)
    return zero_shot_classify(video_emb, emb, logit_scale=float(model.logit_scale.detach().exp()))


def zero_shot_report(probs: torch.Tensor, clips: CaptionClips, classes: Sequence[tuple[str, str]]
                     ) -> dict[str, float]:
    """Accuracies (percent) of (shape, motion) predictions ``probs [N, C]`` on ``clips``: the whole combination,
    the motion alone and the shape alone, and ``motion_given_shape`` (the best motion among the classes of the
    clip's own shape, i.e. choosing the right sentence "a circle moves right" among "a circle <motion>"), on
    held-out clips (``heldout_*``, combinations never captioned in training) and on the other test clips
    (``seen_*``)."""
    pred = [classes[i] for i in probs.argmax(1).tolist()]
    zs = clips.zero_shot.tolist()
    out: dict[str, float] = {}
    for name, want in (("heldout", True), ("seen", False)):
        rows = [i for i, z in enumerate(zs) if z == want]
        for what, hit in (("combination", lambda i, p, m: p == (m["shape"], m["motion"])),
                          ("motion", lambda i, p, m: p[1] == m["motion"]),
                          ("shape", lambda i, p, m: p[0] == m["shape"]),
                          ("motion_given_shape", lambda i, p, m: _best_motion(probs[i], classes, m["shape"]) == m["motion"])):
            out[f"{name}_{what}"] = (100.0 * sum(hit(i, pred[i], clips.metas[i]) for i in rows) / len(rows)
                                     if rows else float("nan"))
        out[f"{name}_clips"] = len(rows)
    return out


def _best_motion(p: torch.Tensor, classes: Sequence[tuple[str, str]], shape: str) -> str:
    cols = [j for j, (s, _) in enumerate(classes) if s == shape]
    return classes[cols[int(p[cols].argmax())]][1]


def multiple_choice_items(clips: CaptionClips, seed: int = 0, num_options: int = 5) -> list[dict[str, Any]]:
    """The multiple-choice items of test clips, as in ``msrvtt/multiple_choice_test.json``: the first caption
    among captions of the same object doing other motions; ``answer`` = index of the true one."""
    items = []
    for vid, meta, caps in zip(clips.ids, clips.metas, clips.captions):
        rng = np.random.default_rng([seed, 66, int(vid.removeprefix("video"))])
        items.append(A.multiple_choice(vid, meta, caps[0], rng, num_options))
    return items


def multiple_choice_eval(model: nn.Module, video_emb: torch.Tensor, items: Sequence[dict[str, Any]],
                         recipe: MMSynthRecipe) -> tuple[float, torch.Tensor]:
    """``(accuracy in percent, predicted option per item [N])``."""
    from internvideo_core.eval.zeroshot import multiple_choice, multiple_choice_accuracy

    k = len(items[0]["options"])
    cand = encode_texts(model, [o for it in items for o in it["options"]], recipe).reshape(len(items), k, -1)
    answers = torch.tensor([it["answer"] for it in items])
    return multiple_choice_accuracy(video_emb, cand, answers), multiple_choice(video_emb, cand)


# ------------------------------------------------------------------------------------------------ video QA
def qa_items(clips: CaptionClips) -> list[dict[str, Any]]:
    """Question/answer pairs of every clip (MSRVTT-QA style): ``{"video": index, "question", "answer", "type"}``."""
    return [{"video": i, **qa} for i, meta in enumerate(clips.metas) for qa in A.questions_for(meta)]


@torch.no_grad()
def qa_features(model: nn.Module, clips: CaptionClips, items: Sequence[dict[str, Any]], recipe: MMSynthRecipe,
                batch_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen features for the QA head: ``(video tokens [N_videos, 1 + T*(1+g*g), W], questions [N_items, E])``.

    The video tokens are the pooled clip feature (after ``visual_ln_post``) followed by every frame's tokens of
    the last vision block (also through ``visual_ln_post``); the question feature is the text tower's embedding.
    """
    videos = clips.videos
    idx = frame_indices(videos.shape[2], recipe.num_frames)
    captured: list[torch.Tensor] = []
    hook = model.visual.transformer.resblocks[-1].register_forward_hook(lambda m, i, o: captured.append(o))
    chunks = []
    try:
        model.eval()
        for lo in range(0, len(videos), batch_size):
            captured.clear()
            x = clips_to_input(videos[lo:lo + batch_size], idx)
            pooled = model.visual_ln_post(model.visual(x))
            frames = rearrange(model.visual_ln_post(captured[-1]), "(b t) l c -> b (t l) c", t=x.shape[2])
            chunks.append(torch.cat([pooled.unsqueeze(1), frames], dim=1))
    finally:
        hook.remove()
    video = torch.cat(chunks)
    question = encode_texts(model, [it["question"] for it in items], recipe)
    return video, question


def train_qa_head(video_tokens: torch.Tensor, questions: torch.Tensor, items: Sequence[dict[str, Any]],
                  recipe: MMSynthRecipe, seed: int = 0) -> tuple[nn.Module, list[str], dict[str, Any]]:
    """Train :class:`~internvideo_core.models.heads.VideoQAHead` on frozen features.

    Args:
        video_tokens: ``[N_videos, L, W]`` from :func:`qa_features`. questions: ``[N_items, E]``.
        items: training QA items (``"video"`` indexes ``video_tokens``, ``"answer"``).

    Returns:
        ``(head in eval mode, answer vocabulary, history {"loss": per-epoch mean, "seconds"})``; the vocabulary
        holds the ``recipe.qa_vocab_size`` most frequent training answers (class ``i`` = ``vocab[i]``); training
        questions with other answers are left out of training, as in the official recipe.
    """
    from internvideo_core.eval.qa import build_answer_vocab, normalize_answer
    from internvideo_core.models.heads import VideoQAHead

    start = time.perf_counter()
    vocab = build_answer_vocab([it["answer"] for it in items], recipe.qa_vocab_size)
    index = {a: i for i, a in enumerate(vocab)}
    keep = [j for j, it in enumerate(items) if normalize_answer(it["answer"]) in index]
    vid = torch.tensor([items[j]["video"] for j in keep])
    q = questions[keep]
    y = torch.tensor([index[normalize_answer(items[j]["answer"])] for j in keep])
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = VideoQAHead(video_tokens.shape[-1], questions.shape[-1], len(vocab), hidden=recipe.qa_hidden,
                       fusion=recipe.qa_fusion, num_heads=4 if recipe.qa_hidden % 4 == 0 else 1)
    opt = torch.optim.AdamW(head.parameters(), lr=recipe.qa_lr, weight_decay=recipe.qa_weight_decay)
    steps_per_epoch = max(1, math.ceil(len(keep) / recipe.qa_batch_size))
    total = recipe.qa_epochs * steps_per_epoch
    losses: list[float] = []
    step = 0
    head.train()
    for _ in range(recipe.qa_epochs):
        perm = torch.randperm(len(keep), generator=gen)
        run = 0.0
        for b in range(steps_per_epoch):
            sel = perm[b * recipe.qa_batch_size:(b + 1) * recipe.qa_batch_size]
            for g in opt.param_groups:
                g["lr"] = recipe.qa_lr * 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))
            loss = F.cross_entropy(head(video_tokens[vid[sel]], q[sel]), y[sel])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run += float(loss.detach())
            step += 1
        losses.append(run / steps_per_epoch)
    head.eval()
    return head, vocab, {"loss": losses, "seconds": time.perf_counter() - start, "train_questions": len(keep)}


@torch.no_grad()
def predict_answers(head: nn.Module, video_tokens: torch.Tensor, questions: torch.Tensor,
                    items: Sequence[dict[str, Any]], vocab: Sequence[str], batch_size: int = 512) -> list[str]:
    """The predicted answer string of every item (``vocab[argmax]``)."""
    vid = torch.tensor([it["video"] for it in items])
    preds: list[str] = []
    for lo in range(0, len(items), batch_size):
        logits = head(video_tokens[vid[lo:lo + batch_size]], questions[lo:lo + batch_size])
        preds += [vocab[i] for i in logits.argmax(1).tolist()]
    return preds
