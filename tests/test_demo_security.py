"""The running demo, driven by a scripted client (``gradio_client``) on 127.0.0.1 as an attacker would: it opens
only files Gradio put in its upload folder and the examples (real paths: ``..`` and symlinks resolved), sends
back nothing of any other server file (no bytes, no copy, no quoted text), shows no absolute server path in
the page or ``/config``, and answers out-of-range numbers with a message.

Two layers refuse a named server path: recent Gradio (6.x) checks upload payloads itself; the demo checks
again on the real path (:meth:`DemoService.restrict_to`), which is what protects with the older Gradio
releases the kit allows (``gradio>=4.40``), whose preprocessing copied the named file. The upload event runs
with ``preprocess=False`` so that no copy is made before the demo's check. Both layers are tested: the
client against the app, and the service's check directly.

No model is needed (the preview decodes frames only), so the app starts in seconds.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from internvideo_core.paths import sample_video

REPO = Path(__file__).resolve().parents[1]
SECRET_TEXT = "TOPSECRET password=hunter2 do not show"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """``(url, app module, service, secret folder)``: the demo served on 127.0.0.1 with its launch options."""
    root = tmp_path_factory.mktemp("demo_security")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERNVIDEO_RUNS", str(root / "runs"))
        mp.setenv("INTERNVIDEO_CACHE", str(root / "cache"))
        mp.setenv("INTERNVIDEO_OFFLINE", "1")
        (root / "cache").mkdir()
        # a (fake) released classifier in the cache: the page names it, relative to the cache folder
        (root / "cache" / "vit_b_hybrid_pt_800e_k400_ft.pth").write_bytes(b"not loaded by the page")
        spec = importlib.util.spec_from_file_location("internvideo_demo_app_security", REPO / "demos" / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        from internvideo_core.demo.service import DemoService

        service = DemoService(profile="smoke", synth_examples=0, example_dir=root / "examples", device="cpu")
        demo = module.build_demo(service)
        demo.queue()
        _, url, _ = demo.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True,
                                quiet=True, **module.launch_options(service))
        secret = root / "secret"
        secret.mkdir()
        shutil.copy(sample_video("test.mp4"), secret / "private.mp4")
        (secret / "notes.avi").write_text(SECRET_TEXT + " " * 600)
        try:
            yield url, module, service, secret
        finally:
            demo.close()


def _file_data(path: str | Path) -> dict:
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def _files_in(obj) -> list[Path]:
    """Every file path a response refers to."""
    found: list[Path] = []
    if isinstance(obj, dict):
        for v in obj.values():
            found += _files_in(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            found += _files_in(v)
    elif isinstance(obj, str) and Path(obj).is_file():
        found.append(Path(obj))
    return found


def _all_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


def test_paths_outside_the_upload_folder_are_refused_and_nothing_of_them_comes_back(app):
    from gradio_client import Client, handle_file

    url, module, _, secret = app
    upload_dir = module.upload_folder()
    private = secret / "private.mp4"
    secret_bytes = private.read_bytes()
    # tricks: a plain outside path, '..' out of the upload folder, and a symlink inside it to the secret
    link_dir = upload_dir / f"link-{uuid.uuid4().hex}"
    link_dir.mkdir(parents=True)
    (link_dir / "clip.mp4").symlink_to(private)
    dotdot = upload_dir / ".." / Path(*private.parts[1:])
    attempts = [private, secret / "notes.avi", Path(str(upload_dir) + "/../" + str(private)), dotdot,
                link_dir / "clip.mp4"]
    before = _all_files(upload_dir)
    refusals: list[tuple[str, str]] = []
    client = Client(url, verbose=False)
    try:
        for path in attempts:
            with pytest.MonkeyPatch.context() as mp:
                # a hostile client names a path of the server instead of uploading a file (gradio_client would
                # upload a local file first; here client and server share the machine)
                from gradio_client.client import Endpoint

                mp.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)
                try:
                    result = client.predict(_file_data(path), api_name="/upload")
                except Exception as err:  # Gradio itself refused the payload: an error, nothing else
                    result = str(err)
                    refusals.append((path.name, "gradio"))
                else:
                    refusals.append((path.name, "demo"))
                    assert "not uploaded through this page" in json.dumps(result, default=str), (path, result)
            text = json.dumps(result, default=str)
            assert SECRET_TEXT[:9] not in text and "hunter2" not in text
            for f in _files_in(result):  # nothing it points at holds the secret's bytes
                assert f.read_bytes() != secret_bytes and SECRET_TEXT.encode()[:9] not in f.read_bytes()
        assert len(refusals) == len(attempts)
        new = _all_files(upload_dir) - before - {link_dir / "clip.mp4"}
        for f in new:  # no copy of the file appeared in Gradio's folders
            data = f.read_bytes()
            assert data != secret_bytes and secret_bytes[:4096] not in data, f
        # Gradio's file route does not serve it either
        for path in (private, secret / "notes.avi"):
            try:
                with urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=10) as resp:
                    body = resp.read()
            except urllib.error.HTTPError as err:
                body = err.read()
            assert secret_bytes[:4096] not in body and b"hunter2" not in body
        # a real upload through the client still works (the check is not simply refusing everything)
        upload = secret.parent / "my_clip.mp4"
        shutil.copy(private, upload)
        result = client.predict(handle_file(str(upload)), api_name="/upload")
        assert "my_clip.mp4" in result[0] and "300 frames" in result[0] and len(result[1]) == 8
    finally:
        shutil.rmtree(link_dir, ignore_errors=True)
        client.close()


def test_page_and_config_show_no_absolute_server_paths(app):
    url, _, service, _ = app
    with urllib.request.urlopen(f"{url}config", timeout=10) as resp:
        config = resp.read().decode()
    assert "vit_b_hybrid_pt_800e_k400_ft.pth" in config  # the model source is named ...
    assert "cache/vit_b_hybrid_pt_800e_k400_ft.pth" in config  # ... relative to the cache folder
    for absolute in {str(REPO), str(Path.home()), str(service.example_dir), str(Path(service.example_dir).parent),
                     "/tmp/", "/home/", "/root/", "/Users/"}:
        assert absolute not in config, absolute


def test_out_of_range_numbers_get_a_message(app):
    from gradio_client import Client

    url = app[0]
    client = Client(url, verbose=False)
    try:
        for seed in (2**63, -1, 2**70):
            _, message = client.predict(0.9, seed, api_name="/reconstruct")
            assert "mask seed must be a whole number" in message and "Something went wrong" not in message
        try:  # recent Gradio checks the slider's range itself; else the demo's own message answers
            _, table = client.predict("a red circle", 0, api_name="/retrieve")
        except Exception as err:
            table = str(err)
            assert "minimum value 1" in table
        else:
            assert "number of clips to show" in table
        assert "Something went wrong" not in table
    finally:
        client.close()


def test_service_opens_only_uploads_and_examples_by_real_path(tmp_path):
    from internvideo_core.demo.service import EXAMPLE_PREFIX, DemoError, DemoService

    uploads, outside = tmp_path / "uploads", tmp_path / "outside"
    uploads.mkdir()
    outside.mkdir()
    secret = outside / "private.mp4"
    shutil.copy(sample_video("test.mp4"), secret)
    (outside / "notes.avi").write_text(SECRET_TEXT)
    (uploads / "link.mp4").symlink_to(secret)
    (uploads / "notes_link.avi").symlink_to(outside / "notes.avi")
    shutil.copy(secret, uploads / "mine.mp4")
    service = DemoService(profile="smoke", synth_examples=0, example_dir=tmp_path / "examples", device="cpu")
    service.restrict_to(uploads)
    for path in (secret, outside / "notes.avi", uploads / "link.mp4", uploads / "notes_link.avi",
                 uploads / ".." / "outside" / "private.mp4", Path("/etc/hostname")):
        with pytest.raises(DemoError) as info:
            service.preview(path)
        msg = str(info.value)
        assert "not uploaded through this page" in msg and "hunter2" not in msg and str(tmp_path) not in msg
    info, frames = service.preview(uploads / "mine.mp4")  # a real upload opens
    assert "300 frames" in info and len(frames) == 8
    example = service.examples[0]  # the bundled examples open, by reference or by their own path
    assert service.preview(EXAMPLE_PREFIX + example.name)[1] and service.preview(example.path)[1]


def test_retrieval_count_and_mask_seed_out_of_range_get_a_message(tmp_path):
    from internvideo_core.demo.service import DemoError, DemoService

    service = DemoService(profile="smoke", synth_examples=0, example_dir=tmp_path / "examples", device="cpu")
    for k in (0, -3, 10**6, 2.5):
        with pytest.raises(DemoError, match="number of clips to show"):
            service.retrieve("a red circle", k)
    for seed in (2**63, -1, 1.5):
        with pytest.raises(DemoError, match="mask seed must be a whole number"):
            service.reconstruct(service.examples[0].path, 0.9, seed)


def test_error_messages_never_quote_the_file(tmp_path):
    from internvideo_core.demo.service import DemoError, DemoService

    service = DemoService(profile="smoke", synth_examples=0, example_dir=tmp_path / "examples", device="cpu")
    text = tmp_path / "notes.mp4"
    text.write_text(SECRET_TEXT)
    with pytest.raises(DemoError) as info:
        service.preview(text)
    assert "not a video" in str(info.value) and "TOPSECRET" not in str(info.value)


def test_main_launches_with_an_upload_limit_and_blocked_paths(monkeypatch, tmp_path):
    import gradio as gr

    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    spec = importlib.util.spec_from_file_location("internvideo_demo_app_launch", REPO / "demos" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen: dict = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    assert module.main(["--synth-examples", "0", "--profile", "smoke"]) == 0
    assert seen["server_name"] == "127.0.0.1" and seen["max_file_size"]
    blocked = seen["blocked_paths"]
    assert str(tmp_path / "runs") in blocked and str(tmp_path / "cache") in blocked
