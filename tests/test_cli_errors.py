

def test_a_closed_pipe_ends_a_listing_quietly(tmp_path):
    """``internvideo zoo list | head -1``: the reader leaves early; no BrokenPipeError traceback."""
    import subprocess
    import sys

    proc = subprocess.run(f"{sys.executable} -m internvideo_core.cli zoo list | head -1", shell=True,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("name")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
