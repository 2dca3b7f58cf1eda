"""The recipe of an InternVideo-MM SynthMotion run: :class:`MMSynthRecipe` and its per-profile values.

``RECIPES`` holds the ``smoke`` / ``tutorial`` / ``full`` profiles; :func:`get_recipe` picks one and applies
overrides. No tensors here: this is the bottom layer of :mod:`internvideo_core.recipes.mm_synth`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MMSynthRecipe", "RECIPES", "get_recipe", "as_recipe", "MODEL"]

#: The registered model this recipe trains; its config is the tutorial profile's model (the recipe's model
#: fields default to it, so the sizes are written once, in ``internvideo_core/zoo/mm_models.py``).
MODEL = "internvideo_mm_tiny_synth"


def _registered() -> Any:
    from internvideo_core.registry import build_config

    return build_config(MODEL)


_MM = _registered()


@dataclass(frozen=True)
class MMSynthRecipe:
    """Everything that defines a run.

    Data: ``train_videos`` training clips (``None`` = the profile's count), ``test_videos`` test clips (``None`` =
    the profile's), rendered at ``render_size`` px with ``clip_frames`` frames, resized to ``img_size``; the model
    sees ``num_frames`` of them (one random frame per segment in training, ``linspace`` in evaluation).
    Model: ``internvideo_mm_tiny_synth`` (the defaults of ``img_size``, ``num_frames``, ``vision_*``,
    ``temporal_layers``, ``text_*``, ``embed_dim``, ``context_length`` are its registered config; other
    profiles change them, and :meth:`model_overrides` passes only the changes). ``freeze_token_embedding``: keep the text tower's random word vectors
    fixed (the 49408 x ``text_width`` table is most of the parameters; only a few hundred words occur).
    Training: AdamW with warmup + cosine, ``lr`` not scaled by the batch size. QA: the head on frozen features.
    ``profile``: the SynthMotion profile whose dataset sizes the recipe uses (set by :func:`get_recipe`); it is not
    part of the recipe's identity (left out of ``==`` and :meth:`to_json`, which checkpoints store), so a recipe read
    back from a checkpoint equals the one :func:`get_recipe` builds.
    """

    profile: str = field(default="tutorial", compare=False)
    # data
    train_videos: int | None = 1200
    test_videos: int | None = 200
    render_size: int = 64
    clip_frames: int = 16
    img_size: int = _MM.input_resolution
    num_frames: int = _MM.num_frames
    reverse_prob: float = 0.5
    hard_negative_group: int = 4
    group_by: tuple[str, ...] | tuple[tuple[str, ...], ...] = ("shape", "colour")
    reversed_twins: bool = False
    attribute_dropout: float = 0.5
    # model
    vision_width: int = _MM.vision_width
    vision_layers: int = _MM.vision_layers
    vision_heads: int = _MM.vision_heads
    vision_patch_size: int = _MM.vision_patch_size
    temporal_layers: tuple[int, ...] = tuple(_MM.temporal_layers)
    text_width: int = _MM.text_width
    text_layers: int = _MM.text_layers
    text_heads: int = _MM.text_heads
    context_length: int = _MM.context_length
    embed_dim: int = _MM.embed_dim
    freeze_token_embedding: bool = True
    text_warmup_steps: int = 350
    text_warmup_batch: int = 128
    text_warmup_lr: float = 2e-3
    text_warmup_dropout: tuple[float, float, float] = (0.5, 0.5, 0.15)
    freeze_text: bool = True
    # contrastive training
    epochs: int = 16
    batch_size: int = 32
    lr: float = 2e-3
    min_lr: float = 2e-5
    warmup_epochs: float = 1.0
    weight_decay: float = 0.05
    # video QA head
    qa_train_videos: int | None = None
    qa_vocab_size: int | None = 32
    qa_fusion: str = "attention"
    qa_hidden: int = 128
    qa_epochs: int = 12
    qa_batch_size: int = 256
    qa_lr: float = 3e-3
    qa_weight_decay: float = 0.05

    def replace(self, **changes: Any) -> "MMSynthRecipe":
        return dataclasses.replace(self, **changes)

    def model_config(self) -> dict[str, Any]:
        """Every model field this recipe sets (``temporal_heads`` follows ``vision_heads``)."""
        return dict(input_resolution=self.img_size, num_frames=self.num_frames, vision_width=self.vision_width,
                    vision_layers=self.vision_layers, vision_heads=self.vision_heads,
                    vision_patch_size=self.vision_patch_size, temporal_layers=tuple(self.temporal_layers),
                    temporal_heads=self.vision_heads, text_width=self.text_width, text_layers=self.text_layers,
                    text_heads=self.text_heads, context_length=self.context_length, embed_dim=self.embed_dim)

    def model_overrides(self) -> dict[str, Any]:
        """``create_model(MODEL, **overrides)`` for this recipe: the fields where it differs from the registered
        config (empty for the tutorial profile)."""
        return {k: v for k, v in self.model_config().items() if getattr(_MM, k) != v}

    def to_json(self) -> str:
        """The recipe's settings as JSON (without ``profile``, stored beside it in checkpoint metadata)."""
        return json.dumps({k: v for k, v in dataclasses.asdict(self).items() if k != "profile"}, sort_keys=True)


RECIPES: dict[str, MMSynthRecipe] = {
    "smoke": MMSynthRecipe(profile="smoke", train_videos=32, test_videos=None, vision_width=32, vision_layers=2,
                           temporal_layers=(0, 1),
                           text_width=32, text_layers=1, embed_dim=32, epochs=1, batch_size=8, warmup_epochs=0,
                           qa_epochs=2, qa_hidden=32, qa_vocab_size=None, text_warmup_steps=20,
                           text_warmup_batch=16),
    "tutorial": MMSynthRecipe(profile="tutorial"),
    "full": MMSynthRecipe(profile="full", train_videos=None, test_videos=None, img_size=96, num_frames=8,
                          vision_width=256,
                          vision_layers=6, vision_heads=4, temporal_layers=(3, 4, 5), text_width=256, text_layers=4,
                          text_heads=4, embed_dim=256, epochs=40, batch_size=128, lr=5e-4, min_lr=5e-6,
                          warmup_epochs=2, freeze_token_embedding=False, qa_hidden=512, qa_vocab_size=None,
                          qa_epochs=60),
}


def get_recipe(profile: str, **overrides: Any) -> MMSynthRecipe:
    """The recipe of ``profile`` (``smoke`` / ``tutorial`` / ``full``) with ``overrides`` applied; it carries its
    profile (``recipe.profile``), so the recipe functions take ``(recipe, seed, ...)``."""
    if profile not in RECIPES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {list(RECIPES)}")
    return RECIPES[profile].replace(**overrides)


def as_recipe(recipe: "MMSynthRecipe | str") -> MMSynthRecipe:
    """``recipe`` itself, or the recipe of a profile name (``as_recipe("tutorial") == get_recipe("tutorial")``)."""
    if isinstance(recipe, MMSynthRecipe):
        return recipe
    if isinstance(recipe, str):
        return get_recipe(recipe)
    raise TypeError(f"expected an MMSynthRecipe (from mm_synth.get_recipe(profile)) or a profile name, "
                    f"got {type(recipe).__name__}")
