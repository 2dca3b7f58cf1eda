"""Spatio-temporal action detection: the RoI head, box conversions, AVA result files and `internvideo eval-ava`."""
from __future__ import annotations

import json

import pytest
import torch

from internvideo_core.data.boxes import extend_boxes, normalised_to_pixels, pixels_to_normalised
from internvideo_core.models.roi_head import ActionDetector, RoIActionHead, ava_bce_loss, time_pooled_map

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_encoder(img_size: int = 32):
    from internvideo_core.registry import create_model

    torch.manual_seed(0)
    enc = create_model("videomae_vit_tiny_synth", img_size=img_size, patch_size=8, num_frames=4, tubelet_size=2,
                       embed_dim=16, depth=1, num_heads=2, num_classes=1)
    enc.reset_classifier(0)
    return enc


def test_time_pooled_map_is_the_mean_over_time_of_the_token_grid():
    tokens = torch.randn(2, 3 * 4 * 5, 7)
    fmap = time_pooled_map(tokens, (3, 4, 5))
    assert fmap.shape == (2, 7, 4, 5)
    # token (t, h, w) sits at index t*20 + h*5 + w
    expected = torch.stack([tokens[:, t * 20 + 2 * 5 + 3] for t in range(3)]).mean(0)
    torch.testing.assert_close(fmap[:, :, 2, 3], expected)
    with pytest.raises(ValueError, match="grid"):
        time_pooled_map(tokens, (2, 4, 5))


def test_roi_head_max_pools_the_cells_of_each_box():
    head = RoIActionHead(3, 2, resolution=2, spatial_scale=1.0, sampling_ratio=1)
    fmap = torch.zeros(1, 3, 8, 8)
    fmap[0, :, 1, 1] = 5.0           # inside box 0, outside box 1
    boxes = [torch.tensor([[0.0, 0.0, 4.0, 4.0], [4.0, 4.0, 8.0, 8.0]])]
    feats = head.roi_features(fmap, boxes)
    assert feats.shape == (2, 3)
    assert feats[0].min() > 0 and torch.all(feats[1] == 0)
    head_avg = RoIActionHead(3, 2, resolution=2, spatial_scale=1.0, sampling_ratio=1, pool="avg")
    assert torch.all(head_avg.roi_features(fmap, boxes)[0] < feats[0])
    with pytest.raises(ValueError, match="pool"):
        RoIActionHead(3, 2, pool="sum")


def test_action_detector_shapes_and_gradients_reach_the_encoder():
    det = ActionDetector(_tiny_encoder(), num_classes=5, resolution=3)
    x = torch.randn(2, 3, 4, 32, 32)
    boxes = [torch.tensor([[0.0, 0.0, 16.0, 16.0]]), torch.tensor([[8.0, 8.0, 30.0, 30.0], [1.0, 2.0, 9.0, 20.0]])]
    assert det.feature_map(x).shape == (2, 16, 4, 4)
    logits = det(x, boxes)
    assert logits.shape == (3, 5)
    target = torch.zeros(3, 5)
    target[0, 1] = target[2, 4] = 1
    ava_bce_loss(logits, target).backward()
    assert det.encoder.patch_embed.proj.weight.grad.abs().sum() > 0
    assert det.head.fc.weight.grad.abs().sum() > 0
    # the same boxes as one [K, 5] tensor with batch indices
    rois = torch.cat([torch.tensor([[0.0], [1.0], [1.0]]), torch.cat(boxes)], 1)
    torch.testing.assert_close(det(x, rois), logits)


def test_each_box_only_sees_its_own_clip():
    det = ActionDetector(_tiny_encoder(), num_classes=2, resolution=3).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    boxes = [torch.tensor([[0.0, 0.0, 31.0, 31.0]]), torch.tensor([[0.0, 0.0, 31.0, 31.0]])]
    a = det(x, boxes)
    x2 = x.clone()
    x2[1] = torch.randn(3, 4, 32, 32)
    b = det(x2, boxes)
    torch.testing.assert_close(a[0], b[0])
    assert not torch.allclose(a[1], b[1])


