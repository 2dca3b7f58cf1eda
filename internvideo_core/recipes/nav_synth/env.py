"""The BabyAI environment, expert demonstrations and clips of egocentric frames.

``make_env`` builds a ``minigrid`` BabyAI level through ``gymnasium`` with MiniGrid's own
``RGBImgPartialObsWrapper`` (egocentric RGB view, agent at the bottom centre, facing up). ``expert_episode``
plays the bundled ``BabyAIBot`` (``minigrid.utils.baby_ai_bot``) and records what the agent saw, did and where
it was. ``clip_indices`` / ``episode_clips`` cut the frames into the clips the policy sees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from .config import NavRecipe

__all__ = ["ACTIONS", "Episode", "UnsupportedActionError", "make_env", "expert_episode", "collect_demos", "clip_indices", "episode_clips",
           "clips_to_input", "mission_target", "start_episode", "train_seeds", "eval_seeds", "require_minigrid"]

ACTIONS = ("left", "right", "forward")   # MiniGrid action ids 0, 1, 2: all the GoTo levels need

_IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1, 1)
_IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1, 1)


class UnsupportedActionError(RuntimeError):
    """The bot needed an action outside :data:`ACTIONS` (e.g. pick up a blocking object in a crowded room)."""


def require_minigrid() -> None:
    """Import check with an actionable message (minigrid / gymnasium are in the ``notebooks`` extra)."""
    try:
        import gymnasium  # noqa: F401
        import minigrid  # noqa: F401
    except ImportError as err:  # pragma: no cover - installed with the kit's notebooks extra
        raise ImportError(f"the navigation recipe needs gymnasium and minigrid ({err}); install them with "
                          "`pip install 'internvideo-kit[notebooks]'` or `pip install minigrid`") from err


@dataclass
class Episode:
    """One episode in a BabyAI level.

    ``frames`` uint8 ``[L + 1, H, W, 3]``: the egocentric view before each of the ``L`` actions and after the
    last one; ``actions`` int64 ``[L]`` (ids of :data:`ACTIONS`); ``positions`` int ``[L + 1, 2]`` grid
    ``(x, y)`` of the agent, start included; ``success``: the level's own verifier said "done" (the agent faces
    the named object); ``targets``: cells of the objects the mission names; ``top_view``: the full room
    rendered from above at the start (for drawing paths).
    """

    seed: int
    mission: str
    frames: np.ndarray
    actions: np.ndarray
    positions: np.ndarray
    success: bool
    targets: list[tuple[int, int]] = field(default_factory=list)
    top_view: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.actions)


def make_env(recipe: NavRecipe) -> Any:
    """``gymnasium.make(recipe.env_id, max_steps=...)`` wrapped in ``RGBImgPartialObsWrapper(tile_size)``."""
    require_minigrid()
    import gymnasium as gym
    import minigrid  # noqa: F401  (registers the BabyAI levels)
    from minigrid.wrappers import RGBImgPartialObsWrapper

    return RGBImgPartialObsWrapper(gym.make(recipe.env_id, max_steps=recipe.max_steps), tile_size=recipe.tile_size)


def train_seeds(n: int, seed: int = 0) -> list[int]:
    """Level seeds of the demonstrations (disjoint from :func:`eval_seeds`)."""
    return [seed * 1_000_000 + i for i in range(n)]


def eval_seeds(n: int, seed: int = 0) -> list[int]:
    """Level seeds of the evaluation episodes (unseen rooms and missions)."""
    return [seed * 1_000_000 + 500_000 + i for i in range(n)]


def mission_target(env: Any) -> tuple[str, str, list[tuple[int, int]]]:
    """``(colour, object type, target cells)`` of the current GoTo mission (``colour`` may be ``None``)."""
    desc = env.unwrapped.instrs.desc
    return desc.color, desc.type, [tuple(int(v) for v in p) for p in desc.obj_poss]


def start_episode(env: Any, seed: int, top_tile: int = 8) -> tuple[dict, list[tuple[int, int]], np.ndarray]:
    """Reset ``env`` to level ``seed``: ``(observation, target cells, top view [H, W, 3] at top_tile px/cell)``."""
    obs, _ = env.reset(seed=seed)
    _, _, targets = mission_target(env)
    top = env.unwrapped.get_frame(highlight=False, tile_size=top_tile)
    return obs, targets, top


def expert_episode(env: Any, seed: int, *, top_tile: int = 8) -> Episode:
    """Play the BabyAI bot on level ``seed``; the recorded path is the reference path of that episode."""
    from minigrid.utils.baby_ai_bot import BabyAIBot

    obs, targets, top = start_episode(env, seed, top_tile)
    bot = BabyAIBot(env)
    frames, actions = [obs["image"]], []
    positions = [tuple(int(v) for v in env.unwrapped.agent_pos)]
    success = False
    while True:
        action = int(bot.replan())
        if action >= len(ACTIONS):
            raise UnsupportedActionError(f"the bot chose MiniGrid action {action} in {env.spec.id} (seed {seed}); the "
                               f"navigation recipe handles the GoTo levels, whose actions are {ACTIONS}")
        obs, reward, terminated, truncated, _ = env.step(action)
        frames.append(obs["image"])
        actions.append(action)
        positions.append(tuple(int(v) for v in env.unwrapped.agent_pos))
        if terminated or truncated:
            success = bool(terminated and reward > 0)
            break
    return Episode(seed, obs["mission"], np.stack(frames), np.asarray(actions, dtype=np.int64),
                   np.asarray(positions), success, targets, top)


def collect_demos(recipe: NavRecipe, seeds: Sequence[int]) -> list[Episode]:
    """Expert episodes on ``seeds``; the few the bot does not finish within ``max_steps``, or finishes only with an
    action outside :data:`ACTIONS`, are dropped."""
    env = make_env(recipe)
    episodes = []
    for s in seeds:
        try:
            episodes.append(expert_episode(env, s))
        except UnsupportedActionError:
            continue
    return [e for e in episodes if e.success]


def clip_indices(t: int | torch.Tensor, clip_len: int, single_frame: bool = False) -> torch.Tensor:
    """Frame indices of the clip seen at step ``t``: ``[t - clip_len + 1, ..., t]`` clamped at 0 (the first
    frame repeats before the episode starts); ``single_frame``: ``[t] * clip_len``. ``t`` int or ``[S]`` ->
    ``[clip_len]`` or ``[S, clip_len]``."""
    t = torch.as_tensor(t)
    if single_frame:
        return t[..., None].expand(*t.shape, clip_len).clone()
    return (t[..., None] - clip_len + 1 + torch.arange(clip_len)).clamp(min=0)


def episode_clips(frames: np.ndarray | torch.Tensor, clip_len: int, steps: int | None = None,
                  single_frame: bool = False) -> torch.Tensor:
    """uint8 clips of the first ``steps`` steps (default all but the last frame): ``[S, clip_len, H, W, 3]``."""
    frames = torch.as_tensor(frames)
    steps = len(frames) - 1 if steps is None else steps
    return frames[clip_indices(torch.arange(steps), clip_len, single_frame)]


def clips_to_input(clips: torch.Tensor) -> torch.Tensor:
    """uint8 ``[..., T, H, W, 3]`` -> float ``[..., 3, T, H, W]`` with the ImageNet mean/std (VideoMAE input)."""
    x = clips.float().div(255.0).movedim(-1, -4)                      # [..., 3, T, H, W]
    return (x - _IMAGENET_MEAN) / _IMAGENET_STD
