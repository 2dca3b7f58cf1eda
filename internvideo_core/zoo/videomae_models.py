"""Registers the VideoMAE architectures (family ``videomae``).

Released configurations (official ``modeling_finetune`` / ``modeling_pretrain`` of InternVideo1):

==========  =====  =====  =====  =========  ===================================
name        width  depth  heads  mlp_ratio  autoencoder decoder (width/depth/heads)
==========  =====  =====  =====  =========  ===================================
small/16    384    12     6      4          192 / 4 / 3
base/16     768    12     12     4          384 / 4 / 6
large/16    1024   24     16     4          512 / 12 / 8
huge/16     1280   32     16     4          512 / 8 / 8
giant/14    1408   40     16     48/11      (classifier only)
==========  =====  =====  =====  =========  ===================================

Classifier defaults: 224 px, 16 frames, tubelet 2, 400 classes, ``drop_path_rate`` of the official
fine-tuning recipes (S/B 0.1, L/H 0.2, g 0.3; only active in training), ``init_scale`` 0.001.

Kit models for the 64 px SynthMotion clips (16 frames, patch 16, so 8 x 4 x 4 = 128 tokens), sized to train
meaningfully in a few minutes on two CPU cores: ``videomae_vit_tiny_synth`` (width 192, depth 4, 3 heads) and
``videomae_pretrain_tiny_synth`` (same encoder, decoder 96 / 2 / 3). Their sinusoid table is built for their
own grid, so a pretrained autoencoder's encoder transfers to the classifier without resizing.
"""
from __future__ import annotations

from internvideo_core.models.videomae import VideoMAEPretrain, VideoMAEPretrainConfig
from internvideo_core.models.vit import VideoViT, VideoViTConfig
from internvideo_core.registry import register_model

_ENCODERS = {
    "small": dict(embed_dim=384, depth=12, num_heads=6),
    "base": dict(embed_dim=768, depth=12, num_heads=12),
    "large": dict(embed_dim=1024, depth=24, num_heads=16),
    "huge": dict(embed_dim=1280, depth=32, num_heads=16),
}
_DROP_PATH = {"small": 0.1, "base": 0.1, "large": 0.2, "huge": 0.2}
_DECODERS = {
    "small": dict(decoder_embed_dim=192, decoder_depth=4, decoder_num_heads=3),
    "base": dict(decoder_embed_dim=384, decoder_depth=4, decoder_num_heads=6),
    "large": dict(decoder_embed_dim=512, decoder_depth=12, decoder_num_heads=8),
    "huge": dict(decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=8),
}

for _size, _enc in _ENCODERS.items():
    register_model(
        f"videomae_vit_{_size}_patch16_224",
        VideoViTConfig(patch_size=16, drop_path_rate=_DROP_PATH[_size], **_enc),
        VideoViT, family="videomae",
        description=f"VideoMAE ViT-{_size[0].upper()}/16 video classifier (16 x 224 x 224)",
    )
    register_model(
        f"videomae_pretrain_{_size}_patch16_224",
        VideoMAEPretrainConfig(patch_size=16, **_enc, **_DECODERS[_size]),
        VideoMAEPretrain, family="videomae",
        description=f"VideoMAE ViT-{_size[0].upper()}/16 masked video autoencoder (16 x 224 x 224)",
    )

register_model(
    "videomae_vit_giant_patch14_224",
    VideoViTConfig(patch_size=14, embed_dim=1408, depth=40, num_heads=16, mlp_ratio=48 / 11, drop_path_rate=0.3),
    VideoViT, family="videomae",
    description="VideoMAE V2 ViT-g/14 video classifier (16 x 224 x 224)",
)

_TINY = dict(img_size=64, patch_size=16, num_frames=16, tubelet_size=2, embed_dim=192, depth=4, num_heads=3)
register_model(
    "videomae_vit_tiny_synth",
    VideoViTConfig(num_classes=10, drop_path_rate=0.1, pos_ref_img_size=None, **_TINY),
    VideoViT, family="videomae",
    description="kit-size video ViT for 16 x 64 x 64 SynthMotion clips (CPU, minutes)",
)
register_model(
    "videomae_pretrain_tiny_synth",
    VideoMAEPretrainConfig(decoder_embed_dim=96, decoder_depth=2, decoder_num_heads=3, **_TINY),
    VideoMAEPretrain, family="videomae",
    description="kit-size VideoMAE autoencoder for 16 x 64 x 64 SynthMotion clips (CPU, minutes)",
)
