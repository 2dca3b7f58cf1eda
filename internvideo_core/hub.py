"""Checkpoint downloads: resumable, sha256-verified, atomic, offline-aware, with a tqdm progress bar.

Only the standard library's :mod:`urllib` is used (no ``requests``); nothing touches the network at import time.

- :func:`download_url` fetches one URL to a file. It writes ``<file>.part`` in the destination folder, resumes
  an interrupted download with an HTTP ``Range`` request (restarting cleanly when the server ignores ``Range``
  or answers 416), verifies the sha256 digest and moves the result into place with :func:`os.replace`.
  When no digest is published, the digest of the first download is recorded in ``<file>.sha256`` (the format
  of ``sha256sum``, so ``sha256sum -c`` works) and later copies are verified against it.
- This module knows URLs and files only, no model names: the name lookups (``cached_path``,
  ``download_pretrained``, ``mirrors_for``) live with the registry (:mod:`internvideo_core.registry`), which
  imports this module, never the reverse.
- Offline: ``INTERNVIDEO_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``) makes every download raise
  :class:`HubOfflineError` before any request; so does an unreachable host. The message names the URL to fetch
  and the full path to put the file at, so the kit finds it afterwards.
- Nothing unverified is stored: a ``text/html`` answer (a login or error page served with status 200), a
  body shorter or longer than its ``Content-Length``, or a file without the magic bytes of its kind (zip
  for ``.pth``/``.pt``/``.ckpt``/``.bin`` - or a legacy pickle header -, a safetensors header for
  ``.safetensors``) is rejected with :class:`BadDownloadError`, deleted, never gets a digest recorded, and
  the next mirror is tried. So is a server that does not speak HTTP (``BadStatusLine``).
- Leftovers of failed or killed downloads in the destination folder (``<file>.lock`` that nobody holds,
  ``<file>.part.url`` without its ``.part``) older than an hour are removed by the next download there.
- Gated Hugging Face repositories: if ``HF_TOKEN`` (or ``HUGGING_FACE_HUB_TOKEN``) is set, it is sent as a
  bearer token to ``huggingface.co`` only (never forwarded to the CDN a download is redirected to).
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence
from urllib.parse import urlparse

__all__ = [
    "HubError",
    "HubOfflineError",
    "ChecksumError",
    "BadDownloadError",
    "is_offline",
    "sha256_file",
    "download_url",
]

_CHUNK = 1 << 20
_USER_AGENT = "internvideo-kit (urllib)"
_TRUE = {"1", "true", "yes", "on"}


class HubError(RuntimeError):
    """A download failed; the message says which URL, where the file was going and what to do."""


class HubOfflineError(HubError):
    """Downloads are disabled (``INTERNVIDEO_OFFLINE`` / ``HF_HUB_OFFLINE``) or the host cannot be reached."""


class ChecksumError(HubError):
    """A file's sha256 digest differs from the published or recorded one; the bad file has been removed."""


class BadDownloadError(HubError):
    """A server answered with something that is not the file: an HTML page, a body of the wrong length, bytes
    without the file type's magic, or a reply that is not HTTP. Nothing was stored."""


#: Magic bytes of a checkpoint by file suffix: zip (``torch.save`` since 1.6) or a pickle protocol-2 header
#: (legacy ``torch.save``); safetensors is checked structurally (8-byte header length + JSON object).
_ZIP_OR_PICKLE = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_MAGIC: dict[str, tuple[bytes, ...]] = {".pth": _ZIP_OR_PICKLE, ".pt": _ZIP_OR_PICKLE, ".ckpt": _ZIP_OR_PICKLE,
                                        ".bin": _ZIP_OR_PICKLE}
_STALE_AGE_S = 3600.0


