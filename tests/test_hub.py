"""Checkpoint downloads against a local HTTP server on 127.0.0.1 (no internet; tests/_hub_server.py): verified
transfers, resumes in the same and in a later call, servers that ignore or misanswer ``Range``, mirrors, offline
mode, the official checkpoints served and loaded, timeouts and the disk-space check. The full text of every error
message is pinned in tests/test_hub_messages.py."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import torch

from internvideo_core import hub, registry
from internvideo_core.hub import ChecksumError, HubError, HubOfflineError, download_url
from internvideo_core.registry import PretrainedEntry, create_model, download_pretrained

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub_server import checkpoint_bytes, closed_port, finishes, sha  # noqa: E402


# ------------------------------------------------------------------------------------------- download_url
def test_download_verifies_and_shows_progress(server, online, capsys):
    data = checkpoint_bytes()
    server.files["ckpt.pth"] = data
    dest = online / "out" / "ckpt.pth"
    path = download_url(server.url("ckpt.pth"), dest, sha(data), progress=True)
    assert path == dest and dest.read_bytes() == data
    assert not dest.with_name("ckpt.pth.part").exists()
    assert dest.with_name("ckpt.pth.sha256").read_text().split()[0] == sha(data)
    assert torch.load(dest, weights_only=True)["module"]["b"].shape == (3,)
    capsys.readouterr()  # the tqdm bar went to stderr without crashing
    # a second call reuses the verified file without any request
    n = len(server.requests)
    assert download_url(server.url("ckpt.pth"), dest, sha(data)) == dest
    assert len(server.requests) == n


def test_interrupted_download_resumes_with_range_in_the_same_call(server, online):
    data = checkpoint_bytes(1)
    server.files["big.pth"] = data
    server.drop_first.add("big.pth")
    dest = online / "big.pth"
    download_url(server.url("big.pth"), dest, sha(data), progress=False, retries=2)
    assert dest.read_bytes() == data
    assert server.requests[0] == ("big.pth", None)
    assert server.requests[1] == ("big.pth", f"bytes={len(data) // 2}-")


def test_interrupted_download_resumes_in_a_later_call(server, online):
    data = checkpoint_bytes(2)
    server.files["big.pth"] = data
    server.drop_first.add("big.pth")
    dest = online / "big.pth"
    with pytest.raises(HubError, match="run again to resume"):
        download_url(server.url("big.pth"), dest, None, progress=False, retries=0)
    part = online / "big.pth.part"
    assert part.stat().st_size == len(data) // 2 and not dest.exists()
    download_url(server.url("big.pth"), dest, None, progress=False)
    assert dest.read_bytes() == data and not part.exists()
    assert server.requests[-1] == ("big.pth", f"bytes={len(data) // 2}-")


def test_server_ignoring_range_restarts_cleanly(server, online):
    data = checkpoint_bytes(3)
    server.files["f.pth"] = data
    server.ignore_range.add("f.pth")
    dest = online / "f.pth"
    (online / "f.pth.part").write_bytes(b"garbage from an older attempt")
    download_url(server.url("f.pth"), dest, sha(data), progress=False)
    assert dest.read_bytes() == data
    assert server.requests[0][1] is not None  # Range was asked for, and the 200 answer was taken from zero


def test_range_not_satisfiable_restarts_or_completes(server, online):
    data = checkpoint_bytes(4)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    part = online / "f.pth.part"
    part.write_bytes(data + b"extra bytes beyond the end")  # stale, larger than the file: 416 then restart
    download_url(server.url("f.pth"), dest, sha(data), progress=False)
    assert dest.read_bytes() == data
    assert [r for _, r in server.requests] == [f"bytes={len(data) + 26}-", None]
    dest.unlink()
    part.write_bytes(data)  # complete part file: 416 with the same total means nothing is missing
    download_url(server.url("f.pth"), dest, sha(data), progress=False)
    assert dest.read_bytes() == data and len(server.requests) == 3


def test_wrong_digest_removes_the_file_and_explains(server, online):
    data = checkpoint_bytes(5)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as err:
        download_url(server.url("f.pth"), dest, wrong, progress=False)
    msg = str(err.value)
    assert wrong in msg and sha(data) in msg and "expected" in msg and "got" in msg
    assert not dest.exists() and not (online / "f.pth.part").exists()


@pytest.mark.parametrize("var", ["INTERNVIDEO_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_env_gives_url_and_target_without_a_request(server, online, monkeypatch, var):
    server.files["f.pth"] = b"x"
    monkeypatch.setenv(var, "1")
    dest = online / "cache" / "f.pth"
    with pytest.raises(HubOfflineError) as err:
        download_url(server.url("f.pth"), dest, None, progress=False)
    assert server.url("f.pth") in str(err.value) and str(dest) in str(err.value) and var in str(err.value)
    assert server.requests == [] and not dest.exists()


def test_unreachable_host_is_an_offline_error_with_url_and_target(online):
    url = f"http://127.0.0.1:{closed_port()}/f.pth"
    dest = online / "f.pth"
    with pytest.raises(HubOfflineError) as err:
        download_url(url, dest, None, progress=False, timeout=5)
    assert url in str(err.value) and str(dest) in str(err.value)
    assert not dest.exists()


def test_unknown_digest_is_recorded_then_enforced(server, online):
    data = checkpoint_bytes(6)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    download_url(server.url("f.pth"), dest, None, progress=False)
    sidecar = online / "f.pth.sha256"
    assert sidecar.read_text().split()[0] == sha(data)
    # a later copy is checked against the recorded digest: the server now serves other bytes
    dest.unlink()
    server.files["f.pth"] = checkpoint_bytes(7)
    with pytest.raises(ChecksumError, match="recorded"):
        download_url(server.url("f.pth"), dest, None, progress=False)
    assert not dest.exists() and sidecar.read_text().split()[0] == sha(data)
    # a corrupted cached file is noticed, removed and fetched again
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    bad = bytes(bad)
    server.files["f.pth"] = data
    download_url(server.url("f.pth"), dest, None, progress=False)
    dest.write_bytes(bad)
    st = dest.stat()
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # modified after the last verification
    n = len(server.requests)
    download_url(server.url("f.pth"), dest, None, progress=False)
    assert dest.read_bytes() == data and len(server.requests) == n + 1
    # recheck=True hashes even a file that looks unchanged (same size and time stamp)
    st = dest.stat()
    dest.write_bytes(bad)
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert download_url(server.url("f.pth"), dest, None, progress=False) == dest  # trusted stamp: no hash
    assert len(server.requests) == n + 1
    download_url(server.url("f.pth"), dest, None, progress=False, recheck=True)
    assert dest.read_bytes() == data and len(server.requests) == n + 2


def test_mirror_used_when_the_main_url_fails(server, online):
    data = checkpoint_bytes(8)
    server.files["mirror.pth"] = data
    dest = online / "f.pth"
    download_url(server.url("missing.pth"), dest, sha(data), progress=False, mirrors=[server.url("mirror.pth")])
    assert dest.read_bytes() == data
    with pytest.raises(HubError, match="HTTP 404"):
        download_url(server.url("missing.pth"), online / "g.pth", None, progress=False)


def test_hf_token_is_sent_to_huggingface_only_and_not_on_redirects(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    req = hub._build_request("https://huggingface.co/OpenGVLab/InternVideo1.0/resolve/main/x.ckpt", 10)
    assert req.unredirected_hdrs.get("Authorization") == "Bearer hf_secret"
    assert "Authorization" not in req.headers and req.headers["Range"] == "bytes=10-"
    other = hub._build_request("https://pjlab-gvm-data.oss-cn-shanghai.aliyuncs.com/x.pth", 0)
    assert "Authorization" not in other.unredirected_hdrs and "Range" not in other.headers
    assert "Authorization" not in hub._build_request("https://huggingface.co.evil.example/x", 0).unredirected_hdrs


# ------------------------------------------------------------------------------------- download_pretrained
def _mm_overrides(cfg: dict) -> dict:
    v, t = cfg["vision"], cfg["text"]
    return dict(vision_width=v["width"], vision_layers=v["layers"], vision_heads=v["heads"],
                vision_patch_size=v["patch_size"], input_resolution=v["input_resolution"],
                num_frames=v["num_frames"], temporal_layers=tuple(v["temporal_modules_after_blocks"]),
                temporal_heads=v["temporal_module_heads"], text_width=t["width"], text_layers=t["layers"],
                text_heads=t["heads"], context_length=t["context_length"], vocab_size=t["vocab_size"],
                embed_dim=cfg["embed_dim"])


def _videomae_overrides(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("img_size", "patch_size", "num_frames", "tubelet_size", "embed_dim", "depth",
                                "num_heads", "num_classes")}


# (MANIFEST key, architecture, overrides from the MANIFEST config, forward(model, io) -> [(got, expected)])
_OFFICIAL = {
    "videomae": ("videomae_finetune", "videomae_vit_small_patch16_224", _videomae_overrides,
                 lambda m, io: [(m(io["input"]), io["logits"]), (m.forward_features(io["input"]), io["features"])]),
    "mm": ("internvideo_mm", "internvideo_mm_l14", _mm_overrides,
           lambda m, io: [(m.encode_video(io["video"]), io["video_embed"]),
                          (m.encode_text(io["tokens"]), io["text_embed"])]),
}


@pytest.fixture(params=sorted(_OFFICIAL))
def served_official(request, server, monkeypatch, official_dir):
    """An official reference checkpoint (released file layout, tiny config) served over HTTP and registered."""
    import json

    key, arch, to_overrides, run = _OFFICIAL[request.param]
    case = json.loads((official_dir / "MANIFEST.json").read_text())[key]
    overrides = to_overrides(case["config"])
    fname = case["file"]
    server.files[fname] = (official_dir / fname).read_bytes()
    entry = PretrainedEntry(name=f"test_official_{key}", arch=arch, url=server.url(fname),
                            filename=f"test_official_{fname}", license="test", origin="tests/test_hub.py",
                            overrides=overrides)
    registry.list_pretrained()  # load the zoo first so the temporary entry joins the full registry
    monkeypatch.setitem(registry._PRETRAINED, entry.name, entry)
    from safetensors.torch import load_file

    return entry, overrides, run, load_file(str(official_dir / case["io"]))


def test_download_pretrained_caches_under_cache_dir(served_official, server, online):
    entry = served_official[0]
    path = download_pretrained(entry.name, progress=False)
    fname = entry.url.rsplit("/", 1)[1]
    assert path == online / "cache" / entry.filename and path.read_bytes() == server.files[fname]
    n = len(server.requests)
    assert download_pretrained(entry.name, progress=False) == path and len(server.requests) == n


def test_create_model_pretrained_downloads_and_reproduces_official_outputs(served_official, online):
    entry, overrides, run, io = served_official
    by_name = create_model(entry.name)  # a checkpoint name builds its architecture with the entry's overrides
    by_arch = create_model(entry.arch, pretrained=entry.name, **overrides)
    assert (online / "cache" / entry.filename).exists()
    assert by_name.load_report.converted > 0 and not by_name.training
    with torch.no_grad():
        for model in (by_name, by_arch):
            for got, want in run(model, io):
                assert torch.allclose(got.float(), want.float(), atol=1e-4), (got - want).abs().max()


def test_download_pretrained_offline_names_checkpoint_url_and_cache_path(served_official, server, monkeypatch,
                                                                        tmp_path):
    entry = served_official[0]
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", "1")
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "c"))
    with pytest.raises(HubOfflineError) as err:
        create_model(entry.name)
    msg = str(err.value)
    assert entry.name in msg and entry.url in msg and str(tmp_path / "c" / entry.filename) in msg
    assert server.requests == []


def test_hub_and_zoo_import_without_network():
    import subprocess
    import sys

    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network access at import time')\n"
        "socket.create_connection = refuse; socket.socket.connect = refuse; socket.getaddrinfo = refuse\n"
        "import internvideo_core.hub as hub, internvideo_core.registry as r\n"
        "import internvideo_core.zoo.videomae_pretrained, internvideo_core.zoo.mm_pretrained\n"
        "assert len(r._PRETRAINED) > 20 and r._PRETRAINED['internvideo_mm_b16_pretrain'].mirrors\n"
        "import sys; assert 'torch' not in sys.modules, 'the zoo listing should not need torch'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


# ------------------------------------------------------------------------------- resume edges, exact boundaries
def test_a_one_byte_partial_file_is_resumed_from_byte_one(server, online):
    data = checkpoint_bytes(9)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    (online / "f.pth.part").write_bytes(data[:1])
    download_url(server.url("f.pth"), dest, sha(data), progress=False)
    assert dest.read_bytes() == data and server.requests == [("f.pth", "bytes=1-")]


def test_a_complete_one_byte_partial_file_answered_416_is_kept(server, online):
    server.files["f.dat"] = b"A"
    dest = online / "f.dat"
    (online / "f.dat.part").write_bytes(b"A")
    download_url(server.url("f.dat"), dest, sha(b"A"), progress=False)
    assert dest.read_bytes() == b"A" and server.requests == [("f.dat", "bytes=1-")]


def test_a_416_answer_to_a_request_without_range_is_an_http_error(server, online):
    server.files["f.pth"] = b"x"
    server.always_416.add("f.pth")
    with pytest.raises(HubError, match="HTTP 416"):
        download_url(server.url("f.pth"), online / "f.pth", None, progress=False)
    assert server.requests == [("f.pth", None)]


def test_an_http_error_while_resuming_keeps_the_partial_file(server, online):
    part = online / "gone.pth.part"
    part.write_bytes(b"PK\x03\x04 half of it")
    with pytest.raises(HubError, match="HTTP 404"):
        download_url(server.url("gone.pth"), online / "gone.pth", None, progress=False)
    assert part.read_bytes() == b"PK\x03\x04 half of it"  # kept, so a later run resumes
    assert server.requests == [("gone.pth", "bytes=15-")]


def test_a_resumed_answer_cut_short_is_resumed_again_not_stored(server, online):
    """The 206 answer announces the total in Content-Range; a body that stops early is an interruption."""
    data = checkpoint_bytes(10)
    server.files["f.pth"] = data
    server.drop_first.add("f.pth")
    part = online / "f.pth.part"
    part.write_bytes(data[:1000])
    download_url(server.url("f.pth"), online / "f.pth", sha(data), progress=False, retries=1)
    assert (online / "f.pth").read_bytes() == data
    rest = len(data) - 1000
    assert server.requests == [("f.pth", "bytes=1000-"), ("f.pth", f"bytes={1000 + rest // 2}-")]


def test_the_restarted_transfer_after_416_shows_its_progress_bar(server, online, capsys):
    data = checkpoint_bytes(11)
    server.files["f.pth"] = data
    (online / "f.pth.part").write_bytes(data + b"stale tail")
    capsys.readouterr()
    download_url(server.url("f.pth"), online / "f.pth", sha(data), progress=True)
    err = capsys.readouterr().err
    assert "f.pth" in err and "0%|" in err  # the bar, labelled with the file name, knows the total
    (online / "f.pth").unlink()
    (online / "f.pth.part").write_bytes(data + b"stale tail")
    download_url(server.url("f.pth"), online / "f.pth", sha(data), progress=False)
    assert capsys.readouterr().err == ""


def test_a_server_that_never_answers_times_out_as_unreachable(scripted, online):
    base, script = scripted
    dest = online / "f.pth"
    out = finishes(lambda: download_url(f"{base}/f.pth", dest, None, progress=False, timeout=0.5))
    assert out, "the download ignored its timeout"
    assert isinstance(out[0], HubOfflineError) and f"{base}/f.pth: cannot reach the host (timed out)\n" in str(out[0])


def test_the_restart_after_416_keeps_the_timeout(scripted, online):
    base, script = scripted
    script.append(b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */5\r\nContent-Length: 0\r\n"
                  b"Connection: close\r\n\r\n")  # then the restart from zero is never answered
    dest = online / "f.pth"
    (online / "f.pth.part").write_bytes(b"0123456789")
    out = finishes(lambda: download_url(f"{base}/f.pth", dest, None, progress=False, timeout=0.5))
    assert out, "the restarted request ignored the timeout"
    assert isinstance(out[0], HubOfflineError) and not (online / "f.pth.part").exists()


def test_a_206_answer_for_another_range_restarts_from_zero(server, online):
    data = checkpoint_bytes(12)
    server.files["f.pth"] = data
    server.range_from_zero.add("f.pth")
    (online / "f.pth.part").write_bytes(data[:1000])
    download_url(server.url("f.pth"), online / "f.pth", sha(data), progress=False)
    assert (online / "f.pth").read_bytes() == data
    assert server.requests == [("f.pth", "bytes=1000-"), ("f.pth", None)]


def test_a_server_ignoring_range_for_a_one_byte_part_restarts_cleanly(server, online):
    data = checkpoint_bytes(13)
    server.files["f.pth"] = data
    server.ignore_range.add("f.pth")
    (online / "f.pth.part").write_bytes(data[:1])
    download_url(server.url("f.pth"), online / "f.pth", sha(data), progress=False)
    assert (online / "f.pth").read_bytes() == data and server.requests == [("f.pth", "bytes=1-")]


@pytest.mark.parametrize("spare", [0, -1])
def test_free_disk_space_is_compared_with_the_bytes_still_missing(server, online, monkeypatch, spare):
    """Resuming needs only ``total - start`` more bytes: exactly that much free space is enough."""
    import collections
    import shutil

    data = checkpoint_bytes(14)
    server.files["f.pth"] = data
    (online / "f.pth.part").write_bytes(data[:1000])
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 0, len(data) - 1000 + spare))
    dest = online / "f.pth"
    if spare == 0:
        assert download_url(server.url("f.pth"), dest, sha(data), progress=False).read_bytes() == data
    else:
        with pytest.raises(HubError, match=rf"not enough disk space in {re.escape(str(online))} for .*: need "
                                           rf"{len(data) - 1000} bytes, {len(data) - 1001} free\. Free some space "
                                           r"or set INTERNVIDEO_CACHE to another folder\."):
            download_url(server.url("f.pth"), dest, sha(data), progress=False)
        assert (online / "f.pth.part").stat().st_size == 1000
