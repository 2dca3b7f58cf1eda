"""The embedding cache: entries keyed by namespace and item, stored as float32 CPU tensors under
``<root>/<namespace hash>/<kind>/<item hash>.pt``; hits and misses counted; a disabled cache (root None) computes
every time; texts cached as one entry per list and computed in batches."""
from __future__ import annotations

import json
import os

import pytest
import torch

from internvideo_core.eval.embedding_cache import EmbeddingCache, embed_texts, embed_videos, file_fingerprint

def test_a_file_fingerprint_is_its_absolute_path_size_and_mtime(tmp_path, monkeypatch):
    f = tmp_path / "v.mp4"
    f.write_bytes(b"12345")
    os.utime(f, ns=(0, 123_456_789))
    monkeypatch.chdir(tmp_path)
    assert file_fingerprint("v.mp4") == {"path": str(f.resolve()), "size": 5, "mtime_ns": 123_456_789}
    assert file_fingerprint(None) is None


def test_entries_live_in_one_folder_per_namespace_with_its_description(tmp_path):
    cache = EmbeddingCache(tmp_path, {"model": "m", "frames": 8})
    assert cache.dir.parent == tmp_path and len(cache.dir.name) == 20
    assert json.loads((cache.dir / "namespace.json").read_text()) == {"frames": 8, "model": "m"}
    assert EmbeddingCache(tmp_path, {"frames": 8, "model": "m"}).dir == cache.dir       # key order is irrelevant
    assert EmbeddingCache(tmp_path, {"model": "m", "frames": 16}).dir != cache.dir
    (cache.dir / "namespace.json").write_text("kept")
    EmbeddingCache(tmp_path, {"model": "m", "frames": 8})
    assert (cache.dir / "namespace.json").read_text() == "kept"                           # written once


def test_put_then_get_round_trips_a_float32_cpu_copy_and_counts_hits_and_misses(tmp_path):
    cache = EmbeddingCache(tmp_path / "new" / "root", {"model": "m"})
    assert cache.namespace == {"model": "m"} and (cache.hits, cache.misses) == (0, 0)
    assert cache.get("videos", "a") is None and (cache.hits, cache.misses) == (0, 1)
    value = torch.arange(6, dtype=torch.float64).reshape(2, 3).T          # not contiguous, float64
    cache.put("videos", "a", value)
    got = cache.get("videos", "a")
    assert (cache.hits, cache.misses) == (1, 1)
    assert got.dtype == torch.float32 and got.is_contiguous() and torch.equal(got, value.float())
    path = cache.dir / "videos"
    assert [p.suffix for p in path.iterdir()] == [".pt"] and len(next(path.iterdir()).stem) == 20
    assert cache.get("texts", "a") is None                                  # kinds are separate
    cache.put("videos", "a", torch.zeros(1, requires_grad=True))
    assert torch.equal(cache.get("videos", "a"), torch.zeros(1))


def test_a_torn_entry_is_a_miss(tmp_path):
    cache = EmbeddingCache(tmp_path, {"model": "m"})
    cache.put("videos", "a", torch.ones(2))
    next((cache.dir / "videos").iterdir()).write_bytes(b"torn")
    assert cache.get("videos", "a") is None and (cache.hits, cache.misses) == (0, 1)


def test_a_disabled_cache_stores_nothing_and_misses_every_time(tmp_path):
    cache = EmbeddingCache(None, {"model": "m"})
    assert cache.dir is None
    cache.put("videos", "a", torch.ones(2))
    assert cache.get("videos", "a") is None and cache.misses == 1
    calls = []
    emb, n = embed_texts(["x", "y"], lambda b: calls.append(list(b)) or torch.ones(len(b), 2), cache, progress=False)
    emb2, n2 = embed_texts(["x", "y"], lambda b: calls.append(list(b)) or torch.ones(len(b), 2), cache,
                           progress=False)
    assert (n, n2) == (2, 2) and calls == [["x", "y"], ["x", "y"]]


def test_videos_are_computed_once_stacked_and_stored_as_detached_float32(tmp_path):
    paths = []
    for i in range(3):
        (tmp_path / f"{i}.mp4").write_bytes(b"x" * (i + 1))
        paths.append(tmp_path / f"{i}.mp4")
    seen = []
    weight = torch.ones(1, requires_grad=True)

    def encode(p):
        seen.append(p)
        return (torch.full((2,), float(len(seen)), dtype=torch.float64) * weight.double())

    cache = EmbeddingCache(tmp_path / "c", {"model": "m"})
    emb, n = embed_videos(paths, encode, cache, progress=False)
    assert n == 3 and seen == [str(p) for p in paths]
    assert emb.dtype == torch.float32 and not emb.requires_grad and emb.tolist() == [[1, 1], [2, 2], [3, 3]]
    again, n2 = embed_videos(paths[::-1], encode, cache, progress=False)
    assert n2 == 0 and again.tolist() == [[3, 3], [2, 2], [1, 1]] and len(seen) == 3


