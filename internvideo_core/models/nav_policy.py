"""Instruction-following navigation policy: a video clip of egocentric frames + an instruction -> an action.

InternVideo's VLN entry replaces the image encoder of a navigation policy with its video encoder, so the agent
sees a short *clip* of its recent egocentric frames at every step instead of one frame. This module is that
policy at kit size:

* video: the kit's video ViT (:class:`~internvideo_core.models.vit.VideoViT`, VideoMAE layout, tubelet
  embedding, optionally initialised from a masked autoencoder) encodes the clip ``[B, 3, T, H, W]`` of the last
  ``T`` frames into tokens ``[B, N, D]``;
* language: the CLIP tokenizer (:func:`internvideo_core.text.tokenize`) and CLIP text blocks
  (:class:`~internvideo_core.models.mm_text.TextTransformer`, causal, feature of the EOT token, as the
  InternVideo-MM text tower) encode the mission into ``[B, D]``;
* fusion: the instruction attends to the clip's tokens (which object, where in view), concatenated with the
  mean-pooled clip feature and the instruction feature;
* a GRU carries the episode's memory from step to step; a linear head gives the action logits.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .mm_text import TextTransformer
from .vit import VideoViT

__all__ = ["NavPolicyConfig", "InstructionEncoder", "VideoNavPolicy"]


@dataclass(frozen=True)
class NavPolicyConfig:
    """Sizes of :class:`VideoNavPolicy` besides its video encoder.

    ``context_length``: tokens per instruction (BabyAI missions are < 10 tokens); ``text_width`` /
    ``text_layers`` / ``text_heads``: the text tower; ``hidden``: GRU width; ``num_actions``: output logits;
    ``fusion_heads``: heads of the instruction-to-clip attention; ``vocab_size``: the CLIP BPE vocabulary;
    ``freeze_token_embedding``: keep the random word vectors fixed (the 49408-row table is most of the
    parameters and only a few dozen words occur; the text blocks still learn).
    """

    context_length: int = 16
    text_width: int = 64
    text_layers: int = 1
    text_heads: int = 2
    hidden: int = 128
    num_actions: int = 3
    fusion_heads: int = 2
    vocab_size: int = 49408
    freeze_token_embedding: bool = True


class InstructionEncoder(nn.Module):
    """CLIP-style text tower: ``tokens [B, L] -> [B, out_dim]`` (EOT-token feature after ``ln_final``)."""

    def __init__(self, cfg: NavPolicyConfig, out_dim: int) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.positional_embedding = nn.Parameter(torch.randn(cfg.context_length, cfg.text_width) * 0.01)
        self.transformer = TextTransformer(cfg.text_width, cfg.text_layers, cfg.text_heads)
        self.ln_final = nn.LayerNorm(cfg.text_width)
        self.text_projection = nn.Linear(cfg.text_width, out_dim, bias=False)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.token_embedding.weight.requires_grad_(not cfg.freeze_token_embedding)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.positional_embedding[: tokens.shape[1]]
        x = self.ln_final(self.transformer(x))
        eot = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(-1)]   # EOT has the largest id
        return self.text_projection(eot)


class VideoNavPolicy(nn.Module):
    """``step(clip [B, 3, T, H, W], text [B, D], h [B, hidden] | None) -> (logits [B, A], h)``.

    ``encoder`` is a :class:`VideoViT` (built with ``num_classes=0``); its ``config`` fixes the clip shape.
    :meth:`forward` runs whole episodes: ``clips [B, L, 3, T, H, W]`` (ImageNet-normalised), ``tokens [B, Lt]``
    -> logits ``[B, L, A]``; a padded tail does not change the logits of the steps before it (the GRU is causal).
    """

    def __init__(self, encoder: VideoViT, cfg: NavPolicyConfig = NavPolicyConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = encoder
        d = encoder.embed_dim
        self.text = InstructionEncoder(cfg, d)
        self.fusion = nn.MultiheadAttention(d, cfg.fusion_heads, batch_first=True)
        self.fusion_norm = nn.LayerNorm(d)
        self.proj = nn.Sequential(nn.Linear(3 * d, cfg.hidden), nn.GELU())
        self.gru = nn.GRU(cfg.hidden, cfg.hidden, batch_first=True)
        self.head = nn.Linear(cfg.hidden, cfg.num_actions)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, Lt] -> [B, D]``."""
        return self.text(tokens)

    def observe(self, clips: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Per-step input of the GRU: ``clips [B, 3, T, H, W]``, ``text [B, D]`` -> ``[B, hidden]``."""
        tokens = self.encoder.forward_tokens(clips)                               # [B, N, D]
        pooled = self.encoder.fc_norm(tokens.mean(1)) if self.encoder.fc_norm is not None else tokens[:, 0]
        attended, _ = self.fusion(text[:, None], tokens, tokens, need_weights=False)  # [B, 1, D]
        fused = torch.cat([self.fusion_norm(attended[:, 0]), pooled, text], dim=-1)
        return self.proj(fused)

    def step(self, clips: torch.Tensor, text: torch.Tensor,
             h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step for a batch of episodes; ``h`` is the GRU state (``None`` at the first step)."""
        x = self.observe(clips, text)[:, None]                                   # [B, 1, hidden]
        out, h_new = self.gru(x, None if h is None else h[None])
        return self.head(out[:, 0]), h_new[0]

    def forward(self, clips: torch.Tensor, tokens: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """Whole episodes: ``clips [B, L, 3, T, H, W]``, ``tokens [B, Lt]`` -> logits ``[B, L, A]``.

        ``valid [B, L]`` bool (True = a real step, padding after the episode's end): only the valid clips are
        encoded (padding costs nothing); the logits of padded steps are meaningless.
        """
        b, length = clips.shape[:2]
        if valid is None:
            valid = torch.ones(b, length, dtype=torch.bool, device=clips.device)
        text = self.encode_text(tokens)                                          # [B, D]
        step_text = text[:, None].expand(b, length, text.shape[-1])[valid]       # [V, D]
        x = clips.new_zeros(b, length, self.cfg.hidden)
        x[valid] = self.observe(clips[valid], step_text)                         # [V, hidden] -> [B, L, hidden]
        out, _ = self.gru(x)
        return self.head(out)
