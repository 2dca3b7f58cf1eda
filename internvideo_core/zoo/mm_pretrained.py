"""Released InternVideo-MM checkpoints (video-language dual encoder) and their retrieval / video-QA fine-tunes.

Sources in https://github.com/OpenGVLab/InternVideo:
- ``InternVideo1/README.md``, Model Zoo: "Pretrained Models" (InternVideo-MM-L-14), "Downstream Tasks >
  Retrieval" and "> VideoQA";
- ``InternVideo1/Pretrain/Multi-Modalities-Pretraining/README.md`` (InternVideo-MM-B-16);
- frame counts from ``Downstream/Video-Text-Retrieval/eval_finetuned_scripts/run_kc4_*_infer.sh`` and
  ``InternVideo1/Downstream/multi-modalities-downstream/scripts/finetune_*qa.sh``.
URLs are copied exactly as published (one exception, explained in the L/14 entry's notes). No digests are
published; the hub records the first download's sha256 and checks later copies against it.

The architectures ``internvideo_mm_l14`` / ``internvideo_mm_b16`` are registered by the multimodal model
module; this file only describes the files. Entry names end in ``_pretrain`` / ``_retrieval`` / ``_qa`` so they
never collide with an architecture name (``create_model("internvideo_mm_l14")`` stays the bare model).
"""
from __future__ import annotations

import dataclasses

from internvideo_core.data.input_spec import CLIP_MEAN, CLIP_STD, INTERNVIDEO_MM, InputSpec
from internvideo_core.registry import PretrainedEntry, register_pretrained

REPO = "https://github.com/OpenGVLab/InternVideo"
LICENSE = ("Apache-2.0 (licence of the OpenGVLab/InternVideo repository; the README states no separate "
           "licence for the weights)")
LICENSE_RETRIEVAL = ("MIT (Downstream/Video-Text-Retrieval/README.md: 'released under the MIT license'); "
                     "repository licence Apache-2.0; no separate licence stated for the weights")
_ZOO = f"{REPO} InternVideo1/README.md, Model Zoo"
_OSS = "https://pjlab-gvm-data.oss-cn-shanghai.aliyuncs.com/internvideo"
_HF_V1 = "https://huggingface.co/OpenGVLab/InternVideo1.0"
_GATED = (f"The Hugging Face repository {_HF_V1} may ask you to accept its conditions: do so on the model page "
          "and set HF_TOKEN to an access token before downloading.")
_MOVED = ("The Aliyun OSS links were reported broken in 2025 (OpenGVLab/InternVideo issue #291); the "
          f"maintainers say most weights moved to {_HF_V1}. The file names there are not verified for this "
          "checkpoint, so no mirror is registered: if the URL fails, take the file from that repository and put "
          "it at the cache path that `internvideo zoo download` prints.")
_PREPROCESS = "Input: frames sampled with linspace, short side 256, centre crop 224, CLIP mean/std."

PRETRAINED = [
    PretrainedEntry(
        name="internvideo_mm_l14_pretrain",
        arch="internvideo_mm_l14",
        url=f"{_HF_V1}/resolve/main/InternVideo-MM-L-14.ckpt",
        filename="InternVideo-MM-L-14.ckpt",
        license=LICENSE,
        origin=f"{_ZOO} > Pretrained Models (InternVideo-MM-L-14, WebVid10M+Self-collected (14M))",
        input=INTERNVIDEO_MM,
        notes=("CLIP ViT-L/14 video tower with temporal modules + CLIP text tower, trained on WebVid10M and "
               "self-collected data (14M clips); PyTorch Lightning file, dual encoder under the prefix 'clip.', "
               "float16; other prefixes (e.g. caption_decoder.) are reported, not loaded. Zero-shot K400 top-1 "
               "64.25. The README links the repository page " + _HF_V1 + " rather than a file; the file name "
               "InternVideo-MM-L-14.ckpt is the one the official downstream scripts load (load_path=.../"
               "InternVideo-MM-L-14.ckpt). The older Chinese README's Aliyun link is registered as a mirror: "
               f"{_OSS}/pretrain/InternVideo-MM-L-14.ckpt. " + _GATED + " " + _PREPROCESS),
    ),
    PretrainedEntry(
        name="internvideo_mm_b16_pretrain",
        arch="internvideo_mm_b16",
        url=f"{_OSS}/pretrain/InternVideo-MM-B-16.ckpt",
        filename="InternVideo-MM-B-16.ckpt",
        license=LICENSE,
        origin=(f"{REPO} InternVideo1/Pretrain/Multi-Modalities-Pretraining/README.md, Usage > Model "
                "preparation (B/16)"),
        input=INTERNVIDEO_MM,
        notes=("CLIP ViT-B/16 video tower with temporal modules + CLIP text tower (same layout as L/14). "
               "Zero-shot K400 top-1 56.65. The Aliyun link was reported broken (issue #291); the maintainers "
               f"answered that the file is at {_HF_V1}/blob/main/InternVideo-MM-B-16.ckpt, registered as a "
               "mirror (download form /resolve/main/). " + _GATED + " " + _PREPROCESS),
    ),
]
_MIRRORS = {
    "internvideo_mm_l14_pretrain": [f"{_OSS}/pretrain/InternVideo-MM-L-14.ckpt"],
    "internvideo_mm_b16_pretrain": [f"{_HF_V1}/resolve/main/InternVideo-MM-B-16.ckpt"],
}

