"""Notebook 12's recipe reads its snippet features from the kit's extractor output, not from a copy of it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from internvideo_core.data.synthmotion_ego4d import EgoSizes
from internvideo_core.features import extract_video_features
from internvideo_core.recipes import ego4d_synth
from internvideo_core.registry import create_model

pytestmark = pytest.mark.usefixtures("one_thread")


def test_split_features_are_the_extractors_features_of_the_written_mp4_files(tmp_path):
    sizes = EgoSizes(train_videos=2, val_videos=1, num_frames=40, size=48)
    recipe = ego4d_synth.get_recipe("smoke", sizes=sizes)
    assert recipe.profile == "smoke"
    torch.manual_seed(0)
    model = create_model("internvideo_mm_tiny_synth").eval()
    split = ego4d_synth.load_split(recipe, 0, "train", tmp_path)
    feats = ego4d_synth.split_features(recipe, 0, model, split, tmp_path, model.config.context_length)
    # (40 - 16) // 8 + 1 snippets of 4 frames 5 apart, every 8 frames, as `internvideo extract-features` cuts them
    assert feats.video.shape[:2] == (2, 4)
    uid = feats.clip_uids[0]
    direct = extract_video_features(model, split.videos[uid], **ego4d_synth.snippet_protocol(recipe, model))
    np.testing.assert_array_equal(feats.video[0].numpy(), direct.features)
    np.testing.assert_allclose(feats.centre_times[0].numpy(), direct.centre_times)
    # every answer lies inside its cells, and the cells tile the clip
    for q, s, e, v in zip(feats.queries, feats.start, feats.end, feats.episode):
        cells = feats.cells(int(v))
        assert cells[s, 0] <= q.clip_start_sec + 1e-6 and q.clip_end_sec <= cells[e, 1] + 1e-6
    assert feats.windows[0, 0, 0] == 0 and feats.windows[0, -1, 1] == pytest.approx(20.0)
    # a rerun finds the clips and the features already there
    before = {p: p.stat().st_mtime_ns for p in split.videos.values()}
    again = ego4d_synth.load_split(recipe, 0, "train", tmp_path)
    assert {p: p.stat().st_mtime_ns for p in again.videos.values()} == before
