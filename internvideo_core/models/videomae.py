"""VideoMAE masked video autoencoder (official ``modeling_pretrain.PretrainVisionTransformer``).

The encoder embeds all tubelets, adds its sinusoid table, keeps ONLY the visible tokens (a gather, so the
blocks run on ~10 % of the tokens at ratio 0.9) and applies ``encoder.norm``. ``encoder_to_decoder``
(no bias) maps them to the decoder width; the decoder input is ``[visible + pos, mask_token + pos]``
(visible tokens first, masked tokens last, each group in token order), and ``decoder.head`` predicts the
``3 * tubelet * p * p`` normalised pixels of the masked tokens only.

Targets (:meth:`VideoMAEPretrain.targets`) follow the official engine: un-normalise the input with the
ImageNet mean/std, cut it into ``tubelet x p x p`` tubelets, normalise each tubelet per channel by its own
mean and unbiased std (+1e-6) when ``norm_pix_loss``, flatten ``(p0 p1 p2 c)`` (channel fastest), keep the
masked tokens. The loss is the MSE.

Parameter names are the official ones (``encoder.*``, ``encoder_to_decoder.weight``, ``mask_token``,
``decoder.blocks.*``, ``decoder.norm.*``, ``decoder.head.*``); the sinusoid tables are buffers built for
this model's own grid (no resizing), not stored in files.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from timm.layers import trunc_normal_
from torch import nn

from internvideo_core.models.layers import ViTEncoderConfig, make_blocks, run_blocks, tubelet_embed
from internvideo_core.models.pos_embed import video_pos_table

__all__ = ["VideoMAEPretrainConfig", "VideoMAEPretrain", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class VideoMAEPretrainConfig(ViTEncoderConfig):
    """Configuration of :class:`VideoMAEPretrain` (every field can be overridden in ``create_model``).

    Encoder: the fields of :class:`~internvideo_core.models.layers.ViTEncoderConfig` (``embed_dim, depth,
    num_heads``, ...); decoder: ``decoder_embed_dim, decoder_depth, decoder_num_heads`` (same ``mlp_ratio``).
    ``norm_pix_loss``: per-tubelet normalised targets (official default). ``drop_path_rate`` applies to
    encoder and decoder as in the official code.
    """

    decoder_embed_dim: int = 384
    decoder_depth: int = 4
    decoder_num_heads: int = 6
    norm_pix_loss: bool = True

    @property
    def patch_dim(self) -> int:
        """Decoder output per token: ``in_chans * tubelet * p * p``."""
        return self.in_chans * self.tubelet_size * self.patch_size ** 2


def _init_xavier(module: nn.Module) -> None:
    """Official pretraining init: Linear xavier-uniform + zero bias, LayerNorm ones/zeros."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class PretrainEncoder(nn.Module):
    """Encoder on visible tokens: ``patch_embed``, sinusoid table, ``blocks``, ``norm``."""

    def __init__(self, c: VideoMAEPretrainConfig) -> None:
        super().__init__()
        self.patch_embed = tubelet_embed(c)
        self.register_buffer("pos_embed", video_pos_table(c.grid, c.embed_dim), persistent=False)
        self.blocks = make_blocks(c, c.embed_dim, c.depth, c.num_heads)
        self.norm = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.grad_checkpointing = c.grad_checkpointing
        self.apply(_init_xavier)

    def forward(self, x: torch.Tensor, visible_idx: torch.Tensor | None) -> torch.Tensor:
        """``x [B, 3, T, H, W]``, ``visible_idx [B, N_vis]`` (``None``: all tokens) ``-> [B, N_vis, D]``."""
        tokens = self.patch_embed(x)
        tokens = tokens + self.pos_embed.to(dtype=tokens.dtype, device=tokens.device)
        if visible_idx is not None:
            tokens = torch.gather(tokens, 1, visible_idx[..., None].expand(-1, -1, tokens.shape[-1]))
        tokens = run_blocks(self.blocks, tokens, self.grad_checkpointing)
        return self.norm(tokens)


