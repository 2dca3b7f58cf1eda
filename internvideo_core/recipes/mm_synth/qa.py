"""Video question answering (MSRVTT-QA style) on frozen dual-encoder features.

:func:`qa_items` lists each clip's questions, :func:`qa_features` extracts frozen video tokens
``[N_videos, 1 + T*(1+g*g), W]`` and question embeddings ``[N_items, E]``, :func:`train_qa_head` trains a
:class:`~internvideo_core.models.heads.VideoQAHead` on them and :func:`predict_answers` reads its answers.
"""
from __future__ import annotations

import math
import time
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from internvideo_core.data import synthmotion_annotations as A
from internvideo_core.recipes.mm_synth.config import MMSynthRecipe
from internvideo_core.recipes.mm_synth.data import CaptionClips, clips_to_input, frame_indices
from internvideo_core.recipes.mm_synth.encoding import encode_texts

__all__ = ["qa_items", "qa_features", "train_qa_head", "predict_answers"]


def qa_items(clips: CaptionClips) -> list[dict[str, Any]]:
    """Question/answer pairs of every clip (MSRVTT-QA style): ``{"video": index, "question", "answer", "type"}``."""
    return [{"video": i, **qa} for i, meta in enumerate(clips.metas) for qa in A.questions_for(meta)]


@torch.no_grad()
def qa_features(model: nn.Module, clips: CaptionClips, items: Sequence[dict[str, Any]], recipe: MMSynthRecipe,
                batch_size: int = 128, reverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen features for the QA head: ``(video tokens [N_videos, 1 + T*(1+g*g), W], questions [N_items, E])``.

    The video tokens are the pooled clip feature (after ``visual_ln_post``) followed by every frame's tokens of
    the last vision block (also through ``visual_ln_post``); the question feature is the text tower's embedding.
    ``reverse``: play every clip backwards (a control: answers that depend on temporal order should flip).
    """
    videos = clips.videos.flip(2) if reverse else clips.videos
    idx = frame_indices(videos.shape[2], recipe.num_frames)
    captured: list[torch.Tensor] = []
    hook = model.visual.transformer.resblocks[-1].register_forward_hook(lambda m, i, o: captured.append(o))
    chunks = []
    try:
        model.eval()
        for lo in range(0, len(videos), batch_size):
            captured.clear()
            x = clips_to_input(videos[lo:lo + batch_size], idx)
            pooled = model.visual_ln_post(model.visual(x))
            frames = rearrange(model.visual_ln_post(captured[-1]), "(b t) l c -> b (t l) c", t=x.shape[2])
            chunks.append(torch.cat([pooled.unsqueeze(1), frames], dim=1))
    finally:
        hook.remove()
    video = torch.cat(chunks)
    question = encode_texts(model, [it["question"] for it in items], recipe)
    return video, question


def train_qa_head(video_tokens: torch.Tensor, questions: torch.Tensor, items: Sequence[dict[str, Any]],
                  recipe: MMSynthRecipe, seed: int = 0) -> tuple[nn.Module, list[str], dict[str, Any]]:
    """Train :class:`~internvideo_core.models.heads.VideoQAHead` on frozen features.

    Args:
        video_tokens: ``[N_videos, L, W]`` from :func:`qa_features`. questions: ``[N_items, E]``.
        items: training QA items (``"video"`` indexes ``video_tokens``, ``"answer"``).

    Returns:
        ``(head in eval mode, answer vocabulary, history {"loss": per-epoch mean, "seconds"})``; the vocabulary
        holds the ``recipe.qa_vocab_size`` most frequent training answers (class ``i`` = ``vocab[i]``); training
        questions with other answers are left out of training, as in the official recipe.
    """
    from internvideo_core.eval.qa import build_answer_vocab, normalize_answer
    from internvideo_core.models.heads import VideoQAHead

    start = time.perf_counter()
    vocab = build_answer_vocab([it["answer"] for it in items], recipe.qa_vocab_size)
    index = {a: i for i, a in enumerate(vocab)}
    keep = [j for j, it in enumerate(items) if normalize_answer(it["answer"]) in index]
    vid = torch.tensor([items[j]["video"] for j in keep])
    q = questions[keep]
    y = torch.tensor([index[normalize_answer(items[j]["answer"])] for j in keep])
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = VideoQAHead(video_tokens.shape[-1], questions.shape[-1], len(vocab), hidden=recipe.qa_hidden,
                       fusion=recipe.qa_fusion, num_heads=4 if recipe.qa_hidden % 4 == 0 else 1)
    opt = torch.optim.AdamW(head.parameters(), lr=recipe.qa_lr, weight_decay=recipe.qa_weight_decay)
    steps_per_epoch = max(1, math.ceil(len(keep) / recipe.qa_batch_size))
    total = recipe.qa_epochs * steps_per_epoch
    losses: list[float] = []
    step = 0
    head.train()
    for _ in range(recipe.qa_epochs):
        perm = torch.randperm(len(keep), generator=gen)
        run = 0.0
        for b in range(steps_per_epoch):
            sel = perm[b * recipe.qa_batch_size:(b + 1) * recipe.qa_batch_size]
            for g in opt.param_groups:
                g["lr"] = recipe.qa_lr * 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))
            loss = F.cross_entropy(head(video_tokens[vid[sel]], q[sel]), y[sel])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run += float(loss.detach())
            step += 1
        losses.append(run / steps_per_epoch)
    head.eval()
    return head, vocab, {"loss": losses, "seconds": time.perf_counter() - start, "train_questions": len(keep)}


@torch.no_grad()
def predict_answers(head: nn.Module, video_tokens: torch.Tensor, questions: torch.Tensor,
                    items: Sequence[dict[str, Any]], vocab: Sequence[str], batch_size: int = 512) -> list[str]:
    """The predicted answer string of every item (``vocab[argmax]``)."""
    vid = torch.tensor([it["video"] for it in items])
    preds: list[str] = []
    for lo in range(0, len(items), batch_size):
        logits = head(video_tokens[vid[lo:lo + batch_size]], questions[lo:lo + batch_size])
        preds += [vocab[i] for i in logits.argmax(1).tolist()]
    return preds
