"""Checkpoint downloads against a local HTTP server on 127.0.0.1 (no internet).

The server serves in-memory files and can misbehave on purpose: drop the connection half-way through the
first request, ignore ``Range``, or change a file's bytes. It records every request's path and ``Range``.
"""
from __future__ import annotations

import hashlib
import http.server
import io
import os
import re
import socket
import threading
from dataclasses import dataclass, field

import pytest
import torch

from internvideo_core import hub, registry
from internvideo_core.hub import BadDownloadError, ChecksumError, HubError, HubOfflineError, download_url
from internvideo_core.registry import PretrainedEntry, create_model, download_pretrained


@dataclass
class Server:
    base: str
    files: dict[str, bytes]
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    drop_first: set[str] = field(default_factory=set)  # paths whose first request is cut off half-way
    ignore_range: set[str] = field(default_factory=set)
    always_416: set[str] = field(default_factory=set)  # paths answered 416 even without a Range request
    range_from_zero: set[str] = field(default_factory=set)  # a Range request answered 206 with the whole file
    errors: dict[str, int] = field(default_factory=dict)  # path -> HTTP error status to answer with
    drop_times: dict[str, int] = field(default_factory=dict)  # path -> how many more answers to cut half-way

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


def _make_handler(state: Server):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output quiet
            pass

        def do_GET(self):  # noqa: N802 (http.server API)
            name = self.path.lstrip("/")
            rng = self.headers.get("Range")
            state.requests.append((name, rng))
            data = state.files.get(name)
            if name in state.errors:
                self.send_error(state.errors[name])
                return
            if data is None:
                self.send_error(404)
                return
            start = 0
            if name in state.always_416:
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            m = re.fullmatch(r"bytes=(\d+)-", rng or "")
            if m and name in state.range_from_zero:
                self.send_response(206)
                self.send_header("Content-Range", f"bytes 0-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if m and name not in state.ignore_range:
                start = int(m.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if name in state.drop_first or state.drop_times.get(name, 0) > 0:
                state.drop_first.discard(name)
                state.drop_times[name] = state.drop_times.get(name, 0) - 1
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server():
    state = Server(base="", files={})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Downloads allowed (conftest sets INTERNVIDEO_OFFLINE=1 for everything else), cache in tmp_path."""
    monkeypatch.delenv("INTERNVIDEO_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _checkpoint_bytes(seed: int = 0, n: int = 50_000) -> bytes:
    """A small real checkpoint in the released fine-tuned layout ``{"module": state_dict}``."""
    g = torch.Generator().manual_seed(seed)
    buf = io.BytesIO()
    torch.save({"module": {"w": torch.randn(n, generator=g), "b": torch.zeros(3)}}, buf)
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------- download_url
def test_download_verifies_and_shows_progress(server, online, capsys):
    data = _checkpoint_bytes()
    server.files["ckpt.pth"] = data
    dest = online / "out" / "ckpt.pth"
    path = download_url(server.url("ckpt.pth"), dest, _sha(data), progress=True)
    assert path == dest and dest.read_bytes() == data
    assert not dest.with_name("ckpt.pth.part").exists()
    assert dest.with_name("ckpt.pth.sha256").read_text().split()[0] == _sha(data)
    assert torch.load(dest, weights_only=True)["module"]["b"].shape == (3,)
    capsys.readouterr()  # the tqdm bar went to stderr without crashing
    # a second call reuses the verified file without any request
    n = len(server.requests)
    assert download_url(server.url("ckpt.pth"), dest, _sha(data)) == dest
    assert len(server.requests) == n


def test_interrupted_download_resumes_with_range_in_the_same_call(server, online):
    data = _checkpoint_bytes(1)
    server.files["big.pth"] = data
    server.drop_first.add("big.pth")
    dest = online / "big.pth"
    download_url(server.url("big.pth"), dest, _sha(data), progress=False, retries=2)
    assert dest.read_bytes() == data
    assert server.requests[0] == ("big.pth", None)
    assert server.requests[1] == ("big.pth", f"bytes={len(data) // 2}-")


def test_interrupted_download_resumes_in_a_later_call(server, online):
    data = _checkpoint_bytes(2)
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
    data = _checkpoint_bytes(3)
    server.files["f.pth"] = data
    server.ignore_range.add("f.pth")
    dest = online / "f.pth"
    (online / "f.pth.part").write_bytes(b"garbage from an older attempt")
    download_url(server.url("f.pth"), dest, _sha(data), progress=False)
    assert dest.read_bytes() == data
    assert server.requests[0][1] is not None  # Range was asked for, and the 200 answer was taken from zero


def test_range_not_satisfiable_restarts_or_completes(server, online):
    data = _checkpoint_bytes(4)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    part = online / "f.pth.part"
    part.write_bytes(data + b"extra bytes beyond the end")  # stale, larger than the file: 416 then restart
    download_url(server.url("f.pth"), dest, _sha(data), progress=False)
    assert dest.read_bytes() == data
    assert [r for _, r in server.requests] == [f"bytes={len(data) + 26}-", None]
    dest.unlink()
    part.write_bytes(data)  # complete part file: 416 with the same total means nothing is missing
    download_url(server.url("f.pth"), dest, _sha(data), progress=False)
    assert dest.read_bytes() == data and len(server.requests) == 3


def test_wrong_digest_removes_the_file_and_explains(server, online):
    data = _checkpoint_bytes(5)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as err:
        download_url(server.url("f.pth"), dest, wrong, progress=False)
    msg = str(err.value)
    assert wrong in msg and _sha(data) in msg and "expected" in msg and "got" in msg
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
    url = f"http://127.0.0.1:{_closed_port()}/f.pth"
    dest = online / "f.pth"
    with pytest.raises(HubOfflineError) as err:
        download_url(url, dest, None, progress=False, timeout=5)
    assert url in str(err.value) and str(dest) in str(err.value)
    assert not dest.exists()


def test_unknown_digest_is_recorded_then_enforced(server, online):
    data = _checkpoint_bytes(6)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    download_url(server.url("f.pth"), dest, None, progress=False)
    sidecar = online / "f.pth.sha256"
    assert sidecar.read_text().split()[0] == _sha(data)
    # a later copy is checked against the recorded digest: the server now serves other bytes
    dest.unlink()
    server.files["f.pth"] = _checkpoint_bytes(7)
    with pytest.raises(ChecksumError, match="recorded"):
        download_url(server.url("f.pth"), dest, None, progress=False)
    assert not dest.exists() and sidecar.read_text().split()[0] == _sha(data)
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
    data = _checkpoint_bytes(8)
    server.files["mirror.pth"] = data
    dest = online / "f.pth"
    download_url(server.url("missing.pth"), dest, _sha(data), progress=False, mirrors=[server.url("mirror.pth")])
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
    data = _checkpoint_bytes(9)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    (online / "f.pth.part").write_bytes(data[:1])
    download_url(server.url("f.pth"), dest, _sha(data), progress=False)
    assert dest.read_bytes() == data and server.requests == [("f.pth", "bytes=1-")]


def test_a_complete_one_byte_partial_file_answered_416_is_kept(server, online):
    server.files["f.dat"] = b"A"
    dest = online / "f.dat"
    (online / "f.dat.part").write_bytes(b"A")
    download_url(server.url("f.dat"), dest, _sha(b"A"), progress=False)
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
    data = _checkpoint_bytes(10)
    server.files["f.pth"] = data
    server.drop_first.add("f.pth")
    part = online / "f.pth.part"
    part.write_bytes(data[:1000])
    download_url(server.url("f.pth"), online / "f.pth", _sha(data), progress=False, retries=1)
    assert (online / "f.pth").read_bytes() == data
    rest = len(data) - 1000
    assert server.requests == [("f.pth", "bytes=1000-"), ("f.pth", f"bytes={1000 + rest // 2}-")]


def test_the_restarted_transfer_after_416_shows_its_progress_bar(server, online, capsys):
    data = _checkpoint_bytes(11)
    server.files["f.pth"] = data
    (online / "f.pth.part").write_bytes(data + b"stale tail")
    capsys.readouterr()
    download_url(server.url("f.pth"), online / "f.pth", _sha(data), progress=True)
    err = capsys.readouterr().err
    assert "f.pth" in err and "0%|" in err  # the bar, labelled with the file name, knows the total
    (online / "f.pth").unlink()
    (online / "f.pth.part").write_bytes(data + b"stale tail")
    download_url(server.url("f.pth"), online / "f.pth", _sha(data), progress=False)
    assert capsys.readouterr().err == ""


@pytest.fixture
def scripted():
    """A raw TCP server answering its n-th connection with ``script[n]`` (bytes), or never answering (None)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    script: list = []
    held: list = []
    stop = threading.Event()

    def serve():
        srv.settimeout(0.05)
        n = 0
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.recv(4096)
            reply = script[n] if n < len(script) else None
            n += 1
            if reply is None:
                held.append(conn)  # keep it open, say nothing
            else:
                conn.sendall(reply)
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}", script
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    srv.close()


def _finishes(fn, seconds: float = 20.0) -> list:
    """Run ``fn`` in a thread; returns [exception or result], empty if it was still running after ``seconds``."""
    out: list = []

    def target():
        try:
            out.append(fn())
        except Exception as err:  # noqa: BLE001 - handed to the test
            out.append(err)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    return out


def test_a_server_that_never_answers_times_out_as_unreachable(scripted, online):
    base, script = scripted
    dest = online / "f.pth"
    out = _finishes(lambda: download_url(f"{base}/f.pth", dest, None, progress=False, timeout=0.5))
    assert out, "the download ignored its timeout"
    assert isinstance(out[0], HubOfflineError) and f"{base}/f.pth: cannot reach the host (timed out)\n" in str(out[0])


def test_the_restart_after_416_keeps_the_timeout(scripted, online):
    base, script = scripted
    script.append(b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */5\r\nContent-Length: 0\r\n"
                  b"Connection: close\r\n\r\n")  # then the restart from zero is never answered
    dest = online / "f.pth"
    (online / "f.pth.part").write_bytes(b"0123456789")
    out = _finishes(lambda: download_url(f"{base}/f.pth", dest, None, progress=False, timeout=0.5))
    assert out, "the restarted request ignored the timeout"
    assert isinstance(out[0], HubOfflineError) and not (online / "f.pth.part").exists()


def test_a_206_answer_for_another_range_restarts_from_zero(server, online):
    data = _checkpoint_bytes(12)
    server.files["f.pth"] = data
    server.range_from_zero.add("f.pth")
    (online / "f.pth.part").write_bytes(data[:1000])
    download_url(server.url("f.pth"), online / "f.pth", _sha(data), progress=False)
    assert (online / "f.pth").read_bytes() == data
    assert server.requests == [("f.pth", "bytes=1000-"), ("f.pth", None)]


def test_a_server_ignoring_range_for_a_one_byte_part_restarts_cleanly(server, online):
    data = _checkpoint_bytes(13)
    server.files["f.pth"] = data
    server.ignore_range.add("f.pth")
    (online / "f.pth.part").write_bytes(data[:1])
    download_url(server.url("f.pth"), online / "f.pth", _sha(data), progress=False)
    assert (online / "f.pth").read_bytes() == data and server.requests == [("f.pth", "bytes=1-")]


@pytest.mark.parametrize("spare", [0, -1])
def test_free_disk_space_is_compared_with_the_bytes_still_missing(server, online, monkeypatch, spare):
    """Resuming needs only ``total - start`` more bytes: exactly that much free space is enough."""
    import collections
    import shutil

    data = _checkpoint_bytes(14)
    server.files["f.pth"] = data
    (online / "f.pth.part").write_bytes(data[:1000])
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 0, len(data) - 1000 + spare))
    dest = online / "f.pth"
    if spare == 0:
        assert download_url(server.url("f.pth"), dest, _sha(data), progress=False).read_bytes() == data
    else:
        with pytest.raises(HubError, match=rf"not enough disk space in {re.escape(str(online))} for .*: need "
                                           rf"{len(data) - 1000} bytes, {len(data) - 1001} free\. Free some space "
                                           r"or set INTERNVIDEO_CACHE to another folder\."):
            download_url(server.url("f.pth"), dest, _sha(data), progress=False)
        assert (online / "f.pth.part").stat().st_size == 1000


