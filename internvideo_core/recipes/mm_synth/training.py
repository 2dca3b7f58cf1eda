"""Training of the dual encoder on SynthMotion captions: text-tower warm-up, then contrastive video-text training.

:func:`warm_start_text_tower` pretrains (then the recipe freezes) the text tower alone;
:func:`train_dual_encoder_on_synthmotion` runs the whole of notebook 04's training and saves the weights;
:func:`get_dual_encoder` loads them, or trains them when missing (notebooks 05-07).
"""
from __future__ import annotations

import contextlib
import io
import math
import time
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader

from internvideo_core.recipes.mm_synth.batching import CaptionTrainSet, GroupedBatchSampler, drop_attributes
from internvideo_core.recipes.mm_synth.checkpoints import (
    build_dual_encoder, checkpoint_path, load_dual_encoder, save_dual_encoder,
)
from internvideo_core.recipes.mm_synth.config import MMSynthRecipe, as_recipe
from internvideo_core.recipes.mm_synth.data import REVERSED_MOTION, CaptionClips, caption_clips
from internvideo_core.recipes.mm_synth.encoding import text_tokenizer

__all__ = ["text_parameters", "warm_start_text_tower", "train_dual_encoder_on_synthmotion", "get_dual_encoder"]


_TEXT_PREFIXES = ("token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection")


def text_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The text tower's parameters (word and position embeddings, blocks, final norm, projection)."""
    return [p for n, p in model.named_parameters() if n.startswith(_TEXT_PREFIXES)]


