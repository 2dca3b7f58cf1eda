"""Open-ended video QA heads on disk: the kit's head files, and what the released InternVideo QA files hold.

**The kit's head file** (:func:`save_qa_head` / :func:`load_qa_head`): ``torch.save`` of ``{"format":
"internvideo-qa-head-1", "state_dict": VideoQAHead weights, "vocab": [answers], "config": {video_dim, text_dim,
num_answers, hidden, fusion, num_heads}}``, read back with ``weights_only=True``. Class ``i`` is ``vocab[i]``.

**The released QA files** (``msrvtt.ckpt``, ``msvd.ckpt``, ``tqifqa.ckpt``; Lightning, ``clip_qa_type=vtc_cap``),
as built by ``multi-modalities-downstream/CoTrain/modules/clip_module.py``:

* ``vqa_classifier`` = ``Sequential(Dropout, Linear(hs, 2 hs), LayerNorm(2 hs), GELU, Dropout, Linear(2 hs,
  answers))``, keys ``vqa_classifier.{1,2,5}.{weight,bias}``, with ``hs = vision_width + 2 * text_width``
  (``vtc_cap``: the concatenation of the pooled video feature, the question's text feature and the feature of
  a ``caption_decoder`` that cross-attends from the question tokens to all video tokens);
* ``caption_decoder.*`` (the ``CaptionDecoder`` of ``clip_decoders.py``), which the kit does not implement;
* the dual encoder under ``clip.`` **without** ``visual_proj`` and ``text_projection`` (set to ``None``).

So the released heads cannot run on the kit: their input needs the caption decoder, and the kit's dual encoder
(strict loading) misses the two projections. :func:`describe_released_qa_checkpoint` reports this for a file;
``internvideo eval-qa --train-head`` trains the kit's :class:`~internvideo_core.models.heads.VideoQAHead` on frozen
features of the real training split instead.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import torch

from internvideo_core.models.heads import VideoQAHead

__all__ = ["HEAD_FORMAT", "save_qa_head", "load_qa_head", "describe_released_qa_checkpoint", "QAHeadError"]

HEAD_FORMAT = "internvideo-qa-head-1"


class QAHeadError(RuntimeError):
    """A QA head file is not usable; the message says why and what to do."""


def save_qa_head(path: str | os.PathLike, head: VideoQAHead, vocab: Sequence[str]) -> Path:
    """Write ``head`` and its answer vocabulary to ``path`` (see the module docstring)."""
    cfg = {"video_dim": head.video_proj[0].normalized_shape[0], "text_dim": head.question_proj[0].normalized_shape[0],
           "num_answers": head.num_answers, "hidden": head.video_proj[1].out_features, "fusion": head.fusion,
           "num_heads": head.num_heads}
    if len(vocab) != head.num_answers:
        raise ValueError(f"vocabulary has {len(vocab)} answers, the head {head.num_answers}")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": HEAD_FORMAT, "state_dict": {k: v.detach().cpu() for k, v in head.state_dict().items()},
                "vocab": list(vocab), "config": cfg}, p)
    return p


def describe_released_qa_checkpoint(tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Layout facts of a released QA file's tensors (``vqa_classifier.*`` present): input width ``hs``, number of
    answers, whether ``caption_decoder.*`` and the dual-encoder projections are there."""
    w1 = tensors.get("vqa_classifier.1.weight")
    w_out = tensors.get("vqa_classifier.5.weight")
    return {
        "classifier_in": None if w1 is None else int(w1.shape[1]),
        "num_answers": None if w_out is None else int(w_out.shape[0]),
        "caption_decoder_tensors": sum(k.startswith("caption_decoder.") for k in tensors),
        "has_visual_proj": "clip.visual_proj" in tensors,
        "has_text_projection": "clip.text_projection" in tensors,
    }


def load_qa_head(path: str | os.PathLike) -> tuple[VideoQAHead, list[str]]:
    """``(head in eval mode, vocabulary)`` from a kit head file; a released InternVideo QA file raises
    :class:`QAHeadError` explaining why it cannot be used and how to train a head instead."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"QA head file not found: {p}")
    raw = torch.load(p, map_location="cpu", weights_only=True)
    if isinstance(raw, dict) and raw.get("format") == HEAD_FORMAT:
        cfg = raw["config"]
        head = VideoQAHead(cfg["video_dim"], cfg["text_dim"], cfg["num_answers"], hidden=cfg["hidden"],
                           fusion=cfg["fusion"], num_heads=cfg["num_heads"])
        head.load_state_dict(raw["state_dict"], strict=True)
        return head.eval(), [str(a) for a in raw["vocab"]]
    tensors = raw.get("state_dict", raw) if isinstance(raw, dict) else {}
    if any(str(k).startswith("vqa_classifier.") for k in tensors):
        facts = describe_released_qa_checkpoint(tensors)
        raise QAHeadError(
            f"{p} is a released InternVideo QA checkpoint (vqa_classifier input {facts['classifier_in']} = video + "
            f"question + caption-decoder features, {facts['num_answers']} answers, "
            f"{facts['caption_decoder_tensors']} caption_decoder tensors, visual_proj "
            f"{'present' if facts['has_visual_proj'] else 'absent'}, text_projection "
            f"{'present' if facts['has_text_projection'] else 'absent'}). Its classifier needs the official caption "
            "decoder, which the kit does not implement, so it cannot be loaded. Train the kit's head on the real "
            "training split instead: internvideo eval-qa ... --train-annotation train_qa.json --train-head head.pt")
    raise QAHeadError(f"{p} is not a QA head file of the kit (expected format {HEAD_FORMAT!r}); make one with "
                      "`internvideo eval-qa --train-head`")
