"""The hub's small pure helpers, pinned exactly: offline switches, the sidecar format, the fetch hint, Content-Range
parsing, request headers and the payload checks (each written against a planted one-line bug that the transfer
tests let through)."""
from __future__ import annotations

import hashlib
import json
import os
import struct
import time
import zipfile

import pytest

from internvideo_core import hub
from internvideo_core.hub import BadDownloadError


@pytest.mark.parametrize("value, on", [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False),
                                       ("", False), ("off", False), ("2", False)])
def test_offline_switch_values(monkeypatch, value, on):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", value)
    assert hub.is_offline() is on
    assert hub._offline_var() == "INTERNVIDEO_OFFLINE"


def test_offline_variable_named_is_the_one_set(monkeypatch):
    monkeypatch.delenv("INTERNVIDEO_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.is_offline() and hub._offline_var() == "HF_HUB_OFFLINE"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert not hub.is_offline() and hub._offline_var() == "INTERNVIDEO_OFFLINE"


def test_sha256_file_reads_in_chunks(tmp_path):
    data = bytes(range(256)) * 40
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    assert hub.sha256_file(p, chunk=7) == hub.sha256_file(p) == hashlib.sha256(data).hexdigest()
    assert hub._CHUNK == 1 << 20


def test_sidecar_is_written_in_sha256sum_format_and_read_back(tmp_path):
    dest = tmp_path / "model.pth"
    dest.write_bytes(b"abc")
    digest = hashlib.sha256(b"abc").hexdigest()
    hub._write_sidecar(dest, digest, "https://example.org/model.pth")
    side = tmp_path / "model.pth.sha256"
    lines = side.read_text(encoding="utf-8").splitlines()
    st = dest.stat()
    assert lines == [f"{digest}  model.pth",
                     "# sha256 of model.pth, written by internvideo_core.hub; source: https://example.org/model.pth",
                     f"# verified size=3 mtime_ns={st.st_mtime_ns}"]
    assert hub._read_sidecar(dest) == (digest, (3, st.st_mtime_ns))
    assert not (tmp_path / "model.pth.sha256.tmp").exists()


def test_sidecar_parsing_rules(tmp_path):
    dest = tmp_path / "m.pth"
    assert hub._read_sidecar(dest) == (None, None)
    side = tmp_path / "m.pth.sha256"
    a, b = "a" * 64, "b" * 64
    side.write_text(f"# comment\n\n  {a.upper()}  m.pth\n{b}  m.pth\n#verified size=5 mtime_ns=7\n")
    assert hub._read_sidecar(dest) == (a, (5, 7))  # first digest wins, upper case folded, '#verified' accepted
    side.write_text("not-a-digest m.pth\n# verified size=x mtime_ns=7\n")
    assert hub._read_sidecar(dest) == (None, None)
    side.write_text(f"{'c' * 63}  m.pth\n{b}\n")
    assert hub._read_sidecar(dest) == (b, None)


def test_fetch_hint_lists_mirrors_target_and_a_curl_command(tmp_path):
    dest = tmp_path / "m.pth"
    hint = hub._fetch_hint(["https://a.org/m.pth", "https://b.org/m.pth"], dest)
    assert hint.splitlines() == ["  fetch: https://a.org/m.pth", "     or: https://b.org/m.pth",
                                 f"  and save it as: {dest}",
                                 f"  e.g.  curl -L --fail -o '{dest}' 'https://a.org/m.pth'"]
    hf = hub._fetch_hint(["https://huggingface.co/x/m.pth"], dest)
    assert hf.splitlines()[-1] == (f"  e.g.  curl -L --fail -H \"Authorization: Bearer $HF_TOKEN\" -o '{dest}' "
                                   "'https://huggingface.co/x/m.pth'")


def test_content_range_total():
    assert hub._total_from_content_range("bytes 0-99/1234") == 1234
    assert hub._total_from_content_range("bytes  */500") == 500
    assert hub._total_from_content_range("bytes 0-99/*") is None
    assert hub._total_from_content_range(None) is None
    assert hub._total_from_content_range("") is None


def test_request_headers_range_and_token_scope(monkeypatch):
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    req = hub._build_request("https://huggingface.co/a/b", 0)
    assert req.get_header("User-agent") == "internvideo-kit (urllib)"
    assert req.get_header("Accept-encoding") == "identity"
    assert not req.has_header("Range") and not req.has_header("Authorization")
    assert hub._build_request("https://x.org/f", 1).get_header("Range") == "bytes=1-"
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "tok2")
    req = hub._build_request("https://cdn-lfs.huggingface.co/f", 0)
    assert req.unredirected_hdrs == {"Authorization": "Bearer tok2"}
    monkeypatch.setenv("HF_TOKEN", "tok1")
    assert hub._build_request("https://HUGGINGFACE.CO/f", 0).unredirected_hdrs == {"Authorization": "Bearer tok1"}
    assert hub._build_request("https://nothuggingface.co/f", 0).unredirected_hdrs == {}
    assert hub._build_request("https://example.org/huggingface.co", 0).unredirected_hdrs == {}