def warm_start_text_tower(model: nn.Module, clips: CaptionClips, recipe: MMSynthRecipe, seed: int = 0) -> list[float]:
    """Pretrain the text tower alone on the training captions (a stand-in for the pretrained CLIP text tower that
    InternVideo-MM starts from): two paraphrases of the same clip are a positive pair, the other clips' captions
    negatives (symmetric InfoNCE, fixed temperature 1/20); each side drops the colour, the shape and/or the motion
    words at random (``text_warmup_dropout``: the three probabilities), so that every attribute, and the synonyms
    of each motion ("moves left", "drifts leftwards"), must be encoded. Reversed captions join as extra texts.
    Token ids ``[B, context_length]`` per view, ``B = min(text_warmup_batch, #texts)``. Returns per-step losses."""
    from internvideo_core.train.contrastive import contrastive_loss

    if recipe.text_warmup_steps <= 0:
        return []
    texts = [(c, m) for c, m in zip(clips.captions, clips.metas) if len(c) > 1]
    texts += [(r, {**m, "motion": REVERSED_MOTION.get(m["motion"], m["motion"])})
              for r, m in zip(clips.reversed_captions, clips.metas) if r is not None and len(r) > 1]
    params = [p for p in text_parameters(model) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.text_warmup_lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed * 1000 + 7)
    tok = text_tokenizer(recipe)
    scale = torch.tensor(math.log(20.0))
    batch = min(recipe.text_warmup_batch, len(texts))
    losses: list[float] = []
    model.train()
    for step in range(recipe.text_warmup_steps):
        for g in opt.param_groups:
            g["lr"] = recipe.text_warmup_lr * 0.5 * (1 + math.cos(math.pi * step / recipe.text_warmup_steps))
        views: tuple[list[str], list[str]] = ([], [])
        for k in torch.randperm(len(texts), generator=gen)[:batch].tolist():
            caps, meta = texts[k]
            pair = torch.randperm(len(caps), generator=gen)[:2].tolist()
            for view, j in zip(views, pair):
                colour, shape, motion = (torch.rand(3, generator=gen) < torch.tensor(recipe.text_warmup_dropout)).tolist()
                view.append(drop_attributes(caps[j], meta, colour, shape, motion))
        loss = contrastive_loss(model.encode_text(tok(views[0])), model.encode_text(tok(views[1])), scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def train_dual_encoder_on_synthmotion(recipe: MMSynthRecipe | str, seed: int = 0, *,
                                      train: CaptionClips | None = None, save: bool = True, progress: bool = False,
                                      verbose: bool = False,
                                      end_of_epoch: Callable[[int], dict[str, float] | None] | None = None
                                      ) -> tuple[nn.Module, dict[str, Any]]:
    """Contrastive video-text training of the tiny dual encoder on SynthMotion captions.

    Returns ``(model in eval mode, history)`` with ``history = {"loss": per-step losses, "epochs": per-epoch
    logs, "seconds": wall time, "logit_scale": final exp(logit_scale), "train_videos": N}``; with ``save`` the
    weights go to :func:`checkpoint_path` (the recipe and seed in the metadata). ``recipe`` may be a profile name;
    ``train`` (the recipe's training clips) saves rendering them again; ``progress`` shows a tqdm bar; ``verbose``
    prints the loop's line per epoch (silent by default: ``history["epochs"]`` keeps them).
    """
    from internvideo_core.train.contrastive import ContrastiveConfig, collate_video_text, train_contrastive

    recipe = as_recipe(recipe)
    start = time.perf_counter()
    train = train if train is not None else caption_clips(recipe, seed, "train")
    torch.manual_seed(seed)
    model = build_dual_encoder(recipe)
    if recipe.freeze_token_embedding:
        model.token_embedding.weight.requires_grad_(False)
    t_text = time.perf_counter()
    text_losses = warm_start_text_tower(model, train, recipe, seed)
    text_seconds = time.perf_counter() - t_text
    if recipe.freeze_text:
        for p in text_parameters(model):
            p.requires_grad_(False)
    twins = None
    if recipe.reversed_twins:
        twins = [r is not None and REVERSED_MOTION.get(m["motion"], m["motion"]) != m["motion"]
                 for r, m in zip(train.reversed_captions, train.metas)]
    keyings = [recipe.group_by] if isinstance(recipe.group_by[0], str) else list(recipe.group_by)
    keys = [[tuple(m[k] for k in keying) for m in train.metas] for keying in keyings]
    sampler = GroupedBatchSampler(keys[0] if len(keys) == 1 else keys, recipe.batch_size, recipe.hard_negative_group,
                                  twins)
    loader = DataLoader(CaptionTrainSet(train, recipe.num_frames, recipe.reverse_prob, recipe.attribute_dropout),
                        batch_sampler=sampler,
                        collate_fn=collate_video_text)
    cfg = ContrastiveConfig(epochs=recipe.epochs, base_lr=recipe.lr, min_lr=recipe.min_lr, warmup_lr=0.0,
                            warmup_epochs=recipe.warmup_epochs, weight_decay=recipe.weight_decay,
                            context_length=recipe.context_length, seed=seed, progress=progress, device="cpu"
                            if not torch.cuda.is_available() else "auto")
    tok = text_tokenizer(recipe)
    with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
        result = train_contrastive(model, loader, cfg, end_of_epoch=end_of_epoch,
                                   tokenize=lambda texts, context_length=recipe.context_length: tok(texts))
    model.eval().cpu()
    history = {"loss": list(result.losses), "text_warmup_loss": text_losses, "text_warmup_seconds": text_seconds,
               "epochs": list(result.epochs),
               "seconds": time.perf_counter() - start,
               "logit_scale": float(model.logit_scale.detach().exp()), "train_videos": len(train), "steps": result.step}
    if save:
        save_dual_encoder(model, recipe, seed, history)
    return model, history


def get_dual_encoder(recipe: MMSynthRecipe | str, seed: int = 0, *, train: CaptionClips | None = None
                     ) -> tuple[nn.Module, dict[str, Any]]:
    """Load the dual encoder trained by notebook 04, or train it now with the same recipe (and save it).
    ``recipe`` may be a profile name."""
    recipe = as_recipe(recipe)
    where = f"runs/checkpoints/{recipe.profile}/{checkpoint_path(recipe).name}"
    loaded = load_dual_encoder(recipe, seed)
    if loaded is not None:
        print(f"loaded notebook 04's dual encoder ({where})")
        return loaded
    print(f"{where} not found (or from another recipe/seed): training the dual encoder as notebook 04 does ...",
          flush=True)
    return train_dual_encoder_on_synthmotion(recipe, seed, train=train)
