"""Whether each notebook's claim holds: run the claim tests (``pytest -m tutorial_results``) with a JUnit XML
report and map each test to its notebook.

Mapping, explicit: a claim test is named ``test_NN_...`` (``NN`` = the notebook it checks); a test without that
prefix belongs to the notebooks of its file in :data:`CLAIM_FILES`. The claim tests read the *tutorial* profile
(``tests/conftest.py``), so other profiles are reported as not checked.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from internvideo_core.paths import REPO_DIR

#: claim-test file -> the notebooks it checks (for tests not named ``test_NN_...``).
CLAIM_FILES: dict[str, tuple[str, ...]] = {
    "test_tutorial_results_data.py": ("01",),
    "test_tutorial_results.py": ("02", "03"),
    "test_tutorial_results_mm.py": ("04", "05", "06", "07"),
    "test_tutorial_results_tal.py": ("08",),
    "test_tutorial_results_ava.py": ("09",),
    "test_tutorial_results_openset.py": ("10",),
    "test_tutorial_results_interaction.py": ("11",),
    "test_tutorial_results_ego4d.py": ("12",),
    "test_tutorial_results_nav.py": ("13",),
}
CLAIM_PROFILE = "tutorial"
_NUMBERED = re.compile(r"^test_(\d\d)_")


@dataclass
class ClaimTest:
    file: str
    name: str
    outcome: str          # "passed" / "failed" / "skipped"
    message: str = ""


@dataclass
class Claims:
    """Claim-test outcomes per notebook number; ``checked`` False when the tests were not run (and why)."""
    checked: bool
    note: str = ""
    by_notebook: dict[str, list[ClaimTest]] = field(default_factory=dict)

    def status(self, number: str) -> str:
        """``"holds"`` / ``"fails"`` / ``"no claim test"`` / ``"not checked"``."""
        if not self.checked:
            return "not checked"
        tests = [t for t in self.by_notebook.get(number, []) if t.outcome != "skipped"]
        if not tests:
            return "no claim test"
        return "holds" if all(t.outcome == "passed" for t in tests) else "fails"


def notebooks_of(file: str, name: str) -> tuple[str, ...]:
    """The notebook numbers a claim test checks (see the module docstring)."""
    m = _NUMBERED.match(name)
    if m:
        return (m.group(1),)
    return CLAIM_FILES.get(Path(file).name, ())


def parse_junit(path: str | Path) -> Claims:
    """Read a pytest ``--junit-xml`` file into :class:`Claims`."""
    root = ET.parse(path).getroot()
    out = Claims(checked=True)
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        file = case.get("file") or (classname.replace(".", "/") + ".py")
        name = case.get("name", "").split("[")[0]
        outcome, message = "passed", ""
        for tag in ("failure", "error"):
            el = case.find(tag)
            if el is not None:
                outcome, message = "failed", (el.get("message") or "").splitlines()[0][:200] if el.get("message") else tag
        if case.find("skipped") is not None:
            outcome = "skipped"
        for number in notebooks_of(file, name):
            out.by_notebook.setdefault(number, []).append(ClaimTest(Path(file).name, name, outcome, message))
    return out


def claim_test_files(tests_dir: Path | None = None) -> list[Path]:
    """``tests/test_tutorial_results*.py`` of the checkout (empty for an installed package)."""
    return sorted((tests_dir or REPO_DIR / "tests").glob("test_tutorial_results*.py"))


def run_claim_tests(profile: str, junit: Path, *, timeout_s: int = 600) -> Claims:
    """Run the claim tests for ``profile`` (only ``tutorial`` has them) into ``junit``; never raises."""
    if profile != CLAIM_PROFILE:
        return Claims(False, f"the claim tests read the {CLAIM_PROFILE} profile; this is the {profile} profile")
    files = claim_test_files()
    if not files:
        return Claims(False, "no tests/test_tutorial_results*.py here (not a checkout)")
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_DIR), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "tutorial_results", "-p", "no:cacheprovider",
           "-o", "junit_family=xunit1", f"--junit-xml={junit}", *map(str, files)]
    try:
        subprocess.run(cmd, cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Claims(False, f"the claim tests did not finish in {timeout_s} s")
    if not junit.exists():
        return Claims(False, f"pytest wrote no {junit.name} (run `{' '.join(cmd[2:6])} ...` to see why)")
    return parse_junit(junit)