def test_ava_bce_loss_is_the_mean_binary_cross_entropy():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 0.5]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.sigmoid(logits)
    manual = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    torch.testing.assert_close(ava_bce_loss(logits, y), manual)


def test_boxes_normalised_to_pixels_and_back():
    b = torch.tensor([[0.1, 0.2, 0.5, 1.0], [0.0, 0.0, 1.0, 1.0]])
    px = normalised_to_pixels(b, 320, 240)
    torch.testing.assert_close(px, torch.tensor([[32.0, 48.0, 160.0, 240.0], [0.0, 0.0, 320.0, 240.0]]))
    torch.testing.assert_close(pixels_to_normalised(px, 320, 240), b)
    with pytest.raises(ValueError, match=r"\[K, 4\]"):
        normalised_to_pixels(torch.zeros(4), 10, 10)


def test_extend_boxes_pads_half_of_scale_times_size_plus_one_and_clips():
    b = torch.tensor([[10.0, 20.0, 29.0, 59.0], [0.0, 0.0, 99.0, 99.0]])
    out = extend_boxes(b, (0.1, 0.05), 100, 100)
    # width 29 - 10 + 1 = 20 -> pad 1.0; height 59 - 20 + 1 = 40 -> pad 1.0
    torch.testing.assert_close(out[0], torch.tensor([9.0, 19.0, 30.0, 60.0]))
    torch.testing.assert_close(out[1], torch.tensor([0.0, 0.0, 99.0, 99.0]))


# ------------------------------------------------------------------------------------------ AVA result files
def _ground_truth():
    return [("vidA", 1, 0.1, 0.1, 0.4, 0.5, 1, 0), ("vidA", 1, 0.1, 0.1, 0.4, 0.5, 6, 0),
            ("vidA", 1, 0.5, 0.5, 0.9, 0.9, 2, 1), ("vidB", 3, 0.2, 0.3, 0.6, 0.7, 5, 0),
            ("vidB", 2, 0.2, 0.3, 0.6, 0.7, 5, 0)]


def test_perfect_detections_written_and_read_back_score_map_one(tmp_path):
    from internvideo_core.data.ava_annotations import read_ava_csv
    from internvideo_core.eval.ava_results import ava_detection_rows, write_ava_csv
    from internvideo_core.eval.detection import ava_frame_map

    gt = _ground_truth()
    rows = []
    for (vid, ts) in sorted({(r[0], r[1]) for r in gt}):
        boxes = sorted({tuple(r[2:6]) for r in gt if r[:2] == (vid, ts)})
        scores = torch.tensor([[1.0 if any(r[:2] == (vid, ts) and tuple(r[2:6]) == b and r[6] == a for r in gt)
                                else 0.0 for a in range(1, 8)] for b in boxes])
        rows += ava_detection_rows(vid, ts, torch.tensor(boxes), scores, list(range(1, 8)))
    assert len(rows) == 4 * 7 and all(len(r) == 8 for r in rows)
    gt_path, det_path = write_ava_csv(tmp_path / "gt.csv", gt), write_ava_csv(tmp_path / "det.csv", rows)
    assert gt_path.read_text().splitlines()[0] == "vidA,0001,0.100,0.100,0.400,0.500,1,0"
    back = read_ava_csv(det_path, detections=True)
    assert [(r[0], r[1], r[6]) for r in back] == [(r[0], r[1], r[6]) for r in rows]
    assert [v for r in back for v in r[2:6]] == pytest.approx([v for r in rows for v in r[2:6]], abs=5e-4)
    assert [r[7] for r in back] == pytest.approx([r[7] for r in rows])
    res = ava_frame_map(read_ava_csv(gt_path), back)
    assert res["mAP"] == pytest.approx(1.0)
    assert set(res["per_class"]) == {1, 2, 5, 6}
    # excluding vidB,2 changes nothing for perfect detections; dropping a detection lowers the mAP
    assert ava_frame_map(read_ava_csv(gt_path), back[7:])["mAP"] < 1.0


