"""The Gradio demo: model choice and loading, the four tasks as plain functions, readable errors, and one
real-browser run of the page (headless Chromium through Playwright).

Tiny randomly initialised models (the ``smoke`` recipes) are saved under a temporary ``INTERNVIDEO_RUNS``; the
kit cache points at an empty temporary folder, so nothing of the user's machine is used or downloaded.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from internvideo_core.data.io import read_video
from internvideo_core.data.synthmotion import KNOWN_MOTIONS
from internvideo_core.demo import tasks
from internvideo_core.demo.models import (
    ModelUnavailable, choose_model, load_model,
)
from internvideo_core.demo.service import DemoError, DemoService
from internvideo_core.demo.videos import VideoClip, mosaic, read_error_message, render_synth_examples

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
PROFILE = "smoke"
CHROMIUM = Path("/usr/bin/chromium")


def _save_tiny_models(profile: str = PROFILE) -> None:
    """Randomly initialised smoke-size classifier, autoencoder and dual encoder where the notebooks put theirs."""
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.recipes import mm_synth as R
    from internvideo_core.recipes import videomae_synth as VS

    torch.manual_seed(0)
    recipe = VS.get_recipe(profile)
    VS.save_pretrained(VS.build_pretrain_model(recipe), profile)
    VS.save_classifier(VS.build_classifier(recipe, len(KNOWN_MOTIONS)), profile, KNOWN_MOTIONS)
    mm = R.get_recipe(profile)
    save_safetensors(R.build_dual_encoder(mm), R.checkpoint_path(profile),
                     metadata={"recipe": mm.to_json(), "seed": "0", "profile": profile})


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """``INTERNVIDEO_RUNS`` with the tiny models, an empty ``INTERNVIDEO_CACHE``; yields the root folder."""
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERNVIDEO_RUNS", str(root / "runs"))
        mp.setenv("INTERNVIDEO_CACHE", str(root / "cache"))
        mp.setenv("INTERNVIDEO_OFFLINE", "1")
        _save_tiny_models()
        yield root


@pytest.fixture(scope="module")
def service(env):
    return DemoService(profile=PROFILE, synth_examples=2, example_dir=env / "examples", device="cpu")


@pytest.fixture(scope="module")
def app_module():
    spec = importlib.util.spec_from_file_location("internvideo_demo_app", REPO / "demos" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------ model choice
def test_choice_missing_says_what_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INTERNVIDEO_EMBEDDED_DIR", str(tmp_path / "no_embedded_models"))  # a kit without them
    for task, file, name in (("recognition", "videomae_synth_classifier.safetensors", "videomae_vit_base_k400"),
                             ("video_text", "mm_synth.safetensors", "internvideo_mm_l14_pretrain"),
                             ("reconstruction", "videomae_synth_pretrain.safetensors", "videomae_pretrain_base_hybrid")):
        choice = choose_model(task, "tutorial", full=True)
        assert choice.kind == "missing" and not choice.available
        assert file in choice.problem and "make run" in choice.problem
        assert f"internvideo zoo download {name}" in choice.problem
        with pytest.raises(ModelUnavailable, match="No model"):
            load_model(choice)


def test_choice_order_tutorial_vs_released(env, monkeypatch):
    from internvideo_core.registry import cached_path

    assert choose_model("recognition", PROFILE).kind == "tutorial"
    fake = cached_path("videomae_vit_base_k400")
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_bytes(b"not a checkpoint")
    try:
        assert choose_model("recognition", PROFILE, full=False).kind == "tutorial"
        full = choose_model("recognition", PROFILE, full=True)
        assert (full.kind, full.name, full.path) == ("released", "videomae_vit_base_k400", fake)
        assert "videomae_vit_base_k400" in full.describe() and f"cache/{fake.name}" in full.describe()
        assert str(fake) not in full.describe()  # relative to the cache: no absolute server path
        # no tutorial file: the cached released checkpoint is the fallback even without --full
        monkeypatch.setenv("INTERNVIDEO_RUNS", str(env / "elsewhere"))
        assert choose_model("recognition", PROFILE, full=False).kind == "released"
        with pytest.raises(ModelUnavailable, match="Could not load videomae_vit_base_k400"):
            load_model(full)  # a broken file is reported, not raised as a traceback
    finally:
        fake.unlink()


def test_choice_rejects_checkpoint_of_another_recipe(tmp_path, monkeypatch):
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.recipes import videomae_synth as VS

    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path))
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    model = VS.build_pretrain_model(VS.get_recipe(PROFILE))
    save_safetensors(model, VS.pretrain_checkpoint_path(PROFILE), metadata={"fingerprint": "0123"})
    choice = choose_model("reconstruction", PROFILE)
    assert choice.kind == "missing" and "another version" in choice.problem
    VS.classifier_checkpoint_path(PROFILE).write_text("garbage")
    assert "not a readable safetensors file" in choose_model("recognition", PROFILE).problem


# ------------------------------------------------------------------------------------------ videos
def test_video_clip_decodes_only_requested_frames(videos_dir):
    clip = VideoClip(videos_dir / "test.mp4")
    out = clip.frames([5, 0, 5])
    assert out.shape[0] == 3 and clip.decoded == 2
    assert torch.equal(out, read_video(videos_dir / "test.mp4", [5, 0, 5]))
    clip.frames([0])
    assert clip.decoded == 2


def test_bad_files_give_a_message_not_a_traceback(service, tmp_path, app_module):
    text = tmp_path / "holiday.mp4"
    text.write_text("<html>not found</html>")
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    for path, words in ((text, "not a video"), (empty, "empty"), (tmp_path / "gone.webm", "no such file")):
        with pytest.raises(DemoError) as info:
            service.preview(path)
        msg = str(info.value)
        assert msg.startswith(f"Cannot read {path.name}:") and words in msg
        assert str(tmp_path) not in msg and "Traceback" not in msg
    # the page's wrapper turns the error into the message slot and clears the rest
    guarded = app_module._guard(lambda p: (p, *service.preview(p), None), 4, 1)
    out = guarded(str(text))
    assert out[0] is None and out[2] is None and "Cannot read holiday.mp4" in out[1]
    with pytest.raises(DemoError, match="No video yet"):
        service.recognize(None)
    # the words of an unexpected error are not shown: they could quote the file or a server path
    assert read_error_message(ValueError("boom"), "x.mp4") == "Cannot read x.mp4: the decoder failed (ValueError)."


def test_synth_examples_and_preview(service, env):
    synth = [e for e in service.examples if e.origin == "SynthMotion"]
    assert len(synth) == 2 and synth[0].caption == "a red circle moves to the left"
    striped = service.striped()
    assert [e.caption for e in striped] == ["a red striped hexagon moves to the right",
                                            "a yellow striped square rotates clockwise", "a cyan striped circle moves up"]
    assert len({e.path for e in service.examples}) == len(service.examples)  # no file shared by two examples
    info, frames = service.preview(synth[0].path)
    assert "16 frames" in info and len(frames) == 8 and frames[0][0].shape == (64, 64, 3)
    again = render_synth_examples(env / "examples", 2)  # reused, not re-rendered
    assert [e.path for e in again] == [e.path for e in synth]
    picture = mosaic([("a", frames[0][0][None].repeat(4, 0)), ("b", np.zeros((4, 8, 8, 3), np.uint8))], count=4, cell=32)
    assert picture.dtype == np.uint8 and picture.shape[0] == 2 * 36 and picture.shape[2] == 3


# ------------------------------------------------------------------------------------------ tasks
def test_recognition_probabilities(service, videos_dir):
    top = service.recognize(videos_dir / "test.mp4", k=5)
    assert len(top) == 5 and set(top) <= set(KNOWN_MOTIONS)
    values = list(top.values())
    assert values == sorted(values, reverse=True) and all(0 <= v <= 1 for v in values)
    m = service.model("recognition")
    clip = service.clip(videos_dir / "test.mp4")
    probs = tasks.classify(m.model, m.preprocess(clip.frames(m.frame_indices(clip.num_frames))))
    assert probs.shape == (len(KNOWN_MOTIONS),) and abs(float(probs.sum()) - 1) < 1e-5
    assert tasks.top_k(probs, m.classes, 5) == pytest.approx(top)
    x = torch.randn(3, 3, 4, 16, 16)  # three views: softmax per view, then the mean
    manual = m.model(x).softmax(-1).mean(0)
    assert torch.allclose(tasks.classify(m.model, x), manual, atol=1e-6)


def test_zero_shot_softmax_over_template_prompts(service, videos_dir):
    probs = service.zero_shot(videos_dir / "test.avi", "a red circle, a blue square, , a red circle, a star",
                              "a video of {}")
    assert list(probs) and set(probs) == {"a red circle", "a blue square", "a star"}
    assert abs(sum(probs.values()) - 1) < 1e-5
    m = service.model("video_text")
    clip = service.clip(videos_dir / "test.avi")
    v = tasks.encode_video(m.model, m.preprocess(clip.frames(m.frame_indices(clip.num_frames))))
    labels = list(probs)
    t = tasks.encode_text(m.model, [f"a video of {c}" for c in labels], m.tokenize)
    expected = (float(m.model.logit_scale.detach().exp()) * t @ v).softmax(-1)
    assert [probs[c] for c in labels] == pytest.approx(expected.tolist(), abs=1e-5)
    with pytest.raises(DemoError, match="at least two"):
        service.zero_shot(videos_dir / "test.avi", "only one", "")
    with pytest.raises(DemoError, match="needs exactly one"):
        service.zero_shot(videos_dir / "test.avi", "a, b", "no placeholder")
    assert tasks.parse_labels(" a  b ,c\nd,,c") == ["a b", "c", "d"]
    assert tasks.parse_templates("") == ["{}"]


def test_rank_videos_orders_by_similarity():
    video = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    order, sims = tasks.rank_videos(torch.tensor([1.0, 0.0]), video)
    assert order.tolist() == [1, 3, 2, 0]  # the tie 1 / 3 keeps the gallery order
    assert sims.tolist() == pytest.approx([0.0, 1.0, 2 ** -0.5, 1.0])


def test_retrieval_matches_similarities(service):
    picture, table, ranking = service.retrieve("a red circle moves to the left", k=3)
    clips, embs = service.gallery()
    assert len(clips) == len(service.examples) == len(ranking)
    m = service.model("video_text")
    sims = F.normalize(embs, dim=-1) @ tasks.encode_text(m.model, ["a red circle moves to the left"], m.tokenize)[0]
    expected = [clips[i].name for i in torch.argsort(sims, descending=True, stable=True).tolist()]
    rows = [ln.split("|") for ln in table.splitlines()[2:]]
    assert [r[2].strip() for r in rows] == expected
    cosines = [float(r[4]) for r in rows]
    assert cosines == sorted(cosines, reverse=True)
    assert [name for name, _ in ranking] == expected
    assert [c for _, c in ranking] == pytest.approx(sims[torch.argsort(sims, descending=True, stable=True)].tolist(),
                                                     abs=1e-6)
    assert picture.dtype == np.uint8 and picture.shape[0] == 3 * (96 + 4)  # one row of frames per top clip
    with pytest.raises(DemoError, match="Type a text query"):
        service.retrieve("   ")


def test_reconstruction_shapes_and_official_denormalisation(service, videos_dir):
    from internvideo_core.recipes import videomae_synth as VS

    recipe = VS.get_recipe(PROFILE)
    picture, text, rec = service.reconstruct(videos_dir / "arm_wrestling_demo.mp4", ratio=0.75, seed=3)
    t, h, w = recipe.grid
    shape = (recipe.num_frames, recipe.img_size, recipe.img_size, 3)
    for frames in (rec.original, rec.masked, rec.official, rec.from_visible):
        assert frames.shape == shape and frames.dtype == np.uint8
    assert int(rec.mask.sum()) == t * int(0.75 * h * w) and f"{int(rec.mask.sum())} of {t * h * w}" in text
    assert picture.ndim == 3 and picture.shape[2] == 3
    # official picture == the model's own reconstruct (true tubelet mean/std); visible pixels are the input
    m = service.model("reconstruction")
    clip = service.clip(videos_dir / "arm_wrestling_demo.mp4")
    x = m.preprocess(clip.frames(m.frame_indices(clip.num_frames)))
    ref = m.model.reconstruct(x, rec.mask[None])[0].permute(1, 2, 3, 0).numpy()
    assert np.abs(rec.official.astype(float) - ref * 255).max() <= 1.0
    hidden = m.model.unpatchify(rec.mask[None, :, None].float().expand(-1, -1, m.model.config.patch_dim))[0, 0].numpy() > 0
    assert np.array_equal(rec.official[~hidden], rec.original[~hidden])
    assert np.array_equal(rec.from_visible[~hidden], rec.original[~hidden])
    with pytest.raises(DemoError, match="mask ratio"):
        service.reconstruct(videos_dir / "test.mp4", ratio=1.0)


def test_neighbour_statistics_use_visible_tokens_only():
    grid = (2, 2, 2)
    mask = torch.tensor([[True, False, False, True, True, False, False, True]])
    mean = torch.rand(1, 8, 3)
    std = torch.rand(1, 8, 3)
    mean[~mask] = 0.25
    std[~mask] = 0.5
    est_mean, est_std = tasks.neighbour_statistics(mean, std, mask, grid)
    assert torch.allclose(est_mean[mask], torch.full_like(est_mean[mask], 0.25))
    assert torch.allclose(est_std[mask], torch.full_like(est_std[mask], 0.5))
    mean2 = mean.clone()
    mean2[mask] = 9.0  # the hidden tubelets' statistics never leak into the estimate
    assert torch.equal(tasks.neighbour_statistics(mean2, std, mask, grid)[0], est_mean)


def test_missing_models_leave_the_rest_working(tmp_path, monkeypatch, videos_dir):
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    bare = DemoService(profile=PROFILE, synth_examples=0, example_dir=tmp_path / "ex")
    with pytest.raises(DemoError, match="videomae_synth_classifier.safetensors"):
        bare.recognize(videos_dir / "test.mp4")
    with pytest.raises(DemoError, match="internvideo zoo download internvideo_mm_l14_pretrain"):
        bare.retrieve("anything")
    info, frames = bare.preview(videos_dir / "test.mp4")
    assert "300 frames" in info and len(frames) == 8
    assert "No model for action recognition" in bare.describe_models()


def test_tutorial_mm_recipe_comes_from_the_checkpoint(env):
    from safetensors import safe_open

    from internvideo_core.demo.models import mm_recipe_from_metadata
    from internvideo_core.recipes import mm_synth as R

    with safe_open(str(R.checkpoint_path(PROFILE)), "pt") as fh:
        meta = fh.metadata()
    recipe = mm_recipe_from_metadata(meta, "tutorial")
    assert recipe == R.get_recipe(PROFILE) and json.loads(recipe.to_json()) == json.loads(meta["recipe"])
    assert mm_recipe_from_metadata({}, "tutorial") == R.get_recipe("tutorial")


# ------------------------------------------------------------------------------------------ the page
def test_build_demo_lists_model_sources(service, app_module):
    import gradio as gr

    demo = app_module.build_demo(service)
    assert isinstance(demo, gr.Blocks)
    text = json.dumps(demo.config, default=str)
    assert "videomae_synth_classifier.safetensors" in text and "recognize-btn" in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_browser_upload_and_recognise(service, app_module, videos_dir, tmp_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install 'playwright>=1.40' (the kit's dev extra)")
    if not CHROMIUM.exists():
        if os.environ.get("CI"):  # CI installs it (.ci/run): a missing browser there is a failure, not a skip
            pytest.fail("CI has no /usr/bin/chromium: .ci/run must apt-get install -y chromium")
        pytest.skip("no /usr/bin/chromium: apt-get install -y chromium (never `playwright install`)")
    upload = tmp_path / "my_clip.mp4"
    shutil.copy(videos_dir / "arm_wrestling_demo.mp4", upload)
    demo = app_module.build_demo(service)
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True,
                            quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.set_default_timeout(60_000)
                page.goto(url)
                first = app_module.default_example(service).name  # the page opens on it
                page.locator("#video-status").get_by_text(first, exact=False).wait_for()
                page.set_input_files("#upload input[type=file]", str(upload))
                page.locator("#video-status").get_by_text("my_clip.mp4: 280 frames", exact=False).wait_for()
                page.click("#recognize-btn")
                page.locator("#recognition-message").get_by_text("my_clip.mp4:", exact=False).wait_for()
                shown = page.inner_text("#recognition-labels")
                assert sum(name in shown for name in KNOWN_MOTIONS) >= 5, shown
            finally:
                browser.close()
    finally:
        demo.close()


def test_default_example_matches_the_recognition_model(service, app_module):
    """Tutorial models know SynthMotion only: the page opens on a SynthMotion clip; with a released
    classifier it opens on the first bundled real video."""
    import dataclasses

    assert service.choices["recognition"].kind == "tutorial"
    assert app_module.default_example(service).origin == "SynthMotion"
    released = dataclasses.replace(service.choices["recognition"], kind="released")
    saved = service.choices["recognition"]
    try:
        service.choices["recognition"] = released
        assert app_module.default_example(service) == service.examples[0]
    finally:
        service.choices["recognition"] = saved
