"""How a model is fed: :class:`InputSpec`, the input protocol every released checkpoint carries.

As timm's ``PretrainedCfg`` carries ``input_size, mean, std, interpolation, crop_pct``, each zoo entry carries
one :class:`InputSpec`, filled in from the official scripts; :class:`~internvideo_core.data.preprocess.
VideoPreprocess` turns it into the function that makes the model's input from a video. Standard library only
(no torch), so the registry can import it.

The three official protocols:

==========  ==========================================  =================================================
sampling    frames                                      official code
==========  ==========================================  =================================================
dense       ``num_frames`` frames ``frame_interval``     VideoMAE ``kinetics.py`` (K400: 16 x 4, test 5 x 3)
            apart (``dense_indices``)
segment     one frame in each of ``num_frames`` TSN      VideoMAE ``ssv2.py`` (SSv2: 16 segments, test 2 x 3)
            segments (``segment_indices``)
uniform     ``linspace(0, n-1, num_frames)`` as int      InternVideo-MM (8 frames, one view)
            (``uniform_indices``)
==========  ==========================================  =================================================
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["InputSpec", "IMAGENET_MEAN", "IMAGENET_STD", "CLIP_MEAN", "CLIP_STD", "SAMPLINGS"]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
CLIP_MEAN: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
SAMPLINGS = ("dense", "segment", "uniform")
INTERPOLATIONS = ("bilinear", "bicubic")


@dataclass(frozen=True)
class InputSpec:
    """The input protocol of a checkpoint.

    Attributes:
        sampling: ``"dense"`` / ``"segment"`` / ``"uniform"`` (see the module table).
        num_frames: frames per clip (``T`` of the model input ``[V, 3, T, H, W]``).
        frame_interval: dense sampling rate (frames between two sampled frames); 1 for the other samplings.
        short_side: the short side is resized to this before cropping (official ``--short_side_size``).
        crop_size: square crop fed to the model (``img_size``).
        mean, std: per-channel normalisation of ``[0, 1]`` pixels (ImageNet for VideoMAE, CLIP for InternVideo-MM).
        interpolation: resize filter: ``"bilinear"`` (VideoMAE, InternVideo-MM: ``F.interpolate`` without
            antialiasing, as the official tensor transforms) or ``"bicubic"`` (the retrieval fine-tunes: PIL
            ``Resize(224, BICUBIC)``, approximated by antialiased bicubic ``F.interpolate``).
        test_clips, test_crops: temporal x spatial views of the official test (``views="test"``); the
            single-view input is the centred clip and the centre crop.
        notes: where the values come from, or what had to be assumed.
    """

    sampling: str = "dense"
    num_frames: int = 16
    frame_interval: int = 4
    short_side: int = 224
    crop_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"
    test_clips: int = 1
    test_crops: int = 1
    notes: str = ""

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"InputSpec.sampling must be one of {SAMPLINGS}, got {self.sampling!r}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"InputSpec.interpolation must be one of {INTERPOLATIONS}, got {self.interpolation!r}")
        for name in ("num_frames", "frame_interval", "short_side", "crop_size", "test_clips", "test_crops"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"InputSpec.{name} must be >= 1, got {getattr(self, name)}")
        if self.short_side < self.crop_size:
            raise ValueError(f"InputSpec.short_side ({self.short_side}) must be >= crop_size ({self.crop_size})")

    @property
    def num_test_views(self) -> int:
        return self.test_clips * self.test_crops

    def replace(self, **changes: Any) -> "InputSpec":
        return dataclasses.replace(self, **changes)

    def describe(self, views: str = "single") -> str:
        """One line, e.g. ``"16 frames every 4th (dense), short side 224, 224 px centre crop, 1 view"``."""
        how = {"dense": f"{self.num_frames} frames every {self.frame_interval} (dense)",
               "segment": f"{self.num_frames} TSN segments", "uniform": f"{self.num_frames} frames (linspace)"}
        if views == "test":
            view = (f"{self.test_clips} clips x {self.test_crops} crops of {self.crop_size} px "
                    f"= {self.num_test_views} views")
        else:
            view = f"{self.crop_size} px centre crop, 1 view"
        norm = "CLIP" if tuple(self.mean) == CLIP_MEAN else "ImageNet" if tuple(self.mean) == IMAGENET_MEAN else "custom"
        return f"{how[self.sampling]}, short side {self.short_side}, {view}, {norm} mean/std"


#: VideoMAE on Kinetics (``Pretrain/VideoMAE/scripts/finetune/slurm_train_vit_b_k400_ft.sh``: ``--num_frames 16
#: --sampling_rate 4 --input_size 224 --short_side_size 224 --test_num_segment 5 --test_num_crop 3``).
VIDEOMAE_KINETICS = InputSpec(sampling="dense", num_frames=16, frame_interval=4, short_side=224, crop_size=224,
                              test_clips=5, test_crops=3,
                              notes="Pretrain/VideoMAE/scripts/finetune/slurm_train_vit_b_k400_ft.sh")
#: VideoMAE on Something-Something V2 (``slurm_train_vit_b_ssv2_ft.sh``: 16 segments, ``--short_side_size 224
#: --test_num_segment 2 --test_num_crop 3``).
VIDEOMAE_SSV2 = InputSpec(sampling="segment", num_frames=16, frame_interval=1, short_side=224, crop_size=224,
                          test_clips=2, test_crops=3,
                          notes="Pretrain/VideoMAE/scripts/finetune/slurm_train_vit_b_ssv2_ft.sh")
#: InternVideo-MM: 8 frames ``linspace``, short side 256, centre crop 224, CLIP mean/std, one view.
INTERNVIDEO_MM = InputSpec(sampling="uniform", num_frames=8, frame_interval=1, short_side=256, crop_size=224,
                           mean=CLIP_MEAN, std=CLIP_STD, test_clips=1, test_crops=1,
                           notes="InternVideo-MM video loader (linspace frames, Resize(256), CenterCrop(224))")
