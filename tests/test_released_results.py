"""Stored results of the released checkpoints (notebooks 03 and 05): computed by the kit's own functions, stored
with provenance, refused when stale or malformed. The released weights cannot be downloaded here, so the
computation runs on small stand-in models through the same code path."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch

from internvideo_core import pretrained as pretrained_module
from internvideo_core.registry import cached_path
from internvideo_core.reproduction import released
from internvideo_core.reproduction.released import (RELEASED_EXAMPLES, RESULTS_FILE, ReleasedResultError,
                                                    classify_top5, compute_result, describe, stored_result,
                                                    update_results, zero_shot_top5)

REPO = Path(__file__).resolve().parents[1]
LABELS = [f"class {i}" for i in range(7)]


class _Classifier(torch.nn.Module):
    """``[V, 3, T, H, W]`` -> ``[V, 7]``: a fixed linear map of the per-view mean colour."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 7)
        with torch.no_grad():
            self.fc.weight.copy_(torch.arange(21.0).reshape(7, 3).sin() * 4)
            self.fc.bias.copy_(torch.linspace(-1, 1, 7))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(2, 3, 4)))


def _views(video, views=None):
    assert views == "test", "the classifier must be run on the official test views"
    return torch.linspace(-1, 1, 4 * 3 * 2 * 2 * 2).reshape(4, 3, 2, 2, 2) * torch.tensor([1.0, -2.0, 3.0, -4.0]
                                                                                          ).view(4, 1, 1, 1, 1)


def test_classify_top5_averages_the_softmax_of_every_test_view():
    model = _Classifier()
    top5 = classify_top5(model, _views, LABELS, "clip.mp4")
    probs = model(_views(None, views="test")).softmax(-1).mean(0)
    expect = probs.topk(5)
    assert [name for name, _ in top5] == [LABELS[i] for i in expect.indices.tolist()]
    assert [p for _, p in top5] == pytest.approx(expect.values.tolist(), abs=5e-5)
    # averaging probabilities is not averaging logits: the order differs for these views
    by_logits = model(_views(None, views="test")).mean(0).softmax(-1).topk(5)
    assert [p for _, p in top5] != pytest.approx(by_logits.values.tolist(), abs=5e-5)


