"""What the reproduction report shows for each notebook: its headline numbers beside the trivial baseline.

An explicit table, written by hand from each notebook's ``save_results`` call (no discovery): when a notebook
changes its result keys, change its rows here (``tests/test_reproduction_report.py`` checks the keys against the
tutorial results). A key is a path into the results record, ``/``-separated for nested dicts
(``"metrics/random/SR"``); a baseline is either another key or a fixed value (chance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Headline:
    """One row: ``label`` = ``values[key] * scale`` beside ``baseline_label`` = ``values[baseline_key] * scale``
    (or the fixed ``baseline_value``, already scaled). ``higher_is_better`` says which way the claim goes."""
    label: str
    key: str
    baseline_label: str | None = None
    baseline_key: str | None = None
    unit: str = ""
    baseline_value: float | None = None
    scale: float = 1.0
    higher_is_better: bool = True

    def value(self, values: Mapping[str, Any]) -> float | None:
        """The headline number (an int stays an int when unscaled: counts print without decimals)."""
        v = lookup(values, self.key)
        if v is None:
            return None
        return v if isinstance(v, int) and self.scale == 1.0 else float(v) * self.scale

    def baseline(self, values: Mapping[str, Any]) -> float | None:
        if self.baseline_value is not None:
            return self.baseline_value
        if self.baseline_key is None:
            return None
        v = lookup(values, self.baseline_key)
        return None if v is None else float(v) * self.scale

    def beats_baseline(self, values: Mapping[str, Any]) -> bool | None:
        """True/False when both numbers exist, else None."""
        v, b = self.value(values), self.baseline(values)
        if v is None or b is None:
            return None
        return v > b if self.higher_is_better else v < b


@dataclass(frozen=True)
class NotebookEntry:
    """A notebook's claim in one sentence and its headline rows."""
    claim: str
    headlines: tuple[Headline, ...]


def lookup(values: Mapping[str, Any], key: str) -> Any:
    """``values["a"]["b"]`` for ``"a/b"``; None when a part is missing or the value is not a number."""
    cur: Any = values
    for part in key.split("/"):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    if isinstance(cur, bool) or not isinstance(cur, (int, float)):
        return None
    return cur


CHANCE_12 = 100.0 / 12

