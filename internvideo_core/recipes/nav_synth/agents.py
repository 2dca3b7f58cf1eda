"""Agents and batched rollouts: the learned policy, a random agent and a "turn towards the goal colour" heuristic.

Every agent answers ``act(active, histories) -> actions`` for the still-running episodes ``active`` given their
frame histories (uint8 ``[H, W, 3]`` egocentric views, newest last); :func:`rollout` steps one environment per
seed in lock-step, so the policy encodes the clips of all running episodes in one batch.
"""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
import torch

from .config import NavRecipe
from .env import ACTIONS, Episode, clip_indices, clips_to_input, make_env, start_episode

__all__ = ["Agent", "PolicyAgent", "RandomAgent", "ColourHeuristicAgent", "rollout"]

LEFT, RIGHT, FORWARD = (ACTIONS.index(a) for a in ("left", "right", "forward"))


class Agent(Protocol):
    def begin(self, missions: Sequence[str]) -> None: ...

    def act(self, active: Sequence[int], histories: Sequence[list[np.ndarray]]) -> list[int]: ...


class PolicyAgent:
    """Greedy actions of a :class:`~internvideo_core.models.nav_policy.VideoNavPolicy` (GRU state per episode)."""

    def __init__(self, policy: torch.nn.Module, recipe: NavRecipe, single_frame: bool = False) -> None:
        self.policy, self.recipe, self.single_frame = policy.eval(), recipe, single_frame

    def begin(self, missions: Sequence[str]) -> None:
        from internvideo_core.text import tokenize

        self.device = next(self.policy.parameters()).device
        tokens = tokenize(list(missions), context_length=self.recipe.context_length).to(self.device)
        with torch.no_grad():
            self.text = self.policy.encode_text(tokens)
        self.h = torch.zeros(len(missions), self.policy.cfg.hidden, device=self.device)
        self.started = torch.zeros(len(missions), dtype=torch.bool, device=self.device)

    @torch.no_grad()
    def act(self, active: Sequence[int], histories: Sequence[list[np.ndarray]]) -> list[int]:
        idx = torch.as_tensor(list(active), device=self.device)
        clips = torch.stack([torch.as_tensor(np.stack(histories[i]))[
            clip_indices(len(histories[i]) - 1, self.recipe.clip_len, self.single_frame)] for i in active])
        h = torch.where(self.started[idx, None], self.h[idx], torch.zeros_like(self.h[idx]))
        logits, h_new = self.policy.step(clips_to_input(clips).to(self.device), self.text[idx], h)
        self.h[idx], self.started[idx] = h_new, True
        return logits.argmax(-1).tolist()


