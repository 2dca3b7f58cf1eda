"""The InternVideo-MM SynthMotion recipe (notebooks 04-07) at smoke size: data, sampling, training, evaluation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from internvideo_core.data import synthmotion_annotations as A
from internvideo_core.data.synthmotion import PROFILES as SYNTH_PROFILES, heldout_combinations, synthmotion_clips
from internvideo_core.recipes import mm_synth as R

TINY = dict(train_videos=16, test_videos=None, vision_width=32, vision_layers=2, vision_heads=2, temporal_layers=(0, 1),
            text_width=32, text_layers=1, text_heads=2, embed_dim=16, epochs=1, batch_size=8, warmup_epochs=0,
            qa_epochs=2, qa_hidden=16, qa_vocab_size=None, text_warmup_steps=3, text_warmup_batch=8)


@pytest.fixture(scope="module")
def recipe() -> R.MMSynthRecipe:
    return R.get_recipe("smoke", **TINY)


@pytest.fixture(scope="module")
def train(recipe) -> R.CaptionClips:
    return R.caption_clips(recipe, 0, "train", chunk=6)


@pytest.fixture(scope="module")
def test_clips(recipe) -> R.CaptionClips:
    return R.caption_clips(recipe, 0, "test")


def test_recipes_and_overrides():
    assert set(R.RECIPES) == {"smoke", "tutorial", "full"}
    r = R.get_recipe("tutorial", epochs=3)
    assert r.epochs == 3 and R.get_recipe("tutorial") == R.RECIPES["tutorial"]
    assert r.model_config()["input_resolution"] == r.img_size
    assert r.model_overrides() == {}  # the tutorial profile is the registered internvideo_mm_tiny_synth
    assert R.get_recipe("full").model_overrides()["input_resolution"] == 96
    with pytest.raises(ValueError, match="unknown profile"):
        R.get_recipe("laptop")
    # the recipe carries its profile, which is not part of its identity (checkpoints store the rest as JSON)
    assert R.get_recipe("smoke").profile == "smoke" and r.profile == "tutorial"
    assert R.as_recipe("smoke") == R.get_recipe("smoke") and R.as_recipe(r) is r
    assert "profile" not in r.to_json() and R.checkpoint_path(R.get_recipe("smoke")) == R.checkpoint_path("smoke")
    with pytest.raises(TypeError, match="get_recipe"):
        R.as_recipe(3)
    model = R.build_dual_encoder(R.get_recipe("smoke", **TINY))
    assert model.config.vision_width == 32 and model.config.embed_dim == 16


def test_frame_indices():
    assert R.frame_indices(16, 4).tolist() == [0, 5, 10, 15]
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        idx = R.frame_indices(16, 4, g)
        assert idx.tolist() == sorted(idx.tolist())
        assert all(4 * k <= int(i) < 4 * (k + 1) for k, i in enumerate(idx))
    a = R.frame_indices(16, 4, torch.Generator().manual_seed(3))
    b = R.frame_indices(16, 4, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_caption_clips_match_the_dataset(train, recipe):
    """Clips rendered in chunks are the dataset's own clips (ids, captions, meta), resized."""
    ref = synthmotion_clips("captions", "train", "smoke", 0)
    n = len(ref)
    assert len(train) == recipe.train_videos > n          # more than the profile: the profile's come first
    assert train.ids[:n] == ref.ids
    assert train.captions[:n] == [m["captions"] for m in ref.metas]
    assert [m["motion"] for m in train.metas[:n]] == [m["motion"] for m in ref.metas]
    assert train.videos.shape == (recipe.train_videos, 3, recipe.clip_frames, recipe.img_size, recipe.img_size)
    assert train.videos.dtype == torch.uint8
    # a chunk boundary in the middle changes nothing
    again = R.caption_clips(recipe, 0, "train", chunk=100)
    assert torch.equal(again.videos, train.videos) and again.captions == train.captions


def test_reversed_captions_describe_the_reversed_motion(train):
    held = set(heldout_combinations(0, SYNTH_PROFILES["smoke"].zero_shot_combos))
    assert len(train.reversed_captions) == len(train)
    for meta, caps, rev in zip(train.metas, train.captions, train.reversed_captions):
        motion = R.REVERSED_MOTION.get(meta["motion"], meta["motion"])
        if (meta["shape"], motion) in held and motion != meta["motion"]:
            assert rev is None
            continue
        assert rev is not None and len(rev) == len(caps)
        if motion == meta["motion"]:
            assert rev == caps
        else:
            for text in rev:
                assert any(p in text for p in A.MOTION_PHRASES[motion]), (text, motion)
                assert meta["shape"] in text and meta["colour"] in text


