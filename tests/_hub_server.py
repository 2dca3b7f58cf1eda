"""A local HTTP server on 127.0.0.1 for the download tests (tests/test_hub.py, tests/test_hub_messages.py).

``server``: serves in-memory files and can misbehave on purpose (drop the connection half-way through the first
request, ignore ``Range``, answer 416 or a 206 for another range, answer an HTTP error); it records every request's
path and ``Range``. ``scripted``: a raw TCP server answering its n-th connection with prepared bytes, or never.
tests/conftest.py makes them the ``server`` and ``scripted`` fixtures (with ``online``: downloads allowed, cache in
tmp_path).
"""
from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Iterator

import torch


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


def make_handler(state: Server):
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


@contextlib.contextmanager
def serving_files() -> Iterator[Server]:
    """The ``server`` fixture: a threaded HTTP server on a free port of 127.0.0.1, stopped on exit."""
    state = Server(base="", files={})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def checkpoint_bytes(seed: int = 0, n: int = 50_000) -> bytes:
    """A small real checkpoint in the released fine-tuned layout ``{"module": state_dict}``."""
    g = torch.Generator().manual_seed(seed)
    buf = io.BytesIO()
    torch.save({"module": {"w": torch.randn(n, generator=g), "b": torch.zeros(3)}}, buf)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



@contextlib.contextmanager
def scripted_server() -> Iterator[tuple[str, list]]:
    """The ``scripted`` fixture: a raw TCP server answering its n-th connection with ``script[n]`` (bytes), or
    never answering (None); yields ``(base URL, script)``."""
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
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}", script
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        srv.close()


def finishes(fn, seconds: float = 20.0) -> list:
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