# (kit dataset tag, README row name, folder under retrieval/, frames used by the official evaluation script)
_RETRIEVAL = [
    ("msrvtt", "MSR-VTT", "msrvtt/kc4_finetune_1e-32e-3_77words_12frames_128_16_bothdsl", 12),
    ("msvd", "MSVD", "msvd", 8),
    ("lsmdc", "LSMDC", "lsmdc", 8),
    ("didemo", "DiDeMo", "didemo", 32),
    ("activitynet", "ActivityNet", "activitynet/kc4_1e-3_2e-3_bs64_77words_64frame_dsl", 64),
    ("vatex", "VATEX", "vatex/kc4_1e-35e-3_128_8frame", 8),
]
RETRIEVAL = [
    PretrainedEntry(
        name=f"internvideo_mm_l14_{tag}_retrieval",
        arch="internvideo_mm_l14",
        url=f"{_OSS}/retrieval/{folder}/pytorch_model.bin",
        filename=f"internvideo_mm_l14_{tag}_retrieval.bin",
        license=LICENSE_RETRIEVAL,
        origin=f"{_ZOO} > Downstream Tasks > Retrieval (InternVideo-MM-L-14, {row})",
        input=InputSpec(sampling="uniform", num_frames=frames, frame_interval=1, short_side=224, crop_size=224,
                        mean=CLIP_MEAN, std=CLIP_STD, interpolation="bicubic", notes=(
                            "dataloaders/dataloader_*_retrieval.py: frames at 1 fps, linspace down to max_frames "
                            "when there are more (the kit takes linspace over all frames), Resize(224, BICUBIC), "
                            "CenterCrop(224), CLIP mean/std")),
        overrides={} if frames == 8 else {"num_frames": frames},
        notes=(f"Text-video retrieval fine-tune on {row} (CLIP4Clip-style pytorch_model.bin, meanP similarity, "
               f"77 text tokens); the official evaluation samples {frames} frames per video "
               f"(eval_finetuned_scripts/run_kc4_{tag}_infer.sh, "
               "run with --mergeclip=True). Optimizer state and log (not needed for inference): "
               f"{_OSS}/retrieval/{folder}/pytorch_opt.bin, {_OSS}/retrieval/{folder}/log.txt. " + _MOVED),
    )
    for tag, row, folder, frames in _RETRIEVAL
]

# (kit dataset tag, README row name, file name under vqa/ as published)
_QA = [("msrvtt", "MSR-VTT", "msrvtt.ckpt"), ("msvd", "MSVD", "msvd.ckpt"), ("tgif", "TGIFQA", "tqifqa.ckpt")]
QA = [
    PretrainedEntry(
        name=f"internvideo_mm_l14_{tag}_qa",
        arch="internvideo_mm_l14",
        url=f"{_OSS}/vqa/{fname}",
        filename=f"internvideo_mm_l14_{tag}_qa.ckpt",
        license=LICENSE,
        origin=f"{_ZOO} > Downstream Tasks > VideoQA (InternVideo-MM-L-14, {row})",
        input=INTERNVIDEO_MM.replace(notes="assumed: the pretraining protocol (8 frames, linspace, 256 / 224)"),
        notes=(f"Open-ended video QA fine-tune on {row} (PyTorch Lightning file; 8 frames, "
               f"scripts/finetune_{tag}qa.sh, clip_qa_type=vtc_cap). Besides the dual encoder under 'clip.' it "
               "holds the answer classifier (vqa_classifier.*) whose output size is the task's answer "
               "vocabulary and reads the caption decoder's features, which the kit does not implement; the file also "
               "lacks clip.visual_proj / clip.text_projection, so it does not load strictly as a dual encoder. "
               "`internvideo eval-qa --train-head` trains the kit's QA head on frozen features instead (not the "
               "paper's protocol). "
               + ("The README file name is spelled 'tqifqa.ckpt'. " if tag == "tgif" else "") + _MOVED),
    )
    for tag, row, fname in _QA
]

ENTRIES: tuple[PretrainedEntry, ...] = tuple(
    dataclasses.replace(e, mirrors=tuple(_MIRRORS.get(e.name, ()))) for e in PRETRAINED + RETRIEVAL + QA)
for _entry in ENTRIES:
    register_pretrained(_entry)
