"""Models of the recipe and their training: masked pretraining on the environment's clips, behaviour cloning.

    demos = collect_demos(recipe, train_seeds(recipe.num_demos, seed))
    mae, _ = pretrain_encoder(recipe, seed, demos + random_walks(recipe, seed))     # VideoMAE loop
    policy, history = train_policy(recipe, seed, demos, init=save_encoder(mae, encoder_checkpoint_path(recipe, seed)))
"""
from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .config import NavRecipe
from .env import Episode, clip_indices, clips_to_input, episode_clips

__all__ = ["EpisodeLoader", "ClipBatches", "build_encoder", "build_policy", "pretrain_encoder", "save_encoder",
           "train_policy", "dagger", "random_walks", "encoder_checkpoint_path"]


class EpisodeLoader:
    """Re-iterable batches of padded episodes in the :mod:`internvideo_core.train.imitation` contract.

    Each batch: ``video`` ``[B, L, 3, clip_len, H, W]`` (ImageNet-normalised clips, one per step), ``text``
    ``[B, context_length]`` CLIP tokens of the missions, ``label`` ``[B, L]`` expert actions, ``mask`` ``[B, L]``.
    Episodes are shuffled per epoch (``set_epoch``) with ``seed``. Each episode's frames are normalised once (the
    first time a batch needs them) and its clips gathered from them; padded steps stay zero and are never
    normalised (the policy does not encode them).
    """

    def __init__(self, episodes: Sequence[Episode], recipe: NavRecipe, *, single_frame: bool = False,
                 batch_size: int | None = None, seed: int = 0, shuffle: bool = True) -> None:
        from internvideo_core.text import tokenize

        if not episodes:
            raise ValueError("no episodes to train on")
        self.episodes, self.recipe, self.single_frame = list(episodes), recipe, single_frame
        self.batch_size = batch_size or recipe.batch_episodes
        self.seed, self.shuffle, self.epoch = seed, shuffle, 0
        self.tokens = tokenize([e.mission for e in self.episodes], context_length=recipe.context_length)
        self._frames: dict[int, torch.Tensor] = {}

    def _normalised(self, i: int) -> torch.Tensor:
        """Episode ``i``'s frames as float ``[F, 3, 1, H, W]`` (ImageNet mean/std), computed once."""
        if i not in self._frames:
            self._frames[i] = clips_to_input(torch.as_tensor(self.episodes[i].frames)[:, None])
        return self._frames[i]

    def __len__(self) -> int:
        return -(-len(self.episodes) // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        order = np.arange(len(self.episodes))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.episodes))
        for start in range(0, len(order), self.batch_size):
            yield self.batch([int(i) for i in order[start:start + self.batch_size]])

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        eps = [self.episodes[i] for i in indices]
        length = max(len(e) for e in eps)
        h, w = eps[0].frames.shape[1:3]
        t = self.recipe.clip_len
        video = torch.zeros(len(eps), length, 3, t, h, w)
        label = torch.zeros(len(eps), length, dtype=torch.long)
        mask = torch.zeros(len(eps), length, dtype=torch.bool)
        for b, (i, e) in enumerate(zip(indices, eps)):
            idx = clip_indices(torch.arange(len(e)), t, self.single_frame)          # [L_e, T] frame of each clip
            frames = self._normalised(int(i))                                        # [F, 3, 1, H, W]
            video[b, :len(e)] = frames[idx].squeeze(3).permute(0, 2, 1, 3, 4)       # [L_e, 3, T, H, W]
            label[b, :len(e)] = torch.as_tensor(e.actions)
            mask[b, :len(e)] = True
        return {"video": video, "text": self.tokens[list(indices)], "label": label, "mask": mask}


class ClipBatches:
    """Re-iterable batches of ImageNet-normalised clips ``[B, 3, clip_len, H, W]`` of every step of ``episodes``
    (the unlabelled data of masked pretraining), shuffled per epoch."""

    def __init__(self, episodes: Sequence[Episode], recipe: NavRecipe, batch_size: int, seed: int = 0) -> None:
        self.clips = torch.cat([episode_clips(e.frames, recipe.clip_len, len(e.frames)) for e in episodes])
        self.batch_size, self.seed, self.epoch = batch_size, seed, 0

    def __len__(self) -> int:
        return len(self.clips) // self.batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[torch.Tensor]:
        order = torch.as_tensor(np.random.default_rng([self.seed, self.epoch]).permutation(len(self.clips)))
        for k in range(len(self)):
            yield clips_to_input(self.clips[order[k * self.batch_size:(k + 1) * self.batch_size]])


def _quiet(verbose: bool) -> contextlib.AbstractContextManager:
    """The training loops print one line per epoch; the recipe returns those numbers in its history instead."""
    return contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())