def test_train_set_reverses_and_twins(train, recipe):
    ds = R.CaptionTrainSet(train, recipe.num_frames, reverse_prob=0.0)
    i = next(k for k, r in enumerate(train.reversed_captions)
             if r is not None and R.REVERSED_MOTION.get(train.metas[k]["motion"]) is not None)
    torch.manual_seed(0)
    fwd, caps = ds[i]
    assert fwd.shape == (3, recipe.num_frames, recipe.img_size, recipe.img_size) and caps == train.captions[i]
    torch.manual_seed(0)
    twin, twin_caps = ds[len(train) + i]
    assert twin_caps == train.reversed_captions[i]
    torch.testing.assert_close(twin, fwd.flip(1))
    # CLIP normalisation: a mid-grey pixel maps near 0
    assert float(fwd.abs().max()) < 3.0


def test_grouped_batch_sampler():
    keys = ["a"] * 8 + ["b"] * 8 + ["c"] * 8
    torch.manual_seed(0)
    s = R.GroupedBatchSampler(keys, batch_size=8, group_size=4)
    batches = list(s)
    assert len(batches) == len(s) == 3
    assert sorted(i for b in batches for i in b) == list(range(24))
    for b in batches:                                    # two groups of 4 with one key each
        assert len({keys[i] for i in b[:4]}) == 1 and len({keys[i] for i in b[4:]}) == 1
    plain = R.GroupedBatchSampler(keys, batch_size=8, group_size=1)
    assert sorted(i for b in plain for i in b) == list(range(24))
    twins = [i % 2 == 0 for i in range(24)]
    t = R.GroupedBatchSampler(keys, batch_size=8, group_size=4, twins=twins)
    seen = [i for b in t for i in b]
    assert all(i < 48 for i in seen) and any(i >= 24 for i in seen)
    for b in t:
        for i in b:
            if i >= 24:
                assert twins[i - 24] and (i - 24) in b       # a twin travels with its clip
    with pytest.raises(ValueError):
        R.GroupedBatchSampler(keys, batch_size=0, group_size=2)
    # two keyings: consecutive clips mostly share a key under one of them (random order: about 1 pair in 6)
    k1, k2 = [i % 12 for i in range(96)], [i // 2 for i in range(96)]
    torch.manual_seed(0)
    both = R.GroupedBatchSampler([k1, k2], batch_size=8, group_size=4)
    batches = list(both)
    assert len(batches) == 12 and all(len(b) == 8 for b in batches) and len({i for b in batches for i in b}) == 96
    pairs = [(b[j], b[j + 1]) for b in batches for j in range(7)]
    shared = sum(k1[a] == k1[b] or k2[a] == k2[b] for a, b in pairs) / len(pairs)
    assert shared > 0.4, shared


def test_train_save_load_and_evaluate(train, test_clips, recipe, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path))
    rec = recipe.replace(reversed_twins=True, group_by=("colour",))
    model, history = R.train_dual_encoder_on_synthmotion(rec, 0, train=train)
    assert history["steps"] == len(train) // rec.batch_size == len(history["loss"])
    assert all(np.isfinite(history["loss"]))
    path = R.checkpoint_path(rec)
    assert path == tmp_path / "checkpoints" / "smoke" / "mm_synth.safetensors" and path.exists()
    loaded = R.load_dual_encoder(rec, 0)
    assert loaded is not None
    v1, v2 = R.encode_videos(model, test_clips, rec), R.encode_videos(loaded[0], test_clips, rec)
    torch.testing.assert_close(v1, v2)
    assert R.load_dual_encoder(rec, 1) is None                 # another seed
    assert R.load_dual_encoder(rec.replace(epochs=2), 0) is None  # another recipe
    again, _ = R.get_dual_encoder(rec, 0)
    torch.testing.assert_close(R.encode_videos(again, test_clips, rec), v1)

    t = R.encode_texts(model, [c[0] for c in test_clips.captions], rec)
    assert t.shape == v1.shape == (len(test_clips), rec.embed_dim)
    sim = R.similarity(t, v1, 10.0)
    assert sim.shape == (len(test_clips), len(test_clips)) and float(sim.abs().max()) <= 10.0 + 1e-4
    assert 0.0 <= R.temporal_order_accuracy(model, test_clips, rec) <= 100.0

    classes = R.combination_classes()
    probs = R.zero_shot_combinations(model, v1, classes, rec, templates=R.colour_templates(R.SYNTH_TEMPLATES[:2]),
                                     paraphrases=2)
    assert probs.shape == (len(test_clips), len(classes))
    torch.testing.assert_close(probs.sum(1), torch.ones(len(test_clips)))
    items = R.multiple_choice_items(test_clips, 0)
    acc, pred = R.multiple_choice_eval(model, v1, items, rec)
    assert 0.0 <= acc <= 100.0 and pred.shape == (len(test_clips),)


