"""Downloads that cannot store garbage, against local servers on 127.0.0.1 (no internet): an HTML page served
with status 200, a body cut short without a Content-Length, bytes without a checkpoint's magic, a
Content-Length the body does not match and a server that does not speak HTTP are all rejected, never get a
digest recorded, and fall through to the mirrors. Stale ``.lock`` / ``.part.url`` leftovers are cleaned."""
from __future__ import annotations

import hashlib
import http.server
import io
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import torch

from internvideo_core.hub import BadDownloadError, HubError, download_url


def _checkpoint_bytes(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    torch.save({"module": {"w": torch.randn(20_000, generator=torch.Generator().manual_seed(seed))}}, buf)
    return buf.getvalue()


def _safetensors_bytes() -> bytes:
    from safetensors.torch import save

    return save({"w": torch.arange(1000, dtype=torch.float32)})


# (content type, body, announced Content-Length or None, close after sending)
ROUTES: dict[str, tuple[str, bytes, int | None]] = {}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # connection closes after each answer: a missing length means "until close"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        route = ROUTES.get(self.path.lstrip("/"))
        if route is None:
            self.send_error(404)
            return
        ctype, body, length, *status = route  # an optional fourth entry: the status code (default 200)
        self.send_response(status[0] if status else 200)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def base_url():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def online(monkeypatch, tmp_path):
    monkeypatch.delenv("INTERNVIDEO_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    ROUTES.clear()
    return tmp_path


def _nothing_stored(dest: Path) -> None:
    leftovers = sorted(p.name for p in dest.parent.iterdir() if p.name.startswith(dest.name))
    assert leftovers == [], leftovers  # no file, no .sha256 digest, no .part


GOOD = _checkpoint_bytes()


def test_html_page_with_status_200_is_rejected_and_the_mirror_is_used(base_url, online):
    ROUTES["page.pth"] = ("text/html; charset=utf-8", b"<!DOCTYPE html><html>Sign in</html>", None)
    ROUTES["good.pth"] = ("application/octet-stream", GOOD, len(GOOD))
    dest = online / "model.pth"
    with pytest.raises(BadDownloadError, match="HTML page"):
        download_url(f"{base_url}/page.pth", dest, None, progress=False)
    _nothing_stored(dest)
    download_url(f"{base_url}/page.pth", dest, None, progress=False, mirrors=[f"{base_url}/good.pth"])
    assert dest.read_bytes() == GOOD
    assert dest.with_name("model.pth.sha256").read_text().split()[0] == hashlib.sha256(GOOD).hexdigest()


def test_html_page_served_as_octet_stream_is_rejected_by_its_content(base_url, online):
    ROUTES["page.pth"] = ("application/octet-stream", b"<html><body>404 not found</body></html>", None)
    dest = online / "model.pth"
    with pytest.raises(BadDownloadError, match="HTML page"):
        download_url(f"{base_url}/page.pth", dest, None, progress=False)
    _nothing_stored(dest)


def test_body_cut_short_without_content_length_is_not_stored(base_url, online):
    ROUTES["cut.pth"] = ("application/octet-stream", GOOD[: len(GOOD) // 2], None)
    dest = online / "model.pth"
    with pytest.raises(BadDownloadError, match="zip archive is incomplete"):
        download_url(f"{base_url}/cut.pth", dest, None, progress=False)
    _nothing_stored(dest)


@pytest.mark.parametrize("name,body,words", [
    ("noise.pth", b"\x00\x01garbage" * 100, "does not start like a PyTorch"),
    ("noise.safetensors", b"\xff" * 64, "no valid safetensors header"),
    ("cut.safetensors", _safetensors_bytes()[:-100], "shorter or longer than its header"),
])
def test_files_without_the_expected_magic_are_rejected(base_url, online, name, body, words):
    ROUTES[name] = ("application/octet-stream", body, len(body))
    dest = online / name
    with pytest.raises(BadDownloadError, match=words):
        download_url(f"{base_url}/{name}", dest, None, progress=False)
    _nothing_stored(dest)


def test_valid_safetensors_and_legacy_pickle_checkpoints_pass(base_url, online):
    st = _safetensors_bytes()
    ROUTES["w.safetensors"] = ("application/octet-stream", st, len(st))
    assert download_url(f"{base_url}/w.safetensors", online / "w.safetensors", None, progress=False).read_bytes() == st
    buf = io.BytesIO()
    torch.save({"w": torch.ones(3)}, buf, _use_new_zipfile_serialization=False)
    ROUTES["old.pth"] = ("application/octet-stream", buf.getvalue(), len(buf.getvalue()))
    assert download_url(f"{base_url}/old.pth", online / "old.pth", None, progress=False).exists()


def test_content_length_larger_than_the_body_is_never_stored(base_url, online):
    ROUTES["short.pth"] = ("application/octet-stream", GOOD, len(GOOD) + 1000)
    dest = online / "model.pth"
    with pytest.raises(HubError, match="interrupted"):
        download_url(f"{base_url}/short.pth", dest, None, progress=False, retries=1)
    assert not dest.exists() and not dest.with_name("model.pth.sha256").exists()


@pytest.fixture
def not_http():
    """A TCP server that answers every connection with a line that is not HTTP."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6 not http\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    thread.join(2)
    srv.close()


def test_non_http_reply_is_a_hub_error_and_falls_through_to_the_mirrors(base_url, not_http, online):
    dest = online / "model.pth"
    with pytest.raises(HubError, match="not HTTP"):
        download_url(f"{not_http}/x.pth", dest, None, progress=False)
    _nothing_stored(dest)
    ROUTES["good.pth"] = ("application/octet-stream", GOOD, len(GOOD))
    download_url(f"{not_http}/x.pth", dest, None, progress=False, mirrors=[f"{base_url}/good.pth"])
    assert dest.read_bytes() == GOOD


def test_a_previously_stored_html_page_is_replaced(base_url, online):
    """A cache filled by an older kit (an HTML page recorded as 'verified') is noticed and fetched again."""
    dest = online / "model.pth"
    dest.write_bytes(b"<!DOCTYPE html><html>error</html>")
    dest.with_name("model.pth.sha256").write_text(hashlib.sha256(dest.read_bytes()).hexdigest() + "  model.pth\n")
    ROUTES["good.pth"] = ("application/octet-stream", GOOD, len(GOOD))
    download_url(f"{base_url}/good.pth", dest, None, progress=False)
    assert dest.read_bytes() == GOOD


def test_stale_lock_and_part_url_leftovers_are_removed_by_the_next_download(base_url, online):
    old = time.time() - 2 * 3600
    stale = [online / "a.pth.lock", online / "b.pth.part.url"]
    kept = [online / "c.pth.lock", online / "d.pth.part.url", online / "d.pth.part"]
    for p in stale + kept:
        p.write_text("x")
    for p in stale + [online / "d.pth.part.url", online / "d.pth.part"]:
        os.utime(p, (old, old))  # d.pth.part.url is old but its .part is there: a resumable download
    ROUTES["good.pth"] = ("application/octet-stream", GOOD, len(GOOD))
    download_url(f"{base_url}/good.pth", online / "model.pth", None, progress=False)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)  # c.pth.lock is fresh (a download may be starting)
    assert not (online / "model.pth.lock").exists()  # the finished download leaves no lock behind


def test_unwritable_cache_folder_is_a_clear_hub_error(base_url, online, monkeypatch):
    blocker = online / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(HubError, match="download folder .* is a file, not a folder.*INTERNVIDEO_CACHE"):
        download_url(f"{base_url}/good.pth", blocker / "model.pth", None, progress=False)


@pytest.mark.parametrize("ctype", ["text/html", "Text/HTML; charset=utf-8", "application/xhtml+xml"])
def test_an_html_content_type_is_rejected_even_with_a_checkpoint_body(base_url, online, ctype):
    """The Content-Type alone decides (case-insensitively, parameters ignored): a login or error page
    may carry any bytes."""
    ROUTES["x.pth"] = (ctype, GOOD, len(GOOD))
    dest = online / "model.pth"
    kind = re.escape(ctype.split(";")[0].lower())
    with pytest.raises(BadDownloadError, match=rf"the server answered with an HTML page \(Content-Type {kind}, "
                                               r"HTTP 200\), not the file: a login, error or moved page"):
        download_url(f"{base_url}/x.pth", dest, None, progress=False)
    _nothing_stored(dest)


def test_a_206_answer_to_a_request_without_range_is_taken_as_the_whole_file(base_url, online):
    """Range rules apply only when resuming: a fresh download keeps whatever status the server gives."""
    ROUTES["p.pth"] = ("application/octet-stream", GOOD, len(GOOD), 206)
    dest = online / "model.pth"
    assert download_url(f"{base_url}/p.pth", dest, hashlib.sha256(GOOD).hexdigest(), progress=False) == dest
    assert dest.read_bytes() == GOOD