def build_encoder(recipe: NavRecipe, checkpoint_path: str | Path | None = None) -> nn.Module:
    """The video ViT (``videomae_vit_tiny_synth`` at the recipe's sizes, no head); ``checkpoint_path`` (e.g. the
    masked autoencoder of :func:`pretrain_encoder`) is loaded strictly through ``create_model`` (decoder keys
    reported as ignored)."""
    from internvideo_core.registry import create_model

    return create_model("videomae_vit_tiny_synth", checkpoint_path=None if checkpoint_path is None else
                        str(checkpoint_path), num_classes=0, drop_path_rate=0.0, **recipe.encoder_overrides())


def build_policy(recipe: NavRecipe, checkpoint_path: str | Path | None = None) -> nn.Module:
    """:class:`~internvideo_core.models.nav_policy.VideoNavPolicy` over :func:`build_encoder`."""
    from internvideo_core.models.nav_policy import NavPolicyConfig, VideoNavPolicy

    cfg = NavPolicyConfig(context_length=recipe.context_length, text_width=recipe.text_width,
                          text_layers=recipe.text_layers, text_heads=recipe.text_heads, hidden=recipe.hidden)
    return VideoNavPolicy(build_encoder(recipe, checkpoint_path), cfg)


def random_walks(recipe: NavRecipe, seed: int) -> list[Episode]:
    """``recipe.pretrain_random_episodes`` random-action episodes on training seeds past the demonstrations'
    (more varied views for masked pretraining; their actions are never used)."""
    from .agents import RandomAgent, rollout
    from .env import train_seeds

    seeds = train_seeds(recipe.num_demos + recipe.pretrain_random_episodes, seed)[recipe.num_demos:]
    return rollout(RandomAgent(seed), recipe, seeds)