def _safetensors(payload_len: int = 4, extra: int = 0, header: dict | None = None) -> bytes:
    h = json.dumps(header if header is not None else
                   {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, payload_len]},
                    "__metadata__": {"k": "v"}}).encode()
    return struct.pack("<Q", len(h)) + h + b"\0" * (payload_len + extra)


@pytest.mark.parametrize("name, body, problem", [
    ("m.pth", b"<!DOCTYPE html><p>login</p>", "HTML page"),
    ("m.pth", b"  <html><body>x", "HTML page"),
    ("m.safetensors", b"<p>short</p>", "HTML page"),  # '<' and under 16 bytes
    ("m.PTH", b"GIF89a-not-a-checkpoint", "does not start like a PyTorch .pth file"),
    ("m.ckpt", b"\x80\x01old pickle protocol", "does not start like a PyTorch .ckpt file"),
    ("m.bin", b"PK\x03\x04" + b"\0" * 40, "zip archive is incomplete"),
    ("m.safetensors", b"\x01\x00", "no valid safetensors header"),
    ("m.safetensors", struct.pack("<Q", 1) + b"{}", "no valid safetensors header"),
    ("m.safetensors", struct.pack("<Q", 100) + b"{}", "no valid safetensors header"),
    ("m.safetensors", struct.pack("<Q", 2) + b"[]", "no valid safetensors header"),
    ("m.safetensors", _safetensors(extra=1), "shorter or longer than its header says"),
    ("m.safetensors", _safetensors()[:-1], "shorter or longer than its header says"),
])
def test_payload_checks_reject_and_delete(tmp_path, name, body, problem):
    part = tmp_path / (name + ".part")
    part.write_bytes(body)
    with pytest.raises(BadDownloadError, match=problem):
        hub._check_payload(part, tmp_path / name)
    assert not part.exists()


def test_payload_checks_accept_good_files_and_html_only_mode(tmp_path):
    z = tmp_path / "m.pt"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("data.pkl", b"x")
    hub._check_payload(z, z)
    assert z.exists()
    s = tmp_path / "m.safetensors"
    s.write_bytes(_safetensors())
    hub._check_payload(s, s)
    s.write_bytes(_safetensors(payload_len=0, header={}))
    hub._check_payload(s, s)  # an empty tensor table is a valid file (8 + 2 bytes)
    other = tmp_path / "notes.txt"
    other.write_bytes(b"<p>short</p>")
    with pytest.raises(BadDownloadError, match="HTML page"):
        hub._check_payload(other, other, html_only=True)
    assert other.exists()  # html_only never deletes
    bad = tmp_path / "m.pth"
    bad.write_bytes(b"GIF89a-not-a-checkpoint")
    hub._check_payload(bad, bad, html_only=True)  # only HTML is an error in this mode
    assert bad.exists()
    txt = tmp_path / "plain.txt"
    txt.write_bytes(b"< not html but long enough to pass")
    hub._check_payload(txt, txt)
    assert txt.exists()


def test_stale_leftovers_only_old_and_orphaned(tmp_path):
    old = time.time() - 2 * 3600
    orphan = tmp_path / "a.pth.part.url"
    kept_marker = tmp_path / "b.pth.part.url"
    (tmp_path / "b.pth.part").write_bytes(b"x")
    lock = tmp_path / "c.pth.lock"
    young_lock = tmp_path / "d.pth.lock"
    other = tmp_path / "e.txt"
    for p in (orphan, kept_marker, lock, young_lock, other):
        p.write_text("u")
    for p in (orphan, kept_marker, lock, other):
        os.utime(p, (old, old))
    removed = hub._remove_stale_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == ["a.pth.part.url", "c.pth.lock"]
    assert kept_marker.exists() and young_lock.exists() and other.exists()
    assert hub._remove_stale_leftovers(tmp_path / "missing") == []
    assert hub._STALE_AGE_S == 3600.0
    young_lock_age = hub._remove_stale_leftovers(tmp_path, max_age_s=0.0)
    assert young_lock in young_lock_age and not young_lock.exists()


