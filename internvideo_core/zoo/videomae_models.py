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

Kit models: exactly what the tutorial recipe (``recipes/videomae_synth``, ``tutorial`` profile) trains on
SynthMotion on two CPU cores: 24 px crops of 8 frames, patch 4, tubelet 2 (4 x 6 x 6 = 144 tokens), width 96,
depth 4, 3 heads; ``videomae_vit_tiny_synth`` (12 classes, the SynthMotion classification motions, drop path
0.1) and ``videomae_pretrain_tiny_synth`` (same encoder, decoder 64 / 1 / 2). Their sinusoid table is built for
their own grid, so a pretrained autoencoder's encoder transfers to the classifier without resizing. The recipe
builds them by name and only states what its other profiles change.

Every architecture name is written out literally below, so ``grep videomae_vit_base_patch16_224`` finds it.
"""
from __future__ import annotations

from internvideo_core.models.videomae import VideoMAEPretrain, VideoMAEPretrainConfig
from internvideo_core.models.vit import VideoViT, VideoViTConfig
from internvideo_core.registry import register_model

_S = dict(embed_dim=384, depth=12, num_heads=6)
_B = dict(embed_dim=768, depth=12, num_heads=12)
_L = dict(embed_dim=1024, depth=24, num_heads=16)
_H = dict(embed_dim=1280, depth=32, num_heads=16)


def _classifier(name: str, letter: str, config: VideoViTConfig) -> None:
    register_model(name, config, VideoViT, family="videomae",
                   description=f"VideoMAE ViT-{letter}/{config.patch_size} video classifier (16 x 224 x 224)")


def _autoencoder(name: str, letter: str, config: VideoMAEPretrainConfig) -> None:
    register_model(name, config, VideoMAEPretrain, family="videomae",
                   description=f"VideoMAE ViT-{letter}/16 masked video autoencoder (16 x 224 x 224)")


# classifiers: official fine-tuning drop path (S/B 0.1, L/H 0.2, g 0.3)
_classifier("videomae_vit_small_patch16_224", "S", VideoViTConfig(patch_size=16, drop_path_rate=0.1, **_S))
_classifier("videomae_vit_base_patch16_224", "B", VideoViTConfig(patch_size=16, drop_path_rate=0.1, **_B))
_classifier("videomae_vit_large_patch16_224", "L", VideoViTConfig(patch_size=16, drop_path_rate=0.2, **_L))
_classifier("videomae_vit_huge_patch16_224", "H", VideoViTConfig(patch_size=16, drop_path_rate=0.2, **_H))
_classifier("videomae_vit_giant_patch14_224", "g",
            VideoViTConfig(patch_size=14, embed_dim=1408, depth=40, num_heads=16, mlp_ratio=48 / 11,
                           drop_path_rate=0.3))

# masked autoencoders: decoders as released
_autoencoder("videomae_pretrain_small_patch16_224", "S", VideoMAEPretrainConfig(
    patch_size=16, decoder_embed_dim=192, decoder_depth=4, decoder_num_heads=3, **_S))
_autoencoder("videomae_pretrain_base_patch16_224", "B", VideoMAEPretrainConfig(
    patch_size=16, decoder_embed_dim=384, decoder_depth=4, decoder_num_heads=6, **_B))
_autoencoder("videomae_pretrain_large_patch16_224", "L", VideoMAEPretrainConfig(
    patch_size=16, decoder_embed_dim=512, decoder_depth=12, decoder_num_heads=8, **_L))
_autoencoder("videomae_pretrain_huge_patch16_224", "H", VideoMAEPretrainConfig(
    patch_size=16, decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=8, **_H))

# the tutorial recipe's models (recipes/videomae_synth, profile "tutorial")
_TINY = dict(img_size=24, patch_size=4, num_frames=8, tubelet_size=2, embed_dim=96, depth=4, num_heads=3)
register_model(
    "videomae_vit_tiny_synth",
    VideoViTConfig(num_classes=12, drop_path_rate=0.1, pos_ref_img_size=None, **_TINY),
    VideoViT, family="videomae",
    description="the tutorial's video ViT for 8 x 24 x 24 SynthMotion crops (CPU, minutes)",
)
register_model(
    "videomae_pretrain_tiny_synth",
    VideoMAEPretrainConfig(decoder_embed_dim=64, decoder_depth=1, decoder_num_heads=2, **_TINY),
    VideoMAEPretrain, family="videomae",
    description="the tutorial's VideoMAE autoencoder for 8 x 24 x 24 SynthMotion crops (CPU, minutes)",
)
