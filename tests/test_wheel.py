"""The kit works installed from a wheel, not only as a checkout: labels, sample videos and the BPE vocabulary
ship inside the package.

A wheel is built (``pip wheel --no-deps``) from a copy of the source tree, installed with ``--no-index
--no-deps`` (no network) into a fresh venv that sees this environment's already installed torch & co. through a
``.pth`` file, and a script run from an empty folder outside the checkout imports the kit, builds a model, reads
labels, tokenizes, lists the zoo, reads a bundled video and preprocesses it with a zoo entry's protocol.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SCRIPT = r'''
import json, sys
from pathlib import Path
import internvideo_core as ic
from internvideo_core import paths
from internvideo_core.data.preprocess import VideoPreprocess
from internvideo_core.registry import get_pretrained

here = Path(ic.__file__).resolve()
labels = paths.read_labels("kinetics400")
tokens = ic.tokenize(["two people arm wrestling"])
model = ic.create_model("videomae_vit_tiny_synth")
video = paths.sample_video("arm_wrestling_demo.mp4")
frames = ic.read_video(video, [0, 10])
x = VideoPreprocess(get_pretrained("internvideo_mm_b16_pretrain").input)(video)
print(json.dumps({
    "package": str(here), "labels": len(labels), "first": labels[0], "ava": len(paths.read_labels("ava")),
    "tokens": list(tokens.shape), "params": sum(p.numel() for p in model.parameters()),
    "zoo": len(ic.list_pretrained()), "frames": list(frames.shape), "mm_input": list(x.shape),
    "videos": sorted(p.name for p in paths.videos_dir().iterdir()),
    "runs": str(paths.runs_dir()),
}))
'''


def _purelib(env_dir: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))


@pytest.mark.slow
def test_wheel_installs_and_works_outside_the_checkout(tmp_path):
    # 1. build from a copy of the source tree (nothing is written into the checkout)
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    shutil.copytree(REPO / "internvideo_core", src / "internvideo_core", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "--quiet", "-w", str(wheels), str(src)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("internvideo_kit-*.whl")

    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("internvideo_core/assets/labels/kinetics400.txt", "internvideo_core/assets/videos/test.mp4",
                    "internvideo_core/assets/models/videomae_vit_tiny_synth/model.safetensors",
                    "internvideo_core/assets/models/videomae_vit_tiny_synth/config.json",
                    "internvideo_core/assets/bpe_simple_vocab_16e6.txt.gz", "internvideo_core/assets/ATTRIBUTION.md"):
        assert shipped in names, f"{shipped} is not in the wheel (pyproject.toml package-data)"

    # 2. a fresh venv that sees this environment's packages (torch, ...) but not its editable kit
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    here = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "_kit_test_base.pth").write_text("\n".join(here) + "\n", encoding="utf-8")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
                              "--no-deps", "--ignore-installed", "--quiet", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]

    # 3. from an empty folder outside the checkout
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "INTERNVIDEO_RUNS", "INTERNVIDEO_CACHE")}
    env["INTERNVIDEO_OFFLINE"] = "1"
    run = subprocess.run([str(python), "-c", SCRIPT], cwd=outside, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    import json

    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(out["package"]).is_relative_to(Path(purelib)), f"imported the checkout, not the wheel: {out['package']}"
    assert out["labels"] == 400 and out["first"] == "abseiling" and out["ava"] == 60
    assert out["tokens"] == [1, 77] and out["params"] > 0 and out["zoo"] >= 25
    assert out["frames"][0] == 2 and out["mm_input"] == [1, 3, 8, 224, 224]
    assert "arm_wrestling_demo.mp4" in out["videos"] and out["runs"] == str(outside / "runs")
    # the console script works too
    cli = subprocess.run([str(env_dir / "bin" / "internvideo"), "zoo", "info", "videomae_vit_base_k400"], cwd=outside,
                         env=env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and "5 clips x 3 crops" in cli.stdout, cli.stderr[-2000:]
