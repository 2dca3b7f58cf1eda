"""Torch datasets over the real annotation formats: sampled, transformed clips ``[C, T, H, W]`` + targets.

    ds = kinetics_dataset("kinetics/train.csv", root=DATA, mode="train", size=224)      # dense 16 x 4
    ds = ssv2_dataset("ssv2/something-something-v2-validation.json", labels=..., video_dir=..., mode="test")
    clip, label = ds[0]          # train/val: [3, T, S, S]; test: views [V, 3, T, S, S] (V = clips x crops)

Sampling follows the official recipes (:mod:`~internvideo_core.data.sampling`): dense windows for
Kinetics-style data, TSN segments for SSv2-style data, ``linspace`` frames for video-language data. Only the
sampled frames are decoded. Horizontal flipping is **off** by default: it swaps the classes of
direction-sensitive data (SSv2, SynthMotion); enable ``flip=True`` for the official Kinetics recipe.

Randomness (train sampling and crops) comes from ``(seed, epoch, index)``: call :meth:`set_epoch` each epoch;
the same item in the same epoch is the same clip in every worker.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from internvideo_core.data import annotations as A
from internvideo_core.data import ava_annotations as AVA
from internvideo_core.data.video_qa_formats import read_msrvtt_qa_json
from internvideo_core.data.video_text_formats import read_msrvtt_1ka
from internvideo_core.data.io import open_video
from internvideo_core.data.pipelines import views_from_frames
from internvideo_core.data.sampling import (
    dense_indices, dense_views, segment_indices, segment_views, uniform_indices, union_indices,
)
from internvideo_core.data.transforms import (
    CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, CenterCrop, Compose, Normalize, RandomHorizontalFlip,
    RandomResizedCrop, ResizeShortSide, frames_to_tensor,
)

__all__ = [
    "ClipDataset", "TensorClipDataset", "CaptionDataset", "QADataset", "TemporalDataset", "AVADataset",
    "kinetics_dataset", "ssv2_dataset", "train_transform", "eval_transform", "collate_with_targets",
    "read_frames",
]
_MODES = ("train", "val", "test")


def train_transform(size: int, flip: bool = False, scale: tuple[float, float] = (0.08, 1.0),
                    mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> Compose:
    """VideoMAE fine-tuning augmentation: random resized crop, optional flip, normalisation."""
    return Compose([RandomResizedCrop(size, scale), RandomHorizontalFlip(enabled=flip), Normalize(mean, std)])


def eval_transform(size: int, short_side: int | None = None, mean: Sequence[float] = IMAGENET_MEAN,
                   std: Sequence[float] = IMAGENET_STD) -> Compose:
    """Short side to ``short_side`` (default ``size``), centre crop ``size``, normalisation."""
    return Compose([ResizeShortSide(short_side or size), CenterCrop(size), Normalize(mean, std)])


def read_frames(path: str | os.PathLike, indices: np.ndarray, frame_template: str | None = None,
                start_index: int = 1, backend: str = "auto") -> torch.Tensor:
    """Frames ``indices`` of a video file, or of a folder of images named ``frame_template`` (mmaction
    rawframes: ``img_{:05d}.jpg`` numbered from ``start_index``) -> uint8 ``[T, H, W, 3]``."""
    if frame_template is None:
        with open_video(path, backend=backend) as video:
            return video.read(indices)
    from PIL import Image

    unique, inverse = np.unique(np.asarray(indices, dtype=np.int64), return_inverse=True)
    frames = []
    for i in unique:
        file = Path(path) / frame_template.format(int(i) + start_index)
        if not file.is_file():
            raise FileNotFoundError(f"rawframe {file} not found (folder {path}, template {frame_template!r}, frame "
                                    f"{int(i)} from start index {start_index}); check the frame count in the list")
        with Image.open(file) as im:
            frames.append(np.asarray(im.convert("RGB")))
    return torch.from_numpy(np.stack(frames)[inverse.reshape(-1)])


class _Seeded(Dataset):
    """Per-item generators from ``(seed, epoch, index)``."""

    seed: int = 0
    epoch: int = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _rngs(self, index: int) -> tuple[np.random.Generator, torch.Generator]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        return rng, gen


class ClipDataset(_Seeded):
    """Labelled trimmed videos -> ``(clip, label)``.

    Args:
        records: :class:`~internvideo_core.data.annotations.VideoRecord` list (paths resolved).
        sampling: ``"dense"`` (``num_frames`` x ``rate`` window), ``"segment"`` (``num_frames`` TSN segments)
            or ``"uniform"`` (``linspace``).
        mode: ``train`` (random window/segment frames, ``transform`` or :func:`train_transform`), ``val``
            (centred clip, :func:`eval_transform`) or ``test`` (official multi-view: dense ``num_clips`` or
            segment ``num_views`` temporal views x ``num_crops`` crops; returns ``[V, C, T, S, S]``).
        frame_template: read folders of images (rawframe lists) instead of video files.
    Returns per item: ``(float [3, T, S, S] or [V, 3, T, S, S], int label)``.
    """

    def __init__(self, records: Sequence[A.VideoRecord], *, sampling: str = "dense", num_frames: int = 16,
                 rate: int = 4, mode: str = "train", size: int = 224, short_side: int | None = None,
                 num_clips: int = 5, num_views: int = 2, num_crops: int = 3, flip: bool = False,
                 crop_scale: tuple[float, float] = (0.08, 1.0), mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, transform: Callable[..., torch.Tensor] | None = None,
                 frame_template: str | None = None, start_index: int = 1, backend: str = "auto",
                 seed: int = 0) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        if sampling not in ("dense", "segment", "uniform"):
            raise ValueError(f"sampling must be 'dense', 'segment' or 'uniform', got {sampling!r}")
        self.records = list(records)
        self.sampling, self.num_frames, self.rate, self.mode = sampling, num_frames, rate, mode
        self.size, self.short_side = size, short_side or size
        self.num_clips, self.num_views, self.num_crops = num_clips, num_views, num_crops
        self.mean, self.std = tuple(mean), tuple(std)
        self.frame_template, self.start_index, self.backend, self.seed = frame_template, start_index, backend, seed
        # the default train transform starts with a random crop that accepts uint8 clips: the frames are
        # converted to float after cropping (same numbers, less work); a custom transform gets float clips
        self._crop_uint8 = transform is None and mode == "train"
        if transform is None:
            transform = (train_transform(size, flip, crop_scale, mean, std) if mode == "train"
                         else eval_transform(size, self.short_side, mean, std))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def _num_frames(self, rec: A.VideoRecord) -> int:
        if rec.num_frames is not None:
            return rec.num_frames
        with open_video(rec.path, backend=self.backend) as video:
            return video.info.num_frames

    def indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Frame indices for a video of ``n`` frames: ``[T]`` (train/val) or ``[V_t, T]`` (test)."""
        if self.sampling == "uniform":
            idx = uniform_indices(n, self.num_frames)
            return idx[None] if self.mode == "test" else idx
        if self.sampling == "dense":
            if self.mode == "test":
                return dense_views(n, self.num_frames, self.rate, self.num_clips)
            return dense_indices(n, self.num_frames, self.rate, self.mode, rng)
        if self.mode == "test":
            return segment_views(n, self.num_frames, self.num_views)
        return segment_indices(n, self.num_frames, self.mode, rng)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        rec = self.records[index]
        rng, gen = self._rngs(index)
        if self.frame_template is None:
            with open_video(rec.path, backend=self.backend) as video:
                idx = self.indices(video.info.num_frames, rng)
                unique, pos = union_indices(idx)
                frames = video.read(unique)
        else:
            idx = self.indices(self._num_frames(rec), rng)
            unique, pos = union_indices(idx)
            frames = read_frames(rec.path, unique, self.frame_template, self.start_index + rec.offset)
        if self.mode != "test":
            clip = frames[torch.from_numpy(pos)]  # uint8 [T, H, W, 3]
            clip = clip.permute(3, 0, 1, 2) if self._crop_uint8 else frames_to_tensor(clip)
            return self.transform(clip, generator=gen), rec.label
        views = views_from_frames(frames, pos, self.size, self.num_crops, self.short_side, self.mean, self.std)
        return views, rec.label