def test_check_digest_messages_name_the_origin_and_the_fix(tmp_path):
    dest = tmp_path / "m.pth"
    part = tmp_path / "m.pth.part"
    part.write_bytes(b"abc")
    got = hashlib.sha256(b"abc").hexdigest()
    assert hub._check_digest(part, dest, None, None, "u") == got and part.exists()
    assert hub._check_digest(part, dest, got, "f" * 64, "u") == got  # the published digest wins
    with pytest.raises(hub.ChecksumError) as err:
        hub._check_digest(part, dest, "0" * 64, None, "https://x.org/m.pth")
    msg = str(err.value)
    assert msg.startswith("sha256 mismatch for https://x.org/m.pth\n  expected: " + "0" * 64 + " (the published digest)")
    assert f"\n  got:      {got}\n" in msg and f"nothing was written to {dest}." in msg
    assert "The download was corrupted or the file on the server changed." in msg
    assert "If the upstream file was replaced" not in msg and not part.exists()
    assert msg.endswith("fetch the file by hand and compare its sha256 with the expected value.")
    part.write_bytes(b"abc")
    with pytest.raises(hub.ChecksumError) as err:
        hub._check_digest(part, dest, None, "1" * 64, "u")
    msg = str(err.value)
    assert f"(the digest recorded in {tmp_path / 'm.pth.sha256'} when the file was first downloaded)" in msg
    assert f"If the upstream file was replaced on purpose, delete {tmp_path / 'm.pth.sha256'} and run again" in msg


