"""SynthMotion caption clips in memory, and how the model sees their frames.

:func:`caption_clips` renders a caption split (``train`` / ``val`` / ``test``) into a :class:`CaptionClips`
(uint8 videos ``[N, 3, F, S, S]``, paraphrased captions, annotations, ids and, for ``train``, the captions of
every clip played backwards, see :data:`REVERSED_MOTION`). :func:`frame_indices` chooses the ``T`` frames the
model sees and :func:`clips_to_input` turns uint8 clips into normalised float input ``[N, 3, T, S, S]``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange

from internvideo_core.data import synthmotion_annotations as A
from internvideo_core.data.synthmotion import (
    DIRECTION_PAIRS, PROFILES as SYNTH_PROFILES, SynthConfig, synthmotion_clips,
)
from internvideo_core.data.synthmotion_plan import heldout_combinations
from internvideo_core.data.transforms import CLIP_MEAN, CLIP_STD
from internvideo_core.recipes.mm_synth.config import MMSynthRecipe, as_recipe

if TYPE_CHECKING:
    from internvideo_core.data.synthmotion import SynthClips

__all__ = ["REVERSED_MOTION", "CaptionClips", "caption_clips", "frame_indices", "clips_to_input"]


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


def caption_clips(recipe: MMSynthRecipe | str, seed: int = 0, split: str = "train", chunk: int = 100, *,
                  look: dict[str, Any] | None = None) -> CaptionClips:
    """SynthMotion caption clips of ``split`` (``train`` / ``val`` / ``test``), rendered and resized in chunks.

    The first clips of each split are exactly those of the recipe's profile's dataset on disk (same ids and
    captions); ``recipe.train_videos`` / ``recipe.test_videos`` only add clips after them. ``recipe`` may be a
    profile name. ``look``: other :class:`~internvideo_core.data.synthmotion.SynthConfig` drawing knobs (e.g.
    ``textured=False``; the embedded models use :data:`internvideo_core.embedded.SYNTH_LOOK`).
    """
    recipe = as_recipe(recipe)
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    sizes = SYNTH_PROFILES[recipe.profile]
    train_n = recipe.train_videos or sizes.vl[0]
    vl = (train_n, sizes.vl[1], sizes.vl[2]) if split == "train" else \
        (sizes.vl[0], sizes.vl[1], recipe.test_videos or sizes.vl[2])
    sizes = dataclasses.replace(sizes, vl=vl)
    cfg = SynthConfig(size=recipe.render_size, num_frames=recipe.clip_frames, **(look or {}))
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


def _render_range(split: str, sizes: Any, seed: int, cfg: SynthConfig, lo: int, hi: int) -> SynthClips:
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