def kinetics_dataset(annotation: str | os.PathLike, root: str | os.PathLike | None = None,
                     classes: Sequence[str] | None = None, template: str = A.KINETICS_TEMPLATE,
                     num_classes: int | None = None, **kwargs: Any) -> ClipDataset:
    """Kinetics-style data with dense sampling (default 16 frames x rate 4). ``annotation`` is a VideoMAE list
    (``path label``; paths relative to ``root``), an official Kinetics CSV (header ``label,youtube_id,...``;
    files ``root/<template>``) or, with ``frame_template`` (e.g. ``"img_{:05d}.jpg"``), an mmaction rawframe
    list ``frame_dir total_frames label``. Labels must lie in ``[0, num_classes)`` (default: ``len(classes)``),
    checked while reading: :class:`~internvideo_core.data.annotations.AnnotationError` names the file and line.
    ``kwargs`` go to :class:`ClipDataset`."""
    first = Path(annotation).read_text(encoding="utf-8-sig").split("\n", 1)[0]
    bound = num_classes if num_classes is not None else (None if classes is None else len(classes))
    if "youtube_id" in first:
        records = A.read_kinetics_csv(annotation, classes, root, template)
        for i, r in enumerate(records):
            if bound is not None and r.label >= bound:
                raise A.AnnotationError(annotation, f"record {i + 1}", f"label {r.label} out of range",
                                        f"a label index below {bound} (the model's number of classes)")
    elif kwargs.get("frame_template"):
        records = A.read_rawframe_list(annotation, root, num_classes=bound)
    else:
        records = A.read_video_list(annotation, root, bound)
    kwargs.setdefault("sampling", "dense")
    return ClipDataset(records, **kwargs)


