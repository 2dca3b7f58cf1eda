"""The zoo wing is plain: explicit import lists, literal architecture names, no import cycle between the hub and
the registry, no leftover code, and the registered ``*_tiny_synth`` models are the tutorial recipes' models."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "internvideo_core"


def test_no_discovery_loops_in_the_package():
    offenders = [str(p.relative_to(PKG)) for p in PKG.rglob("*.py") if "pkgutil" in p.read_text(encoding="utf-8")]
    assert not offenders, f"use explicit import lists, not pkgutil discovery: {offenders}"


def test_every_command_module_is_listed_in_the_cli():
    from internvideo_core.cli import COMMANDS

    modules = sorted(p.stem for p in (PKG / "commands").glob("*.py") if not p.stem.startswith("_"))
    assert sorted(COMMANDS) == modules, "add new command modules to internvideo_core.cli.COMMANDS"


def test_every_zoo_and_converter_module_is_imported_explicitly():
    registry = (PKG / "registry.py").read_text(encoding="utf-8")
    for p in (PKG / "zoo").glob("*.py"):
        if not p.stem.startswith("_"):
            assert re.search(rf"from internvideo_core\.zoo import .*\b{p.stem}\b", registry), p.stem
    checkpoint = (PKG / "checkpoint.py").read_text(encoding="utf-8")
    for p in (PKG / "convert").glob("*.py"):
        if "register_converter(" in p.read_text(encoding="utf-8") and not p.stem.startswith("_"):
            assert re.search(rf"from internvideo_core\.convert import .*\b{p.stem}\b", checkpoint), p.stem


def test_architecture_names_are_written_literally():
    """``grep NAME`` finds the line that registers every architecture."""
    from internvideo_core.registry import list_models

    zoo = "\n".join(p.read_text(encoding="utf-8") for p in (PKG / "zoo").glob("*.py"))
    for name in list_models():
        assert f'"{name}"' in zoo, f"{name} is not written out in internvideo_core/zoo"


def test_hub_knows_no_model_names():
    tree = ast.parse((PKG / "hub.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    # utilities (paths, housekeeping) are fine; nothing that knows model names may be imported
    knows_names = ("internvideo_core.registry", "internvideo_core.zoo", "internvideo_core.models",
                   "internvideo_core.pretrained")
    assert not any(m.startswith(knows_names) for m in imported), imported
    from internvideo_core import hub, paths

    for gone in ("cached_path", "download_pretrained", "mirrors_for", "register_mirror"):
        assert not hasattr(hub, gone), gone
    assert not hasattr(paths, "read_label_map")


def test_registry_and_hub_import_without_each_other():
    code = ("import sys\nimport internvideo_core.hub\nassert 'internvideo_core.registry' not in sys.modules\n"
            "import internvideo_core.registry as r\nassert 'torch' not in sys.modules\n"
            "assert callable(r.download_pretrained) and callable(r.cached_path)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("profile", ["smoke", "tutorial", "full"])
def test_tutorial_profiles_build_the_registered_models(profile):
    """The tutorial profile is exactly the registered ``*_tiny_synth`` configs (no overrides); the other
    profiles only pass what they change."""
    from internvideo_core.recipes import mm_synth, videomae_synth
    from internvideo_core.registry import build_config

    vs = videomae_synth.get_recipe(profile)
    ae = build_config("videomae_pretrain_tiny_synth", **vs.model_overrides("videomae_pretrain_tiny_synth"))
    vit = build_config("videomae_vit_tiny_synth", **vs.model_overrides("videomae_vit_tiny_synth"))
    for cfg in (ae, vit):
        assert (cfg.img_size, cfg.patch_size, cfg.num_frames, cfg.embed_dim, cfg.depth) == (
            vs.img_size, vs.patch_size, vs.num_frames, vs.embed_dim, vs.depth)
    mm = mm_synth.get_recipe(profile)
    mm_cfg = build_config("internvideo_mm_tiny_synth", **mm.model_overrides())
    assert all(getattr(mm_cfg, k) == v for k, v in mm.model_config().items())
    if profile == "tutorial":
        assert vs.model_overrides("videomae_pretrain_tiny_synth") == {}
        assert vs.model_overrides("videomae_vit_tiny_synth") == {} and mm.model_overrides() == {}
        assert (vit.img_size, vit.patch_size, vit.embed_dim, vit.depth, vit.num_frames) == (24, 4, 96, 4, 8)
