"""QA head files: a saved head reads back as the same head with its vocabulary (both fusions, non-default sizes);
a released InternVideo QA file and a foreign file are refused with messages that say what they are and what to do."""
from __future__ import annotations

import pytest
import torch

from internvideo_core.eval.qa_heads import (
    HEAD_FORMAT, QAHeadError, describe_released_qa_checkpoint, load_qa_head, save_qa_head,
)
from internvideo_core.models.heads import VideoQAHead


@pytest.mark.parametrize("fusion, video", [("mlp", torch.randn(3, 6)), ("attention", torch.randn(3, 4, 6))])
def test_a_saved_head_loads_back_equal_with_its_config_and_vocabulary(tmp_path, fusion, video):
    torch.manual_seed(0)
    head = VideoQAHead(6, 5, 3, hidden=8, fusion=fusion, num_heads=2).eval()
    path = save_qa_head(tmp_path / "sub" / "head.pt", head, ["yes", "no", "two"])
    assert path == tmp_path / "sub" / "head.pt" and path.is_file()
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == HEAD_FORMAT == "internvideo-qa-head-1"
    assert raw["config"] == {"video_dim": 6, "text_dim": 5, "num_answers": 3, "hidden": 8, "fusion": fusion,
                             "num_heads": 2}
    assert raw["vocab"] == ["yes", "no", "two"]
    loaded, vocab = load_qa_head(path)
    assert vocab == ["yes", "no", "two"] and not loaded.training
    assert (loaded.fusion, loaded.num_heads, loaded.num_answers) == (fusion, 2, 3)
    question = torch.randn(3, 5)
    torch.testing.assert_close(loaded(video, question), head(video, question), rtol=0, atol=0)


def test_the_vocabulary_must_have_one_answer_per_output(tmp_path):
    head = VideoQAHead(4, 4, 3, hidden=8)
    with pytest.raises(ValueError, match="vocabulary has 2 answers, the head 3"):
        save_qa_head(tmp_path / "h.pt", head, ["a", "b"])
    assert not (tmp_path / "h.pt").exists()


def test_vocabulary_entries_are_read_back_as_strings(tmp_path):
    head = VideoQAHead(4, 4, 2, hidden=8)
    save_qa_head(tmp_path / "h.pt", head, ["1", "2"])
    raw = torch.load(tmp_path / "h.pt", weights_only=True)
    raw["vocab"] = [1, 2]                                              # a hand-edited file with numbers
    torch.save(raw, tmp_path / "h.pt")
    assert load_qa_head(tmp_path / "h.pt")[1] == ["1", "2"]


def test_a_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="QA head file not found: .*nowhere.pt"):
        load_qa_head("nowhere.pt")


def _released(with_proj: bool) -> dict:
    t = {"vqa_classifier.1.weight": torch.zeros(8, 4), "vqa_classifier.5.weight": torch.zeros(7, 8),
         "caption_decoder.a": torch.zeros(1), "caption_decoder.b": torch.zeros(1), "clip.x": torch.zeros(1)}
    if with_proj:
        t.update({"clip.visual_proj": torch.zeros(1), "clip.text_projection": torch.zeros(1)})
    return t


def test_the_released_layout_is_described_from_its_tensors():
    assert describe_released_qa_checkpoint(_released(False)) == {
        "classifier_in": 4, "num_answers": 7, "caption_decoder_tensors": 2, "has_visual_proj": False,
        "has_text_projection": False}
    facts = describe_released_qa_checkpoint(_released(True))
    assert facts["has_visual_proj"] is True and facts["has_text_projection"] is True
    assert describe_released_qa_checkpoint({})["classifier_in"] is None
    assert describe_released_qa_checkpoint({})["num_answers"] is None