def ssv2_dataset(annotation: str | os.PathLike, labels: str | os.PathLike | dict[str, int] | None = None,
                 video_dir: str | os.PathLike | None = None, ext: str = ".webm", root: str | os.PathLike | None = None,
                 **kwargs: Any) -> ClipDataset:
    """SSv2-style data with TSN segment sampling (default 16 segments, test 2 x 3 views). ``annotation``: the
    SSv2 JSON (with ``labels`` JSON and ``video_dir``), a VideoMAE list ``path label`` or a rawframe list
    ``folder num_frames label`` (pass ``frame_template``, e.g. ``"img_{:05d}.jpg"``) relative to ``root``."""
    path = Path(annotation)
    if path.suffix == ".json":
        records = A.read_ssv2_json(path, labels, video_dir, ext)
    elif kwargs.get("frame_template"):
        records = A.read_rawframe_list(path, root)
    else:
        records = A.read_video_list(path, root)
    kwargs.setdefault("sampling", "segment")
    return ClipDataset(records, **kwargs)


class TensorClipDataset(_Seeded):
    """In-memory clips (e.g. :func:`~internvideo_core.data.synthmotion.synthmotion_clips`): uint8
    ``[N, T, H, W, 3]`` + labels ``[N]`` -> ``(float [3, T, S, S], label)`` through ``transform`` (default:
    normalisation only, at the stored size)."""

    def __init__(self, videos: torch.Tensor, labels: torch.Tensor | Sequence[int],
                 transform: Callable[..., torch.Tensor] | None = None, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, seed: int = 0) -> None:
        if videos.ndim != 5 or videos.shape[-1] != 3:
            raise ValueError(f"videos must be uint8 [N, T, H, W, 3], got {tuple(videos.shape)}")
        self.videos, self.labels = videos, torch.as_tensor(labels, dtype=torch.long)
        if len(self.labels) != len(videos):
            raise ValueError(f"{len(videos)} videos but {len(self.labels)} labels")
        self.transform = transform or Compose([Normalize(mean, std)])
        self.seed = seed

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        _, gen = self._rngs(index)
        return self.transform(frames_to_tensor(self.videos[index]), generator=gen), int(self.labels[index])


class _VideoTextBase(_Seeded):
    """Uniformly sampled ``num_frames`` (InternVideo-MM: 8), short side + centre crop, CLIP mean/std."""

    def __init__(self, video_dir: str | os.PathLike, template: str, num_frames: int, size: int,
                 short_side: int | None, mean: Sequence[float], std: Sequence[float], backend: str, seed: int):
        self.video_dir, self.template, self.num_frames = Path(video_dir), template, num_frames
        self.transform = eval_transform(size, short_side or size, mean, std)
        self.backend, self.seed = backend, seed

    def video_path(self, video_id: str) -> Path:
        return self.video_dir / self.template.format(video_id=video_id)

    def load_clip(self, video_id: str) -> torch.Tensor:
        """``float [3, num_frames, S, S]`` of a video."""
        with open_video(self.video_path(video_id), backend=self.backend) as video:
            frames = video.read(uniform_indices(video.info.num_frames, self.num_frames))
        return self.transform(frames_to_tensor(frames))


