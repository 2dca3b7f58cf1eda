"""AVA result rows and files, exactly: one row per (box, action) with Python types, the score threshold kept
inclusive, the released files' number formats, and an atomic write that leaves no temporary file."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from internvideo_core.eval.ava_results import ava_detection_rows, write_ava_csv


def test_rows_are_one_per_box_and_action_in_order_with_python_types():
    boxes = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.75, 1.0]], dtype=torch.float32)
    scores = torch.tensor([[0.25, 0.5], [0.125, 1.0]])
    rows = ava_detection_rows(7, "902", boxes, scores, [12, 80])
    assert rows == [("7", 902, pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3), pytest.approx(0.4), 12, 0.25),
                    ("7", 902, pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3), pytest.approx(0.4), 80, 0.5),
                    ("7", 902, 0.5, 0.5, 0.75, 1.0, 12, 0.125),
                    ("7", 902, 0.5, 0.5, 0.75, 1.0, 80, 1.0)]
    assert [tuple(type(v) for v in r) for r in rows] == [(str, int, float, float, float, float, int, float)] * 4


def test_one_box_may_be_given_flat_as_python_floats_which_are_kept_exactly():
    rows = ava_detection_rows("v", 1, [0.1, 0.2, 0.3, 0.7], [0.3, 0.6, 0.9], [1, 2, 3])
    assert rows == [("v", 1, 0.1, 0.2, 0.3, 0.7, 1, 0.3), ("v", 1, 0.1, 0.2, 0.3, 0.7, 2, 0.6),
                    ("v", 1, 0.1, 0.2, 0.3, 0.7, 3, 0.9)]               # not rounded through float32


def test_the_score_threshold_keeps_scores_equal_to_it():
    rows = ava_detection_rows("v", 1, torch.zeros(1, 4), torch.tensor([[0.25, 0.5, 0.75]]), [1, 2, 3], min_score=0.5)
    assert [r[6] for r in rows] == [2, 3]
    kept = ava_detection_rows("v", 1, torch.zeros(1, 4), torch.tensor([[0.0, -0.0]]), [1, 2])
    assert len(kept) == 2                                       # the default 0 keeps zero scores


def test_a_score_column_count_that_differs_from_the_action_ids_is_refused():
    with pytest.raises(ValueError, match=r"^scores have 3 columns but 2 action ids were given$"):
        ava_detection_rows("v", 1, torch.zeros(2, 4), torch.zeros(2, 3), [1, 2])


def test_files_use_the_released_number_formats(tmp_path):
    rows = [("vidA", 5, 0.12345, 0.5, 1, 0.9996, 3),                          # 7 fields: no score
            ("vidA", 1234, 0.1, 0.2, 0.3, 0.4, 2, 7),                         # an int 8th field: a person id
            ("vidB", 12, 0.1, 0.2, 0.3, 0.4, 2.0, 0.123456789)]               # a float 8th field: a score
    path = write_ava_csv(tmp_path / "out" / "sub" / "det.csv", rows)
    assert path == tmp_path / "out" / "sub" / "det.csv"
    assert path.read_bytes() == (b"vidA,0005,0.123,0.500,1.000,1.000,3\n"
                                 b"vidA,1234,0.100,0.200,0.300,0.400,2,7\n"
                                 b"vidB,0012,0.100,0.200,0.300,0.400,2,0.123457\n")
    assert sorted(p.name for p in path.parent.iterdir()) == ["det.csv"]    # no temporary file left


def test_writing_replaces_an_existing_file(tmp_path):
    (tmp_path / "det.csv").write_text("old\n")
    write_ava_csv(str(tmp_path / "det.csv"), [("v", 1, 0, 0, 1, 1, 1, 0.5)])
    assert (tmp_path / "det.csv").read_text() == "v,0001,0.000,0.000,1.000,1.000,1,0.500000\n"


@pytest.mark.parametrize("row", [("v", 1, 0, 0, 1, 1), ("v", 1, 0, 0, 1, 1, 1, 0.5, 9)])
def test_rows_of_the_wrong_length_are_refused_and_nothing_is_written(tmp_path, row):
    with pytest.raises(ValueError, match=r"^AVA rows have 7 or 8 fields \(video, t, x1, y1, x2, y2, action\[, score\]\)"
                                         r", got \('v', 1"):
        write_ava_csv(tmp_path / "det.csv", [row])
    assert list(tmp_path.iterdir()) == []


def test_the_file_is_written_to_a_hidden_temporary_file_beside_it_then_renamed(tmp_path, monkeypatch):
    """Atomic: the rename stays on one filesystem (same folder) and a crash leaves a hidden ``.det.csv.*.tmp``
    that no ``*.csv`` glob picks up."""
    import os

    from internvideo_core.eval import ava_results

    renames = []
    real = os.replace

    def replace(src, dst):
        renames.append((src, dst))
        assert open(src, encoding="utf-8").read() == "v,0001,0.000,0.000,1.000,1.000,1,0.500000\n"
        real(src, dst)

    monkeypatch.setattr(ava_results.os, "replace", replace)
    write_ava_csv(tmp_path / "det.csv", [("v", 1, 0, 0, 1, 1, 1, 0.5)])
    ((src, dst),) = renames
    src = Path(src)
    assert Path(dst) == tmp_path / "det.csv" and src.parent == tmp_path
    assert src.name.startswith(".det.csv.") and src.name.endswith(".tmp")
