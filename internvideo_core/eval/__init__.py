"""Evaluation metrics of the InternVideo kit (pure functions over tensors / arrays / row tuples).

Modules (import them directly, or use the lazily re-exported names below):

    classification  topk_accuracy, aggregate_views (softmax per view, mean), confusion_matrix, mean_class_accuracy
    retrieval       retrieval_metrics(sim, dsl=False, text_to_video=None) -> {"t2v": {R1,R5,R10,MdR,MnR}, "v2t": ...}
    localization    tal_map (ActivityNet mAP@tIoU), temporal_iou, segment_nms, segment_soft_nms
    detection       ava_frame_map (AVA frame-mAP@0.5), read_ava_csv_rows
    openset         open_set_auroc, open_set_macro_f1, uncertainty_threshold, edl_outputs / edl_uncertainty
    qa              build_answer_vocab, qa_accuracy, qa_accuracy_by_type
    zeroshot        INTERNVIDEO_TEMPLATES (official), TEMPLATE_SETS, class_text_embeddings, zero_shot_classify,
                    multiple_choice
    embedding_cache EmbeddingCache, embed_videos, embed_texts (re-runs of the benchmark commands cost no model time)
    qa_heads        save_qa_head / load_qa_head; what the released QA files hold
    long_video      predict_windows (sliding-window inference), top_k_labels
    grounding       nlq_metrics (Ego4D NLQ R@k,IoU=t, mIoU), mq_metrics (Ego4D MQ mAP + recall table), window_iou
    navigation      navigation_metrics(pred_path, ref_path, success_distance) -> {SR, SPL, NE, OSR, nDTW, SDTW}

Nothing heavy is imported until a name is used (PEP 562).
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "topk_accuracy": "classification", "aggregate_views": "classification", "confusion_matrix": "classification",
    "mean_class_accuracy": "classification", "per_class_accuracy": "classification",
    "retrieval_metrics": "retrieval", "dual_softmax": "retrieval",
    "tal_map": "localization", "temporal_iou": "localization", "segment_nms": "localization",
    "segment_soft_nms": "localization", "ANET_TIOU_THRESHOLDS": "localization",
    "THUMOS_TIOU_THRESHOLDS": "localization",
    "ava_frame_map": "detection", "read_ava_csv_rows": "detection",
    "open_set_auroc": "openset", "open_set_macro_f1": "openset", "uncertainty_threshold": "openset",
    "edl_outputs": "openset", "edl_uncertainty": "openset", "binary_auroc": "openset", "macro_f1": "openset",
    "build_answer_vocab": "qa", "qa_accuracy": "qa", "qa_accuracy_by_type": "qa",
    "INTERNVIDEO_TEMPLATES": "zeroshot", "TEMPLATE_SETS": "zeroshot",
    "KINETICS_TEMPLATES": "zeroshot", "class_text_embeddings": "zeroshot", "zero_shot_classify": "zeroshot",
    "multiple_choice": "zeroshot", "multiple_choice_accuracy": "zeroshot",
    "nlq_metrics": "grounding", "mq_metrics": "grounding",
    "navigation_metrics": "navigation", "navigation_metrics_batch": "navigation",
}
_SUBMODULES = ("classification", "retrieval", "localization", "detection", "openset", "qa", "zeroshot",
               "embedding_cache", "qa_heads", "long_video", "grounding", "navigation")

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))
