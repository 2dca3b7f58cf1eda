"""``internvideo train-tal`` on a feature folder + ActivityNet JSON written here, then ``eval-tal`` on its output."""
from __future__ import annotations

import json

import numpy as np
import pytest

from internvideo_core.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Toy snippet features (feature 0 / 1 on during a 'jump' / 'run') in the extract-features layout."""
    d = tmp_path_factory.mktemp("tal")
    feats_dir = d / "feats"
    feats_dir.mkdir()
    rng = np.random.default_rng(0)
    database = {}
    for i in range(12):
        n = 40
        f = rng.normal(0, 0.1, (n, 4)).astype(np.float32)
        s = int(rng.integers(3, 24))
        e = s + int(rng.integers(6, 12))
        c = i % 2
        f[s:e, c] += 2.0
        vid = f"vid{i:02d}"
        np.save(feats_dir / f"v_{vid}.npy", f)                     # ActivityNet-style v_ prefix is found
        rec = {"fps": 4.0, "feat_stride": 1, "num_frames": 1, "num_snippets": n, "dim": 4}
        (feats_dir / f"v_{vid}.json").write_text(json.dumps(rec))
        # snippet k is centred at (k + 0.5) / 4 s: the snippets s .. e-1 cover [s / 4, e / 4]
        database[vid] = {"subset": "training" if i < 10 else "validation", "duration": n / 4.0,
                         "annotations": [{"segment": [s / 4.0, e / 4.0], "label": ["jump", "run"][c]}]}
    ann = d / "anet.json"
    ann.write_text(json.dumps({"version": "1.3", "database": database}))
    return feats_dir, ann, d


def test_train_tal_trains_writes_anet_results_and_a_rerun_with_the_head_gives_the_same_detections(dataset, capsys):
    feats, ann, d = dataset
    out = d / "run"
    assert main(["train-tal", "--features", str(feats), "--annotations", str(ann), "--output", str(out),
                 "--epochs", "40", "--lr", "3e-3", "--embed-dim", "32", "--num-levels", "3", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "average mAP" in text
    results = json.loads((out / "results.json").read_text())["results"]
    assert sorted(results) == ["vid10", "vid11"]
    top = results["vid10"][0]
    assert set(top) == {"label", "score", "segment"} and top["label"] == "jump"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mAP_per_tiou"][0] > 0.5                         # mAP@0.5 on two easy videos
    assert main(["eval-tal", "--ground-truth", str(ann), "--predictions", str(out / "results.json"),
                 "--output", str(d / "eval.json")]) == 0
    assert json.loads((d / "eval.json").read_text())["average_mAP"] == pytest.approx(metrics["average_mAP"])
    again = d / "again"
    assert main(["train-tal", "--features", str(feats), "--annotations", str(ann), "--output", str(again),
                 "--head", str(out / "head.safetensors"), "--epochs", "0", "--quiet"]) == 0
    assert json.loads((again / "results.json").read_text())["results"] == results


def test_train_tal_without_training_videos_or_a_head_says_what_to_do(dataset, capsys):
    feats, ann, d = dataset
    assert main(["train-tal", "--features", str(feats), "--annotations", str(ann), "--output", str(d / "x"),
                 "--train-subset", "testing", "--quiet"]) == 2
    assert "no training videos" in capsys.readouterr().err
    assert main(["train-tal", "--features", str(feats), "--annotations", str(ann), "--output", str(d / "y"),
                 "--epochs", "0"]) == 2
    assert "needs --head" in capsys.readouterr().err


def test_train_tal_reads_actionformers_thumos14_json_with_its_subset_names(dataset, tmp_path):
    feats, ann, _ = dataset
    db = json.loads(ann.read_text())["database"]
    for i, (vid, entry) in enumerate(db.items()):                  # thumos14.json: Validation / Test, label_id, fps
        entry["subset"] = "Validation" if entry["subset"] == "training" else "Test"
        entry["fps"] = 30.0
        for a in entry["annotations"]:
            a["label_id"] = ["jump", "run"].index(a["label"])
    thumos = tmp_path / "thumos14.json"
    thumos.write_text(json.dumps({"database": db}))
    out = tmp_path / "run"
    assert main(["train-tal", "--features", str(feats), "--annotations", str(thumos), "--output", str(out),
                 "--train-subset", "Validation", "--eval-subset", "Test", "--thresholds", "thumos", "--epochs", "3",
                 "--embed-dim", "16", "--num-levels", "2", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tiou_thresholds"] == pytest.approx([0.3, 0.4, 0.5, 0.6, 0.7]) and metrics["num_videos"] == 2