def test_zero_shot_report_counts(test_clips):
    classes = R.combination_classes()
    truth = [classes.index((m["shape"], m["motion"])) for m in test_clips.metas]
    probs = torch.zeros(len(test_clips), len(classes))
    probs[torch.arange(len(test_clips)), torch.tensor(truth)] = 1.0
    rep = R.zero_shot_report(probs, test_clips, classes)
    assert rep["heldout_clips"] == int(test_clips.zero_shot.sum()) > 0
    assert rep["heldout_combination"] == rep["seen_combination"] == 100.0
    # predict the right shape with a wrong motion everywhere
    wrong = [classes.index((s, next(x for x in R.KNOWN_MOTIONS if x != m))) for s, m in
             ((m["shape"], m["motion"]) for m in test_clips.metas)]
    probs2 = torch.zeros_like(probs)
    probs2[torch.arange(len(test_clips)), torch.tensor(wrong)] = 1.0
    rep2 = R.zero_shot_report(probs2, test_clips, classes)
    assert rep2["heldout_combination"] == rep2["heldout_motion"] == 0.0 and rep2["heldout_shape"] == 100.0
    assert rep["heldout_motion_given_shape"] == 100.0 and rep2["heldout_motion_given_shape"] == 0.0
    # wrong shape, right motion: motion counts, and among the clip's own shape the right motion is the runner-up
    probs3 = torch.zeros_like(probs)
    for i, m in enumerate(test_clips.metas):
        other = next(s for s in R.SHAPES if s != m["shape"])
        probs3[i, classes.index((other, m["motion"]))] = 1.0
        probs3[i, classes.index((m["shape"], m["motion"]))] = 0.5
    rep3 = R.zero_shot_report(probs3, test_clips, classes)
    assert rep3["heldout_motion"] == rep3["heldout_motion_given_shape"] == 100.0 and rep3["heldout_shape"] == 0.0


def test_multiple_choice_items_match_the_dataset_file(test_clips):
    items = R.multiple_choice_items(test_clips, 0)
    for it, caps in zip(items, test_clips.captions):
        assert it["options"][it["answer"]] == caps[0] and len(it["options"]) == 5
    rng = np.random.default_rng([0, 66, int(test_clips.ids[0].removeprefix("video"))])
    assert items[0] == A.multiple_choice(test_clips.ids[0], test_clips.metas[0], test_clips.captions[0][0], rng)


def test_text_warm_start_trains_only_the_text_tower(train, recipe):
    torch.manual_seed(0)
    model = R.build_dual_encoder(recipe)
    text = {id(p) for p in R.text_parameters(model)}
    assert {n.split(".")[0] for n, p in model.named_parameters() if id(p) in text} == {
        "token_embedding", "positional_embedding", "transformer", "ln_final", "text_projection"}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    losses = R.warm_start_text_tower(model, train, recipe.replace(text_warmup_steps=4), seed=0)
    assert len(losses) == 4 and all(np.isfinite(losses))
    for n, p in model.named_parameters():
        changed = not torch.equal(before[n], p.detach())
        if n.startswith("visual") or n in ("logit_scale", "text_mask_embedding"):
            assert not changed, n
    assert not torch.equal(before["text_projection"], model.text_projection.detach())


def test_drop_attributes():
    meta = {"colour": "red", "shape": "star", "motion": "move left"}
    cap = "we see a small red coloured star that travels from right to left"
    assert R.drop_attributes(cap, meta, colour=True) == "we see a small star that travels from right to left"
    assert R.drop_attributes(cap, meta, colour=False, shape=True) == \
        "we see a small red coloured shape that travels from right to left"
    assert R.drop_attributes(cap, meta, colour=False, motion=True) == "we see a small red coloured star that"
    assert R.drop_attributes("a red star goes left", meta, True, True, True) == "a shape"


