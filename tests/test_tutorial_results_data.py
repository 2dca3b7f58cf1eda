"""Claims of notebook 01 (video data) in the tutorial profile (``make run``, then ``pytest -m tutorial_results``)."""
import pytest

pytestmark = pytest.mark.tutorial_results


def test_01_synthmotion_is_written_in_the_real_formats_and_read_back(tutorial_results):
    r = tutorial_results("01_video_data")
    assert r["num_known_motions"] == 12 and r["num_heldout_motions"] == 2
    assert r["videos_written"] >= 1000 and r["train_rows"] == 600
    assert r["look_inside_equal"] is True  # the ten-line dense sampler equals sampling.dense_indices


def test_01_runs_within_its_share_of_the_tutorial_budget(tutorial_results):
    # kernel CPU time (wall time depends on the machine's load: 18 s idle, 89 s at load 20)
    assert tutorial_results("01_video_data")["cpu_seconds"] < 40