# ------------------------------------------------------------------------------------------- messages in full
def test_the_offline_message_in_full(online, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dest = online / "m.pth"
    urls = ["https://a.org/m.pth", "https://b.org/m.pth"]
    with pytest.raises(HubOfflineError) as err:
        download_url(urls[0], dest, None, progress=False, mirrors=[urls[1], urls[0]])  # the main URL once
    assert str(err.value) == (f"m.pth is not in the cache and downloads are disabled (HF_HUB_OFFLINE=1).\n"
                              f"{hub._fetch_hint(urls, dest)}\nor unset HF_HUB_OFFLINE to let the kit download it.")


def test_the_final_error_lists_every_url_and_how_to_install_by_hand(server, online):
    dest = online / "f.pth"
    urls = [server.url("a.pth"), server.url("b.pth")]
    with pytest.raises(HubError) as err:
        download_url(urls[0], dest, None, progress=False, mirrors=urls[1:])
    assert type(err.value) is HubError
    assert str(err.value) == (f"could not download f.pth:\n  - {urls[0]}: HTTP 404 Not Found\n"
                              f"  - {urls[1]}: HTTP 404 Not Found\nTo install it by hand:\n"
                              f"{hub._fetch_hint(urls, dest)}")


def test_the_error_class_says_whether_every_url_was_unreachable_or_rejected(server, online):
    """HubOfflineError only when no host answered; BadDownloadError only when every answer was rejected."""
    closed = f"http://127.0.0.1:{_closed_port()}/f.pth"
    server.files["page.pth"] = server.files["page2.pth"] = b"<!DOCTYPE html><html>login</html>"
    page, missing = server.url("page.pth"), server.url("missing.pth")
    cases = [([closed, closed + "?2"], HubOfflineError), ([closed, missing], HubError),
             ([page, server.url("page2.pth")], BadDownloadError), ([page, missing], HubError),
             ([missing, closed], HubError)]
    for urls, cls in cases:
        with pytest.raises(HubError) as err:
            download_url(urls[0], online / "f.pth", None, progress=False, mirrors=urls[1:], timeout=5)
        assert type(err.value) is cls, (urls, err.value)
    assert not (online / "f.pth").exists() and not (online / "f.pth.sha256").exists()


_GATED = (" (gated or private Hugging Face repository: accept its conditions on the model page and set HF_TOKEN "
          "to an access token)")


@pytest.mark.parametrize("path, code, hint", [
    ("huggingface.co/m.pth", 401, True), ("huggingface.co/m.pth", 403, True), ("huggingface.co/m.pth", 404, False),
    ("elsewhere/m.pth", 401, False), ("elsewhere/m.pth", 403, False)])
def test_a_refused_hugging_face_download_explains_gated_repositories(server, online, path, code, hint):
    import http

    server.errors[path] = code
    url = server.url(path)
    with pytest.raises(HubError) as err:
        download_url(url, online / "m.pth", None, progress=False)
    line = f"  - {url}: HTTP {code} {http.HTTPStatus(code).phrase}{_GATED if hint else ''}\n"
    assert line in str(err.value)


def test_an_interrupted_download_says_how_much_was_kept(server, online):
    data = _checkpoint_bytes(15)
    server.files["f.pth"] = data
    server.drop_first.add("f.pth")
    part = online / "f.pth.part"
    with pytest.raises(HubError) as err:
        download_url(server.url("f.pth"), online / "f.pth", None, progress=False, retries=0)
    half = len(data) // 2
    assert (f"  - {server.url('f.pth')}: interrupted (connection closed after {half} of {len(data)} bytes); "
            f"{half} bytes kept in {part}, run again to resume\n") in str(err.value)
    assert (online / "f.pth.part.url").read_text(encoding="utf-8") == server.url("f.pth")  # who started the part


def test_an_unreachable_host_is_named_with_the_reason(online):
    url = f"http://127.0.0.1:{_closed_port()}/f.pth"
    with pytest.raises(HubOfflineError) as err:
        download_url(url, online / "f.pth", None, progress=False, timeout=5)
    line = rf"\n  - {re.escape(url)}: cannot reach the host \(\[Errno \d+\] Connection refused\)\n"
    assert re.search(line, str(err.value))


def test_the_restarted_transfer_after_a_wrong_206_shows_its_bar_and_a_resumed_bar_starts_where_it_left(
        server, online, capsys):
    data = _checkpoint_bytes(16)
    server.files["f.pth"] = data
    server.range_from_zero.add("f.pth")
    (online / "f.pth.part").write_bytes(data[:1000])
    capsys.readouterr()
    download_url(server.url("f.pth"), online / "f.pth", _sha(data), progress=True)
    err = capsys.readouterr().err
    assert "f.pth" in err and "0%|" in err  # the restarted transfer's bar
    server.files["g.pth"] = data
    (online / "g.pth.part").write_bytes(data[: len(data) // 2])
    download_url(server.url("g.pth"), online / "g.pth", _sha(data), progress=True)
    err = capsys.readouterr().err
    assert "g.pth:  50%|" in err  # the resumed bar starts at the bytes already there
    from tqdm import tqdm

    size = tqdm.format_sizeof  # bytes in binary multiples (KiB, MiB) with the unit B
    assert f"{size(len(data) // 2, divisor=1024)}/{size(len(data), divisor=1024)} [" in err and "B/s]" in err
    assert err.endswith("\r")  # the finished bar is cleared, not left on screen


def test_the_restart_after_a_wrong_206_keeps_the_timeout(scripted, online):
    base, script = scripted
    script.append(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\n"
                  b"Connection: close\r\n\r\n0123456789")  # not the range asked for; the restart is never answered
    (online / "f.pth.part").write_bytes(b"01234")
    out = _finishes(lambda: download_url(f"{base}/f.pth", online / "f.pth", None, progress=False, timeout=0.5))
    assert out, "the restarted request ignored the timeout"
    assert isinstance(out[0], HubOfflineError)


def test_a_reply_that_is_not_http_is_quoted_up_to_eighty_characters(scripted, online):
    base, script = scripted
    script.append(b"X" * 200 + b"\r\n\r\n")
    with pytest.raises(BadDownloadError) as err:
        download_url(f"{base}/f.pth", online / "f.pth", None, progress=False, timeout=5)
    assert (f"  - {base}/f.pth: rejected: the server's reply is not HTTP (BadStatusLine: {'X' * 80!r})\n"
            in str(err.value))


def test_download_defaults_show_progress_wait_thirty_seconds_and_resume_three_times(server, online, capsys,
                                                                                      monkeypatch):
    import inspect

    params = inspect.signature(download_url).parameters
    assert (params["timeout"].default, params["retries"].default, params["progress"].default) == (30.0, 3, True)
    data = _checkpoint_bytes(17)
    server.files["f.pth"] = data
    timeouts = []
    request = hub._request
    monkeypatch.setattr(hub, "_request", lambda url, start, timeout: timeouts.append(timeout) or
                        request(url, start, timeout))
    capsys.readouterr()
    download_url(server.url("f.pth"), online / "f.pth", _sha(data))
    assert "f.pth:   0%|" in capsys.readouterr().err and timeouts == [30.0]
    server.files["g.pth"] = data
    server.drop_times["g.pth"] = 4  # the first answer and three resumes are cut: one more than the default
    with pytest.raises(HubError, match="interrupted"):
        download_url(server.url("g.pth"), online / "g.pth", None, progress=False)
    assert len(server.requests) == 1 + 4


def test_an_unusable_download_folder_is_explained_in_full(online):
    blocker = online / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(HubError) as err:
        download_url("http://127.0.0.1:9/m.pth", blocker / "m.pth", None, progress=False)
    assert str(err.value) == (f"cannot download m.pth: the download folder {blocker} is a file, not a folder: "
                              "set INTERNVIDEO_CACHE to a folder you can write to (or fix the permissions)")


def test_a_file_already_there_is_recorded_with_its_url(online, monkeypatch):
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", "1")  # no request can be made: the file there is used
    dest = online / "m.pth"
    dest.write_bytes(b"PK\x03\x04 placed by hand")
    assert download_url("https://x.org/m.pth", dest, None, progress=False) == dest
    assert "source: https://x.org/m.pth (digest recorded on first use)\n" in (online / "m.pth.sha256").read_text()


def test_the_download_holds_the_lock_file_next_to_the_destination(server, online, monkeypatch):
    data = _checkpoint_bytes(18)
    server.files["f.pth"] = data
    seen = []
    fetch = hub._fetch_to_part

    def spy(*args, **kwargs):
        seen.append(sorted(p.name for p in online.iterdir() if p.name.endswith(".lock")))
        return fetch(*args, **kwargs)

    monkeypatch.setattr(hub, "_fetch_to_part", spy)
    download_url(server.url("f.pth"), online / "f.pth", _sha(data), progress=False)
    assert seen == [["f.pth.lock"]] and not (online / "f.pth.lock").exists()


@pytest.mark.parametrize("good", [True, False])
def test_a_file_finished_by_another_process_meanwhile_is_verified_inside_the_lock(server, online, monkeypatch, good):
    """Between the first look and taking the lock another process may have stored the file: it is checked
    against the published digest (and kept, recorded with the URL) or refused and downloaded again."""
    data = _checkpoint_bytes(19)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    other = data if good else b"PK\x03\x04 something else"
    monkeypatch.setattr(hub, "_remove_stale_leftovers", lambda folder: dest.write_bytes(other))
    assert download_url(server.url("f.pth"), dest, _sha(data), progress=False) == dest
    assert dest.read_bytes() == data
    assert len(server.requests) == (0 if good else 1)
    assert f"source: {server.url('f.pth')}\n" in (online / "f.pth.sha256").read_text()


def test_a_partial_file_started_by_another_url_is_not_resumed_from_this_one(server, online):
    """Mirrors may serve other bytes: a ``.part`` is resumed only from the URL recorded in ``.part.url``."""
    data = _checkpoint_bytes(20)
    server.files["f.pth"] = data
    (online / "f.pth.part").write_bytes(data[:1000])
    (online / "f.pth.part.url").write_text(server.url("mirror/f.pth"), encoding="utf-8")
    download_url(server.url("f.pth"), online / "f.pth", _sha(data), progress=False)
    assert (online / "f.pth").read_bytes() == data and server.requests == [("f.pth", None)]
    assert not (online / "f.pth.part.url").exists()


def test_the_sidecar_names_the_source_and_says_when_the_digest_was_only_recorded(server, online):
    data = _checkpoint_bytes(21)
    server.files["f.pth"] = data
    url = server.url("f.pth")
    side = online / "f.pth.sha256"

    def source_line() -> str:
        return side.read_text(encoding="utf-8").splitlines()[1]

    download_url(url, online / "f.pth", None, progress=False)  # nothing published, nothing recorded
    assert source_line() == f"# sha256 of f.pth, written by internvideo_core.hub; source: {url} " \
                            "(digest recorded on first download)"
    (online / "f.pth").unlink()
    download_url(url, online / "f.pth", None, progress=False)  # checked against the recorded digest
    assert source_line() == f"# sha256 of f.pth, written by internvideo_core.hub; source: {url}"
    (online / "f.pth").unlink()
    side.unlink()
    download_url(url, online / "f.pth", _sha(data), progress=False)  # a published digest
    assert source_line() == f"# sha256 of f.pth, written by internvideo_core.hub; source: {url}"


def test_a_checksum_error_names_the_url(server, online):
    server.files["f.pth"] = _checkpoint_bytes(22)
    with pytest.raises(ChecksumError) as err:
        download_url(server.url("f.pth"), online / "f.pth", "0" * 64, progress=False)
    assert str(err.value).startswith(f"sha256 mismatch for {server.url('f.pth')}\n")
