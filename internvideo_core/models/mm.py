"""InternVideo-MM: the video-text dual encoder of InternVideo (video CLIP with temporal modules).

    model = create_model("internvideo_mm_b16", checkpoint_path="InternVideo-MM-B-16.ckpt")
    v = model.encode_video(video)                 # video [B, 3, 8, 224, 224], CLIP mean/std -> [B, 512]
    t = model.encode_text(tokenize(["a dog"]))    # [N, 77] -> [N, 512]
    logits_per_video, logits_per_text = model(video, tokens)

The computation is that of the official ``VideoIntern`` (InternVideo1
``Pretrain/Multi-Modalities-Pretraining``), checked against its outputs
(``fixtures/official/internvideo_mm_io.safetensors``); the parameter names are the official ones without
the ``clip.`` prefix of the Lightning checkpoints, so :mod:`internvideo_core.convert.mm` only strips it.
The video tower is described in :mod:`.mm_video`; the text tower is CLIP's (causal mask, features of the
EOT token, i.e. the position of ``tokens.argmax(-1)``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .mm_text import TextTransformer
from .mm_video import VideoTower

__all__ = ["MMConfig", "InternVideoMM", "build_internvideo_mm"]


@dataclass(frozen=True)
class MMConfig:
    """Configuration of :class:`InternVideoMM` (every field can be overridden in ``create_model``).

    Vision: ``vision_width/layers/heads``, ``vision_patch_size``, ``input_resolution`` (size of the
    learned 2-D position table; other sizes are bicubic-resized at run time), ``num_frames`` (the
    clip length the model was trained with; any T works since nothing is tied to it).
    Temporal modules: ``temporal_layers`` = the 0-based indices of the blocks followed by a temporal
    module (an int n means the last n blocks), ``temporal_heads``, ``temporal_mlp_ratio``,
    ``temporal_mlp_dropout`` (official 0.5, only active in training).
    Text: ``text_width/layers/heads``, ``context_length``, ``vocab_size``. ``embed_dim``: joint space.
    ``drop_path_rate`` (stochastic depth, training only), ``grad_checkpointing`` (saves memory in training).
    """

    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    vision_patch_size: int = 16
    input_resolution: int = 224
    num_frames: int = 8
    temporal_layers: int | tuple[int, ...] = (8, 9, 10, 11)
    temporal_heads: int = 12
    temporal_mlp_ratio: float = 4.0
    temporal_mlp_dropout: float = 0.5
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    context_length: int = 77
    vocab_size: int = 49408
    embed_dim: int = 512
    drop_path_rate: float = 0.0
    grad_checkpointing: bool = False

    @property
    def img_size(self) -> int:
        """The same as ``input_resolution`` (every model family answers ``config.img_size``; ``create_model``
        accepts ``img_size=`` for it)."""
        return self.input_resolution


class InternVideoMM(nn.Module):
    """Video-text dual encoder. Parameter names = official keys without ``clip.``.

    Attributes: ``visual`` (:class:`~.mm_video.VideoTower`), ``visual_ln_post``, ``visual_proj``
    ``[vision_width, embed_dim]``; ``token_embedding``, ``positional_embedding [context_length, text_width]``,
    ``transformer`` (:class:`~.mm_text.TextTransformer`), ``ln_final``, ``text_projection``
    ``[text_width, embed_dim]``, ``text_mask_embedding [1, 1, text_width]`` (replaces masked words in the
    official masked-language-modelling objective); ``logit_scale`` (log of the inverse temperature).
    """

    def __init__(self, config: MMConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.visual = VideoTower(c.input_resolution, c.vision_patch_size, c.vision_width, c.vision_layers,
                                 c.vision_heads, c.temporal_layers, c.temporal_heads, c.temporal_mlp_ratio,
                                 c.temporal_mlp_dropout, c.drop_path_rate, c.grad_checkpointing)
        self.visual_ln_post = nn.LayerNorm(c.vision_width)
        self.visual_proj = nn.Parameter(c.vision_width ** -0.5 * torch.randn(c.vision_width, c.embed_dim))

        self.token_embedding = nn.Embedding(c.vocab_size, c.text_width)
        self.positional_embedding = nn.Parameter(torch.empty(c.context_length, c.text_width))
        self.transformer = TextTransformer(c.text_width, c.text_layers, c.text_heads, c.grad_checkpointing)
        self.ln_final = nn.LayerNorm(c.text_width)
        self.text_projection = nn.Parameter(torch.empty(c.text_width, c.embed_dim))
        self.text_mask_embedding = nn.Parameter(torch.empty(1, 1, c.text_width))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_mask_embedding, std=0.02)
        nn.init.normal_(self.text_projection, std=c.text_width ** -0.5)

    # ------------------------------------------------------------------ video
    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """``video [B, 3, T, H, W]`` (CLIP mean/std applied) -> ``[B, embed_dim]``.

        The projection is returned **unnormalized**, as the official ``encode_video``; L2-normalize before
        computing cosine similarities (:meth:`forward` does).
        """
        return self.visual_ln_post(self.visual(video)) @ self.visual_proj

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """``image [B, 3, H, W]`` -> ``[B, embed_dim]``: the official ``mode="image"`` (a 1-frame clip)."""
        return self.encode_video(image.unsqueeze(2))

    # ------------------------------------------------------------------ text
    def encode_text(self, tokens: torch.Tensor, masked_indices: torch.Tensor | None = None) -> torch.Tensor:
        """``tokens [B, L]`` (from :func:`internvideo_core.text.tokenize`) -> ``[B, embed_dim]``, unnormalized.

        Features are taken at each row's EOT token (``tokens.argmax(-1)``). Rows may be shorter than
        ``context_length``; longer rows are accepted when everything beyond ``context_length`` is padding.
        Because the attention is causal, positions after the last EOT of the batch cannot change the
        result and are skipped (a large speed-up for short captions).
        ``masked_indices`` (bool ``[B, L]``, optional): word positions replaced by ``text_mask_embedding``.
        """
        if tokens.dim() != 2:
            raise ValueError(f"expected tokens [B, L], got shape {tuple(tokens.shape)}")
        ctx = self.positional_embedding.shape[0]
        eot = tokens.argmax(dim=-1)
        length = int(eot.max()) + 1 if tokens.numel() else 1
        if length > ctx:
            raise ValueError(f"tokens reach position {length - 1} but the text tower has context_length={ctx}; "
                             f"tokenize with context_length={ctx}")
        tokens = tokens[:, :length]
        x = self.token_embedding(tokens)
        if masked_indices is not None:
            mask = masked_indices[:, :length].to(torch.bool).unsqueeze(-1)
            x = torch.where(mask, self.text_mask_embedding.to(x.dtype), x)
        x = x + self.positional_embedding[:length].to(x.dtype)
        x = self.ln_final(self.transformer(x))
        feats = x[torch.arange(x.shape[0], device=x.device), eot]
        return feats @ self.text_projection

    # ------------------------------------------------------------------ both
    def forward(self, video: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(logits_per_video [B, N], logits_per_text [N, B])`` = ``exp(logit_scale) * cosine``."""
        v = F.normalize(self.encode_video(video), dim=-1)
        t = F.normalize(self.encode_text(tokens), dim=-1)
        logits_per_video = self.logit_scale.exp() * v @ t.t()
        return logits_per_video, logits_per_video.t()

    def no_weight_decay(self) -> set[str]:
        """Parameters conventionally excluded from weight decay (embeddings, tokens, gains, scale)."""
        skip = {"logit_scale", "positional_embedding", "text_mask_embedding", "visual.class_embedding",
                "visual.positional_embedding", "visual.transformer.temporal_cls_token",
                "visual.transformer.balance", "token_embedding.weight"}
        return skip | {n for n, p in self.named_parameters() if p.dim() <= 1}


def build_internvideo_mm(config: MMConfig) -> InternVideoMM:
    """Builder used by the registry (``internvideo_core/zoo/mm_models.py``)."""
    if not isinstance(config.temporal_layers, (int, tuple)):  # e.g. a list given as an override
        config = dataclasses.replace(config, temporal_layers=tuple(config.temporal_layers))
    return InternVideoMM(config)
