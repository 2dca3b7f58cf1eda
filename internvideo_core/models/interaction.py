"""Model interaction: cross-model attention (CMA) between the frozen masked-video encoder and the frozen
video-language encoder, InternVideo's third component (arXiv 2212.03191, "cross-model interaction" / supervised
post-pretraining; never released by the official repository, whose README leaves it unchecked).

Sources: the paper's description of the component (Sec. 3, "cross-model interaction", and its figure of the CMA
blocks, in which only the added blocks are trainable, queries come from one encoder and keys/values from the other),
the official repository's answer in its issue #20 ("a model interaction using cross-model attention in the Masked
Video Encoder (MAE) and the Multimodal Video Encoder, which is based on UniFormerV2"; the largest model "has not
yet been public") and the kit's issue #11. The full section text could not be read while writing this module, so
everything below that is not listed as fixed is a documented choice, not a reproduction.

What the paper fixes, and this module follows:

- the masked-video encoder (VideoMAE ViT) and the multimodal video encoder (InternVideo-MM's video tower,
  CLIP ViT + UniFormerV2-style temporal modules) stay **frozen**;
- **cross-model attention** modules are added between them: multi-head cross-attention whose queries are one
  encoder's tokens and whose keys/values are the other encoder's tokens, followed by a feed-forward network;
- only the added modules and the classifier are trained (supervised, on the labels of the target task).

What the paper leaves open, and what we chose (each can be changed by an argument):

- **where**: CMA after each of the last ``num_layers`` blocks of both encoders, paired from the top (block
  ``depth_a - n + l`` of VideoMAE with block ``depth_b - n + l`` of the video tower); the mixed tokens feed the
  following frozen blocks (and the video tower's temporal extractor, which reads the tokens after the CMA);
- **directions**: both (``"both"``: VideoMAE tokens attend to the video tower's and vice versa, both computed from
  the tokens before the exchange); ``"to_mae"`` / ``"to_mm"`` for one direction;
- **gates**: every residual branch of a CMA (attention and FFN) is multiplied by a per-channel gate initialised to
  **zero**, so that at step 0 the two encoders compute exactly what they computed alone (tested bit for bit);
  pre-norm LayerNorms on queries, keys/values and the FFN input; FFN with GELU, ``mlp_ratio`` x the width;
- **token grids**: they need not line up for attention (each query attends to every key), but they do not: the
  released VideoMAE-L/16 sees 16 frames as 8 tubelet slots of 14 x 14 patches (1568 tokens), the InternVideo-MM
  L/14 video tower 8 frames of 16 x 16 patches plus one class token each (2056 tokens). The keys/values are
  therefore **resampled onto the querying encoder's (t, h, w) grid** (trilinear over the other encoder's patch
  tokens, class tokens left out), so both sides describe the same space-time cells with the same count:
  VideoMAE queries see 8 x 14 x 14 resampled video-tower tokens, video-tower queries (class tokens included)
  see 8 x 16 x 16 resampled VideoMAE tokens. No extra positional embedding: both token sets already carry their
  encoder's positions;
- **classifier**: LayerNorm + linear on the concatenation of the two pooled features (VideoMAE: mean of the
  tokens then ``fc_norm``; video tower: ``visual_ln_post`` then ``visual_proj``, i.e. ``encode_video``);
- **inputs**: each encoder gets its own preprocessing (VideoMAE: ImageNet mean/std, 16 frames; InternVideo-MM: CLIP
  mean/std, 8 frames) of the same clip; ``forward(x_mae, x_mm)``.

    mae = create_model("videomae_vit_large_patch16_224", ...)         # a classifier (its head is not used)
    mm = create_model("internvideo_mm_l14", ...)                        # the dual encoder (its video tower is used)
    model = ModelInteraction(mae, mm, num_classes=400, num_layers=4)
    logits = model(x_mae [B, 3, 16, 224, 224], x_mm [B, 3, 8, 224, 224])

For training on a budget, :meth:`ModelInteraction.stem` runs the frozen blocks *below* the first interacting layer
once (its output can be cached) and :meth:`ModelInteraction.forward_from` the rest.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

__all__ = ["CrossModelAttention", "InteractionState", "ModelInteraction", "resample_tokens"]


def resample_tokens(tokens: torch.Tensor, grid: tuple[int, int, int], size: tuple[int, int, int]) -> torch.Tensor:
    """``[B, t*h*w, C]`` tokens in (t, h, w) order on ``grid`` -> ``[B, T*H*W, C]`` on ``size`` (trilinear,
    ``align_corners=False``; the identity when the grids are equal)."""
    if tuple(grid) == tuple(size):
        return tokens
    t, h, w = grid
    x = rearrange(tokens, "b (t h w) c -> b c t h w", t=t, h=h, w=w)
    x = F.interpolate(x.float(), size=tuple(size), mode="trilinear", align_corners=False).to(tokens.dtype)
    return rearrange(x, "b c t h w -> b (t h w) c")


class CrossModelAttention(nn.Module):
    """One CMA block: ``x + g_a * MHCA(LN(x), LN(context)) `` then ``+ g_f * FFN(LN(.))``, gates ``g`` zero at init.

    Args:
        dim: width of the queries ``x [B, N, dim]``. context_dim: width of the keys/values ``[B, M, context_dim]``.
        num_heads: heads of the cross-attention (``dim`` must be divisible). mlp_ratio: FFN hidden width / dim.
    """

    def __init__(self, dim: int, context_dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"CMA width {dim} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(context_dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm_mlp = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.gate_attn = nn.Parameter(torch.zeros(dim))
        self.gate_mlp = nn.Parameter(torch.zeros(dim))

    def attend(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The cross-attention branch ``[B, N, dim]`` (before its gate)."""
        q = rearrange(self.q(self.norm_q(x)), "b n (h d) -> b h n d", h=self.num_heads)
        k, v = (rearrange(t, "b m (h d) -> b h m d", h=self.num_heads)
                for t in self.kv(self.norm_kv(context)).chunk(2, dim=-1))
        return self.proj(rearrange(F.scaled_dot_product_attention(q, k, v), "b h n d -> b n (h d)"))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.gate_attn * self.attend(x, context)
        return x + self.gate_mlp * self.mlp(self.norm_mlp(x))