def test_qa_pipeline(train, test_clips, recipe):
    model = R.build_dual_encoder(recipe).eval()
    items = R.qa_items(train)
    assert {it["type"] for it in items} >= {"what", "colour", "shape", "count"}
    video, question = R.qa_features(model, train, items, recipe)
    tokens = 1 + recipe.num_frames * (1 + (recipe.img_size // recipe.vision_patch_size) ** 2)
    assert video.shape == (len(train), tokens, recipe.vision_width)
    assert question.shape == (len(items), recipe.embed_dim)
    rec = recipe.replace(qa_vocab_size=5)
    head, vocab, hist = R.train_qa_head(video, question, items, rec, seed=0)
    assert len(vocab) == 5 and hist["train_questions"] == sum(it["answer"] in vocab for it in items)
    assert len(hist["loss"]) == rec.qa_epochs
    test_items = R.qa_items(test_clips)
    tv, tq = R.qa_features(model, test_clips, test_items, recipe)
    pred = R.predict_answers(head, tv, tq, test_items, vocab)
    assert len(pred) == len(test_items) and set(pred) <= set(vocab)


def test_word_cached_tokenizer_equals_tokenize(train):
    from internvideo_core.text import tokenize

    texts = [c for caps in train.captions for c in caps] + [r for rs in train.reversed_captions if rs for r in rs]
    texts += [R.drop_attributes(t, m, True, True, True) for t, m in zip([c[0] for c in train.captions], train.metas)]
    texts += ["what colour is the star that is moving up?", "Two  Spaces", "a"]
    tok = R.WordCachedTokenizer(32)
    assert torch.equal(tok(texts), tokenize(texts, context_length=32))
    long = " ".join(["star"] * 40)
    assert torch.equal(tok([long]), tokenize([long], context_length=32))


def test_training_is_silent_unless_verbose(train, recipe, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path))
    _, history = R.train_dual_encoder_on_synthmotion(recipe, 0, train=train, save=False)
    assert "epoch" not in capsys.readouterr().out and len(history["epochs"]) == recipe.epochs
    R.train_dual_encoder_on_synthmotion(recipe, 0, train=train, save=False, verbose=True)
    assert "[train-mm] epoch" in capsys.readouterr().out


def test_prompt_variant_is_chosen_on_the_given_clips_by_motion_accuracy(test_clips, recipe, monkeypatch):
    classes = R.combination_classes()
    truth = torch.tensor([classes.index((m["shape"], m["motion"])) for m in test_clips.metas])
    right = torch.nn.functional.one_hot(truth, len(classes)).float()
    wrong = right.roll(1, dims=1)                                   # (same shape, next motion) of every clip
    fake = {"bad": wrong, "good": right}
    monkeypatch.setattr("internvideo_core.recipes.mm_synth.evaluation.zero_shot_combinations",
                        lambda model, v, c, r, name: fake[name])
    best, scores = R.choose_prompt_variant(None, None, test_clips, classes, recipe,
                                           {"bad": {"name": "bad"}, "good": {"name": "good"}})
    assert best == "good" and scores["good"] == {"combination": 100.0, "motion": 100.0, "shape": 100.0}
    assert scores["bad"]["motion"] < 100.0
    # ties go to the first listed (the simpler) variant
    assert R.choose_prompt_variant(None, None, test_clips, classes, recipe,
                                   {"good": {"name": "good"}, "also": {"name": "good"}})[0] == "good"


def test_colour_only_similarity_ranks_same_colour_first(test_clips):
    sim = R.colour_only_similarity(test_clips, seed=0)
    colours = [m["colour"] for m in test_clips.metas]
    assert sim.shape == (len(test_clips), len(test_clips))
    for i in range(len(test_clips)):
        top = int(sim[i].argmax())
        assert colours[top] == colours[i]
    assert torch.equal(sim, R.colour_only_similarity(test_clips, seed=0))


def test_reversed_qa_features_are_the_features_of_the_clips_played_backwards(test_clips, recipe):
    model = R.build_dual_encoder(recipe).eval()
    items = R.qa_items(test_clips)[:3]
    rev, _ = R.qa_features(model, test_clips, items, recipe, reverse=True)
    backwards = R.CaptionClips(test_clips.videos.flip(2), test_clips.captions, test_clips.metas, test_clips.ids)
    fwd_of_backwards, _ = R.qa_features(model, backwards, items, recipe)
    torch.testing.assert_close(rev, fwd_of_backwards)


def test_retrieval_ranks_and_figure(test_clips):
    import matplotlib

    matplotlib.use("Agg")
    sim = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8], [0.1, 0.7, 0.7]])
    assert R.retrieval_ranks(sim).tolist() == [1, 2, 1]              # ties favour the true video
    assert R.retrieval_ranks(sim, [2, 2, 0]).tolist() == [2, 1, 3]
    clips = test_clips.subset(range(3))
    fig = R.retrieval_figure(clips, ["a long query " * 6, "q"], sim[:2], true_index=[0, None], top=2)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "rank 1 of 3" in texts[0] and "a long query" in texts[0] and texts[0].count("query") == 7  # not cut
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert any("true video" in t for t in titles)
