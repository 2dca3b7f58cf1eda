"""Released VideoMAE checkpoints of InternVideo (pretraining and fine-tuned classifiers).

Source: the Model Zoo of ``InternVideo1/README.md`` in https://github.com/OpenGVLab/InternVideo ("Pretrained
Models" and "Downstream Tasks > Classification"), with input sizes and class counts from the fine-tuning
scripts in ``Pretrain/VideoMAE/scripts/finetune`` and ``Pretrain/VideoMAE/README.md``. URLs are copied exactly
as published. No sha256 digests are published, so the hub records the digest of the first download next to
the file and checks later copies against it.

Architectures (``videomae_vit_*`` / ``videomae_pretrain_*``) are registered by the VideoMAE model module;
this file only describes the files and does not need them at import time.
"""
from __future__ import annotations

from internvideo_core.data.input_spec import VIDEOMAE_KINETICS, VIDEOMAE_SSV2, InputSpec
from internvideo_core.registry import PretrainedEntry, register_pretrained

REPO = "https://github.com/OpenGVLab/InternVideo"
LICENSE = ("Apache-2.0 (licence of the OpenGVLab/InternVideo repository; the README states no separate "
           "licence for the weights)")
_ZOO = f"{REPO} InternVideo1/README.md, Model Zoo"
_OSS = "https://pjlab-gvm-data.oss-cn-shanghai.aliyuncs.com/internvideo"
_HF_MAE = "https://huggingface.co/OpenGVLab/InternVideoMAE_models/resolve/main"
_HF_V1 = "https://huggingface.co/OpenGVLab/InternVideo1.0/resolve/main"
_MOVED = ("The Aliyun OSS links were reported broken in 2025 (OpenGVLab/InternVideo issue #291); the "
          "maintainers say the weights moved to https://huggingface.co/OpenGVLab/InternVideo1.0 "
          "(classification weights under internvideomae_classification/, issue #177). The file names there are "
          "not verified, so no mirror is registered: if the URL fails, take the file from that repository and "
          "put it at the cache path that `internvideo zoo download` prints.")


def _pretrain(size: str, letter: str, epochs: int, mirrors: list[str]) -> PretrainedEntry:
    name = f"videomae_pretrain_{size}_hybrid"
    return PretrainedEntry(
        name=name,
        arch=f"videomae_pretrain_{size}_patch16_224",
        url=f"{_HF_MAE}/mae-{letter}/pytorch_model.bin",
        filename=f"{name}.bin",
        license=LICENSE,
        origin=f"{_ZOO} > Pretrained Models (VideoMAE-{letter.upper()}, UnlabeledHybrid (1M))",
        input=VIDEOMAE_KINETICS.replace(test_clips=1, test_crops=1, notes=(
            "scripts/pretrain/slurm_train_vit_l_hybrid_pt.sh: --num_frames 16 --sampling_rate 4; one centred "
            "clip for reconstruction")),
        notes=(f"Masked video autoencoder ViT-{letter.upper()}/16 (encoder + decoder) pretrained on "
               f"UnlabeledHybrid (about 1M unlabeled clips), {epochs} epochs, 90 % tube masking; "
               "no classifier head. Mirrors tried if the URL fails: " + ", ".join(mirrors) + "."),
        mirrors=tuple(mirrors),
    )


def _finetuned(name: str, arch_size: str, url: str, filename: str, data: str, num_classes: int,
               label_map: str | None, notes: str, spec: InputSpec) -> PretrainedEntry:
    overrides: dict = {"num_classes": num_classes}
    if spec.crop_size != 224:
        overrides["img_size"] = spec.crop_size
    if spec.num_frames != 16:
        overrides["num_frames"] = spec.num_frames
    return PretrainedEntry(
        name=name,
        arch=f"videomae_vit_{arch_size}_patch16_224",
        url=url,
        filename=filename,
        license=LICENSE,
        origin=f"{_ZOO} > Downstream Tasks > Classification (VideoMAE-{arch_size[0].upper()}, {data})",
        input=spec,
        num_classes=num_classes,
        label_map=label_map,
        overrides=overrides,
        notes=notes + " " + _MOVED,
    )


_PRETRAIN = [
    _pretrain("base", "b", 800, [f"{_OSS}/pretrain/videomae/vit_b_hybrid_pt_800e.pth",
                                 f"{_HF_V1}/internvideomae_classification/vit_b_hybrid_pt_800e.pth"]),
    _pretrain("large", "l", 800, [f"{_OSS}/pretrain/videomae/vit_l_hybrid_pt_800e.pth",
                                  f"{_HF_V1}/internvideomae_classification/vit_l_hybrid_pt_800e.pth"]),
    _pretrain("huge", "h", 1200, [f"{_OSS}/pretrain/videomae/vit_h_hybrid_pt_1200e.pth"]),
]

_K400 = "Kinetics-400 test protocol 16 frames x sampling rate 4, 5 clips x 3 crops."
_SSV2 = "Something-Something V2 test protocol 16 segments, 2 clips x 3 crops."
#: ViT-H on Kinetics: scripts/finetune/slurm_train_vit_h_k400_ft.sh (16 x 4 at 224, --test_num_segment 7
#: --test_num_crop 3). The f32 / 384 px checkpoint's own script is not published: 32 frames at 384 px (file
#: name), short side 384, and sampling rate 2 (the same 64-frame span as 16 x 4) are assumed.
_H_K400_384 = VIDEOMAE_KINETICS.replace(num_frames=32, frame_interval=2, short_side=384, crop_size=384, test_clips=7,
                                        notes=("slurm_train_vit_h_k400_ft.sh (7 x 3 views); 32 frames / 384 px from "
                                               "the file name; sampling rate 2 and short side 384 assumed"))