@dataclass
class InteractionState:
    """Both encoders' tokens below the first interacting layer (what :meth:`ModelInteraction.stem` returns).

    ``mae [B, N_a, D_a]``: VideoMAE tokens in (t, h, w) order; ``mm [B*T, 1 + g*g, D_b]``: video-tower tokens per
    frame (class token first); ``query [B, 1, D_b]``: the temporal extractor's query; ``num_frames``: ``T``;
    ``grid``: ``(g_h, g_w)`` of the video tower.
    """

    mae: torch.Tensor
    mm: torch.Tensor
    query: torch.Tensor
    num_frames: int
    grid: tuple[int, int]

    def index(self, idx: torch.Tensor | slice) -> "InteractionState":
        """The states of the clips ``idx`` (tensors cut along the batch; ``mm`` by whole clips)."""
        mm = rearrange(self.mm, "(b t) l c -> b t l c", t=self.num_frames)[idx]
        return InteractionState(self.mae[idx], rearrange(mm, "b t l c -> (b t) l c"), self.query[idx],
                                self.num_frames, self.grid)

    def to(self, device: torch.device | str) -> "InteractionState":
        return InteractionState(self.mae.to(device), self.mm.to(device), self.query.to(device), self.num_frames,
                                self.grid)

    @staticmethod
    def cat(states: list["InteractionState"]) -> "InteractionState":
        s0 = states[0]
        return InteractionState(torch.cat([s.mae for s in states]), torch.cat([s.mm for s in states]),
                                torch.cat([s.query for s in states]), s0.num_frames, s0.grid)


