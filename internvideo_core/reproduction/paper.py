"""The paper's numbers (DESIGN section 7) and the kit command that reproduces each with the released checkpoint
and the real data, for the reproduction report. Written by hand; the README's table says the same.

"Verified here" never means a number was reproduced on this machine: the build machine has no real data, no
released checkpoint and no GPU. It says which part of the pipeline equals the official code on reference vectors
(``tests/fixtures/official``).
"""
from __future__ import annotations

from dataclasses import dataclass

NOT_RUN = "not run on real data here"


@dataclass(frozen=True)
class PaperRow:
    result: str            # what the paper reports
    number: str            # the number(s)
    command: str | None    # the kit command (None: not reproducible with the kit)
    checkpoint: str
    data: str
    verified: str          # what was checked here


PAPER: tuple[PaperRow, ...] = (
    PaperRow("InternVideo, combined models: K400 / SSv2 top-1", "91.1 / 77.2", None,
             "-", "-", "none: an ensemble whose fusion weights are not released (notebook 11 builds the "
             "model-interaction idea on SynthMotion)"),
    PaperRow("VideoMAE-B (UnlabeledHybrid, 800 ep) K400 top-1 / top-5", "81.52 / 94.88",
             "internvideo evaluate --pretrained videomae_vit_base_k400 --data k400_val.txt --data-root K400/",
             "videomae_vit_base_k400", "K400 val, `path label` list (5 clips x 3 crops, 16 x 4)",
             "model exact to the official code on reference vectors; protocol from the zoo entry"),
    PaperRow("VideoMAE-B K710 top-1", "79.33",
             "internvideo evaluate --pretrained videomae_vit_base_k710 --data k710_val.txt --data-root K710/",
             "videomae_vit_base_k710", "K710 val list", "model exact to the official code on reference vectors"),
    PaperRow("VideoMAE-B SSv2 top-1 / top-5", "71.22 / 93.31",
             "internvideo evaluate --pretrained videomae_vit_base_ssv2 --data ssv2_val.txt --data-root SSv2/",
             "videomae_vit_base_ssv2", "SSv2 validation list (16 segments, 2 x 3 views)",
             "model exact to the official code on reference vectors; segment loader tested"),
    PaperRow("Zero-shot K400 top-1, B/16 / L/14", "56.65 / 64.25",
             "internvideo eval-zeroshot --model internvideo_mm_l14_pretrain --dataset k400 "
             "--annotation k400_val.txt --video-dir K400/val",
             "internvideo_mm_{b16,l14}_pretrain", "K400 val",
             "model exact; official 16 templates and softmax-mean ensemble"),
    PaperRow("Zero-shot multiple choice MSR-VTT / LSMDC (L/14)", "93.44 / 77.26",
             "internvideo eval-mc --model internvideo_mm_l14_pretrain --dataset msrvtt --data-root anns/ "
             "--video-dir videos/", "internvideo_mm_l14_pretrain",
             "msrvtt_mc_test.jsonl / LSMDC16_multiple_choice_test_randomized.csv",
             "model exact; readers on the real layouts; highest-cosine rule"),
    PaperRow("Video QA (L/14) MSRVTT-QA / MSVD-QA / TGIF-Frame", "47.14 / 55.54 / 72.22", None,
             "internvideo_mm_l14_{msrvtt,msvd,tgif}_qa", "{train,test}_qa.json, TGIF *_frameqa_question.csv",
             "not reproducible with the kit: the released heads read the caption decoder's features; "
             "`internvideo eval-qa ... --train-head head.pt` trains the kit's head on frozen features "
             "(not comparable); accuracy equals the official `qa_accuracy`"),
    PaperRow("MSR-VTT text-to-video R@1, zero-shot", "40.0",
             "internvideo eval-retrieval --model internvideo_mm_l14_pretrain --dataset msrvtt --num-frames 8 "
             "--mergeclip ViT-L-14.pt --mergeweight 0.5 --data-root anns/ --video-dir videos/",
             "internvideo_mm_l14_pretrain + OpenAI ViT-L-14.pt", "MSRVTT_JSFUSION_test.csv + videos",
             "retrieval metrics exact; sampling and mergeclip tested"),
    PaperRow("MSR-VTT text-to-video R@1, fine-tuned", "55.2",
             "internvideo eval-retrieval --model internvideo_mm_l14_msrvtt_retrieval --dataset msrvtt "
             "--data-root anns/ --video-dir videos/", "internvideo_mm_l14_msrvtt_retrieval",
             "MSRVTT_JSFUSION_test.csv + videos", "the fine-tuned layout loads strictly; metrics exact"),
    PaperRow("Temporal action localization, average mAP THUMOS14 / ActivityNet", "71.58 / 39.00",
             "internvideo extract-features ...; internvideo train-tal ...; "
             "internvideo eval-tal --ground-truth anet.json --predictions results.json --thresholds thumos|anet",
             "a fine-tuned VideoMAE / InternVideo encoder", "THUMOS14 / ActivityNet videos and JSON",
             "metric exact to the official code; the kit's head is ActionFormer-style, smaller"),
    PaperRow("AVA v2.2 frame-mAP", "-",
             "internvideo eval-ava --ground-truth ava_val_v2.2.csv --detections det.csv "
             "--label-map ava_action_list_v2.2.pbtxt --excluded ava_val_excluded_timestamps_v2.2.csv",
             "no released AVA detector in the zoo", "AVA v2.2", "metric exact to the official code"),
    PaperRow("Open-set UCF-101 closed-set accuracy (EDL, ViT-H)", "97.89",
             "internvideo eval-openset --model videomae_vit_huge_patch16_224 --model-args num_classes=101 "
             "--checkpoint ucf101_edl.pth --known-list ucf101_val.txt --unknown-list hmdb51_val.txt ...",
             "DEAR / InternVideo EDL fine-tune (not converted yet)", "UCF-101 + HMDB-51",
             "open-set metrics exact to compare_openness.py"),
    PaperRow("Ego4D NLQ R@k / MQ mAP", "-",
             "internvideo eval-nlq --ground-truth nlq_val.json --predictions submission.json; "
             "internvideo eval-mq --ground-truth moments_val.json --predictions submission.json",
             "no released Ego4D head in the zoo", "Ego4D NLQ / MQ annotations",
             "metrics exact to the official scripts"),
)
