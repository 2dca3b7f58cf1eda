"""The demo's key-frame action detection tab: box parsing, a tiny detector on a real and a rendered clip, and
readable messages (never a traceback) when the detector, the boxes or the key frame are wrong."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from internvideo_core.demo.detection import KeyFrameDetection, format_boxes, parse_boxes
from internvideo_core.demo.service import DemoError, DemoService
from internvideo_core.paths import sample_video

REPO = Path(__file__).resolve().parents[1]
REAL = sample_video("demo_spatiotemporal_det.mp4")

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """``INTERNVIDEO_RUNS`` holding a randomly initialised smoke-size detector; yields (root, service)."""
    from internvideo_core.recipes import ava_synth
    from internvideo_core.data.synthmotion import AVA_CLASSES

    root = tmp_path_factory.mktemp("demo_det")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERNVIDEO_RUNS", str(root / "runs"))
        mp.setenv("INTERNVIDEO_CACHE", str(root / "cache"))
        mp.setenv("INTERNVIDEO_OFFLINE", "1")
        torch.manual_seed(0)
        r = ava_synth.get_recipe("smoke")
        ava_synth.save_detector(r, ava_synth.build_detector(r, len(AVA_CLASSES)), AVA_CLASSES,
                                range(1, len(AVA_CLASSES) + 1))
        yield root, DemoService(profile="smoke", synth_examples=0, example_dir=root / "examples", device="cpu")


def test_parse_boxes_reads_lines_and_says_what_is_wrong():
    boxes = parse_boxes("0.1, 0.2, 0.5, 0.9\n\n0 0 1 1; 0.25,0.25,0.75,0.75")
    torch.testing.assert_close(boxes, torch.tensor([[0.1, 0.2, 0.5, 0.9], [0, 0, 1, 1], [0.25, 0.25, 0.75, 0.75]]))
    torch.testing.assert_close(parse_boxes(format_boxes(boxes)), boxes)
    for bad, why in (("", "at least one"), ("0.1, 0.2, 0.5", "four numbers"), ("a, b, c, d", "four numbers"),
                     ("0.5, 0.2, 0.1, 0.9", "x1 < x2"), ("10, 20, 100, 200", "0..1")):
        with pytest.raises(ValueError, match=why):
            parse_boxes(bad)


def test_detect_on_the_real_clip_draws_every_box_with_scores(env):
    _, service = env
    tab = KeyFrameDetection(service)
    assert "notebook 09" in tab.status() and "not** AVA" in tab.status()
    picture, table = tab.detect(str(REAL), "0.00, 0.00, 0.50, 1.00\n0.38, 0.00, 1.00, 0.85", -1)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    assert "move left" in table and "| 2 |" in table and "Key frame 28" in table
    scores = [float(v) for v in table.splitlines()[-1].split("|")[2:-1]]
    assert len(scores) == 7 and all(0.0 <= v <= 1.0 for v in scores)
    # a key frame given in seconds
    assert "Key frame 6 " in tab.detect(str(REAL), "0, 0, 1, 1", 1.0)[1]


def test_rendered_scene_comes_with_its_boxes(env):
    _, service = env
    tab = KeyFrameDetection(service)
    service.restrict_to(service.example_dir / "uploads-only")  # as on the page: only uploads and examples open
    path, text, second = tab.render_scene()
    assert path.startswith("example:") and second == 1.0
    assert service.resolve(path).is_file()  # a registered example: the page's file checks accept it
    boxes = parse_boxes(text)
    assert 2 <= len(boxes) <= 3
    picture, table = tab.detect(path, text, second)
    assert f"| {len(boxes)} |" in table and picture.shape[0] >= 64


def test_visitor_mistakes_and_a_missing_detector_are_messages(env, tmp_path, monkeypatch):
    _, service = env
    tab = KeyFrameDetection(service)
    with pytest.raises(DemoError, match="four numbers"):
        tab.detect(str(REAL), "0.1, 0.2", -1)
    with pytest.raises(DemoError, match="outside the clip"):
        tab.detect(str(REAL), "0, 0, 1, 1", 60.0)
    with pytest.raises(DemoError, match="No video"):
        tab.detect(None, "0, 0, 1, 1", -1)
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "empty"))
    missing = KeyFrameDetection(service)
    assert "No detector yet" in missing.status()
    with pytest.raises(DemoError, match="notebook"):
        missing.detect(str(REAL), "0, 0, 1, 1", -1)


def test_page_has_the_detection_tab(env):
    import gradio as gr

    _, service = env
    spec = importlib.util.spec_from_file_location("internvideo_demo_app_det", REPO / "demos" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    demo = app.build_demo(service)
    assert isinstance(demo, gr.Blocks)
    text = json.dumps(demo.config, default=str)
    assert "det-btn" in text and "Key-frame action detection" in text and "ava_synth_detector" in text