def test_texts_are_one_entry_per_list_computed_in_batches(tmp_path):
    cache = EmbeddingCache(tmp_path, {"model": "m"})
    batches = []

    def encode(batch):
        batches.append(batch)
        return torch.tensor([[float(len(t))] for t in batch], dtype=torch.float64)

    texts = ("a", "bb", "ccc", "dddd", "eeeee")
    emb, n = embed_texts(texts, encode, cache, batch_size=2, progress=False)
    assert n == 5 and batches == [["a", "bb"], ["ccc", "dddd"], ["eeeee"]]
    assert all(type(b) is list for b in batches)
    assert emb.dtype == torch.float32 and emb.flatten().tolist() == [1, 2, 3, 4, 5]
    again, n2 = embed_texts(list(texts), encode, cache, progress=False)
    assert n2 == 0 and torch.equal(again, emb) and len(batches) == 3
    _, n3 = embed_texts(["a", "bb"], encode, cache, progress=False)              # another list: another entry
    assert n3 == 2 and batches[-1] == ["a", "bb"]
    empty, n4 = embed_texts([], encode, cache, progress=False)
    assert n4 == 0 and empty.numel() == 0 and len(batches) == 4


def test_the_default_text_batch_is_256(tmp_path):
    batches = []
    embed_texts([str(i) for i in range(257)], lambda b: batches.append(len(b)) or torch.zeros(len(b), 1),
                EmbeddingCache(None, {}), progress=False)
    assert batches == [256, 1]


@pytest.mark.parametrize("which", ["videos", "texts"])
def test_progress_bars_name_what_they_count_and_are_silent_when_asked(tmp_path, capsys, which):
    (tmp_path / "v.mp4").write_bytes(b"x")
    cache = EmbeddingCache(None, {})

    def run(progress, **kw):
        if progress is not None:
            kw["progress"] = progress
        if which == "videos":
            embed_videos([tmp_path / "v.mp4"], lambda p: torch.zeros(2), cache, **kw)
        else:
            embed_texts(["t"], lambda b: torch.zeros(len(b), 2), cache, **kw)

    run(False)
    assert capsys.readouterr().err == ""
    run(True)
    unit = "video" if which == "videos" else "batch"
    err = capsys.readouterr().err
    assert f"{which}: " in err and "1/1" in err and f"{unit}/s" in err
    run(True, desc="MSR-VTT")
    assert "MSR-VTT: " in capsys.readouterr().err
    run(None)
    assert f"{which}: " in capsys.readouterr().err                          # shown by default


def test_namespaces_and_keys_may_hold_paths_and_other_non_json_values(tmp_path):
    from pathlib import Path

    cache = EmbeddingCache(tmp_path, {"checkpoint": Path("/x/model.pt"), "frames": 8})
    assert json.loads((cache.dir / "namespace.json").read_text(encoding="utf-8")) == {
        "checkpoint": "/x/model.pt", "frames": 8}
    cache.put("videos", {"path": Path("/v.mp4")}, torch.ones(1))
    assert torch.equal(cache.get("videos", {"path": Path("/v.mp4")}), torch.ones(1))


def test_hits_and_misses_accumulate(tmp_path):
    cache = EmbeddingCache(tmp_path, {"model": "m"})
    for key in ("a", "b", "c"):
        assert cache.get("videos", key) is None
    cache.put("videos", "a", torch.ones(1))
    cache.put("videos", "b", torch.ones(1))
    cache._path("videos", "b").write_bytes(b"torn")
    for _ in range(2):
        cache.get("videos", "a")
        cache.get("videos", "b")
    assert (cache.hits, cache.misses) == (2, 5)


def test_a_cache_folder_removed_while_running_is_recreated(tmp_path):
    import shutil

    cache = EmbeddingCache(tmp_path / "c", {"model": "m"})
    shutil.rmtree(tmp_path / "c")
    cache.put("texts", "k", torch.ones(2))
    assert torch.equal(cache.get("texts", "k"), torch.ones(2))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only load of a GPU-written file")
def test_an_entry_written_on_a_gpu_is_read_on_a_cpu_only_machine(tmp_path, monkeypatch):
    import torch.serialization

    cache = EmbeddingCache(tmp_path, {"model": "m"})
    (cache.dir / "videos").mkdir()
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save(torch.ones(3), cache._path("videos", "a"))
    assert torch.equal(cache.get("videos", "a"), torch.ones(3)) and cache.hits == 1


class _Planted:
    """A pickle that runs code when loaded: it creates the folder ``_Planted.marker``."""

    marker = ""

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_a_planted_entry_that_would_run_code_is_recomputed_not_executed(tmp_path, monkeypatch):
    cache = EmbeddingCache(tmp_path, {"model": "m"})
    _Planted.marker = str(tmp_path / "ran")
    (cache.dir / "videos").mkdir()
    torch.save(_Planted(), cache._path("videos", "a"))
    real = torch.load          # torch < 2.6 (allowed by torch>=2.1) unpickles fully by default, and for None
    monkeypatch.setattr(torch, "load", lambda f, map_location=None, weights_only=None, **kw: real(
        f, map_location=map_location, weights_only=bool(weights_only), **kw))
    assert cache.get("videos", "a") is None and cache.misses == 1
    assert not (tmp_path / "ran").exists()
