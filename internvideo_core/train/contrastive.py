"""Video-text contrastive learning for the dual encoder (InternVideo-MM / CLIP style).

- :func:`contrastive_loss`: symmetric InfoNCE. Embeddings are L2-normalised, logits are
  ``exp(logit_scale) * cosine`` with ``exp(logit_scale)`` clamped to ``max_logit_scale``; under DDP the
  embeddings of every rank are gathered *with gradients* (:func:`.distributed.all_gather_with_grad`) and each
  rank computes the loss of its own rows against all columns, so the mean over ranks equals the
  one-process loss on the full batch and DDP's averaged gradients equal the full-batch gradients.
- :func:`train_contrastive`: the training loop. Batches are ``(video [B, 3, T, H, W], captions)`` or dicts
  ``{"video", "text"}``; captions may be token ids ``[B, L]`` or ``[B, P, L]`` (``P`` paraphrases), strings
  (one per video) or lists of strings (paraphrases per video, see :func:`collate_video_text`). With
  ``paraphrase=True`` one paraphrase per video is drawn each step from the loop's own generator, seeded
  ``seed * 1000 + 29 + rank`` (saved in the checkpoints; part of what makes a run reproducible). After each
  step ``logit_scale`` is clamped to ``[0, ln(max_logit_scale)]``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import default_collate

from internvideo_core.train import distributed as D
from internvideo_core.train.config import ContrastiveConfig
from internvideo_core.train.loop import (
    TrainResult,
    resolve_device,
    run_training,
    seed_everything,
    setup_optimization,
    wrap_ddp,
)

__all__ = ["ContrastiveConfig", "contrastive_loss", "DualEncoderTask", "collate_video_text", "select_captions",
           "train_contrastive"]


def contrastive_loss(video_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor,
                     gather: bool = True, max_logit_scale: float = 100.0) -> torch.Tensor:
    """Symmetric InfoNCE between paired rows of ``video_emb [n, E]`` and ``text_emb [n, E]``.

    Args:
        logit_scale: the learnable log temperature (scalar); logits use ``min(exp(logit_scale), max)``.
        gather: gather the embeddings of all ranks (no-op without a process group).

    Returns:
        ``(CE(video -> text) + CE(text -> video)) / 2`` over this rank's rows (the full batch on one process).
    """
    v = F.normalize(video_emb.float(), dim=-1)
    t = F.normalize(text_emb.float(), dim=-1)
    n = v.shape[0]
    if gather and D.is_dist():
        all_v, all_t = D.all_gather_with_grad(v), D.all_gather_with_grad(t)
        offset = D.get_rank() * n
    else:
        all_v, all_t, offset = v, t, 0
    scale = logit_scale.float().clamp(max=math.log(max_logit_scale)).exp()
    labels = torch.arange(offset, offset + n, device=v.device)
    logits_v2t = scale * v @ all_t.t()
    logits_t2v = scale * t @ all_v.t()
    return 0.5 * (F.cross_entropy(logits_v2t, labels) + F.cross_entropy(logits_t2v, labels))


class DualEncoderTask(nn.Module):
    """``forward(video, tokens) -> contrastive loss`` around a dual encoder, so DDP sees one forward."""

    def __init__(self, model: nn.Module, max_logit_scale: float = 100.0, gather: bool = True) -> None:
        super().__init__()
        self.model = model
        self.max_logit_scale = max_logit_scale
        self.gather = gather

    def forward(self, video: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        v = self.model.encode_video(video)
        t = self.model.encode_text(tokens)
        return contrastive_loss(v, t, self.model.logit_scale, self.gather, self.max_logit_scale)


def collate_video_text(samples: Sequence[Any]) -> tuple[torch.Tensor, list]:
    """Collate ``(video, captions)`` samples keeping each sample's caption list intact.

    PyTorch's default collate would transpose lists of paraphrases into ``P`` tuples of ``B`` strings.
    Returns ``(videos [B, ...], [captions of sample 0, ...])``; other items (labels, ids) are dropped.
    """
    videos = default_collate([s[0] if not isinstance(s, dict) else s["video"] for s in samples])
    texts = [s[1] if not isinstance(s, dict) else s["text"] for s in samples]
    return videos, texts


def select_captions(captions: Any, generator: torch.Generator | None, tokenize: Callable[..., torch.Tensor],
                    context_length: int = 77) -> torch.Tensor:
    """One caption per video as token ids ``[B, L]``.

    ``captions``: ``LongTensor [B, L]`` (used as is), ``[B, P, L]`` (one of ``P`` per row), a list of strings,
    or a list of lists of strings. With a generator a random paraphrase is picked, else the first.
    """
    if isinstance(captions, torch.Tensor):
        if captions.ndim == 2:
            return captions
        if captions.ndim == 3:
            b, p = captions.shape[:2]
            idx = torch.randint(p, (b,), generator=generator) if generator is not None else torch.zeros(b, dtype=torch.long)
            return captions[torch.arange(b), idx.to(captions.device)]
        raise ValueError(f"token ids must be [B, L] or [B, P, L], got {tuple(captions.shape)}")
    texts: list[str] = []
    for c in captions:
        if isinstance(c, str):
            texts.append(c)
        else:
            options = list(c)
            if not options:
                raise ValueError("a video has an empty caption list")
            k = int(torch.randint(len(options), (1,), generator=generator)) if generator is not None else 0
            texts.append(options[k])
    return tokenize(texts, context_length=context_length)


def _default_tokenize(texts: list[str], context_length: int) -> torch.Tensor:
    from internvideo_core.text import tokenize

    return tokenize(texts, context_length=context_length)


def train_contrastive(model: nn.Module, loader: Iterable, config: ContrastiveConfig | None = None, *,
                      resume: str | None = None, tokenize: Callable[..., torch.Tensor] | None = None,
                      end_of_epoch: Callable[[int], dict[str, float] | None] | None = None) -> TrainResult:
    """Train a dual encoder (``encode_video``, ``encode_text``, ``logit_scale``) with symmetric InfoNCE.

    Args:
        loader: batches of ``(video, captions)`` or ``{"video", "text"}`` (see the module docstring).
        config: :class:`ContrastiveConfig`.
        resume: a ``checkpoint.pth`` of an earlier run with the same config; continues exactly.
        tokenize: ``(texts, context_length=) -> LongTensor [N, L]``; default ``internvideo_core.text.tokenize``.
        end_of_epoch: optional callback (e.g. retrieval evaluation) whose metrics join the epoch log.
    """
    cfg = config or ContrastiveConfig()
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, D.get_rank())
    model.to(device)
    tokenize = tokenize or _default_tokenize
    text_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 29 + D.get_rank())
    optimizer, lr_s, wd_s, spe, _ = setup_optimization(model, cfg, loader)
    engine = wrap_ddp(DualEncoderTask(model, cfg.max_logit_scale), device, find_unused_parameters=True)
    max_log = math.log(cfg.max_logit_scale)
    context_length = cfg.context_length or getattr(getattr(model, "config", None), "context_length", None) or 77

    def compute_loss(batch: Any) -> torch.Tensor:
        if isinstance(batch, dict):
            video, captions = batch["video"], batch.get("text", batch.get("tokens"))
        else:
            video, captions = batch[0], batch[1]
        tokens = select_captions(captions, text_gen if cfg.paraphrase else None, tokenize, context_length)
        return engine(video, tokens.to(video.device, non_blocking=True))

    def after_step(step: int) -> None:
        with torch.no_grad():
            model.logit_scale.clamp_(0, max_log)

    return run_training(model=model, loader=loader, optimizer=optimizer, compute_loss=compute_loss,
                        epochs=cfg.epochs, device=device, lr_schedule=lr_s, wd_schedule=wd_s,
                        precision=cfg.precision, clip_grad=cfg.clip_grad, steps_per_epoch=spe,
                        generators={"text": text_gen}, output_dir=cfg.output_dir,
                        checkpoint_every=cfg.checkpoint_every, resume=resume, max_steps=cfg.max_steps,
                        after_step=after_step, end_of_epoch=end_of_epoch, config=cfg, name="train-mm",
                        progress=cfg.progress)
