"""Training-time data for the contrastive loop: caption attribute dropout, the training set and the batches.

:func:`drop_attributes` removes colour / shape / motion words from a caption; :class:`CaptionTrainSet` yields
``(video [3, T, S, S], captions)`` with random frames, time reversal and attribute dropout;
:class:`GroupedBatchSampler` builds hard-negative batches (groups of clips sharing a key, optional reversed twins).
All randomness comes from torch's global generator, in the order the original single-module recipe drew it.
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import torch
from torch.utils.data import Dataset

from internvideo_core.data import synthmotion_annotations as A
from internvideo_core.recipes.mm_synth.data import CaptionClips, clips_to_input, frame_indices

__all__ = ["CaptionTrainSet", "drop_attributes", "GroupedBatchSampler"]


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
