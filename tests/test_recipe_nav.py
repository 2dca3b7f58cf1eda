"""The navigation recipe (notebook 13): BabyAI episodes, clips, the policy's step/episode equivalence, agents."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("minigrid")

from internvideo_core.recipes import nav_synth  # noqa: E402

SMOKE = nav_synth.get_recipe("smoke")


@pytest.fixture(scope="module")
def demos():
    return nav_synth.collect_demos(SMOKE, nav_synth.train_seeds(6))


def test_clip_indices_repeat_the_first_frame_before_the_start_and_the_current_frame_when_single():
    assert nav_synth.clip_indices(0, 4).tolist() == [0, 0, 0, 0]
    assert nav_synth.clip_indices(2, 4).tolist() == [0, 0, 1, 2]
    assert nav_synth.clip_indices(7, 4).tolist() == [4, 5, 6, 7]
    assert nav_synth.clip_indices(torch.tensor([1, 5]), 3, single_frame=True).tolist() == [[1, 1, 1], [5, 5, 5]]
    frames = np.arange(5)[:, None, None, None] * np.ones((5, 2, 2, 3), dtype=np.uint8)
    clips = nav_synth.episode_clips(frames, 2)
    assert clips.shape == (4, 2, 2, 2, 3)
    assert clips[:, :, 0, 0, 0].tolist() == [[0, 0], [0, 1], [1, 2], [2, 3]]


def test_expert_demonstrations_reach_the_named_object(demos):
    assert len(demos) == 6
    env = nav_synth.make_env(SMOKE)
    for d in demos:
        assert d.success and len(d.frames) == len(d.actions) + 1 == len(d.positions)
        assert set(d.actions.tolist()) <= {0, 1, 2}
        assert d.frames.shape[1:] == (SMOKE.img_size, SMOKE.img_size, 3) and d.frames.dtype == np.uint8
        steps = np.abs(np.diff(d.positions, axis=0)).sum(1)
        assert set(steps.tolist()) <= {0, 1}, "the agent moves at most one cell per step"
        env.reset(seed=d.seed)
        assert tuple(env.unwrapped.agent_pos) == tuple(d.positions[0])
        for a in d.actions:
            env.step(int(a))
        assert tuple(env.unwrapped.front_pos) in d.targets   # replaying the actions ends facing a target


def test_clips_are_imagenet_normalised_channels_first():
    clips = torch.full((2, 4, 8, 8, 3), 255, dtype=torch.uint8)
    x = nav_synth.clips_to_input(clips)
    assert x.shape == (2, 3, 4, 8, 8)
    assert torch.allclose(x[0, :, 0, 0, 0], (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225]))


def test_the_policy_stepping_through_an_episode_equals_the_whole_episode_forward(demos):
    torch.manual_seed(0)
    policy = nav_synth.build_policy(SMOKE).eval()
    loader = nav_synth.EpisodeLoader(demos, SMOKE, shuffle=False, batch_size=len(demos))
    batch = loader.batch(range(len(demos)))
    lengths = [len(d) for d in demos]
    assert batch["video"].shape[:2] == (len(demos), max(lengths))
    assert batch["mask"].sum(1).tolist() == lengths
    with torch.no_grad():
        logits = policy(batch["video"], batch["text"], batch["mask"])
        text = policy.encode_text(batch["text"][:1])
        h = None
        for t in range(lengths[0]):
            step_logits, h = policy.step(batch["video"][:1, t], text, h)
            torch.testing.assert_close(step_logits[0], logits[0, t], atol=1e-5, rtol=1e-4)
        alone = policy(batch["video"][:1, :lengths[0]], batch["text"][:1])   # no padding, no other episodes
    torch.testing.assert_close(alone[0], logits[0, :lengths[0]], atol=1e-5, rtol=1e-4)


def test_the_token_embedding_is_frozen_and_the_rest_trains():
    policy = nav_synth.build_policy(SMOKE)
    assert not policy.text.token_embedding.weight.requires_grad
    assert all(p.requires_grad for n, p in policy.named_parameters() if "token_embedding" not in n)


def test_behaviour_cloning_lowers_the_loss_on_a_few_demonstrations(demos):
    recipe = SMOKE.replace(epochs=12, lr=3e-3)
    policy, history = nav_synth.train_policy(recipe, 0, demos[:4])
    assert np.isfinite(history["loss"]).all()
    assert history["epoch_loss"][-1] < 0.8 * history["epoch_loss"][0], history["epoch_loss"]
    assert not policy.training


def test_rollouts_start_where_the_expert_starts_and_the_reference_scores_perfectly(demos):
    seeds = [d.seed for d in demos]
    eps = nav_synth.rollout(nav_synth.RandomAgent(0), SMOKE, seeds)
    assert [e.seed for e in eps] == seeds
    for e, d in zip(eps, demos):
        assert tuple(e.positions[0]) == tuple(d.positions[0]) and e.mission == d.mission
        assert len(e) <= SMOKE.max_steps
    perfect = nav_synth.score_episodes(demos, demos, SMOKE)
    assert perfect["SR"] == perfect["SPL"] == perfect["nDTW"] == perfect["task_success"] == 1.0
    scores = nav_synth.score_episodes(eps, demos, SMOKE)
    assert 0 <= scores["SPL"] <= scores["SR"] <= scores["OSR"] <= 1
    with pytest.raises(ValueError, match="seed"):
        nav_synth.score_episodes(eps[::-1], demos, SMOKE)


def test_the_colour_heuristic_finds_the_goal_colour_in_view_and_walks_to_it():
    env = nav_synth.make_env(SMOKE)
    agent = nav_synth.ColourHeuristicAgent(SMOKE)
    found = 0
    for seed in nav_synth.eval_seeds(20):
        obs, _ = env.reset(seed=seed)
        agent.begin([obs["mission"]])
        cells = agent.target_cells(obs["image"], agent.goal[0])
        colour, _, _ = nav_synth.mission_target(env)
        grid = env.unwrapped.gen_obs()["image"]          # symbolic view [7, 7, 3]: (object, colour, state)
        from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX
        truth = {(int(r), int(c)) for c, r in zip(*np.nonzero(
            (grid[:, :, 1] == COLOR_TO_IDX[colour]) & np.isin(grid[:, :, 0], [OBJECT_TO_IDX[o] for o in ("key", "ball", "box")])))}
        assert set(cells) == truth, (seed, cells, truth)
        found += bool(cells)
    assert found >= 5
    heuristic = nav_synth.rollout(nav_synth.ColourHeuristicAgent(SMOKE), SMOKE.replace(max_steps=32), nav_synth.eval_seeds(24))
    random = nav_synth.rollout(nav_synth.RandomAgent(0), SMOKE.replace(max_steps=32), nav_synth.eval_seeds(24))
    assert np.mean([e.success for e in heuristic]) > np.mean([e.success for e in random])


def test_dagger_rollouts_are_labelled_with_the_bots_actions_in_the_states_the_agent_reached():
    recipe = SMOKE.replace(max_steps=16)
    seeds = nav_synth.eval_seeds(4)
    own = nav_synth.rollout(nav_synth.RandomAgent(3), recipe, seeds)
    labelled = nav_synth.rollout(nav_synth.RandomAgent(3), recipe, seeds, expert_labels=True)
    for a, b in zip(own, labelled):
        np.testing.assert_array_equal(a.positions, b.positions)   # the same path: labels do not change the acting
        assert len(b.actions) == len(a.actions) and set(b.actions.tolist()) <= {0, 1, 2}
    assert any(not np.array_equal(a.actions, b.actions) for a, b in zip(own, labelled))


def test_a_dagger_round_adds_the_policys_own_states_and_keeps_training(demos):
    policy, _ = nav_synth.train_policy(SMOKE, 0, demos[:3])
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    policy, history = nav_synth.dagger(SMOKE, 0, policy, demos[:3])
    assert history["episodes"] == SMOKE.dagger_episodes
    assert 0 < history["steps"] <= SMOKE.dagger_episodes * SMOKE.dagger_max_steps
    assert np.isfinite(history["loss"]).all() and not policy.training
    assert any(not torch.equal(before[k], v) for k, v in policy.state_dict().items())


def test_bc_loss_ignores_the_padded_steps():
    from internvideo_core.train.imitation import bc_loss

    logits = torch.randn(2, 3, 3)
    actions = torch.tensor([[0, 2, 1], [1, 0, 0]])
    valid = torch.tensor([[True, True, True], [True, False, False]])
    expected = torch.nn.functional.cross_entropy(torch.cat([logits[0], logits[1, :1]]), torch.tensor([0, 2, 1, 1]))
    torch.testing.assert_close(bc_loss(logits, actions, valid), expected)
    garbage = logits.clone()
    garbage[1, 1:] = 100.0
    torch.testing.assert_close(bc_loss(garbage, actions, valid), expected)
