"""tools/mutation.py without running mutmut: its targets exist, the known-survivor list parses, survivor diffs
are read from a mutants/ copy, the report and the score leave the listed equivalent mutants out."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("mutation_tool", REPO / "tools" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_target_module_and_test_exists(tool):
    for module, tests in tool.TARGETS.items():
        assert (REPO / "internvideo_core" / module).is_file(), module
        assert tests, module
        for t in tests:
            path, _, node = t.partition("::")
            assert (REPO / path).is_file(), t
            if node:
                assert f"def {node}(" in (REPO / path).read_text(), t


def test_known_survivors_are_listed_with_a_reason(tool):
    known = tool.known_survivors()
    text = (REPO / "tests" / "mutation_survivors.md").read_text()
    for name in known:
        line = next(line for line in text.splitlines() if line.startswith(f"- `{name}`"))
        assert len(line.split("`:", 1)[1].strip()) > 20, f"{name} needs a reason"
        module = name.split(".x", 1)[0].removeprefix("internvideo_core.").replace(".", "/") + ".py"
        assert module in tool.TARGETS, name


def test_diff_of_a_mutant_from_the_mutants_copy(tool, tmp_path):
    src = tmp_path / "mutants" / "internvideo_core" / "m.py"
    src.parent.mkdir(parents=True)
    src.write_text(
        "def x_f__mutmut_orig(a,\n        b=1):\n    return a + b\n\n\n"
        "def x_f__mutmut_1(a,\n        b=2):\n    return a + b\n\n"
        "class C:\n    def xǁCǁg__mutmut_orig(self):\n        return 1\n\n    def xǁCǁg__mutmut_1(self):\n"
        "        return 2\n    other = 3\n")
    d = tool._diff(tmp_path, "m.py", "internvideo_core.m.x_f__mutmut_1")
    assert d.startswith("# internvideo_core.m.x_f__mutmut_1: survived\n")
    assert "-        b=1):" in d and "+        b=2):" in d and "return a + b" in d
    m = tool._diff(tmp_path, "m.py", "internvideo_core.m.xǁCǁg__mutmut_1")
    assert "-        return 1" in m and "+        return 2" in m and "other" not in m
    assert tool._diff(tmp_path, "m.py", "internvideo_core.m.x_h__mutmut_1") is None
    assert tool._diff(tmp_path, "missing.py", "internvideo_core.missing.x_f__mutmut_1") is None


def test_report_rows_and_unexplained_survivors(tool, tmp_path):
    results = [{"module": "masking.py", "stats": {"total": 10, "killed": 7, "timeout": 1}, "score": 80.0,
                "seconds": 1.5, "survivors": ["a", "b"], "unexplained": ["b"], "diffs": {"a": "-x\n+y", "b": "-p\n+q"}}]
    text = tool.write_report(results, tmp_path).read_text()
    assert "| masking.py | 10 | 8 | 2 (1) | 80.0 | 1.5 |" in text
    assert "### b" in text and "-p\n+q" in text and "### a" not in text


def test_the_targets_cover_the_whole_core_that_issue_19_names(tool):
    """masking, every module of models/ and eval/ (``models/__init__.py`` is one docstring line), the samplers and
    transforms, the schedule, optimiser, checkpointing and contrastive training, the tokenizer and the hub."""
    pkg = REPO / "internvideo_core"
    core = {"masking.py", "data/sampling.py", "data/transforms.py", "train/schedule.py", "train/optim.py",
            "train/checkpointing.py", "train/contrastive.py", "text.py", "hub.py"}
    core |= {p.relative_to(pkg).as_posix() for folder in ("models", "eval") for p in (pkg / folder).glob("*.py")}
    core.discard("models/__init__.py")
    assert len((pkg / "models" / "__init__.py").read_text().strip().splitlines()) == 1
    assert sorted(core - set(tool.TARGETS)) == []