class _DualEncoder(torch.nn.Module):
    """Text: mean of a token-embedding table over the non-zero tokens; video: a fixed vector."""

    def __init__(self) -> None:
        super().__init__()
        self.table = torch.nn.Embedding(49408, 8)
        torch.nn.init.normal_(self.table.weight, generator=torch.Generator().manual_seed(0))
        self.logit_scale = torch.nn.Parameter(torch.tensor(2.0))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != 0).float().unsqueeze(-1)
        return (self.table(tokens) * mask).sum(1) / mask.sum(1)

    def encode_video(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_text(torch.tensor([[49406, 3306, 21581, 49407]]))  # "arm wrestling"-like tokens


def test_zero_shot_top5_uses_the_28_official_templates_and_cleaned_class_names():
    from internvideo_core.eval.zeroshot import KINETICS_TEMPLATES, class_text_embeddings, zero_shot_classify
    from internvideo_core.text import tokenize

    labels = ["arm wrestling", "abseiling", "playing_cello", "yoga", "zumba", "surfing water", "tai chi"]
    model = _DualEncoder()
    top5 = zero_shot_top5(model, lambda v: torch.zeros(1, 3, 8, 4, 4), labels, "clip.mp4")
    names = [c.replace("_", " ") for c in labels]
    text = class_text_embeddings(names, KINETICS_TEMPLATES, model.encode_text, tokenize)
    assert len(KINETICS_TEMPLATES) == 28 and text.shape[0] == 28
    probs = zero_shot_classify(model.encode_video(None), text, logit_scale=float(torch.tensor(2.0).exp()))[0]
    expect = probs.topk(5)
    assert [n for n, _ in top5] == [names[i] for i in expect.indices.tolist()]
    assert "playing cello" in names and [p for _, p in top5] == pytest.approx(expect.values.tolist(), abs=5e-5)


@pytest.fixture
def cached_classifier(tmp_path, monkeypatch):
    """A stand-in file in a private cache for ``videomae_vit_base_k400`` and a loader that returns the stand-in
    model (what ``load_pretrained`` returns for the real file)."""
    name = "videomae_vit_base_k400"
    path = cached_path(name, tmp_path)
    path.write_bytes(b"stand-in weights")
    calls = []

    def fake_load(checkpoint, *, checkpoint_path=None, device="cpu", **kw):
        calls.append((checkpoint, Path(checkpoint_path), device))
        return _Classifier(), _views, LABELS

    monkeypatch.setattr(pretrained_module, "load_pretrained", fake_load)
    return name, path, calls


def test_compute_result_runs_the_cached_file_and_records_its_provenance(cached_classifier, tmp_path):
    from internvideo_core import __version__
    from internvideo_core.hub import sha256_file
    from internvideo_core.paths import sample_video

    name, path, calls = cached_classifier
    entry = compute_result(name, cache_dir=tmp_path, command="the command")
    assert calls == [(name, path, "cpu")]
    assert entry["checkpoint"] == name and entry["task"] == "classification"
    assert entry["checkpoint_sha256"] == sha256_file(path)
    assert entry["clip"] == "arm_wrestling_demo.mp4"
    assert entry["clip_sha256"] == sha256_file(sample_video("arm_wrestling_demo.mp4"))
    assert entry["top5"] == [[n, p] for n, p in classify_top5(_Classifier(), _views, LABELS, "x")]
    assert entry["kit_version"] == __version__ and entry["command"] == "the command"
    assert entry["protocol"] == RELEASED_EXAMPLES[name].protocol and len(entry["date"]) == 10


def test_compute_result_refuses_a_missing_file_and_one_that_differs_from_the_published_digest(
        cached_classifier, tmp_path, monkeypatch):
    from internvideo_core import registry

    name, path, _ = cached_classifier
    with pytest.raises(FileNotFoundError, match="never downloads"):
        compute_result(name, cache_dir=tmp_path / "empty")
    original = registry.get_pretrained
    monkeypatch.setattr(registry, "get_pretrained",
                        lambda n: dataclasses.replace(original(n), sha256="0" * 64))
    with pytest.raises(ReleasedResultError, match="differs from the published"):
        compute_result(name, cache_dir=tmp_path)


def test_stored_results_round_trip_and_describe_their_provenance(cached_classifier, tmp_path):
    name, _, _ = cached_classifier
    out = tmp_path / "released_results.json"
    assert stored_result(name, path=out) is None  # no file yet
    entry = compute_result(name, cache_dir=tmp_path)
    update_results([entry], out)
    assert stored_result(name, path=out) == entry
    assert stored_result("internvideo_mm_b16_pretrain", path=out) is None
    assert stored_result(name, "test.mp4", path=out) is None  # stored for another clip
    text = describe(entry)
    assert name in text and entry["checkpoint_sha256"][:12] in text and "stored result" in text
    assert f"{entry['top5'][0][1] * 100:5.1f} %  {entry['top5'][0][0]}" in text


def test_a_stale_or_malformed_stored_result_is_refused(cached_classifier, tmp_path):
    name, _, _ = cached_classifier
    out = tmp_path / "released_results.json"
    entry = compute_result(name, cache_dir=tmp_path)
    update_results([entry], out)
    doc = json.loads(out.read_text())
    doc["results"][name]["clip_sha256"] = "f" * 64
    out.write_text(json.dumps(doc))
    with pytest.raises(ReleasedResultError, match="different arm_wrestling_demo.mp4"):
        stored_result(name, path=out)
    for broken in ({k: v for k, v in entry.items() if k != "git_commit"}, {**entry, "top5": [["a", 1.5]]},
                   {**entry, "top5": []}, {**entry, "checkpoint": "other"}, ["not", "an", "object"]):
        out.write_text(json.dumps({"results": {name: broken}}))
        with pytest.raises(ReleasedResultError, match=name):
            stored_result(name, path=out)
    out.write_text("{not json")
    with pytest.raises(ReleasedResultError, match="not readable JSON"):
        stored_result(name, path=out)
    with pytest.raises(KeyError, match="not a released example"):
        stored_result("videomae_vit_tiny_synth", path=out)


def test_the_shipped_results_file_is_valid_and_names_only_released_examples():
    doc = json.loads(RESULTS_FILE.read_text())
    assert set(doc["results"]) <= set(RELEASED_EXAMPLES)
    for name in RELEASED_EXAMPLES:
        entry = stored_result(name)  # raises on a malformed or stale entry
        assert entry is None or entry["checkpoint"] == name


def test_the_precompute_tool_skips_uncached_checkpoints_and_stores_the_cached_one(cached_classifier, tmp_path,
                                                                                  capsys):
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import precompute_released_results as tool
    finally:
        sys.path.pop(0)
    name, _, _ = cached_classifier
    out = tmp_path / "results.json"
    assert tool.main(["--cache-dir", str(tmp_path), "--out", str(out)]) == 0
    assert set(json.loads(out.read_text())["results"]) == {name}
    assert "internvideo_mm_b16_pretrain: not in the cache" in capsys.readouterr().err
    assert tool.main(["--cache-dir", str(tmp_path / "none"), "--out", str(tmp_path / "x.json")]) == 1
    assert not (tmp_path / "x.json").exists()
    assert released.RESULTS_FILE == RESULTS_FILE