class RandomAgent:
    """Uniformly random actions among :data:`~.env.ACTIONS` (seeded)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def begin(self, missions: Sequence[str]) -> None:
        pass

    def act(self, active: Sequence[int], histories: Sequence[list[np.ndarray]]) -> list[int]:
        return [int(a) for a in self.rng.integers(0, len(ACTIONS), size=len(active))]


class ColourHeuristicAgent:
    """Reads only the colour word of the mission and the pixels of the egocentric view.

    Cells (``tile`` x ``tile`` px) whose pixels show the goal colour (:meth:`colour_mask`) on 5-90 % of their
    area (an object, not a wall) are candidates. For the nearest one, ``f`` cells ahead and ``s`` cells to the
    side: walk forward while it is ahead (``f > 0``), turn towards it once it is level (``f == 0``); straight
    ahead (``s == 0``) walk on. A forward step that changed nothing (blocked) is followed by a left turn. With no
    candidate in view the agent turns left, and walks forward after a full turn, to see another part of the room.
    """

    def __init__(self, recipe: NavRecipe) -> None:
        from minigrid.core.constants import COLORS

        self.colours = {name: np.asarray(rgb, dtype=np.float32) / np.linalg.norm(rgb) for name, rgb in COLORS.items()}
        self.tile = recipe.tile_size

    def begin(self, missions: Sequence[str]) -> None:
        self.goal = [next((w for w in m.split() if w in self.colours), None) for m in missions]
        self.turns = [0] * len(missions)
        self.last = [-1] * len(missions)

    def colour_mask(self, frame: np.ndarray, colour: str) -> np.ndarray:
        """bool ``[H, W]``: pixels of ``colour``. MiniGrid anti-aliases objects onto a black floor (pixel =
        coverage x colour) and blends the cells in view 30 % towards white (+76.5 on every channel), so a pixel
        minus its floor level (76.5 when its darkest channel is >= 70, else 0) points in the colour's direction."""
        f = frame.astype(np.float32)
        q = f - np.where(f.min(-1, keepdims=True) >= 70, 76.5, 0.0)                              # [H, W, 3]
        norm = np.linalg.norm(q, axis=-1)
        cosine = (q @ self.colours[colour]) / np.maximum(norm, 1e-6)
        return (cosine > 0.97) & (norm > 30)

    def target_cells(self, frame: np.ndarray, colour: str | None) -> list[tuple[int, int]]:
        """``(row, col)`` of the view cells showing an object of ``colour`` (agent cell excluded)."""
        if colour is None:
            return []
        t = self.tile
        rows, cols = frame.shape[0] // t, frame.shape[1] // t
        match = self.colour_mask(frame, colour)[: rows * t, : cols * t]
        cells = match.reshape(rows, t, cols, t)[:, 1:, :, 1:]                                  # grid lines left out
        share = cells.mean(axis=(1, 3))                                                        # [rows, cols]
        share[rows - 1, cols // 2] = 0.0                                                       # the agent itself
        return [(int(r), int(c)) for r, c in zip(*np.nonzero((share > 0.05) & (share < 0.9)))]

    def _choose(self, i: int, history: list[np.ndarray]) -> int:
        frame = history[-1]
        if self.last[i] == FORWARD and len(history) > 1 and np.array_equal(frame, history[-2]):
            return LEFT                                                                        # blocked
        cells = self.target_cells(frame, self.goal[i])
        centre_col, agent_row = frame.shape[1] // self.tile // 2, frame.shape[0] // self.tile - 1
        if not cells:
            self.turns[i] += 1
            return FORWARD if self.turns[i] % 4 == 0 else LEFT
        self.turns[i] = 0
        r, c = min(cells, key=lambda rc: abs(rc[0] - agent_row) + abs(rc[1] - centre_col))
        ahead, side = agent_row - r, c - centre_col
        if side == 0 or ahead > 0:
            return FORWARD
        return LEFT if side < 0 else RIGHT

    def act(self, active: Sequence[int], histories: Sequence[list[np.ndarray]]) -> list[int]:
        actions = []
        for i in active:
            self.last[i] = self._choose(i, histories[i])
            actions.append(self.last[i])
        return actions


def rollout(agent: Agent, recipe: NavRecipe, seeds: Sequence[int], *, expert_labels: bool = False) -> list[Episode]:
    """Run ``agent`` on one episode per level seed (at most ``recipe.max_steps`` steps each).

    ``expert_labels`` (DAgger): the returned ``actions`` are what the BabyAI bot would do in each state the agent
    reached (``BabyAIBot.replan(action_taken)`` follows the agent's actual actions), not the agent's own.
    """
    envs = [make_env(recipe) for _ in seeds]
    starts = [start_episode(env, s, 8) for env, s in zip(envs, seeds)]
    bots = None
    if expert_labels:
        from minigrid.utils.baby_ai_bot import BabyAIBot

        bots = [BabyAIBot(env) for env in envs]
    labels: list[list[int]] = [[] for _ in seeds]
    histories = [[obs["image"]] for obs, _, _ in starts]
    positions = [[tuple(int(v) for v in env.unwrapped.agent_pos)] for env in envs]
    missions = [obs["mission"] for obs, _, _ in starts]
    actions: list[list[int]] = [[] for _ in seeds]
    success = [False] * len(seeds)
    active = list(range(len(seeds)))
    agent.begin(missions)
    while active:
        chosen = agent.act(active, histories)
        still = []
        for i, a in zip(active, chosen):
            if bots is not None:
                labels[i].append(int(bots[i].replan(actions[i][-1] if actions[i] else None)))
            obs, reward, terminated, truncated, _ = envs[i].step(int(a))
            histories[i].append(obs["image"])
            positions[i].append(tuple(int(v) for v in envs[i].unwrapped.agent_pos))
            actions[i].append(int(a))
            if terminated or truncated:
                success[i] = bool(terminated and reward > 0)
            else:
                still.append(i)
        active = still
    taken = labels if bots is not None else actions
    return [Episode(s, missions[i], np.stack(histories[i]), np.asarray(taken[i], dtype=np.int64),
                    np.asarray(positions[i]), success[i], starts[i][1], starts[i][2]) for i, s in enumerate(seeds)]