class ModelInteraction(nn.Module):
    """Frozen VideoMAE classifier/encoder + frozen InternVideo-MM video tower + CMA blocks + classifier.

    Args:
        videomae: a kit :class:`~internvideo_core.models.vit.VideoViT` (any size; its ``head`` is not used).
        mm: a kit :class:`~internvideo_core.models.mm.InternVideoMM` (any size; ``visual``, ``visual_ln_post`` and
            ``visual_proj`` are used).
        num_classes: classifier outputs. num_layers: interacting layers at the top of each encoder.
        directions: ``"both"``, ``"to_mae"`` (VideoMAE queries only) or ``"to_mm"`` (video-tower queries only).
        num_heads: CMA heads (default: each encoder's own head count). mlp_ratio: CMA FFN ratio.
        context: ``"other"`` (cross-model attention: keys/values from the other encoder) or ``"self"`` (a
            control with the same blocks, keys/values from the querying encoder's own tokens: extra capacity on
            the tokens, no information crossing between the encoders).
    """

    def __init__(self, videomae: nn.Module, mm: nn.Module, num_classes: int, num_layers: int = 2,
                 directions: str = "both", num_heads: int | None = None, mlp_ratio: float = 4.0,
                 context: str = "other") -> None:
        super().__init__()
        if directions not in ("both", "to_mae", "to_mm"):
            raise ValueError(f"directions must be 'both', 'to_mae' or 'to_mm', got {directions!r}")
        if context not in ("other", "self"):
            raise ValueError(f"context must be 'other' or 'self', got {context!r}")
        self.context = context
        self.videomae, self.mm = videomae, mm
        for p in (*videomae.parameters(), *mm.parameters()):
            p.requires_grad_(False)
        va, vb = videomae.config, mm.config
        depth_a, depth_b = len(videomae.blocks), len(mm.visual.transformer.resblocks)
        if not 1 <= num_layers <= min(depth_a, depth_b):
            raise ValueError(f"num_layers={num_layers} must be in 1..{min(depth_a, depth_b)} (encoder depths "
                             f"{depth_a} and {depth_b})")
        self.num_layers, self.directions = num_layers, directions
        self.start_a, self.start_b = depth_a - num_layers, depth_b - num_layers
        self.grid_a = va.grid
        da, db = va.embed_dim, vb.vision_width
        ha, hb = (num_heads or va.num_heads), (num_heads or vb.vision_heads)
        ca, cb = (db, da) if context == "other" else (da, db)
        self.to_mae = nn.ModuleList(CrossModelAttention(da, ca, ha, mlp_ratio) for _ in range(num_layers)) \
            if directions in ("both", "to_mae") else None
        self.to_mm = nn.ModuleList(CrossModelAttention(db, cb, hb, mlp_ratio) for _ in range(num_layers)) \
            if directions in ("both", "to_mm") else None
        feat = da + vb.embed_dim
        self.head = nn.Sequential(nn.LayerNorm(feat), nn.Linear(feat, num_classes))
        self.train()

    def train(self, mode: bool = True) -> "ModelInteraction":
        """The frozen encoders always stay in eval mode (no dropout / drop path): they compute what they did alone."""
        super().train(mode)
        self.videomae.eval()
        self.mm.eval()
        return self

    # ------------------------------------------------------------------------------------- pieces
    def _mm_block(self, j: int, x: torch.Tensor, query: torch.Tensor, t: int, grid: tuple[int, int]
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Block ``j`` of the video tower, then its temporal extractor when ``j`` is a temporal layer (the
        computation of :class:`~internvideo_core.models.mm_video.VideoTransformer`, step by step)."""
        vt = self.mm.visual.transformer
        x = vt.resblocks[j](x)
        return x, self._mm_temporal(j, x, query, t, grid)

    def _mm_temporal(self, j: int, x: torch.Tensor, query: torch.Tensor, t: int, grid: tuple[int, int]
                     ) -> torch.Tensor:
        vt = self.mm.visual.transformer
        if j not in vt.temporal_layers:
            return query
        k = list(vt.temporal_layers).index(j)
        gh, gw = grid
        patches = rearrange(x[:, 1:], "(b t) (h w) c -> b c t h w", t=t, h=gh, w=gw)
        patches = x[:, 1:] + rearrange(vt.dpe[k](patches), "b c t h w -> (b t) (h w) c")
        tokens = rearrange(torch.cat([x[:, :1], patches], dim=1), "(b t) l c -> b (t l) c", t=t)
        return vt.dec[k](query, tokens)

    @torch.no_grad()
    def stem(self, x_mae: torch.Tensor, x_mm: torch.Tensor) -> InteractionState:
        """The frozen part below the first interacting layer of each encoder (no gradients; cache it)."""
        mae, tower = self.videomae, self.mm.visual
        a = mae.patch_embed(x_mae)
        a = mae.pos_drop(a + mae.pos_embed.to(dtype=a.dtype, device=a.device))
        for blk in mae.blocks[: self.start_a]:
            a = blk(a)
        m = tower.conv1(x_mm)
        t, gh, gw = m.shape[2:]
        m = rearrange(m, "b c t h w -> (b t) (h w) c")
        cls = tower.class_embedding.to(m.dtype).expand(m.shape[0], 1, -1)
        m = tower.ln_pre(torch.cat([cls, m], dim=1) + tower._positions(gh, gw).to(m.dtype))
        query = tower.transformer.temporal_cls_token.expand(m.shape[0] // t, -1, -1)
        for j in range(self.start_b):
            m, query = self._mm_block(j, m, query, t, (gh, gw))
        return InteractionState(a, m, query, int(t), (int(gh), int(gw)))

    def forward_from(self, s: InteractionState) -> torch.Tensor:
        """Logits ``[B, num_classes]`` from a :meth:`stem` state (the interacting layers, pooling, classifier)."""
        return self.head(torch.cat(self.features_from(s), dim=-1))

    def features_from(self, s: InteractionState) -> tuple[torch.Tensor, torch.Tensor]:
        """The two pooled features ``([B, D_a], [B, E])`` after the interacting layers."""
        mae, vt = self.videomae, self.mm.visual.transformer
        a, m, query, t, (gh, gw) = s.mae, s.mm, s.query, s.num_frames, s.grid
        grid_b = (t, gh, gw)
        for l in range(self.num_layers):
            a = mae.blocks[self.start_a + l](a)
            j = self.start_b + l
            m = vt.resblocks[j](m)
            a_in, m_in = a, m
            own = self.context == "self"
            if self.to_mae is not None:  # VideoMAE queries, video-tower patch tokens resampled to VideoMAE's grid
                ctx = a_in if own else resample_tokens(rearrange(m_in[:, 1:], "(b t) l c -> b (t l) c", t=t),
                                                       grid_b, self.grid_a)
                a = self.to_mae[l](a_in, ctx)
            if self.to_mm is not None:  # video-tower queries (class tokens too), VideoMAE tokens on its grid
                q = rearrange(m_in, "(b t) l c -> b (t l) c", t=t)
                ctx = q if own else resample_tokens(a_in, self.grid_a, grid_b)
                m = rearrange(self.to_mm[l](q, ctx), "b (t l) c -> (b t) l c", t=t)
            query = self._mm_temporal(j, m, query, t, (gh, gw))
        feat_a = mae.fc_norm(mae.norm(a).mean(1)) if mae.fc_norm is not None else mae.norm(a)[:, 0]
        sb = torch.sigmoid(vt.balance)
        frame_cls = rearrange(m[:, 0], "(b t) c -> b t c", t=t).mean(1)
        feat_b = self.mm.visual_ln_post((1 - sb) * query[:, 0] + sb * frame_cls) @ self.mm.visual_proj
        return feat_a, feat_b

    def forward_features(self, x_mae: torch.Tensor, x_mm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(VideoMAE pooled feature [B, D_a], video embedding [B, E])``; at init equal to
        ``videomae.forward_features(x_mae)`` and ``mm.encode_video(x_mm)``."""
        return self.features_from(self.stem(x_mae, x_mm))

    def forward(self, x_mae: torch.Tensor, x_mm: torch.Tensor) -> torch.Tensor:
        """``x_mae [B, 3, T_a, H, W]`` (ImageNet mean/std), ``x_mm [B, 3, T_b, H', W']`` (CLIP mean/std) -> logits."""
        return self.forward_from(self.stem(x_mae, x_mm))

    def trainable_parameters(self) -> int:
        """Number of trained parameters (CMA blocks + classifier)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
