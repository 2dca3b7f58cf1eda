"""The project installs and describes one environment: pyproject, environment.yml, console entry point."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]


def _pyproject_requirements(extras: tuple[str, ...] | None = None) -> dict[str, Requirement]:
    """Core requirements plus those of ``extras`` (default: every extra)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        if extras is None or name in extras:
            reqs += extra
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


#: The extras `make setup` installs (the Makefile's pip line); the others (gpu: torchao, video: torchcodec, train:
#: tensorboard) are for machines that want them and are only range-checked where installed.
SETUP_EXTRAS = ("notebooks", "demo", "dev")


def _environment_pip_requirements() -> dict[str, Requirement]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml must have exactly one pip section"
    lines = [ln for ln in pip_sections[0] if not ln.startswith("-e")]
    return {Requirement(ln).name.lower(): Requirement(ln) for ln in lines}


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    py, env = _pyproject_requirements(), _environment_pip_requirements()
    assert sorted(py) == sorted(env), f"only in pyproject: {set(py) - set(env)}; only in env: {set(env) - set(py)}"
    for name in py:
        assert py[name].specifier == env[name].specifier, f"{name}: {py[name]} vs {env[name]}"
        assert str(py[name].marker) == str(env[name].marker), f"{name}: marker differs"


def test_environment_yml_installs_the_kit_and_python():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("python=3.1") for d in conda)
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_make_setup_installs_exactly_the_setup_extras():
    makefile = (REPO / "Makefile").read_text()
    assert f'-e ".[{",".join(SETUP_EXTRAS)}]"' in makefile


def test_installed_versions_satisfy_the_ranges():
    """The ranges accept what is installed here (torch 2.14.1 from local files), so nothing else downloads; every
    requirement of `make setup` is installed, an optional extra's only checked when present."""
    from importlib.metadata import PackageNotFoundError, version

    required = _pyproject_requirements(SETUP_EXTRAS)
    for name, req in _pyproject_requirements().items():
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            if name in required:
                raise AssertionError(f"{name} is a dependency but is not installed; run `make setup`") from None
            continue
        assert req.specifier.contains(installed, prereleases=True), f"{name} {installed} not in {req.specifier}"


def test_console_entry_point_help():
    exe = Path(sys.executable).with_name("internvideo")
    assert exe.exists(), "console script `internvideo` is not installed; run `make setup`"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "usage: internvideo" in out.stdout
    for command in ("notebooks",):
        assert command in out.stdout


def test_every_subcommand_has_working_help():
    from internvideo_core.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert sub.choices, "no subcommands registered"
    for name in sub.choices:
        out = subprocess.run([sys.executable, "-m", "internvideo_core.cli", name, "--help"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"`internvideo {name} --help` failed: {out.stderr[-2000:]}"
        assert f"internvideo {name}" in out.stdout


def test_import_is_light_and_offline():
    """Importing the package pulls in no heavy module and opens no socket."""
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise AssertionError('network at import time')\n"
        "socket.socket.connect = refuse\n"
        "import internvideo_core\n"
        "assert 'torch' not in sys.modules, 'import internvideo_core must not import torch'\n"
        "print(sorted(internvideo_core.__all__))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "create_model" in out.stdout and "tokenize" in out.stdout


def test_public_api_names_resolve():
    import internvideo_core as ic

    for name in ic.__all__:
        assert getattr(ic, name) is not None, name


def test_package_data_ships_the_embedded_models_and_the_sample_clip():
    """Every file of ``internvideo_core/assets/models`` and ``assets/videos`` matches a package-data pattern, so
    the wheel carries the embedded models (their weights, config.json and model card)."""
    from fnmatch import fnmatch

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["internvideo_core"]
    assets = REPO / "internvideo_core" / "assets"
    files = [p for folder in ("models", "videos") for p in (assets / folder).rglob("*") if p.is_file()]
    assert any(p.name == "model.safetensors" for p in files)
    for path in files:
        rel = path.relative_to(REPO / "internvideo_core").as_posix()
        assert any(fnmatch(rel, pat) and rel.count("/") == pat.count("/") for pat in patterns), \
            f"{rel} is not in pyproject.toml [tool.setuptools.package-data]"
