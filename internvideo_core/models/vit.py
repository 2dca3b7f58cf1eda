"""Video ViT classifier of VideoMAE / InternVideo (official ``modeling_finetune.VisionTransformer``).

Tubelet embedding -> + fixed sinusoid table -> pre-norm blocks -> mean over tokens -> ``fc_norm`` ->
(dropout) -> ``head``. Parameter names are the official ones, so the released ``{"module": ...}`` files load
key for key; the positional table is a non-persistent buffer (it is not stored in the files either).

Positional table: built for the pretraining grid (``pos_ref_img_size`` px, ``pos_ref_num_frames`` frames;
224 / 16 as in the official code) and resized to this model's grid when they differ (bicubic in space,
then linear in time). ``pos_ref_img_size=None`` builds it for the model's own grid instead (the
pretraining model's and Hugging Face's convention; the kit's SynthMotion models use it).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.layers import trunc_normal_
from torch import nn

from internvideo_core.models.layers import ViTEncoderConfig, make_blocks, run_blocks, tubelet_embed
from internvideo_core.models.pos_embed import video_pos_table

__all__ = ["VideoViTConfig", "VideoViT", "official_layer_id"]


@dataclass(frozen=True)
class VideoViTConfig(ViTEncoderConfig):
    """Configuration of :class:`VideoViT` (every field can be overridden in ``create_model``).

    The architecture fields (``img_size`` ... ``grad_checkpointing``) and ``grid`` come from
    :class:`~internvideo_core.models.layers.ViTEncoderConfig`; ``drop_rate`` also drops the embedded tokens
    (official ``drop``). ``head_drop_rate``: dropout before ``head`` (official ``head_drop_rate`` /
    ``fc_drop_rate``); ``init_scale``: multiplies the initial head weights (official fine-tuning default
    0.001); ``init_values``: layer-scale init (0 = none, as released); ``num_segment``: > 1 averages the
    logits of ``num_segment`` consecutive batch items in training (the official TSN-style option).
    """

    num_classes: int = 400
    head_drop_rate: float = 0.0
    init_scale: float = 0.001
    use_mean_pooling: bool = True
    pos_ref_img_size: int | None = 224
    pos_ref_num_frames: int = 16
    num_segment: int = 1

    @property
    def pos_ref_grid(self) -> tuple[int, int, int] | None:
        """Grid the sinusoid table is built for before resizing (``None``: the model's own grid)."""
        if self.pos_ref_img_size is None:
            return None
        s = self.pos_ref_img_size // self.patch_size
        return (self.pos_ref_num_frames // self.tubelet_size, s, s)


def official_layer_id(name: str, depth: int) -> int:
    """Layer id for layer-wise lr decay as the official ``get_num_layer_for_vit``.

    ``patch_embed.*``, ``pos_embed``, ``cls_token``, ``mask_token`` -> 0; ``blocks.{i}.*`` -> ``i + 1``;
    everything else (``fc_norm``, ``norm``, ``head``) -> ``depth + 1``. A leading ``encoder.`` is ignored.
    """
    if name.startswith("encoder."):
        name = name[len("encoder."):]
    if name in ("cls_token", "mask_token", "pos_embed") or name.startswith("patch_embed"):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return depth + 1


def init_vit_weights(module: nn.Module) -> None:
    """Official fine-tuning init: Linear ``trunc_normal(std=.02)`` + zero bias, LayerNorm ones/zeros."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class VideoViT(nn.Module):
    """Video ViT classifier. ``forward(x [B, 3, T, H, W]) -> logits [B, num_classes]``."""

    def __init__(self, config: VideoViTConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.num_classes = c.num_classes
        self.num_features = self.embed_dim = c.embed_dim
        self.patch_embed = tubelet_embed(c)
        self.register_buffer("pos_embed", video_pos_table(c.grid, c.embed_dim, c.pos_ref_grid), persistent=False)
        self.pos_drop = nn.Dropout(c.drop_rate)
        self.blocks = make_blocks(c, c.embed_dim, c.depth, c.num_heads)
        self.norm = nn.Identity() if c.use_mean_pooling else nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.fc_norm = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps) if c.use_mean_pooling else None
        self.head_dropout = nn.Dropout(c.head_drop_rate)
        self.head = nn.Linear(c.embed_dim, c.num_classes) if c.num_classes > 0 else nn.Identity()
        self.apply(init_vit_weights)
        if isinstance(self.head, nn.Linear):
            with torch.no_grad():
                self.head.weight.mul_(c.init_scale)
                self.head.bias.mul_(c.init_scale)

    # --- official helpers -------------------------------------------------------------------------
    def get_num_layers(self) -> int:
        """Number of transformer blocks (the official ``get_num_layers``)."""
        return len(self.blocks)

    def get_layer_id(self, name: str) -> int:
        """Layer id of a parameter name for layer-wise lr decay (see :func:`official_layer_id`)."""
        return official_layer_id(name, len(self.blocks))

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        """Names without weight decay, as the official code (1-D params are handled by the optimizer)."""
        return {"pos_embed", "cls_token"}

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a fresh ``Linear(embed_dim, num_classes)`` (official init x ``init_scale``), on the
        device and in the dtype of the model's weights (not of ``pos_embed``: that table is built on the CPU, so
        it stays there when the model is built inside a ``torch.device`` context)."""
        self.num_classes = num_classes
        head = nn.Linear(self.embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        init_vit_weights(head)
        if isinstance(head, nn.Linear):
            with torch.no_grad():
                head.weight.mul_(self.config.init_scale)
                head.bias.mul_(self.config.init_scale)
        weight = self.patch_embed.proj.weight
        self.head = head.to(device=weight.device, dtype=weight.dtype)

    # --- forward ----------------------------------------------------------------------------------
    def forward_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Token features after the blocks (and ``norm``): ``[B, 3, T, H, W] -> [B, N, D]``."""
        x = self.patch_embed(x)
        x = x + self.pos_embed.to(dtype=x.dtype, device=x.device)
        x = self.pos_drop(x)
        x = run_blocks(self.blocks, x, self.config.grad_checkpointing)
        return self.norm(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, D]``: mean over tokens then ``fc_norm`` (or the first token after ``norm``
        when ``use_mean_pooling=False``, as the official code)."""
        x = self.forward_tokens(x)
        if self.fc_norm is not None:
            return self.fc_norm(x.mean(1))
        return x[:, 0]

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """``[B, D] -> [B, num_classes]``."""
        return self.head(self.head_dropout(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` (ImageNet-normalised) ``-> logits [B, num_classes]``."""
        logits = self.forward_head(self.forward_features(x))
        if self.config.num_segment > 1 and self.training:
            logits = logits.view(-1, self.config.num_segment, *logits.shape[1:]).mean(1)
        return logits
