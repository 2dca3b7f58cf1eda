"""InternVideo-MM dual encoders: the released B/16 and L/14 architectures and the kit's tiny one."""
from __future__ import annotations

from internvideo_core.models.mm import MMConfig, build_internvideo_mm
from internvideo_core.registry import register_model

#: ViT-B/16 video tower (temporal modules after blocks 8-11) + CLIP B text tower, joint space 512.
MM_B16 = MMConfig()

#: ViT-L/14 video tower (temporal modules after blocks 20-23) + CLIP L text tower, joint space 768.
MM_L14 = MMConfig(
    vision_width=1024, vision_layers=24, vision_heads=16, vision_patch_size=14,
    temporal_layers=(20, 21, 22, 23), temporal_heads=16,
    text_width=768, text_layers=12, text_heads=12, embed_dim=768,
)

#: The tutorial recipe's dual encoder (``recipes/mm_synth``, profile ``tutorial``): 48 px, patch 12 (4 x 4 grid),
#: 4 frames, 3 blocks of width 64 (2 heads) with temporal modules after the last two (2 heads, no MLP dropout),
#: a 2-block text tower of width 64 with a 32-token context (captions are short; 77-token rows from
#: ``tokenize`` are accepted as long as the EOT falls within 32), joint space 64. About 3.3 M parameters, 3.2 M
#: of them the token embedding (which the recipe keeps frozen).
MM_TINY_SYNTH = MMConfig(
    vision_width=64, vision_layers=3, vision_heads=2, vision_patch_size=12, input_resolution=48,
    num_frames=4, temporal_layers=(1, 2), temporal_heads=2, temporal_mlp_dropout=0.0,
    text_width=64, text_layers=2, text_heads=2, context_length=32, embed_dim=64,
)

register_model("internvideo_mm_b16", MM_B16, build_internvideo_mm, family="mm",
               description="InternVideo-MM-B-16 video-text dual encoder (8 frames, 224 px)")
register_model("internvideo_mm_l14", MM_L14, build_internvideo_mm, family="mm",
               description="InternVideo-MM-L-14 video-text dual encoder (8 frames, 224 px)")
register_model("internvideo_mm_tiny_synth", MM_TINY_SYNTH, build_internvideo_mm, family="mm",
               description="the tutorial's dual encoder for 4 x 48 x 48 SynthMotion clips on a CPU")