def test_detection_rows_check_the_number_of_action_ids():
    from internvideo_core.eval.ava_results import ava_detection_rows

    with pytest.raises(ValueError, match="action ids"):
        ava_detection_rows("v", 1, torch.zeros(2, 4), torch.zeros(2, 3), [1, 2])
    assert len(ava_detection_rows("v", 1, torch.zeros(2, 4), torch.tensor([[0.1, 0.9], [0.5, 0.2]]), [4, 8],
                                  min_score=0.3)) == 2


def test_eval_ava_command_equals_ava_frame_map(tmp_path, capsys):
    from internvideo_core.cli import main
    from internvideo_core.eval.ava_results import write_ava_csv
    from internvideo_core.eval.detection import ava_frame_map

    gt = _ground_truth()
    det = [("vidA", 1, 0.1, 0.1, 0.4, 0.5, 1, 0.9), ("vidA", 1, 0.5, 0.5, 0.9, 0.9, 1, 0.8),
           ("vidA", 1, 0.52, 0.5, 0.9, 0.9, 2, 0.3), ("vidB", 3, 0.2, 0.3, 0.6, 0.7, 5, 0.4),
           ("vidB", 3, 0.6, 0.6, 0.9, 0.9, 5, 0.7), ("vidB", 2, 0.6, 0.6, 0.9, 0.9, 5, 0.99),
           ("vidA", 1, 0.1, 0.1, 0.4, 0.5, 6, 0.2)]
    write_ava_csv(tmp_path / "gt.csv", gt)
    write_ava_csv(tmp_path / "det.csv", det)
    (tmp_path / "labels.pbtxt").write_text(
        "".join(f'item {{\n  name: "act{i}"\n  id: {i}\n}}\n' for i in (1, 2, 5, 6, 7)))
    (tmp_path / "excluded.csv").write_text("vidB,0002\n")
    out = tmp_path / "metrics.json"
    rc = main(["eval-ava", "--ground-truth", str(tmp_path / "gt.csv"), "--detections", str(tmp_path / "det.csv"),
               "--label-map", str(tmp_path / "labels.pbtxt"), "--excluded", str(tmp_path / "excluded.csv"),
               "--output", str(out)])
    assert rc == 0
    expected = ava_frame_map(gt, det, excluded=[("vidB", 2)], classes=[1, 2, 5, 6, 7])
    got = json.loads(out.read_text())
    assert got["mAP"] == pytest.approx(expected["mAP"])
    assert 0 < got["mAP"] < 1
    for c, ap in expected["per_class"].items():
        assert (got["per_class"][str(c)] is None) if ap != ap else got["per_class"][str(c)] == pytest.approx(ap)
    assert got["per_class"]["7"] is None and got["names"]["5"] == "act5" and got["num_excluded"] == 1
    text = capsys.readouterr().out
    assert f"{100 * expected['mAP']:5.2f}" in text and "act6" in text
    # without the exclusion the false positive at vidB,2 counts
    rc = main(["eval-ava", "--ground-truth", str(tmp_path / "gt.csv"), "--detections", str(tmp_path / "det.csv"),
               "--output", str(out)])
    assert rc == 0
    assert json.loads(out.read_text())["mAP"] == pytest.approx(ava_frame_map(gt, det)["mAP"])


def test_eval_ava_command_reports_a_malformed_file_without_traceback(tmp_path, capsys):
    from internvideo_core.cli import main

    (tmp_path / "gt.csv").write_text("vidA,0001,0.1,0.1,0.4,0.5,1,0\n")
    (tmp_path / "det.csv").write_text("vidA,0001,0.1,0.1,0.4\n")
    rc = main(["eval-ava", "--ground-truth", str(tmp_path / "gt.csv"), "--detections", str(tmp_path / "det.csv")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "det.csv:1" in err and "columns" in err
    rc = main(["eval-ava", "--ground-truth", str(tmp_path / "missing.csv"), "--detections",
               str(tmp_path / "det.csv")])
    assert rc == 2 and "missing.csv" in capsys.readouterr().err