class PretrainDecoder(nn.Module):
    """Decoder: ``blocks``, ``norm``, ``head`` on the last ``return_token_num`` tokens."""

    def __init__(self, c: VideoMAEPretrainConfig) -> None:
        super().__init__()
        self.blocks = make_blocks(c, c.decoder_embed_dim, c.decoder_depth, c.decoder_num_heads)
        self.norm = nn.LayerNorm(c.decoder_embed_dim, eps=c.layer_norm_eps)
        self.head = nn.Linear(c.decoder_embed_dim, c.patch_dim)
        self.grad_checkpointing = c.grad_checkpointing
        self.apply(_init_xavier)

    def forward(self, x: torch.Tensor, return_token_num: int) -> torch.Tensor:
        """``[B, N, Dd] -> [B, return_token_num, patch_dim]`` (all tokens when ``return_token_num == 0``)."""
        x = run_blocks(self.blocks, x, self.grad_checkpointing)
        if return_token_num > 0:
            x = x[:, -return_token_num:]
        return self.head(self.norm(x))


class VideoMAEPretrain(nn.Module):
    """VideoMAE masked autoencoder.

    ``forward(x [B, 3, T, H, W], mask bool [B, N]) -> [B, N_masked, 3 * tubelet * p * p]``
    (True = masked, tokens in ``(t, h, w)`` order; every sample must mask the same number of tokens).
    """

    def __init__(self, config: VideoMAEPretrainConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.encoder = PretrainEncoder(c)
        self.encoder_to_decoder = nn.Linear(c.embed_dim, c.decoder_embed_dim, bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c.decoder_embed_dim))
        self.register_buffer("pos_embed", video_pos_table(c.grid, c.decoder_embed_dim), persistent=False)
        self.decoder = PretrainDecoder(c)
        # The official code leaves encoder_to_decoder at PyTorch's default init and draws mask_token from a
        # normal(0, .02) truncated at +-.02.
        trunc_normal_(self.mask_token, std=0.02, a=-0.02, b=0.02)

    @property
    def num_patches(self) -> int:
        return self.encoder.patch_embed.num_patches

    def get_num_layers(self) -> int:
        """Encoder depth."""
        return len(self.encoder.blocks)

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        """Names without weight decay, as the official pretraining model."""
        return {"pos_embed", "cls_token", "mask_token"}

    # --- masks ------------------------------------------------------------------------------------
    def split_indices(self, mask: torch.Tensor, num_masked: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(visible_idx [B, N_vis], masked_idx [B, N_mask])``, each in ascending token order.

        ``num_masked``: the masked count per sample when the caller knows it (e.g.
        :func:`internvideo_core.masking.num_masked`): nothing is read back from the device, so the step has
        no host sync and compiles to one graph. Without it the count is read from ``mask`` and checked.
        Raises ``ValueError`` when ``mask`` is not ``[B, N]`` or the samples mask different numbers of tokens
        (with ``num_masked``: checked only for CPU masks outside compilation).
        """
        n = self.num_patches
        if mask.ndim != 2 or mask.shape[1] != n:
            raise ValueError(f"mask must be [B, {n}] (True = masked, tokens in (t, h, w) order for grid "
                             f"{self.config.grid}), got {list(mask.shape)}")
        mask = mask.bool()
        if num_masked is None or (mask.device.type == "cpu" and not torch.compiler.is_compiling()):
            counts = mask.sum(1)
            given = num_masked
            if mask.shape[0] and bool((counts != (counts[0] if given is None else given)).any()):
                raise ValueError(f"every sample must mask the same number of tokens"
                                 f"{'' if given is None else f' ({given} given as num_masked)'}, got counts "
                                 f"{counts.tolist()}; use internvideo_core.masking.tube_mask / random_mask")
            if num_masked is None:
                num_masked = int(counts[0]) if mask.shape[0] else 0
        order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)
        return order[:, : n - num_masked], order[:, n - num_masked:]

    # --- forward ----------------------------------------------------------------------------------
    def forward_encoder(self, x: torch.Tensor, mask: torch.Tensor, num_masked: int | None = None) -> torch.Tensor:
        """Encoder features of the visible tokens ``[B, N_vis, D]`` (after ``encoder.norm``)."""
        visible_idx, _ = self.split_indices(mask.to(x.device), num_masked)
        return self.encoder(x, visible_idx)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, num_masked: int | None = None) -> torch.Tensor:
        """Predictions for the masked tokens ``[B, N_masked, 3 * tubelet * p * p]`` (``num_masked``: see
        :meth:`split_indices`)."""
        return self._predict(x, *self.split_indices(mask.to(x.device), num_masked))

    def _predict(self, x: torch.Tensor, visible_idx: torch.Tensor, masked_idx: torch.Tensor) -> torch.Tensor:
        vis = self.encoder_to_decoder(self.encoder(x, visible_idx))
        pos = self.pos_embed.to(dtype=vis.dtype, device=vis.device)
        full = torch.cat([vis + pos[visible_idx], self.mask_token.to(vis.dtype) + pos[masked_idx]], dim=1)
        n_mask = masked_idx.shape[1]
        out = self.decoder(full, n_mask)
        return out if n_mask > 0 else out[:, :0]  # nothing masked: nothing to predict

    # --- targets, loss, visualisation -------------------------------------------------------------
    def _unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=x.device)[None, :, None, None, None]
        std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=x.device)[None, :, None, None, None]
        return x.float() * std + mean

    def patchify(self, videos: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, H, W] -> [B, N, tubelet*p*p, C]`` (tubelets in token order, pixels ``(p0 p1 p2)``)."""
        p, tub = self.config.patch_size, self.config.tubelet_size
        return rearrange(videos, "b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2) c", p0=tub, p1=p, p2=p)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """``[B, N, (p0 p1 p2 c)] -> [B, C, T, H, W]`` (inverse of the target layout)."""
        t, h, w = self.config.grid
        p, tub = self.config.patch_size, self.config.tubelet_size
        return rearrange(patches, "b (t h w) (p0 p1 p2 c) -> b c (t p0) (h p1) (w p2)",
                         t=t, h=h, w=w, p0=tub, p1=p, p2=p)

    @staticmethod
    def patch_statistics(patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-tubelet, per-channel ``(mean, std)`` of pixels ``[B, N, P, C]``, each ``[B, N, 1, C]`` (unbiased
        std, as the official normalised-pixel target)."""
        return patches.mean(dim=-2, keepdim=True), patches.var(dim=-2, unbiased=True, keepdim=True).sqrt()

    @torch.no_grad()
    def pixel_targets(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction target of every token ``[B, N, P, C]`` in float32: pixels in ``[0, 1]``, normalised
        per tubelet and channel (``(p - mean) / (std + 1e-6)``) when ``norm_pix_loss``."""
        patches = self.patchify(self._unnormalize(x))
        if self.config.norm_pix_loss:
            mean, std = self.patch_statistics(patches)
            patches = (patches - mean) / (std + 1e-6)
        return patches

    @torch.no_grad()
    def targets(self, x: torch.Tensor, mask: torch.Tensor, num_masked: int | None = None) -> torch.Tensor:
        """Reconstruction targets of the masked tokens ``[B, N_masked, (p0 p1 p2 c)]`` in float32."""
        _, masked_idx = self.split_indices(mask.to(x.device), num_masked)
        return self._gather_targets(x, masked_idx)

    @torch.no_grad()
    def _gather_targets(self, x: torch.Tensor, masked_idx: torch.Tensor) -> torch.Tensor:
        patches = rearrange(self.pixel_targets(x), "b n p c -> b n (p c)")
        return torch.gather(patches, 1, masked_idx[..., None].expand(-1, -1, patches.shape[-1]))

    def loss(self, x: torch.Tensor, mask: torch.Tensor, num_masked: int | None = None) -> torch.Tensor:
        """Mean squared error between :meth:`forward` and :meth:`targets` (a float32 scalar). Pass
        ``num_masked`` (see :meth:`split_indices`) for a step without host syncs or graph breaks."""
        pred = self(x, mask, num_masked)  # through __call__: a compiled forward (model.compile()) and hooks apply
        return F.mse_loss(pred.float(), self.targets(x, mask, num_masked))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor | None = None) -> torch.Tensor:
        """Pixels ``[B, 3, T, H, W]`` in ``[0, 1]``: visible tubelets from the input, masked ones predicted.

        With ``norm_pix_loss`` the predictions are de-normalised with each tubelet's true mean/std, as the
        official visualisation script does (so only the structure inside a tubelet is predicted).
        ``pred`` defaults to ``self(x, mask)``.
        """
        mask = mask.to(x.device).bool()
        _, masked_idx = self.split_indices(mask)
        if pred is None:
            pred = self(x, mask)
        patches = self.patchify(self._unnormalize(x))  # [B, N, P, C]
        pred = rearrange(pred.float(), "b n (p c) -> b n p c", c=patches.shape[-1])
        idx = masked_idx[..., None, None].expand(-1, -1, *patches.shape[-2:])
        if self.config.norm_pix_loss:
            mean, std = self.patch_statistics(torch.gather(patches, 1, idx))
            pred = pred * (std + 1e-6) + mean
        patches = patches.scatter(1, idx, pred)
        return self.unpatchify(rearrange(patches, "b n p c -> b n (p c)")).clamp(0, 1)