def pretrain_encoder(recipe: NavRecipe, seed: int, episodes: Sequence[Episode],
                     progress: bool = False, verbose: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """VideoMAE masked pretraining (tube masking at ``recipe.mask_ratio``) of the recipe's encoder on every clip
    of ``episodes`` with the kit's loop (:func:`~internvideo_core.train.pretrain.pretrain`)."""
    from internvideo_core.registry import create_model
    from internvideo_core.train.pretrain import PretrainConfig, pretrain

    torch.manual_seed(seed)
    model = create_model("videomae_pretrain_tiny_synth", decoder_embed_dim=recipe.decoder_embed_dim,
                         decoder_depth=recipe.decoder_depth, decoder_num_heads=recipe.decoder_num_heads,
                         **recipe.encoder_overrides())
    loader = ClipBatches(episodes, recipe, recipe.pretrain_batch, seed)
    cfg = PretrainConfig(epochs=recipe.pretrain_epochs, base_lr=recipe.pretrain_lr, min_lr=recipe.pretrain_lr / 100,
                         warmup_epochs=min(1, recipe.pretrain_epochs - 1), scale_lr=False, weight_decay=0.05,
                         mask_type="tube", mask_ratio=recipe.mask_ratio, seed=seed, device="auto", progress=progress)
    start = time.perf_counter()
    with _quiet(verbose):
        result = pretrain(model, loader, cfg)
    model.eval()
    return model, {"loss": list(result.losses), "clips": len(loader.clips), "seconds": time.perf_counter() - start}


def encoder_checkpoint_path(recipe: NavRecipe, seed: int) -> Path:
    """``runs/checkpoints/<recipe.profile>/nav_synth_mae_seed<seed>.safetensors``."""
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / recipe.profile / f"nav_synth_mae_seed{seed}.safetensors"


def save_encoder(model: nn.Module, path: str | Path) -> Path:
    """Save the masked autoencoder (kit safetensors) for :func:`build_encoder` / :func:`train_policy`."""
    from internvideo_core.checkpoint import save_safetensors

    return save_safetensors(model, path, metadata={"recipe": "nav_synth"})


def train_policy(recipe: NavRecipe, seed: int, demos: Sequence[Episode], *, init: str | Path | None = None,
                 single_frame: bool = False, progress: bool = False, verbose: bool = False
                 ) -> tuple[nn.Module, dict[str, Any]]:
    """Behaviour cloning of the bot's actions (:func:`~internvideo_core.train.imitation.behaviour_cloning`).

    ``init``: a masked-autoencoder checkpoint for the video encoder (``None`` = random init); ``single_frame``:
    clips of the current frame repeated; ``verbose``: print the loop's per-epoch lines. Returns the policy (eval
    mode) and ``{"loss", "epoch_loss", "seconds", "load_report"}``.
    """
    from internvideo_core.train.imitation import ImitationConfig, behaviour_cloning

    torch.manual_seed(seed)
    policy = build_policy(recipe, init)
    report = getattr(policy.encoder, "load_report", None)
    loader = EpisodeLoader(demos, recipe, single_frame=single_frame, seed=seed)
    cfg = ImitationConfig(epochs=recipe.epochs, base_lr=recipe.lr, min_lr=recipe.lr / 50,
                          warmup_epochs=min(1, recipe.epochs - 1), weight_decay=recipe.weight_decay, seed=seed,
                          device="auto", progress=progress)
    start = time.perf_counter()
    with _quiet(verbose):
        result = behaviour_cloning(policy, loader, cfg)
    policy.eval()
    return policy, {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs],
                    "seconds": time.perf_counter() - start, "load_report": report}


def dagger(recipe: NavRecipe, seed: int, policy: nn.Module, demos: Sequence[Episode], *, single_frame: bool = False,
           progress: bool = False, verbose: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """One DAgger round (Ross et al. 2011) on a behaviour-cloned ``policy``: it acts greedily on
    ``recipe.dagger_episodes`` new training levels (at most ``recipe.dagger_max_steps`` steps), the BabyAI bot
    labels every state it reached (:func:`~.agents.rollout` with ``expert_labels``), and behaviour cloning
    continues for ``recipe.dagger_epochs`` on the demonstrations plus these episodes. Returns the policy (eval
    mode) and ``{"loss", "epoch_loss", "episodes", "steps", "seconds"}``."""
    from internvideo_core.train.imitation import ImitationConfig, behaviour_cloning

    from .agents import PolicyAgent, rollout
    from .env import train_seeds

    start = time.perf_counter()
    first = recipe.num_demos + recipe.pretrain_random_episodes
    seeds = train_seeds(first + recipe.dagger_episodes, seed)[first:]
    visited = rollout(PolicyAgent(policy, recipe, single_frame), recipe.replace(max_steps=recipe.dagger_max_steps),
                      seeds, expert_labels=True)
    loader = EpisodeLoader(list(demos) + visited, recipe, single_frame=single_frame, seed=seed + 1)
    cfg = ImitationConfig(epochs=recipe.dagger_epochs, base_lr=recipe.lr, min_lr=recipe.lr / 50, warmup_epochs=0,
                          weight_decay=recipe.weight_decay, seed=seed + 1, device="auto", progress=progress)
    with _quiet(verbose):
        result = behaviour_cloning(policy, loader, cfg)
    policy.eval()
    return policy, {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs],
                    "episodes": len(visited), "steps": sum(len(e) for e in visited),
                    "seconds": time.perf_counter() - start}
