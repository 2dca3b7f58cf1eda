"""The full text of the download errors (against tests/_hub_server.py on 127.0.0.1), and the lock and sidecar
files a download leaves: what a user reads when a checkpoint cannot be fetched, word for word."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from internvideo_core import hub
from internvideo_core.hub import BadDownloadError, ChecksumError, HubError, HubOfflineError, download_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub_server import checkpoint_bytes, closed_port, finishes, sha  # noqa: E402


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
    closed = f"http://127.0.0.1:{closed_port()}/f.pth"
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
    data = checkpoint_bytes(15)
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
    url = f"http://127.0.0.1:{closed_port()}/f.pth"
    with pytest.raises(HubOfflineError) as err:
        download_url(url, online / "f.pth", None, progress=False, timeout=5)
    line = rf"\n  - {re.escape(url)}: cannot reach the host \(\[Errno \d+\] Connection refused\)\n"
    assert re.search(line, str(err.value))


def test_the_restarted_transfer_after_a_wrong_206_shows_its_bar_and_a_resumed_bar_starts_where_it_left(
        server, online, capsys):
    data = checkpoint_bytes(16)
    server.files["f.pth"] = data
    server.range_from_zero.add("f.pth")
    (online / "f.pth.part").write_bytes(data[:1000])
    capsys.readouterr()
    download_url(server.url("f.pth"), online / "f.pth", sha(data), progress=True)
    err = capsys.readouterr().err
    assert "f.pth" in err and "0%|" in err  # the restarted transfer's bar
    server.files["g.pth"] = data
    (online / "g.pth.part").write_bytes(data[: len(data) // 2])
    download_url(server.url("g.pth"), online / "g.pth", sha(data), progress=True)
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
    out = finishes(lambda: download_url(f"{base}/f.pth", online / "f.pth", None, progress=False, timeout=0.5))
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
    data = checkpoint_bytes(17)
    server.files["f.pth"] = data
    timeouts = []
    request = hub._request
    monkeypatch.setattr(hub, "_request", lambda url, start, timeout: timeouts.append(timeout) or
                        request(url, start, timeout))
    capsys.readouterr()
    download_url(server.url("f.pth"), online / "f.pth", sha(data))
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
    data = checkpoint_bytes(18)
    server.files["f.pth"] = data
    seen = []
    fetch = hub._fetch_to_part

    def spy(*args, **kwargs):
        seen.append(sorted(p.name for p in online.iterdir() if p.name.endswith(".lock")))
        return fetch(*args, **kwargs)

    monkeypatch.setattr(hub, "_fetch_to_part", spy)
    download_url(server.url("f.pth"), online / "f.pth", sha(data), progress=False)
    assert seen == [["f.pth.lock"]] and not (online / "f.pth.lock").exists()


@pytest.mark.parametrize("good", [True, False])
def test_a_file_finished_by_another_process_meanwhile_is_verified_inside_the_lock(server, online, monkeypatch, good):
    """Between the first look and taking the lock another process may have stored the file: it is checked
    against the published digest (and kept, recorded with the URL) or refused and downloaded again."""
    data = checkpoint_bytes(19)
    server.files["f.pth"] = data
    dest = online / "f.pth"
    other = data if good else b"PK\x03\x04 something else"
    monkeypatch.setattr(hub, "_remove_stale_leftovers", lambda folder: dest.write_bytes(other))
    assert download_url(server.url("f.pth"), dest, sha(data), progress=False) == dest
    assert dest.read_bytes() == data
    assert len(server.requests) == (0 if good else 1)
    assert f"source: {server.url('f.pth')}\n" in (online / "f.pth.sha256").read_text()


def test_a_partial_file_started_by_another_url_is_not_resumed_from_this_one(server, online):
    """Mirrors may serve other bytes: a ``.part`` is resumed only from the URL recorded in ``.part.url``."""
    data = checkpoint_bytes(20)
    server.files["f.pth"] = data
    (online / "f.pth.part").write_bytes(data[:1000])
    (online / "f.pth.part.url").write_text(server.url("mirror/f.pth"), encoding="utf-8")
    download_url(server.url("f.pth"), online / "f.pth", sha(data), progress=False)
    assert (online / "f.pth").read_bytes() == data and server.requests == [("f.pth", None)]
    assert not (online / "f.pth.part.url").exists()


def test_the_sidecar_names_the_source_and_says_when_the_digest_was_only_recorded(server, online):
    data = checkpoint_bytes(21)
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
    download_url(url, online / "f.pth", sha(data), progress=False)  # a published digest
    assert source_line() == f"# sha256 of f.pth, written by internvideo_core.hub; source: {url}"


def test_a_checksum_error_names_the_url(server, online):
    server.files["f.pth"] = checkpoint_bytes(22)
    with pytest.raises(ChecksumError) as err:
        download_url(server.url("f.pth"), online / "f.pth", "0" * 64, progress=False)
    assert str(err.value).startswith(f"sha256 mismatch for {server.url('f.pth')}\n")