class CaptionDataset(_VideoTextBase):
    """MSR-VTT-style video-text data -> ``(clip [3, T, S, S], caption str, video index)``.

    ``annotation``: ``videodatainfo.json`` (filtered by ``split``) or a JSFusion test CSV. ``mode="train"``
    picks a random caption per item; otherwise caption ``caption_index``. For retrieval, :attr:`texts` lists
    every caption and :attr:`text_to_video` the index of its video."""

    def __init__(self, annotation: str | os.PathLike, video_dir: str | os.PathLike, split: str | None = None,
                 mode: str = "train", template: str = "{video_id}.mp4", num_frames: int = 8, size: int = 224,
                 short_side: int | None = None, caption_index: int = 0, mean: Sequence[float] = CLIP_MEAN,
                 std: Sequence[float] = CLIP_STD, backend: str = "auto", seed: int = 0) -> None:
        super().__init__(video_dir, template, num_frames, size, short_side, mean, std, backend, seed)
        path = Path(annotation)
        self.records = read_msrvtt_1ka(path) if path.suffix == ".csv" else A.read_msrvtt_json(path, split)
        missing = [r.video_id for r in self.records if not r.captions]
        if missing:
            raise A.AnnotationError(path, None, f"videos without captions: {missing[:5]}", "at least one caption each")
        self.mode, self.caption_index = mode, caption_index
        self.texts = [c for r in self.records for c in r.captions]
        self.text_to_video = [i for i, r in enumerate(self.records) for _ in r.captions]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, int]:
        rec = self.records[index]
        if self.mode == "train":
            rng, _ = self._rngs(index)
            caption = rec.captions[int(rng.integers(len(rec.captions)))]
        else:
            caption = rec.captions[min(self.caption_index, len(rec.captions) - 1)]
        return self.load_clip(rec.video_id), caption, index


class QADataset(_VideoTextBase):
    """MSRVTT-QA-style data -> ``(clip, question, answer index)``; answers outside ``answers`` get -1."""

    def __init__(self, annotation: str | os.PathLike, video_dir: str | os.PathLike,
                 answers: Sequence[str] | str | os.PathLike, template: str = "{video_id}.mp4", num_frames: int = 8,
                 size: int = 224, short_side: int | None = None, mean: Sequence[float] = CLIP_MEAN,
                 std: Sequence[float] = CLIP_STD, backend: str = "auto", seed: int = 0) -> None:
        super().__init__(video_dir, template, num_frames, size, short_side, mean, std, backend, seed)
        import json

        if isinstance(answers, (str, os.PathLike)):
            answers = json.loads(Path(answers).read_text(encoding="utf-8"))
        self.answers = list(answers)
        self._answer_index = {a: i for i, a in enumerate(self.answers)}
        self.records = read_msrvtt_qa_json(annotation)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, int]:
        rec = self.records[index]
        return self.load_clip(rec.video_id), rec.question, self._answer_index.get(rec.answer, -1)


class TemporalDataset(_Seeded):
    """ActivityNet-style untrimmed videos -> ``(clip [3, T, S, S], target)``: ``num_frames`` frames spread
    uniformly over the whole video; ``target``: ``video_id``, ``duration`` (s), ``segments`` float ``[N, 2]``
    (s), ``labels`` long ``[N]`` (index in ``classes``), ``frame_times`` float ``[T]`` (s)."""

    def __init__(self, annotation: str | os.PathLike, video_dir: str | os.PathLike, classes: Sequence[str],
                 subset: str | None = None, template: str = "v_{video_id}.mp4", num_frames: int = 32,
                 size: int = 224, short_side: int | None = None, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, backend: str = "auto") -> None:
        self.records = A.read_activitynet_json(annotation, subset)
        self.classes = list(classes)
        index = {c: i for i, c in enumerate(self.classes)}
        for r in self.records:
            for _, _, lab in r.segments:
                if lab not in index:
                    raise A.AnnotationError(annotation, f"database[{r.video_id!r}]", f"label {lab!r} not in classes",
                                            f"one of {self.classes}")
        self._index = index
        self.video_dir, self.template, self.num_frames, self.backend = Path(video_dir), template, num_frames, backend
        self.transform = eval_transform(size, short_side or size, mean, std)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        rec = self.records[index]
        with open_video(self.video_dir / self.template.format(video_id=rec.video_id), backend=self.backend) as v:
            idx = uniform_indices(v.info.num_frames, self.num_frames)
            frames, fps = v.read(idx), v.info.fps or 1.0
        target = {
            "video_id": rec.video_id, "duration": rec.duration,
            "segments": torch.tensor([[s, e] for s, e, _ in rec.segments], dtype=torch.float32).reshape(-1, 2),
            "labels": torch.tensor([self._index[lab] for _, _, lab in rec.segments], dtype=torch.long),
            "frame_times": torch.from_numpy(idx.astype(np.float32) / np.float32(fps)),
        }
        return self.transform(frames_to_tensor(frames)), target


