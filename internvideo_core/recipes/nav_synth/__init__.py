"""Vision-language navigation on BabyAI (minigrid): a video-clip policy trained by imitating the expert bot.

The recipe behind notebook 13. InternVideo's VLN result swaps the image encoder of a navigation policy for its
video encoder; here the kit's video ViT sees the last few egocentric frames, the CLIP text tower reads the
mission, a GRU carries memory, and behaviour cloning imitates minigrid's ``BabyAIBot``. Habitat / VLN-CE cannot
run on a CPU laptop; BabyAI is a real, maintained instruction-following benchmark that can.
Used as ``from internvideo_core.recipes import nav_synth``; every name below is re-exported here. Recipe functions
take ``(recipe, seed, ...)``; the recipe carries its profile (``recipe.profile``).

    config      NavRecipe, RECIPES, get_recipe
    env         ACTIONS, Episode, make_env, expert_episode, collect_demos, train_seeds, eval_seeds,
                clip_indices, episode_clips, clips_to_input, mission_target
    agents      PolicyAgent, RandomAgent, ColourHeuristicAgent, rollout
    training    EpisodeLoader, ClipBatches, build_encoder, build_policy, random_walks, pretrain_encoder,
                save_encoder, encoder_checkpoint_path, train_policy, dagger
    evaluation  score_episodes, format_table, draw_paths

    demos = collect_demos(recipe, train_seeds(recipe.num_demos))
    policy, history = train_policy(recipe, 0, demos)
    episodes = rollout(PolicyAgent(policy, recipe), recipe, eval_seeds(recipe.eval_episodes))
"""
from __future__ import annotations

from .agents import ColourHeuristicAgent, PolicyAgent, RandomAgent, rollout
from .config import RECIPES, NavRecipe, get_recipe
from .env import (ACTIONS, Episode, clip_indices, clips_to_input, collect_demos, episode_clips, eval_seeds,
                  expert_episode, make_env, mission_target, train_seeds)
from .evaluation import draw_paths, format_table, score_episodes
from .training import (ClipBatches, EpisodeLoader, build_encoder, build_policy, dagger, encoder_checkpoint_path,
                       pretrain_encoder, random_walks, save_encoder, train_policy)

__all__ = [
    "NavRecipe", "RECIPES", "get_recipe", "ACTIONS", "Episode", "make_env", "expert_episode", "collect_demos",
    "train_seeds", "eval_seeds", "clip_indices", "episode_clips", "clips_to_input", "mission_target",
    "PolicyAgent", "RandomAgent", "ColourHeuristicAgent", "rollout", "EpisodeLoader", "ClipBatches",
    "build_encoder", "build_policy", "random_walks", "pretrain_encoder", "save_encoder", "encoder_checkpoint_path",
    "train_policy", "dagger", "score_episodes", "format_table", "draw_paths",
]