@pytest.mark.parametrize("wrapped", [True, False])
def test_a_released_qa_checkpoint_is_refused_with_its_layout_and_how_to_train_a_head(tmp_path, wrapped):
    tensors = _released(False)
    torch.save({"state_dict": tensors} if wrapped else tensors, tmp_path / "msrvtt.ckpt")
    with pytest.raises(QAHeadError) as err:
        load_qa_head(tmp_path / "msrvtt.ckpt")
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'msrvtt.ckpt'} is a released InternVideo QA checkpoint (vqa_classifier "
                          "input 4 = video + question + caption-decoder features, 7 answers, 2 caption_decoder "
                          "tensors, visual_proj absent, text_projection absent). Its classifier needs the official "
                          "caption decoder, which the kit does not implement, so it cannot be loaded. Train the "
                          "kit's head on the real training split instead: internvideo eval-qa ... "
                          "--train-annotation train_qa.json --train-head head.pt")
    torch.save(_released(True), tmp_path / "msrvtt.ckpt")
    with pytest.raises(QAHeadError, match="visual_proj present, text_projection present"):
        load_qa_head(tmp_path / "msrvtt.ckpt")


@pytest.mark.parametrize("content", [{"format": "other", "state_dict": {}}, {"w": torch.zeros(1)}, [1, 2]])
def test_a_foreign_file_is_refused_with_how_to_make_a_head(tmp_path, content):
    torch.save(content, tmp_path / "x.pt")
    with pytest.raises(QAHeadError) as err:
        load_qa_head(tmp_path / "x.pt")
    assert str(err.value) == (f"{tmp_path / 'x.pt'} is not a QA head file of the kit (expected format "
                              "'internvideo-qa-head-1'); make one with `internvideo eval-qa --train-head`")


def _save_as_if_on_gpu(obj, path, monkeypatch) -> None:
    """``torch.save`` with every storage tagged ``cuda:0``, as a file written on a GPU machine."""
    import torch.serialization

    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save(obj, path)


def _torch_load_with_the_old_default(monkeypatch) -> None:
    """torch < 2.6 (allowed by ``torch>=2.1``) loads full pickles unless ``weights_only=True`` is passed."""
    real = torch.load

    def load(f, map_location=None, weights_only=None, **kw):            # None meant False there
        return real(f, map_location=map_location, weights_only=bool(weights_only), **kw)

    monkeypatch.setattr(torch, "load", load)


class _Planted:
    """A pickle that runs code when loaded: it creates the folder ``_Planted.marker``."""

    marker = ""

    def __reduce__(self):
        import os

        return os.mkdir, (self.marker,)


def test_a_head_saved_in_a_folder_that_does_not_exist_yet_creates_it(tmp_path):
    path = save_qa_head(tmp_path / "a" / "b" / "head.pt", VideoQAHead(4, 4, 2, hidden=8), ["x", "y"])
    assert path.is_file()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only load of a GPU-written file")
def test_files_written_on_a_gpu_load_on_a_cpu_only_machine(tmp_path, monkeypatch):
    head = VideoQAHead(4, 4, 2, hidden=8).eval()
    save_qa_head(tmp_path / "h.pt", head, ["x", "y"])
    _save_as_if_on_gpu(torch.load(tmp_path / "h.pt", weights_only=True), tmp_path / "gpu.pt", monkeypatch)
    loaded, vocab = load_qa_head(tmp_path / "gpu.pt")
    assert vocab == ["x", "y"] and next(loaded.parameters()).device.type == "cpu"
    _save_as_if_on_gpu(_released(False), tmp_path / "msrvtt.ckpt", monkeypatch)   # released files too
    with pytest.raises(QAHeadError, match="released InternVideo QA checkpoint"):
        load_qa_head(tmp_path / "msrvtt.ckpt")


def test_a_file_that_would_run_code_when_unpickled_is_never_executed(tmp_path, monkeypatch):
    _Planted.marker = str(tmp_path / "ran")
    torch.save({"format": HEAD_FORMAT, "state_dict": {}, "vocab": [_Planted()], "config": {}}, tmp_path / "h.pt")
    _torch_load_with_the_old_default(monkeypatch)
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        load_qa_head(tmp_path / "h.pt")
    assert not (tmp_path / "ran").exists()


def test_a_head_file_missing_a_weight_is_refused(tmp_path):
    save_qa_head(tmp_path / "h.pt", VideoQAHead(4, 4, 2, hidden=8), ["x", "y"])
    raw = torch.load(tmp_path / "h.pt", weights_only=True)
    del raw["state_dict"]["classifier.4.bias"]
    torch.save(raw, tmp_path / "h.pt")
    with pytest.raises(RuntimeError, match=r"Missing key\(s\) in state_dict: \"classifier.4.bias\""):
        load_qa_head(tmp_path / "h.pt")