class AVADataset(_Seeded):
    """AVA-style keyframes -> ``(clip [3, T, S, S], target)``, one item per annotated ``(video, timestamp)``.

    The clip is ``clip_len`` frames at stride ``rate`` centred on the keyframe (frame
    ``(timestamp - timestamp_start) * fps``). ``target``: ``video_id``, ``timestamp``, ``boxes`` float
    ``[N, 4]`` (normalised x1, y1, x2, y2, one per person id), ``labels`` float ``[N, C]`` multi-hot over the
    label map's ids in ascending order, ``person_ids`` long ``[N]``. Excluded timestamps are dropped."""

    def __init__(self, annotation: str | os.PathLike, video_dir: str | os.PathLike,
                 label_map: dict[int, str] | str | os.PathLike, excluded: str | os.PathLike | None = None,
                 template: str = "{video_id}.mp4", clip_len: int = 16, rate: int = 1, timestamp_start: int = 0,
                 size: int = 224, short_side: int | None = None, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, backend: str = "auto") -> None:
        self.label_map = label_map if isinstance(label_map, dict) else AVA.read_ava_label_map(label_map)
        self.action_ids = sorted(self.label_map)
        col = {a: i for i, a in enumerate(self.action_ids)}
        skip = AVA.read_ava_excluded(excluded) if excluded else set()
        frames: dict[tuple[str, int], dict[int, list[Any]]] = {}
        for row in AVA.read_ava_csv(annotation):
            if (row.video_id, row.timestamp) in skip or row.action_id not in col:
                continue
            people = frames.setdefault((row.video_id, row.timestamp), {})
            entry = people.setdefault(row.person_id if row.person_id >= 0 else len(people),
                                      [(row.x1, row.y1, row.x2, row.y2), set()])
            entry[1].add(col[row.action_id])
        self.keys = sorted(frames)
        self._frames = frames
        self.video_dir, self.template, self.backend = Path(video_dir), template, backend
        self.clip_len, self.rate, self.timestamp_start = clip_len, rate, timestamp_start
        self.transform = eval_transform(size, short_side or size, mean, std)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        vid, ts = self.keys[index]
        with open_video(self.video_dir / self.template.format(video_id=vid), backend=self.backend) as v:
            n, fps = v.info.num_frames, v.info.fps
            centre = int(round((ts - self.timestamp_start) * fps))
            offsets = (np.arange(self.clip_len) - self.clip_len // 2) * self.rate
            idx = np.clip(centre + offsets, 0, n - 1)
            frames = v.read(idx)
        people = sorted(self._frames[(vid, ts)].items())
        labels = torch.zeros(len(people), len(self.action_ids))
        for i, (_, (_, acts)) in enumerate(people):
            labels[i, sorted(acts)] = 1.0
        target = {"video_id": vid, "timestamp": ts,
                  "boxes": torch.tensor([box for _, (box, _) in people], dtype=torch.float32).reshape(-1, 4),
                  "labels": labels, "person_ids": torch.tensor([p for p, _ in people], dtype=torch.long)}
        return self.transform(frames_to_tensor(frames)), target


def collate_with_targets(batch: Sequence[tuple[torch.Tensor, Any]]) -> tuple[torch.Tensor, list[Any]]:
    """Stack clips ``[B, 3, T, S, S]``, keep per-item targets (dicts of different sizes) as a list."""
    return torch.stack([b[0] for b in batch]), [b[1] for b in batch]
