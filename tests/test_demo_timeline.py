"""The demo's action timeline tab: a tiny head and encoder give segments and a timeline for a rendered untrimmed
SynthMotion video (with its ground truth), and readable messages (never a traceback, no server path) for a missing
model, a changed encoder and bad uploads."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from internvideo_core.demo.service import DemoError, DemoService
from internvideo_core.demo.timeline import ActionTimeline, draw_timeline

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("one_thread")


def _save_models(profile: str = "smoke") -> None:
    """A randomly initialised smoke classifier (notebook 03's file) and a tiny head on its snippet features."""
    from internvideo_core.data.synthmotion import KNOWN_MOTIONS
    from internvideo_core.features.snippets import encoder_fn
    from internvideo_core.models.tal_head import TALHead, TALHeadConfig
    from internvideo_core.recipes import tal_synth
    from internvideo_core.recipes import videomae_synth as R

    torch.manual_seed(0)
    r = R.get_recipe(profile)
    R.save_classifier(R.build_classifier(r, len(KNOWN_MOTIONS)), r, KNOWN_MOTIONS)
    encoder = R.build_classifier(r, len(KNOWN_MOTIONS), R.classifier_checkpoint_path(profile)).eval()
    with torch.no_grad():
        dim = encoder_fn(encoder, "time")(torch.zeros(1, 3, r.num_frames, r.img_size, r.img_size)).shape[1]
    t = tal_synth.get_recipe(profile)
    head = TALHead(TALHeadConfig(in_dim=dim, num_classes=len(tal_synth.TAL_CLASSES), embed_dim=t.embed_dim,
                                 num_levels=t.num_levels))
    tal_synth.write_head(t, head, encoder, "finetuned", np.zeros(dim), np.ones(dim))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """``INTERNVIDEO_RUNS`` with the smoke models; yields (root, service)."""
    root = tmp_path_factory.mktemp("demo_timeline")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERNVIDEO_RUNS", str(root / "runs"))
        mp.setenv("INTERNVIDEO_CACHE", str(root / "cache"))
        mp.setenv("INTERNVIDEO_OFFLINE", "1")
        _save_models()
        yield root, DemoService(profile="smoke", synth_examples=0, example_dir=root / "examples", device="cpu")


def test_rendered_example_gives_segments_a_timeline_and_its_ground_truth(env):
    root, service = env
    tab = ActionTimeline(service)
    assert "notebook 08" in tab.status() and str(root) not in tab.status()
    ref, truth = tab.render_example()
    assert ref.startswith("example:") and str(root) not in ref
    assert truth and all(0 <= g["segment"][0] < g["segment"][1] for g in truth)
    assert service.resolve(ref).is_file()
    picture, text, dets = tab.detect(ref, min_score=0.0)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3 and picture.shape[1] >= 800
    assert dets and all({"label", "score", "segment"} <= set(d) for d in dets)
    assert [d["score"] for d in dets] == sorted((d["score"] for d in dets), reverse=True)
    duration = service.clip(ref).num_frames / 8.0
    assert all(0.0 <= d["segment"][0] < d["segment"][1] <= duration + 1e-6 for d in dets)
    assert "| action | start (s) |" in text and "Ground truth:" in text and truth[0]["label"] in text
    assert str(root) not in text
    # a higher threshold shows fewer rows; above every score: a message instead of an empty table
    top = dets[0]["score"]
    assert "lower the minimum score" in tab.detect(ref, min_score=min(1.0, top + 1e-3))[1]


def test_the_tab_encodes_a_rendered_video_exactly_as_the_feature_extractor_reads_its_file(env):
    from internvideo_core.features import extract_video_features

    _, service = env
    tab = ActionTimeline(service)
    tm, p = tab.model(), tab.model().protocol
    ref, _ = tab.render_example()
    frames, _ = tab._resampled_frames(ref, float(p["fps"]), int(p["short_side"]))
    kw = dict(clip_len=p["clip_len"], frame_interval=p["frame_interval"], stride=p["stride"], size=p["size"],
              short_side=p["short_side"], pool=p["pool"])
    ours = extract_video_features(tm.encoder, frames, fps=float(p["fps"]), **kw).features
    notebook = extract_video_features(tm.encoder, service.resolve(ref), **kw).features   # notebook 08's way
    np.testing.assert_array_equal(ours, notebook)


def test_draw_timeline_puts_the_ground_truth_in_an_extra_row():
    dets = [{"label": "grow", "score": 0.9, "segment": [1.0, 3.0]}, {"label": "shrink", "score": 0.5,
                                                                      "segment": [2.0, 4.0]}]
    without = draw_timeline(dets, 10.0, ["grow", "shrink"])
    with_truth = draw_timeline(dets, 10.0, ["grow", "shrink"], [{"label": "grow", "segment": [1.0, 2.5]}])
    assert with_truth.shape[0] > without.shape[0] and without.shape[2] == 3


def test_a_missing_head_or_a_changed_encoder_says_what_to_run(env, tmp_path, monkeypatch):
    root, service = env
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "empty"))
    missing = ActionTimeline(service)
    assert "No localization head yet" in missing.status() and "--only 08" in missing.status()
    assert str(tmp_path) not in missing.status()
    ref, _ = missing.render_example()                       # the example needs no model
    with pytest.raises(DemoError, match="notebook 08.*--only 08") as err:
        missing.detect(ref)
    assert str(tmp_path) not in str(err.value)
    # a head whose encoder file changed after training
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "changed"))
    _save_models()
    from internvideo_core.data.synthmotion import KNOWN_MOTIONS
    from internvideo_core.recipes import videomae_synth as R

    torch.manual_seed(1)
    R.save_classifier(R.build_classifier(R.get_recipe("smoke"), len(KNOWN_MOTIONS)), "smoke", KNOWN_MOTIONS)
    with pytest.raises(DemoError, match="changed since the head was trained"):
        ActionTimeline(service).detect(ref)


def test_bad_uploads_and_values_are_messages(env, tmp_path):
    root, service = env
    tab = ActionTimeline(service)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 10)
    with pytest.raises(DemoError) as err:
        tab.detect(str(broken))
    assert "broken.mp4" in str(err.value) and str(tmp_path) not in str(err.value)
    with pytest.raises(DemoError, match="No video"):
        tab.detect(None)
    ref, _ = tab.render_example()
    with pytest.raises(DemoError, match="minimum score"):
        tab.detect(ref, min_score=2.0)
    # a file outside the upload folder is refused once the page restricts the service
    restricted = DemoService(profile="smoke", synth_examples=0, example_dir=root / "examples", device="cpu")
    restricted.restrict_to(tmp_path / "uploads")
    other = ActionTimeline(restricted)
    with pytest.raises(DemoError, match="not uploaded through this page"):
        other.detect(str(service.resolve(ref)))
    other_ref, _ = other.render_example()                   # a rendered example stays allowed
    assert other.detect(other_ref, 0.0)[2]


def test_page_has_the_timeline_tab(env):
    import gradio as gr

    _, service = env
    spec = importlib.util.spec_from_file_location("internvideo_demo_app_timeline", REPO / "demos" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    demo = app.build_demo(service)
    assert isinstance(demo, gr.Blocks)
    text = json.dumps(demo.config, default=str)
    assert "timeline-btn" in text and "Action timeline" in text and "tal_synth_head" in text