#: HMDB51: no InternVideo script; VideoMAE's scripts/hmdb51 setting (16 frames x rate 2, 10 clips x 3 crops).
_HMDB51 = VIDEOMAE_KINETICS.replace(frame_interval=2, test_clips=10,
                                    notes="assumed: VideoMAE scripts/hmdb51 (--sampling_rate 2, 10 x 3 views)")
#: SSv1: no InternVideo script; the SSv2 protocol (the same 174 templates, TSN sampling) is assumed.
_SSV1 = VIDEOMAE_SSV2.replace(notes="assumed: the SSv2 protocol (slurm_train_vit_h_ssv2_ft.sh)")
_H_ASSUMED = ("The README does not state the input size or frame count of this checkpoint; 16 frames at "
              "224 px (the ViT-H fine-tuning scripts in the repository) is assumed - check the published log.")

_FINETUNED = [
    # ViT-B, pretrained on UnlabeledHybrid for 800 epochs (the first entry per architecture is the default
    # for create_model(arch, pretrained=True))
    _finetuned("videomae_vit_base_k400", "base", f"{_OSS}/pretrain/videomae/vit_b_hybrid_pt_800e_k400_ft.pth",
               "vit_b_hybrid_pt_800e_k400_ft.pth", "K400", 400, "kinetics400",
               "Top-1 81.52 / top-5 94.88 (Pretrain/VideoMAE/README.md). " + _K400, VIDEOMAE_KINETICS),
    _finetuned("videomae_vit_base_k710", "base", f"{_OSS}/pretrain/videomae/vit_b_hybrid_pt_800e_k710_ft.pth",
               "vit_b_hybrid_pt_800e_k710_ft.pth", "K710", 710, "kinetics710",
               "Kinetics-710 (K400 + K600 + K700 merged, 710 classes); top-1 79.33 in the paper. " + _K400,
               VIDEOMAE_KINETICS),
    _finetuned("videomae_vit_base_ssv2", "base", f"{_OSS}/pretrain/videomae/vit_b_hybrid_pt_800e_ssv2_ft.pth",
               "vit_b_hybrid_pt_800e_ssv2_ft.pth", "SSv2", 174, "sthv2",
               "Top-1 71.22 / top-5 93.31 (Pretrain/VideoMAE/README.md). " + _SSV2, VIDEOMAE_SSV2),
    # ViT-L, UnlabeledHybrid 800 epochs (scripts/finetune/slurm_train_vit_l_*_ft.sh: 16 frames, 224 px)
    _finetuned("videomae_vit_large_k400", "large", f"{_OSS}/pretrain/videomae/vit_l_hybrid_pt_800e_k400_ft.pth",
               "vit_l_hybrid_pt_800e_k400_ft.pth", "K400", 400, "kinetics400", _K400, VIDEOMAE_KINETICS),
    _finetuned("videomae_vit_large_k700", "large", f"{_OSS}/pretrain/videomae/vit_l_hybrid_pt_800e_k700_ft.pth",
               "vit_l_hybrid_pt_800e_k700_ft.pth", "K700", 700, "kinetics700",
               "Kinetics-700; test protocol 16 frames x rate 4, 5 clips x 3 crops.", VIDEOMAE_KINETICS),
    _finetuned("videomae_vit_large_ssv2", "large", f"{_OSS}/pretrain/videomae/vit_l_hybrid_pt_800e_ssv2_ft.pth",
               "vit_l_hybrid_pt_800e_ssv2_ft.pth", "SSv2", 174, "sthv2", _SSV2, VIDEOMAE_SSV2),
    # ViT-H
    _finetuned("videomae_vit_huge_k400_f32_res384", "huge",
               f"{_OSS}/action_recognition/K400/VideoMAE/ViT-H_f32_res384_89.54.pth",
               "ViT-H_f32_res384_89.54.pth", "K400", 400, "kinetics400",
               "32 frames at 384 px, top-1 89.54 (from the file name); training log: "
               f"{_OSS}/action_recognition/K400/VideoMAE/ViT-H_f32_res384_89.54.log.", _H_K400_384),
    _finetuned("videomae_vit_huge_ssv1", "huge", f"{_OSS}/action_recognition/SSV1/VideoMAE/ViT-H.pth",
               "videomae_vit_huge_ssv1.pth", "SSv1", 174, None,
               "Something-Something V1, 174 classes. No label list is attached: SSv1 uses the same 174 "
               "templates as SSv2, but the index order of the official SSv1 category list has not been checked "
               "against internvideo_core/assets/labels/sthv2.txt. " + _H_ASSUMED +
               f" Log: {_OSS}/action_recognition/SSV1/VideoMAE/log.txt.", _SSV1),
]
for _split, _top1 in ((1, "89.64"), (2, "89.92"), (3, "88.35")):
    _FINETUNED.append(_finetuned(
        f"videomae_vit_huge_hmdb51_split{_split}", "huge",
        f"{_OSS}/action_recognition/HMDB51/VideoMAE/split{_split}_{_top1}/ViT-H.pth",
        f"videomae_vit_huge_hmdb51_split{_split}.pth", f"HMDB51 split {_split}", 51, "hmdb51",
        f"HMDB51 train/test split {_split}, top-1 {_top1} (from the folder name). " + _H_ASSUMED, _HMDB51))

ENTRIES: tuple[PretrainedEntry, ...] = tuple(_PRETRAIN) + tuple(_FINETUNED)

for _entry in ENTRIES:
    register_pretrained(_entry)