# --------------------------------------------------------------------------------------------------- helpers
def is_offline() -> bool:
    """True when ``INTERNVIDEO_OFFLINE`` or ``HF_HUB_OFFLINE`` is set to 1/true/yes/on."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("INTERNVIDEO_OFFLINE", "HF_HUB_OFFLINE"))


def _offline_var() -> str:
    for v in ("INTERNVIDEO_OFFLINE", "HF_HUB_OFFLINE"):
        if os.environ.get(v, "").strip().lower() in _TRUE:
            return v
    return "INTERNVIDEO_OFFLINE"


def sha256_file(path: str | os.PathLike, *, chunk: int = _CHUNK) -> str:
    """Hex sha256 digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _sidecar(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256")


def _read_sidecar(dest: Path) -> tuple[str | None, tuple[int, int] | None]:
    """(recorded digest, (size, mtime_ns) of the file when it was last verified) from ``<dest>.sha256``."""
    side = _sidecar(dest)
    if not side.exists():
        return None, None
    digest, stamp = None, None
    for line in side.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        m = re.fullmatch(r"#\s*verified size=(\d+) mtime_ns=(\d+)", line)
        if m:
            stamp = (int(m.group(1)), int(m.group(2)))
        elif line and not line.startswith("#") and digest is None:
            token = line.split()[0].lower()
            if re.fullmatch(r"[0-9a-f]{64}", token):
                digest = token
    return digest, stamp


def _write_sidecar(dest: Path, digest: str, source: str) -> None:
    st = dest.stat()
    text = (f"{digest}  {dest.name}\n"
            f"# sha256 of {dest.name}, written by internvideo_core.hub; source: {source}\n"
            f"# verified size={st.st_size} mtime_ns={st.st_mtime_ns}\n")
    tmp = _sidecar(dest).with_name(_sidecar(dest).name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, _sidecar(dest))


def _fetch_hint(urls: Sequence[str], dest: Path) -> str:
    lines = [f"  fetch: {urls[0]}"]
    lines += [f"     or: {u}" for u in urls[1:]]
    lines.append(f"  and save it as: {dest}")
    auth = " -H \"Authorization: Bearer $HF_TOKEN\"" if "huggingface.co" in urls[0] else ""
    lines.append(f"  e.g.  curl -L --fail{auth} -o '{dest}' '{urls[0]}'")
    return "\n".join(lines)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock on ``path`` (POSIX ``flock``), so parallel ranks do not write the same ``.part`` file."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, downloads still atomic
        yield
        return
    while True:
        handle = open(path, "a+b")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()  # the lock file was removed (by its holder or a cleanup) while we waited: lock anew
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # removed while still held, so nobody can lock a stale inode afterwards
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def _remove_stale_leftovers(folder: Path, max_age_s: float = _STALE_AGE_S) -> list[Path]:
    """Remove ``*.lock`` files nobody holds and ``*.part.url`` markers without their ``.part``, older than
    ``max_age_s``, left in ``folder`` by failed or killed downloads; returns what was removed."""
    import time

    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return []
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        try:
            if now - entry.lstat().st_mtime < max_age_s or not entry.is_file():
                continue
            if entry.name.endswith(".part.url"):
                if not entry.with_name(entry.name[: -len(".url")]).exists():
                    entry.unlink()
                    removed.append(entry)
            elif entry.name.endswith(".lock"):
                with open(entry, "a+b") as handle:
                    try:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:
                        continue  # held by a running download
                    if os.path.samestat(os.fstat(handle.fileno()), os.stat(entry)):
                        entry.unlink()
                        removed.append(entry)
        except OSError:
            continue
    return removed


# --------------------------------------------------------------------------------------------- verification
def _verify_existing(dest: Path, sha256: str | None, source: str, recheck: bool = False) -> bool:
    """Check a file already at ``dest``. True: good (sidecar written/refreshed). False: it was bad and removed.

    A file whose size and modification time match the sidecar's record of its last verification is trusted
    without re-hashing (gigabytes otherwise); ``recheck=True`` always hashes.
    """
    expected = sha256.lower() if sha256 else None
    if expected is None:  # only a digest recorded on first use: that first copy must not be an HTML page
        try:
            _check_payload(dest, dest, html_only=True)
        except BadDownloadError:  # e.g. an HTML page stored by an older version of the kit: fetch again
            _sidecar(dest).unlink(missing_ok=True)
            return False
    recorded, stamp = _read_sidecar(dest)
    st = dest.stat()
    fresh = stamp == (st.st_size, st.st_mtime_ns)
    want = expected or recorded
    if want is not None and fresh and recorded == want and not recheck:
        return True  # verified before and unchanged since: skip re-hashing gigabytes
    got = sha256_file(dest)
    if want is None:
        _write_sidecar(dest, got, f"{source} (digest recorded on first use)")
        return True
    if got == want:
        _write_sidecar(dest, got, source)
        return True
    dest.unlink()
    return False


def _check_digest(part: Path, dest: Path, expected: str | None, recorded: str | None, url: str) -> str:
    got = sha256_file(part)
    want = expected or recorded
    if want is not None and got != want:
        part.unlink(missing_ok=True)
        origin = ("the published digest" if expected else
                  f"the digest recorded in {_sidecar(dest)} when the file was first downloaded")
        advice = ("The download was corrupted or the file on the server changed. Run the command again to "
                  "retry; if it keeps failing, fetch the file by hand and compare its sha256 with "
                  "the expected value.")
        if not expected:
            advice += (f" If the upstream file was replaced on purpose, delete {_sidecar(dest)} and run again to "
                       "record the new digest.")
        raise ChecksumError(
            f"sha256 mismatch for {url}\n  expected: {want} ({origin})\n  got:      {got}\n"
            f"The bad download was deleted; nothing was written to {dest}. {advice}"
        )
    return got


def _check_payload(part: Path, dest: Path, *, html_only: bool = False) -> None:
    """Raise :class:`BadDownloadError` (deleting ``part``) when the file lacks the magic of its kind
    (``html_only``: only when it is an HTML page; then nothing is deleted)."""
    with open(part, "rb") as fh:
        head = fh.read(16)
    size = part.stat().st_size
    problem = None
    suffix = dest.suffix.lower()
    if head.lstrip()[:1] == b"<" and (b"<!doctype" in head.lower() or b"<html" in head.lower() or size < 16):
        problem = "it is an HTML page, not a checkpoint"
    elif suffix in _MAGIC and not head.startswith(_MAGIC[suffix]):
        problem = f"it does not start like a PyTorch {suffix} file (zip or pickle header), but with {head[:8]!r}"
    elif suffix in _MAGIC and head.startswith(b"PK"):
        import zipfile

        if not zipfile.is_zipfile(part):
            problem = "the zip archive is incomplete (no central directory: the transfer was cut short)"
    elif suffix == ".safetensors":
        import json
        import struct

        n = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else -1
        try:
            if not 2 <= n <= size - 8:
                raise ValueError
            with open(part, "rb") as fh:
                fh.seek(8)
                header = json.loads(fh.read(n))
            ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
            if 8 + n + max(ends, default=0) != size:
                problem = "the safetensors file is shorter or longer than its header says (cut short?)"
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):  # AttributeError: not a JSON object
            problem = "it has no valid safetensors header"
    if problem and html_only:
        if problem.startswith("it is an HTML page"):
            raise BadDownloadError(problem)
        return
    if problem:
        part.unlink(missing_ok=True)
        raise BadDownloadError(problem)