def test_verify_existing_paths(tmp_path):
    dest = tmp_path / "m.bin"
    dest.write_bytes(b"PK\x03\x04 some bytes")
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    # no digest anywhere: recorded on first use
    assert hub._verify_existing(dest, None, "https://x.org/m.bin") is True
    assert hub._read_sidecar(dest)[0] == digest
    assert "(digest recorded on first use)" in (tmp_path / "m.bin.sha256").read_text()
    # a published digest in upper case that matches: verified, sidecar names the source
    assert hub._verify_existing(dest, digest.upper(), "src2") is True  # trusted by its stamp
    assert hub._verify_existing(dest, digest.upper(), "src2", recheck=True) is True
    assert "source: src2\n" in (tmp_path / "m.bin.sha256").read_text()
    # a different published digest: the file is removed
    assert hub._verify_existing(dest, "0" * 64, "src") is False and not dest.exists()
    # an HTML page cached without a digest is refused and its sidecar dropped; the page itself stays
    page = tmp_path / "p.bin"
    page.write_bytes(b"<!DOCTYPE html><html>login</html>")
    (tmp_path / "p.bin.sha256").write_text("a" * 64 + "  p.bin\n")
    assert hub._verify_existing(page, None, "src") is False
    assert not (tmp_path / "p.bin.sha256").exists() and page.exists()
    # a fresh stamp is trusted without hashing unless recheck
    good = tmp_path / "g.bin"
    good.write_bytes(b"PK\x03\x04 good")
    hub._verify_existing(good, None, "src")
    st = good.stat()
    good.write_bytes(b"PK\x03\x04 bad!")  # same size
    os.utime(good, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert hub._verify_existing(good, None, "src") is True and good.exists()
    assert hub._verify_existing(good, None, "src", recheck=True) is False and not good.exists()


def test_offline_variable_named_is_the_first_one_set_whatever_its_case(monkeypatch):
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub._offline_var() == "INTERNVIDEO_OFFLINE"  # both set: the kit's own variable is named
    monkeypatch.delenv("INTERNVIDEO_OFFLINE")
    monkeypatch.setenv("HF_HUB_OFFLINE", " True ")
    assert hub._offline_var() == "HF_HUB_OFFLINE"


def test_sha256_file_never_reads_more_than_one_chunk_at_a_time(tmp_path, monkeypatch):
    """Checkpoints are gigabytes: the file is hashed chunk by chunk, never read whole into memory."""
    p = tmp_path / "f.bin"
    p.write_bytes(bytes(range(256)) * 10)
    sizes: list = []

    class Spy:
        def __init__(self, fh):
            self.fh = fh

        def read(self, n=-1):
            sizes.append(n)
            return self.fh.read(n)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(hub, "open", lambda path, mode: Spy(open(path, mode)), raising=False)
    assert hub.sha256_file(p, chunk=1000) == hashlib.sha256(p.read_bytes()).hexdigest()
    assert sizes == [1000, 1000, 1000, 1000]  # 2560 bytes: 1000 + 1000 + 560, then the empty read


def test_check_digest_messages_in_full(tmp_path):
    dest = tmp_path / "m.pth"
    part = tmp_path / "m.pth.part"
    part.write_bytes(b"abc")
    got = hashlib.sha256(b"abc").hexdigest()
    advice = ("The download was corrupted or the file on the server changed. Run the command again to retry; "
              "if it keeps failing, fetch the file by hand and compare its sha256 with the expected value.")
    with pytest.raises(hub.ChecksumError) as err:
        hub._check_digest(part, dest, "0" * 64, None, "https://x.org/m.pth")
    assert str(err.value) == (
        f"sha256 mismatch for https://x.org/m.pth\n  expected: {'0' * 64} (the published digest)\n"
        f"  got:      {got}\nThe bad download was deleted; nothing was written to {dest}. {advice}")
    part.write_bytes(b"abc")
    side = tmp_path / "m.pth.sha256"
    with pytest.raises(hub.ChecksumError) as err:
        hub._check_digest(part, dest, None, "1" * 64, "u")
    assert str(err.value) == (
        f"sha256 mismatch for u\n  expected: {'1' * 64} (the digest recorded in {side} when the file was first "
        f"downloaded)\n  got:      {got}\nThe bad download was deleted; nothing was written to {dest}. {advice} "
        f"If the upstream file was replaced on purpose, delete {side} and run again to record the new digest.")


def test_re_verifying_a_touched_file_keeps_its_digest_in_the_sidecar(tmp_path):
    """A file modified in time stamp only is hashed again; the sidecar then records the same digest (and the
    new stamp), so later downloads are still checked against the digest of the first one."""
    dest = tmp_path / "m.bin"
    dest.write_bytes(b"PK\x03\x04 some bytes")
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    assert hub._verify_existing(dest, None, "src") is True
    st = dest.stat()
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert hub._verify_existing(dest, None, "src") is True
    assert hub._read_sidecar(dest) == (digest, (st.st_size, st.st_mtime_ns + 10**9))
    assert hub._verify_existing(dest, digest, "src", recheck=True) is True  # a published digest that matches
    assert hub._read_sidecar(dest)[0] == digest


def test_only_the_first_sixteen_bytes_are_sniffed_for_html(tmp_path):
    """A text file that starts with ``<`` is an HTML page only if ``<html`` / ``<!doctype`` is in its first 16
    bytes, or if it is shorter than 16 bytes; a longer file is never read whole for this check."""
    doc = tmp_path / "notes.txt"
    doc.write_bytes(b"<" + b"x" * 11 + b"<html> comes too late to count")  # '<html' at bytes 12..16
    hub._check_payload(doc, doc)
    assert doc.exists()
    doc.write_bytes(b"<" + b"x" * 15)  # exactly 16 bytes: long enough not to be taken for a page
    hub._check_payload(doc, doc)
    doc.write_bytes(b"<" + b"x" * 14)  # 15 bytes
    with pytest.raises(BadDownloadError, match="HTML page"):
        hub._check_payload(doc, doc)


def test_a_file_without_the_magic_is_described_by_its_first_eight_bytes(tmp_path):
    part = tmp_path / "m.pth.part"
    part.write_bytes(b"GIF89a-not-a-checkpoint")
    with pytest.raises(BadDownloadError) as err:
        hub._check_payload(part, tmp_path / "m.pth")
    assert str(err.value) == "it does not start like a PyTorch .pth file (zip or pickle header), but with b'GIF89a-n'"


def test_a_safetensors_header_length_just_past_the_end_is_no_valid_header(tmp_path):
    part = tmp_path / "m.safetensors.part"
    part.write_bytes(struct.pack("<Q", 6) + b"{}")  # claims 6 header bytes, 2 are there
    with pytest.raises(BadDownloadError) as err:
        hub._check_payload(part, tmp_path / "m.safetensors")
    assert str(err.value) == "it has no valid safetensors header"


def test_a_zip_cut_short_is_described_in_full(tmp_path):
    part = tmp_path / "m.bin.part"
    part.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(BadDownloadError) as err:
        hub._check_payload(part, tmp_path / "m.bin")
    assert str(err.value) == "the zip archive is incomplete (no central directory: the transfer was cut short)"


def test_a_safetensors_file_of_the_wrong_length_is_described_in_full(tmp_path):
    part = tmp_path / "m.safetensors.part"
    part.write_bytes(_safetensors(extra=1))
    with pytest.raises(BadDownloadError) as err:
        hub._check_payload(part, tmp_path / "m.safetensors")
    assert str(err.value) == "the safetensors file is shorter or longer than its header says (cut short?)"


def test_a_leftover_exactly_an_hour_old_is_stale(tmp_path, monkeypatch):
    now = 2_000_000_000.0
    orphan = tmp_path / "a.pth.part.url"
    orphan.write_text("u")
    os.utime(orphan, (now - 3600, now - 3600))
    monkeypatch.setattr(time, "time", lambda: now)
    assert hub._remove_stale_leftovers(tmp_path) == [orphan] and not orphan.exists()