#: notebook stem -> claim and headline rows.
NOTEBOOKS: dict[str, NotebookEntry] = {
    "00_quickstart": NotebookEntry(
        "the kit reads a real clip, preprocesses it both ways and builds the released architectures",
        (Headline("architectures in the registry", "num_models"),
         Headline("released checkpoints in the zoo", "num_pretrained"))),
    "01_video_data": NotebookEntry(
        "SynthMotion is generated quickly and written in the real annotation formats",
        (Headline("SynthMotion clips generated per second", "generation_clips_per_s", unit="clips/s"),
         Headline("videos written in the real formats", "videos_written"))),
    "02_masked_video_pretraining": NotebookEntry(
        "masked pretraining reconstructs hidden object tubelets better than predicting each tubelet's mean",
        (Headline("held-out loss on object tubelets", "test_object_loss_model",
                  "predict each tubelet's mean", "test_object_loss_mean_patch", higher_is_better=False),
         Headline("held-out loss on all masked tubelets", "test_loss_model",
                  "predict each tubelet's mean", "test_loss_mean_patch", higher_is_better=False))),
    "03_action_recognition": NotebookEntry(
        "the pretrained encoder fine-tunes far better than training from scratch, and uses temporal order",
        (Headline("top-1, fine-tuned from 02's encoder", "pretrained_top1", "from scratch", "scratch_top1", "%"),
         Headline("top-1 on frame-shuffled clips", "shuffled_top1", "in-order clips", "pretrained_top1", "%",
                  higher_is_better=False))),
    "04_video_language_pretraining": NotebookEntry(
        "contrastive training matches videos and captions and learns temporal order",
        (Headline("text-to-video R@1 among 50 validation videos", "val_t2v_R1", "chance (1 of 50)",
                  baseline_value=2.0, unit="%"),
         Headline("caption-order accuracy", "order_accuracy", "untrained model", "order_accuracy_untrained", "%"))),
    "05_zero_shot": NotebookEntry(
        "zero-shot prompts recognise the motion of never-captioned combinations",
        (Headline("held-out combinations, motion top-1 (prompt set chosen on validation)", "chosen_heldout_motion",
                  "chance (12 motions)", baseline_value=CHANCE_12, unit="%"),
         Headline("held-out motion top-1, the validation-chosen prompt set", "chosen_heldout_motion",
                  "single prompt", "single_prompt_heldout_motion", "%"))),
    "06_video_text_retrieval": NotebookEntry(
        "retrieval is far above chance with plain and dual-softmax ranking",
        (Headline("text-to-video R@1 (200 videos)", "t2v_plain_R1", "chance (1 of 200)", baseline_value=0.5,
                  unit="%"),
         Headline("text-to-video R@1, dual softmax", "t2v_dsl_R1", "chance (1 of 200)", baseline_value=0.5,
                  unit="%"))),
    "07_video_question_answering": NotebookEntry(
        "the QA head beats the answer prior of each question type",
        (Headline("accuracy (in-vocabulary answers)", "accuracy_in_vocab", "answer prior", "prior_in_vocab", "%"),)),
    "08_temporal_action_localization": NotebookEntry(
        "a localization head on fine-tuned snippet features beats classification without boundaries",
        (Headline("average mAP, head on fine-tuned features", "finetuned_head_average_mAP",
                  "sliding-window classification", "finetuned_sliding_window_average_mAP"),
         Headline("average mAP, head on frozen features", "frozen_head_average_mAP",
                  "head on fine-tuned features", "finetuned_head_average_mAP", higher_is_better=False))),
    "09_spatiotemporal_action_detection": NotebookEntry(
        "RoI action detection is far above the class prior, and a fine-tuned encoder helps",
        (Headline("frame-mAP@0.5", "frame_map", "class prior", "prior_frame_map", "%", scale=100.0),
         Headline("frame-mAP@0.5, fine-tuned encoder", "frame_map", "pretrained-only encoder",
                  "frame_map_from_pretrained", "%", scale=100.0))),
    "10_open_set_recognition": NotebookEntry(
        "evidential uncertainty separates unknown motions; max-softmax and an untrained head do not",
        (Headline("AUROC known vs unknown, EDL", "edl_auroc", "max-softmax", "softmax_auroc"),
         Headline("AUROC, EDL", "edl_auroc", "untrained head", "untrained_auroc"))),
    "11_model_interaction": NotebookEntry(
        "cross-model attention beats each encoder alone and the fusions (not the own-token control)",
        (Headline("top-1, cross-model attention", "cross-model attention_top1", "concatenation (no CMA)",
                  "concatenation (no CMA)_top1", "%"),
         Headline("top-1, cross-model attention", "cross-model attention_top1", "InternVideo-MM alone",
                  "InternVideo-MM alone_top1", "%"))),
    "12_ego4d_episodic_memory": NotebookEntry(
        "the span predictor grounds queries in long videos better than text-only and random windows",
        (Headline("R@1, IoU 0.3", "model_R@1,IoU=0.3", "text only", "text_R@1,IoU=0.3", "%"),
         Headline("R@1, IoU 0.3", "model_R@1,IoU=0.3", "random windows", "random_R@1,IoU=0.3", "%"))),
    "13_vision_language_navigation": NotebookEntry(
        "agents imitating the BabyAI bot succeed far more often than a random agent",
        (Headline("success rate, multi-frame pretrained", "metrics/multi-frame, pretrained/SR", "random agent",
                  "metrics/random/SR", "%"),
         Headline("success rate, + one DAgger round", "metrics/multi-frame, pretrained + DAgger/SR",
                  "random agent", "metrics/random/SR", "%"))),
}
