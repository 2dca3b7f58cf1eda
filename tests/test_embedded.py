"""The models shipped in the package: how they are found, loaded and shown (with stand-in random weights written
by the build script's own saving code), and that the real ones do what their cards say on the demo's clips.

Fresh-clone conditions: an empty ``INTERNVIDEO_RUNS`` and ``INTERNVIDEO_CACHE`` (nothing trained, nothing
downloaded), offline.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from internvideo_core.data.synthmotion import KNOWN_MOTIONS
from internvideo_core.embedded import EMBEDDED, embedded_path, load_embedded

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
PACKAGE_MODELS = REPO / "internvideo_core" / "assets" / "models"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_embedded_models", REPO / "tools" / "build_embedded_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def fresh(tmp_path, monkeypatch):
    """A fresh clone: empty runs and cache folders, offline."""
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", "1")
    return tmp_path


@pytest.fixture()
def stand_ins(fresh, monkeypatch):
    """Random-weight tutorial-size models saved exactly as the build script saves the real ones (float16,
    config.json with a card), in an ``INTERNVIDEO_EMBEDDED_DIR``."""
    from internvideo_core.recipes import mm_synth
    from internvideo_core.recipes import videomae_synth as VS

    build = _build_module()
    out = fresh / "embedded"
    torch.manual_seed(0)
    recipe = VS.get_recipe("tutorial")
    inp = build._videomae_input(recipe)
    card = {"recipe": "videomae_synth", "recipe_fields": json.loads(json.dumps(
        __import__("dataclasses").asdict(recipe), default=str)), "metrics": {"top1": 97.5, "test_clips": 240,
                                                                              "chance": 8.33}}
    build._save(VS.build_classifier(recipe, 12), "videomae_vit_tiny_synth", out, class_names=KNOWN_MOTIONS,
                input=inp, card=card)
    build._save(VS.build_pretrain_model(recipe), "videomae_pretrain_tiny_synth", out, input=inp,
                card={**card, "metrics": {"object_loss_model": 0.5, "object_loss_mean_patch": 0.9,
                                          "mask": "tube 90%"}})
    mm = mm_synth.get_recipe("tutorial")
    build._save(mm_synth.build_dual_encoder(mm), "internvideo_mm_tiny_synth", out, input={}, card={
        "recipe": "mm_synth", "metrics": {"zero_shot_motion_top1 (demo labels)": 80.0, "chance": 8.33,
                                          "t2v_R1 (first caption)": 40.0, "test_clips": 200}})
    monkeypatch.setenv("INTERNVIDEO_EMBEDDED_DIR", str(out))
    return out


# ----------------------------------------------------------------------------------------------- loading
def test_load_pretrained_gives_the_embedded_classifier_its_classes_and_its_input(stand_ins, videos_dir):
    from internvideo_core.pretrained import load_pretrained

    model, preprocess, names = load_pretrained("videomae_vit_tiny_synth")
    assert names == list(KNOWN_MOTIONS) and model.weights_source == "embedded"
    x = preprocess(videos_dir / "test.mp4")
    assert x.shape == (1, 3, 8, 24, 24) and x.dtype == torch.float32
    assert model(x).shape == (1, 12)
    assert next(model.parameters()).dtype == torch.float32  # float16 on disk, float32 in use
    with pytest.raises(TypeError, match="embedded SynthMotion model"):
        load_pretrained("videomae_vit_tiny_synth", num_frames=16)


def test_preprocess_reads_the_same_frames_from_a_path_or_decoded_frames(stand_ins, videos_dir):
    from internvideo_core.data.io import read_video
    from internvideo_core.pretrained import load_pretrained

    for name in ("videomae_vit_tiny_synth", "internvideo_mm_tiny_synth"):
        _, preprocess, _ = load_pretrained(name)
        video = videos_dir / "synthmotion_move_down_green_triangle.mp4"
        assert torch.equal(preprocess(video), preprocess(read_video(video)))
    assert preprocess(video).shape == (1, 3, 4, 48, 48)  # the dual encoder: 4 frames of 48 px


def test_a_notebook_file_newer_than_the_embedded_model_is_used_instead(stand_ins):
    from internvideo_core.embedded import tutorial_path
    from internvideo_core.recipes import videomae_synth as VS

    path = tutorial_path("videomae_vit_tiny_synth")
    assert path == VS.classifier_checkpoint_path("tutorial")
    VS.save_classifier(VS.build_classifier(VS.get_recipe("tutorial"), 12), "tutorial", KNOWN_MOTIONS)
    assert load_embedded("videomae_vit_tiny_synth")[0].weights_source == "runs"
    old = embedded_path("videomae_vit_tiny_synth").stat().st_mtime - 60
    os.utime(path, (old, old))  # older than the embedded model: the embedded one wins
    assert load_embedded("videomae_vit_tiny_synth")[0].weights_source == "embedded"


def test_a_table_stored_by_some_rows_reads_back_whole_with_zeros_in_the_others(tmp_path):
    from safetensors.torch import save_file

    from internvideo_core.checkpoint import CheckpointError, read_state_dict, sparse_rows

    table = torch.randn(10, 3).half()
    state = {"bias": torch.ones(2), **sparse_rows("emb.weight", table, [7, 2, 2, 0])}
    assert state["emb.weight.sparse_rows"].shape == (3, 3) and state["emb.weight.sparse_row_ids"].tolist() == [0, 2, 7]
    save_file(state, str(tmp_path / "m.safetensors"))
    back, fmt = read_state_dict(tmp_path / "m.safetensors")
    assert sorted(back) == ["bias", "emb.weight"] and fmt == "safetensors"
    full = back["emb.weight"]
    assert full.shape == (10, 3) and full.dtype == torch.float16
    assert torch.equal(full[[0, 2, 7]], table[[0, 2, 7]]) and not full[[1, 3, 4, 5, 6, 8, 9]].any()
    with pytest.raises(ValueError, match="inside its 10 rows"):
        sparse_rows("emb.weight", table, [10])
    del state["emb.weight.sparse_num_rows"]
    save_file(state, str(tmp_path / "bad.safetensors"))
    with pytest.raises(CheckpointError, match="emb.weight.sparse_num_rows"):
        read_state_dict(tmp_path / "bad.safetensors")
    save_file({"emb.weight.sparse_row_ids": torch.zeros(1, dtype=torch.int64)}, str(tmp_path / "orphan.safetensors"))
    with pytest.raises(CheckpointError, match="without its '.sparse_rows' tensor"):
        read_state_dict(tmp_path / "orphan.safetensors")
    huge = {**sparse_rows("emb.weight", table, [0]), "emb.weight.sparse_num_rows": torch.tensor([2**40])}
    save_file(huge, str(tmp_path / "huge.safetensors"))  # an untrusted row count: refused before any allocation
    with pytest.raises(CheckpointError, match="claims 1099511627776 rows of 3"):
        read_state_dict(tmp_path / "huge.safetensors")


def test_the_stored_word_rows_cover_every_synthmotion_text_and_the_demo_s_prompts():
    import numpy as np

    from internvideo_core.data import synthmotion_annotations as A
    from internvideo_core.data.synthmotion_render import BACKGROUNDS, COLOURS, SHAPES, SIZE_WORDS
    from internvideo_core.demo.models import video_text_defaults
    from internvideo_core.demo.videos import STRIPED_EXAMPLES, SYNTH_EXAMPLES
    from internvideo_core.embedded import caption_token_ids
    from internvideo_core.recipes.mm_synth import colour_templates
    from internvideo_core.recipes.mm_synth.batching import drop_attributes
    from internvideo_core.text import tokenize

    rng = np.random.default_rng(0)
    texts = []
    for motion in A.MOTION_PHRASES:
        for k in range(6):
            meta = {"motion": motion, "colour": list(COLOURS)[k % len(COLOURS)], "shape": SHAPES[k % len(SHAPES)],
                    "size": SIZE_WORDS[k % 3], "background": BACKGROUNDS[k % len(BACKGROUNDS)], "num_objects": k % 4 + 1}
            caps = A.caption_variants(meta, rng, 12)
            texts += caps + [drop_attributes(c, meta, *flags) for c in caps for flags in
                             ((True, False, False), (False, True, False), (True, True, True))]
            texts += [qa["question"] for qa in A.questions_for(meta)] + [qa["answer"] for qa in A.questions_for(meta)]
    labels, templates, query = video_text_defaults("tutorial")
    texts += [t.format(lbl) for t in templates for lbl in labels] + [query] + [t.format("shape grows") for t in colour_templates()]
    texts += [f"a {c} {s} {A.MOTION_PHRASES[m][0]}" for m, s, c in SYNTH_EXAMPLES + STRIPED_EXAMPLES]
    kept = set(caption_token_ids())
    assert len(kept) < 400  # a few hundred of the 49408 rows
    ids = set(tokenize(texts, context_length=40).unique().tolist())
    assert ids <= kept, sorted(ids - kept)[:10]
    assert not set(tokenize(["a dog jumps over a fence"]).unique().tolist()) <= kept  # free text is not covered


# ---------------------------------------------------------------------------------------------- the demo
def test_the_demo_uses_the_embedded_models_on_a_fresh_clone_and_says_where_they_come_from(stand_ins):
    from internvideo_core.demo.models import TASKS, choose_model, load_model

    for task in TASKS:
        choice = choose_model(task, "tutorial")
        assert choice.kind == "embedded" and choice.available, choice
        text = choice.describe()
        assert f"internvideo_core/assets/models/{choice.name}/model.safetensors" in text
        assert str(stand_ins) not in text and "held-out" in text  # no server path; the card's numbers
        assert load_model(choice).model is not None
    assert "97.5 %" in choose_model("recognition", "tutorial").describe()
    assert "0.500" in choose_model("reconstruction", "tutorial").describe()
    assert "80.0 %" in choose_model("video_text", "tutorial").describe()
    # other profiles never fall back to the tutorial-profile models
    assert choose_model("recognition", "smoke").kind == "missing"


def test_the_reconstruction_tab_counts_object_tubelets_as_the_recipe_s_report_does(fresh):
    """The page's object-tubelet numbers for one clip are :func:`reconstruction_report`'s for that clip and mask."""
    import numpy as np

    from internvideo_core.data.synthmotion import SynthConfig, render_clip
    from internvideo_core.demo import tasks
    from internvideo_core.demo.service import object_summary
    from internvideo_core.embedded import STRIPED_LOOK, square_uint8
    from internvideo_core.recipes import videomae_synth as VS

    recipe = VS.get_recipe("tutorial")
    torch.manual_seed(0)
    model = VS.build_pretrain_model(recipe).eval()
    frames, _ = render_clip("move right", np.random.default_rng(0), SynthConfig(size=64, **STRIPED_LOOK),
                            shape="square", colour="red")
    clip = square_uint8(torch.as_tensor(frames), recipe.render_size)[None]
    rec = tasks.reconstruct(model, VS.clips_to_input(clip, recipe), 0.9, seed=3)
    rep = VS.reconstruction_report(model, clip, recipe, "tube", 0.9, seed=3)
    assert rec.object_tubelets == round(rep["object_fraction"] * rec.mask.sum().item()) > 0
    assert rec.object_loss == pytest.approx(rep["object_model"], rel=1e-5)
    assert rec.object_mean_patch == pytest.approx(rep["object_mean_patch"], rel=1e-5)
    assert f"model / mean-patch = **{rec.object_ratio:.3f}**" in object_summary(rec)


def test_demo_checkpoint_option_takes_names_and_described_files(stand_ins, videos_dir):
    from internvideo_core.demo.user_checkpoint import checkpoint_choice
    from internvideo_core.demo.service import DemoService
    from internvideo_core.model_config import save_model
    from internvideo_core.registry import create_model

    assert checkpoint_choice("internvideo_mm_tiny_synth").kind == "embedded"
    with pytest.raises(ValueError, match="internvideo zoo download videomae_vit_base_k400"):
        checkpoint_choice("videomae_vit_base_k400")  # a released name that is not cached: never downloads
    with pytest.raises(ValueError, match="no such file, and not a model name"):
        checkpoint_choice(str(stand_ins / "nothing.safetensors"))
    # a model trained by `internvideo finetune`: its config.json says architecture, overrides and classes
    names = [f"my class {i}" for i in range(3)]
    model = create_model("videomae_vit_tiny_synth", num_classes=3, embed_dim=32, depth=1, num_heads=2)
    path = save_model(model, stand_ins / "mine" / "model.safetensors", arch="videomae_vit_tiny_synth",
                      overrides={"num_classes": 3, "embed_dim": 32, "depth": 1, "num_heads": 2}, class_names=names,
                      input={"num_frames": 8, "img_size": 24, "sampling_rate": 1, "sampling": "dense"},
                      command="internvideo finetune ...")
    service = DemoService("tutorial", synth_examples=0, example_dir=stand_ins / "ex", device="cpu",
                          checkpoints=[str(path.parent)])
    choice = service.choices["recognition"]
    assert (choice.kind, choice.task) == ("checkpoint", "recognition") and "your checkpoint" in choice.describe()
    top = service.recognize(videos_dir / "test.mp4", 3)
    assert set(top) == set(names) and abs(sum(top.values()) - 1) < 1e-4
    assert service.choices["video_text"].kind == "embedded"  # the other tasks keep their models


def test_demo_app_refuses_a_bad_checkpoint_in_one_line(stand_ins, capsys):
    spec = importlib.util.spec_from_file_location("internvideo_demo_app", REPO / "demos" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    with pytest.raises(SystemExit) as exc:
        app.main(["--checkpoint", "no_such_model", "--synth-examples", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--checkpoint no_such_model: no such file" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------- the shipped models
def test_the_shipped_models_have_cards_and_stay_small():
    total = 0
    for name, task in EMBEDDED.items():
        path = PACKAGE_MODELS / name / "model.safetensors"
        assert path.is_file(), f"{path} is missing: run python tools/build_embedded_models.py"
        cfg = json.loads(path.with_name("config.json").read_text())
        card = cfg["card"]
        assert cfg["architecture"] == name and card["seed"] == 0 and card["profile"] == "tutorial"
        assert card["command"].startswith("python tools/build_embedded_models.py")
        assert card["metrics"] and card["kit_version"] and card["data"]
        assert (PACKAGE_MODELS / name / "MODEL_CARD.md").is_file()
        total += path.stat().st_size
    assert total < 3.5 * 2**20, f"the embedded models weigh {total / 2**20:.1f} MiB"


def test_the_shipped_models_meet_their_targets():
    """What issue 13 asks of them, as their cards measured it on held-out SynthMotion clips."""
    def card(name: str) -> dict:
        return json.loads((PACKAGE_MODELS / name / "config.json").read_text())["card"]["metrics"]

    assert card("videomae_vit_tiny_synth")["top1"] >= 90.0  # issue 13: at least 90 % on held-out demo-style clips
    ae = card("videomae_pretrain_tiny_synth")  # on the striped look it learned: clearly better than the mean patch
    assert ae["object_ratio_to_mean_patch"] <= 0.75 and ae["loss_model"] < ae["loss_mean_patch"]
    assert ae["object_loss_model"] == pytest.approx(ae["object_ratio_to_mean_patch"] * ae["object_loss_mean_patch"],
                                                    abs=2e-3)
    assert ae["demo_striped_examples_worst_object_ratio"] <= 0.8
    assert {"flat_object_loss_model", "flat_object_ratio_to_mean_patch"} <= set(ae)  # the flat look, reported too
    mm = card("internvideo_mm_tiny_synth")
    assert mm["demo_examples_retrieval_rank1"] == "12 / 12" and mm["zero_shot_motion_top1 (demo labels, 12 motions)"] >= 80


def test_the_shipped_dual_encoder_stores_only_the_caption_rows_of_its_word_table():
    from safetensors import safe_open

    from internvideo_core.embedded import TOKEN_TABLE, caption_token_ids

    path = PACKAGE_MODELS / "internvideo_mm_tiny_synth" / "model.safetensors"
    with safe_open(str(path), framework="pt") as fh:
        keys = set(fh.keys())
        ids = fh.get_tensor(TOKEN_TABLE + ".sparse_row_ids")
    assert TOKEN_TABLE not in keys and ids.tolist() == caption_token_ids()
    model, _, _ = load_embedded("internvideo_mm_tiny_synth", use_runs=False)
    table = model.token_embedding.weight
    assert table.shape == (49408, 64) and table[ids].abs().sum(1).min() > 0
    others = torch.ones(len(table), dtype=torch.bool)
    others[ids] = False
    assert not table[others].any()  # the rows not stored are zeros


def test_the_shipped_autoencoder_beats_the_mean_patch_on_the_demo_s_striped_examples_as_its_card_says(fresh,
                                                                                                      monkeypatch):
    from internvideo_core.demo.service import EXAMPLE_PREFIX, DemoService

    monkeypatch.delenv("INTERNVIDEO_EMBEDDED_DIR", raising=False)
    service = DemoService("tutorial", synth_examples=0, example_dir=fresh / "ex", device="cpu")
    assert service.choices["reconstruction"].kind == "embedded" and len(service.striped()) == 3
    assert "striped" in service.reconstruction_note()
    card = json.loads((PACKAGE_MODELS / "videomae_pretrain_tiny_synth" / "config.json").read_text())["card"]["metrics"]
    ratios = [service.reconstruct(EXAMPLE_PREFIX + e.name, 0.9, 0)[2].object_ratio for e in service.striped()]
    assert " / ".join(f"{r:.3f}" for r in ratios) == card["demo_striped_examples_object_ratio (90 %, mask seed 0)"]
    assert max(ratios) <= card["demo_striped_examples_worst_object_ratio"] + 5e-4


def test_the_embedded_classifier_recognises_the_demo_s_first_example(fresh, monkeypatch):
    """The page opens on "a red circle moves to the left": the shipped classifier must say "move left"."""
    from internvideo_core.demo.service import EXAMPLE_PREFIX, DemoService
    from internvideo_core.demo.videos import SYNTH_EXAMPLES

    monkeypatch.delenv("INTERNVIDEO_EMBEDDED_DIR", raising=False)
    service = DemoService("tutorial", synth_examples=1, example_dir=fresh / "ex", device="cpu")
    assert service.choices["recognition"].kind == "embedded"
    first = [e for e in service.examples if e.origin == "SynthMotion"][0]
    top = service.recognize(EXAMPLE_PREFIX + first.name, 5)
    assert next(iter(top)) == SYNTH_EXAMPLES[0][0] == "move left", top


# ------------------------------------------------------------------------------------------- the README
SNIPPET = re.compile(r"<!-- snippet:quickstart -->\s*```python\n(.*?)```\s*<!-- /snippet -->", re.S)


def test_the_readme_python_snippet_runs_as_written_on_a_fresh_clone(fresh):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = SNIPPET.search(readme)
    if found is None:
        pytest.skip("README.md has no <!-- snippet:quickstart --> ... <!-- /snippet --> block yet")
    code = found.group(1)
    assert "load_pretrained(" in code and "sample_video(" in code and "preprocess(" in code
    env = {**os.environ, "INTERNVIDEO_RUNS": str(fresh / "runs"), "INTERNVIDEO_CACHE": str(fresh / "cache"),
           "INTERNVIDEO_OFFLINE": "1", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("INTERNVIDEO_EMBEDDED_DIR", None)
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", code], cwd=fresh, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    assert len(lines) >= 5 and "move down" in lines[0], run.stdout  # the bundled clip's true motion, first
    assert time.perf_counter() - start < 60


# ------------------------------------------------------------------------------------------- the browser
def _first_named(text: str, names) -> str:
    """The name that appears first in ``text`` (a gr.Label shows its top class first)."""
    found = [(text.find(n), n) for n in names if n in text]
    return min(found)[1] if found else ""


@pytest.mark.browser
@pytest.mark.slow
def test_browser_fresh_clone_all_four_tabs_work_on_the_embedded_models(fresh, monkeypatch):
    """A fresh clone's page (empty runs folder and cache): recognition says "move left" for the first example,
    zero-shot picks the left motion, retrieval puts that clip first for its caption, reconstruction draws.
    The screenshot goes to ``INTERNVIDEO_SCREENSHOT_DIR`` (default: the test's temporary folder)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install 'playwright>=1.40' (the kit's dev extra)")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        if os.environ.get("CI"):
            pytest.fail("CI has no /usr/bin/chromium: .ci/run must apt-get install -y chromium")
        pytest.skip("no /usr/bin/chromium: apt-get install -y chromium (never `playwright install`)")
    import socket

    from internvideo_core.demo.service import DemoService

    monkeypatch.delenv("INTERNVIDEO_EMBEDDED_DIR", raising=False)
    for var in ("NO_PROXY", "no_proxy"):  # Gradio checks that it can reach its own server
        monkeypatch.setenv(var, ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"])))
    spec = importlib.util.spec_from_file_location("internvideo_demo_app", REPO / "demos" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    service = DemoService("tutorial", example_dir=fresh / "examples", device="cpu")
    assert {c.kind for c in service.choices.values()} == {"embedded"}
    first = app.default_example(service)
    assert first.caption == "a red circle moves to the left"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = app.build_demo(service)
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    shot = Path(os.environ.get("INTERNVIDEO_SCREENSHOT_DIR", fresh)) / "demo_fresh_clone.png"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1400})
                page.set_default_timeout(120_000)
                page.goto(url)
                page.locator("#video-status").get_by_text(first.name, exact=False).wait_for()
                sources = page.inner_text("#model-sources")
                assert "internvideo_core/assets/models/videomae_vit_tiny_synth" in sources and "held-out" in sources
                assert str(REPO) not in sources and str(fresh) not in sources

                page.click("#recognize-btn")
                page.locator("#recognition-message").get_by_text(first.name, exact=False).wait_for()
                shown = page.inner_text("#recognition-labels")
                assert _first_named(shown, KNOWN_MOTIONS) == "move left", shown

                page.get_by_role("tab", name="Zero-shot labels").click()
                page.click("#zeroshot-btn")
                page.locator("#zeroshot-message").get_by_text("softmax over", exact=False).wait_for()
                labels = [lbl.strip() for lbl in page.input_value("#zs-labels textarea").split(",")]
                shown = page.inner_text("#zeroshot-labels")
                assert _first_named(shown, labels) == "shape moves to the left", shown

                page.get_by_role("tab", name="Text-to-video retrieval").click()
                page.click("#retrieve-btn")
                page.locator("#retrieval-table").get_by_text(first.name, exact=False).first.wait_for()
                table = page.inner_text("#retrieval-table")
                rows = [r for r in table.splitlines() if first.name in r]
                assert rows and rows[0].split()[0].strip("|") == "1", table

                page.get_by_role("tab", name="Masked reconstruction").click()
                page.click("#reconstruct-btn")
                page.locator("#reconstruction-message").get_by_text("tubelets masked", exact=False).wait_for()
                assert page.locator("#reconstruction img").count() >= 1
                assert "striped" in page.inner_text("#reconstruction-note")
                # a striped example (the look the autoencoder learned): clearly better than the mean patch, by
                # the margin the card states for the demo's striped examples
                striped = service.striped()[0].name
                page.click("#striped-btn")
                page.locator("#reconstruction-message").get_by_text(striped, exact=False).wait_for()
                page.locator("#video-status").get_by_text(striped, exact=False).wait_for()
                message = page.inner_text("#reconstruction-message")
                found = re.search(r"model / mean-patch = ([0-9.]+[0-9])", message)
                assert found, message
                card = json.loads((PACKAGE_MODELS / "videomae_pretrain_tiny_synth" / "config.json").read_text())
                worst = card["card"]["metrics"]["demo_striped_examples_worst_object_ratio"]
                assert float(found.group(1)) <= worst <= 0.8, (message, worst)
                page.screenshot(path=str(shot), full_page=True)
            finally:
                browser.close()
    finally:
        demo.close()
    assert shot.is_file()