# ----------------------------------------------------------------------------------------------- transfer
def _build_request(url: str, start: int) -> urllib.request.Request:
    """GET request; ``Range`` when resuming; the HF token only for huggingface.co and not kept on redirects."""
    req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"})
    if start > 0:
        req.add_header("Range", f"bytes={start}-")
    host = (urlparse(url).hostname or "").lower()
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token and (host == "huggingface.co" or host.endswith(".huggingface.co")):
        req.add_unredirected_header("Authorization", f"Bearer {token}")
    return req


def _request(url: str, start: int, timeout: float) -> http.client.HTTPResponse:
    return urllib.request.urlopen(_build_request(url, start), timeout=timeout)


def _total_from_content_range(value: str | None) -> int | None:
    m = re.match(r"bytes\s+(?:\d+-\d+|\*)/(\d+)", value or "")
    return int(m.group(1)) if m else None


class _Interrupted(Exception):
    """The connection ended before the announced length; the ``.part`` file keeps what arrived."""


def _transfer_once(url: str, part: Path, *, timeout: float, progress: bool, desc: str) -> None:
    """One HTTP request that appends to ``part`` (resuming with Range when it is non-empty)."""
    from tqdm.auto import tqdm

    start = part.stat().st_size if part.exists() else 0
    try:
        resp = _request(url, start, timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start > 0:
            total = _total_from_content_range(err.headers.get("Content-Range"))
            err.close()
            if total is not None and total == start:
                return  # the part file already holds the whole file
            part.unlink()  # stale or oversized partial file: start again from zero
            return _transfer_once(url, part, timeout=timeout, progress=progress, desc=desc)
        raise
    with resp:
        status = resp.status
        ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype in ("text/html", "application/xhtml+xml"):
            raise BadDownloadError(f"the server answered with an HTML page (Content-Type {ctype}, HTTP {status}), "
                                   "not the file: a login, error or moved page")
        mode = "ab"
        if start > 0 and status == 206:
            total = _total_from_content_range(resp.headers.get("Content-Range"))
            cr = re.match(r"bytes\s+(\d+)-", resp.headers.get("Content-Range") or "")
            if cr is None or int(cr.group(1)) != start:  # not the range we asked for: restart cleanly
                resp.close()
                part.unlink()
                return _transfer_once(url, part, timeout=timeout, progress=progress, desc=desc)
        else:
            if start > 0:  # server ignored Range and sent the whole file (200)
                start, mode = 0, "wb"
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        if total is not None:
            free = shutil.disk_usage(part.parent).free
            if total - start > free:
                raise HubError(f"not enough disk space in {part.parent} for {url}: need {total - start} bytes, "
                               f"{free} free. Free some space or set INTERNVIDEO_CACHE to another folder.")
        got = start
        with open(part, mode) as out, tqdm(total=total, initial=start, unit="B", unit_scale=True,
                                           unit_divisor=1024, desc=desc, disable=not progress,
                                           leave=False) as bar:
            try:
                while block := resp.read(_CHUNK):
                    out.write(block)
                    got += len(block)
                    bar.update(len(block))
            except (http.client.IncompleteRead, ConnectionError, TimeoutError) as err:
                raise _Interrupted(f"{type(err).__name__}: {err}") from err
        if total is not None and got < total:
            raise _Interrupted(f"connection closed after {got} of {total} bytes")
        if total is not None and got > total:
            part.unlink(missing_ok=True)
            raise BadDownloadError(f"the server sent {got} bytes but announced {total} (Content-Length)")


def download_url(url: str, dest: str | os.PathLike, sha256: str | None = None, *, progress: bool = True,
                 timeout: float = 30.0, retries: int = 3, mirrors: Sequence[str] = (),
                 recheck: bool = False) -> Path:
    """Download ``url`` to ``dest`` (resumable, verified, atomic) and return ``Path(dest)``.

    Args:
        url: http(s) URL.
        dest: final file path; the folder is created. An existing file there is verified and reused.
        sha256: published hex digest, or ``None`` (then the first download's digest is recorded in
            ``<dest>.sha256`` and later copies are checked against it).
        progress: show a tqdm bar (stderr).
        timeout: seconds to wait for the server on connect and on each read.
        retries: how many times an interrupted transfer is resumed within this call.
        mirrors: further URLs of the same file, tried in order when ``url`` fails (not after a checksum error).
        recheck: re-hash a file already at ``dest`` even if it is unchanged since its last verification.

    Raises:
        HubOfflineError: downloads are disabled, or no host could be reached.
        ChecksumError: the digest does not match (the bad file is removed, nothing is left at ``dest``).
        HubError: any other failure (HTTP error, disk full); ``<dest>.part`` is kept so a rerun resumes.
    """
    dest = Path(dest).expanduser()
    urls = [url, *[m for m in mirrors if m != url]]
    if dest.exists() and _verify_existing(dest, sha256, url, recheck):
        return dest
    if is_offline():
        raise HubOfflineError(
            f"{dest.name} is not in the cache and downloads are disabled ({_offline_var()}=1).\n"
            f"{_fetch_hint(urls, dest)}\nor unset {_offline_var()} to let the kit download it."
        )
    from internvideo_core.housekeeping import NotWritableError, ensure_writable_dir

    try:
        ensure_writable_dir(dest.parent, "download folder",
                            "set INTERNVIDEO_CACHE to a folder you can write to (or fix the permissions)")
    except NotWritableError as err:
        raise HubError(f"cannot download {dest.name}: {err}") from None
    _remove_stale_leftovers(dest.parent)
    part = dest.with_name(dest.name + ".part")
    with _file_lock(dest.with_name(dest.name + ".lock")):
        if dest.exists() and _verify_existing(dest, sha256, url):  # another process finished meanwhile
            return dest
        recorded, _ = _read_sidecar(dest)
        failures: list[str] = []
        unreachable = 0
        marker = part.with_name(part.name + ".url")
        for candidate in urls:
            # a partial file is only resumed from the URL that started it (mirrors may serve other bytes)
            started_by = marker.read_text(encoding="utf-8").strip() if marker.exists() else urls[0]
            if part.exists() and started_by != candidate:
                part.unlink()
            marker.write_text(candidate, encoding="utf-8")
            failure = _fetch_to_part(candidate, part, timeout=timeout, progress=progress, retries=retries,
                                     desc=dest.name)
            if failure is None:
                try:
                    _check_payload(part, dest)
                except BadDownloadError as err:
                    marker.unlink(missing_ok=True)
                    failures.append(f"{candidate}: rejected: {err}")
                    continue
                try:
                    got = _check_digest(part, dest, sha256.lower() if sha256 else None, recorded, candidate)
                except ChecksumError:
                    marker.unlink(missing_ok=True)
                    raise
                os.replace(part, dest)
                marker.unlink(missing_ok=True)
                note = "" if (sha256 or recorded) else " (digest recorded on first download)"
                _write_sidecar(dest, got, candidate + note)
                return dest
            failures.append(f"{candidate}: {failure}")
            unreachable += failure.startswith("cannot reach")
            if failure.startswith("rejected"):
                marker.unlink(missing_ok=True)
        detail = "\n".join(f"  - {f}" for f in failures)
        rejected = sum(": rejected: " in f for f in failures)
        cls = HubOfflineError if unreachable == len(urls) else BadDownloadError if rejected == len(urls) else HubError
        raise cls(f"could not download {dest.name}:\n{detail}\nTo install it by hand:\n{_fetch_hint(urls, dest)}")


def _fetch_to_part(url: str, part: Path, *, timeout: float, progress: bool, retries: int, desc: str) -> str | None:
    """Fill ``part`` from ``url``, resuming up to ``retries`` times. None on success, else why it failed."""
    attempts = 0
    while True:
        try:
            _transfer_once(url, part, timeout=timeout, progress=progress, desc=desc)
            return None
        except _Interrupted as err:
            attempts += 1
            if attempts > retries:
                kept = part.stat().st_size if part.exists() else 0
                return f"interrupted ({err}); {kept} bytes kept in {part}, run again to resume"
        except urllib.error.HTTPError as err:
            hint = ""
            if err.code in (401, 403) and "huggingface.co" in url:
                hint = (" (gated or private Hugging Face repository: accept its conditions on the model page "
                        "and set HF_TOKEN to an access token)")
            err.close()
            return f"HTTP {err.code} {err.reason}{hint}"
        except BadDownloadError as err:
            part.unlink(missing_ok=True)
            return f"rejected: {err}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            return f"cannot reach the host ({getattr(err, 'reason', err)})"
        except http.client.HTTPException as err:  # e.g. BadStatusLine: the server does not speak HTTP
            part.unlink(missing_ok=True)
            return f"rejected: the server's reply is not HTTP ({type(err).__name__}: {str(err)[:80]!r})"

