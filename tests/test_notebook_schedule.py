"""The notebook scheduler of ``notebooks run --jobs N``: dependencies, longest-first order, concurrency, failures.

Fake notebooks (a sleep each) stand in for the real ones, so these run in about a second.
"""
from __future__ import annotations

import threading
import time

import pytest

from internvideo_core.notebook_schedule import (DEPENDENCIES, TUTORIAL_SECONDS, effective_dependencies,
                                                run_scheduled, simulate)
from internvideo_core.notebooks import notebook_paths

DEPS = {"00": (), "01": (), "02": (), "03": ("02",), "04": (), "05": ("04",), "08": ("02", "03")}


def fake_run(durations: dict[str, float], log: list, lock: threading.Lock, active: list, peak: list):
    def run_one(name: str) -> str:
        with lock:
            log.append(("start", name, time.perf_counter()))
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(durations[name])
        with lock:
            active[0] -= 1
            log.append(("end", name, time.perf_counter()))
        return "failed" if name.endswith("fail") else "ok"
    return run_one


def run(durations, jobs, deps=DEPS, **kw):
    log, lock, active, peak = [], threading.Lock(), [0], [0]
    results = run_scheduled(list(durations), fake_run(durations, log, lock, active, peak), jobs=jobs,
                            estimates={k[:2]: v for k, v in durations.items()}, deps=deps, tick_s=0.05, **kw)
    return results, log, peak[0]


def times(log, kind):
    return {name: t for k, name, t in log if k == kind}


def test_every_real_notebook_has_a_dependency_entry_and_only_earlier_notebooks_are_dependencies():
    for path in notebook_paths():
        assert path.name[:2] in DEPENDENCIES, f"add {path.name[:2]} to notebook_schedule.DEPENDENCIES"
    for nb, deps in DEPENDENCIES.items():
        assert all(d < nb for d in deps), f"{nb} depends on a later notebook: {deps}"


def test_consumers_of_02_and_04_wait_for_them():
    waits = effective_dependencies(list(DEPENDENCIES))
    for consumer in ("03", "08", "09", "10", "11"):
        assert "02" in waits[consumer]
    for consumer in ("05", "06", "07", "11", "12"):
        assert "04" in waits[consumer]
    assert waits["09"] >= {"02", "03"} and waits["13"] == set()


def test_consumers_of_an_unselected_producer_are_chained_so_one_model_is_never_trained_twice_at_once():
    waits = effective_dependencies(["08", "10", "13"])
    # 08 and 10 would both train 02's encoder: 10 waits for 08; 13 needs nothing of theirs
    assert waits == {"08": set(), "10": {"08"}, "13": set()}
    waits = effective_dependencies(["05", "06", "07"])
    assert waits == {"05": set(), "06": {"05"}, "07": {"06"}}


def test_a_notebook_without_a_dependency_entry_is_refused():
    with pytest.raises(KeyError, match="DEPENDENCIES"):
        effective_dependencies(["99"])


def test_no_notebook_starts_before_its_dependencies_end_and_jobs_bound_concurrency():
    durations = {"00_a": 0.05, "02_b": 0.2, "03_c": 0.1, "04_d": 0.15, "05_e": 0.05, "08_f": 0.05}
    results, log, peak = run(durations, jobs=2)
    assert set(results) == set(durations) and peak == 2
    start, end = times(log, "start"), times(log, "end")
    for name in durations:
        for dep in DEPS[name[:2]]:
            dep_name = next(n for n in durations if n.startswith(dep))
            assert start[name] >= end[dep_name], f"{name} started before {dep_name} ended"


def test_ready_notebooks_start_longest_first():
    durations = {"00_short": 0.02, "01_mid": 0.05, "02_long": 0.1}
    _, log, _ = run(durations, jobs=1)
    assert [n for k, n, _ in log if k == "start"] == ["02_long", "01_mid", "00_short"]


def test_one_job_runs_one_at_a_time():
    _, _, peak = run({"00_a": 0.02, "01_b": 0.02, "02_c": 0.02}, jobs=1)
    assert peak == 1


def test_a_failure_stops_new_starts_but_lets_running_notebooks_finish():
    durations = {"00_fail": 0.01, "02_long": 0.15, "01_later": 0.01}
    results, log, _ = run(durations, jobs=2, stop_on_error=lambda r: r == "failed")
    assert results["00_fail"] == "failed" and results["02_long"] == "ok"
    assert "01_later" not in results


def test_a_failed_dependency_does_not_block_its_consumer():
    results, _, _ = run({"02_fail": 0.01, "03_b": 0.01}, jobs=2)
    assert results == {"02_fail": "failed", "03_b": "ok"}


def test_progress_events_report_starts_ticks_and_ends():
    events = []
    durations = {"00_a": 0.12, "01_b": 0.01}
    run_scheduled(list(durations), lambda n: time.sleep(durations[n]), jobs=2, deps=DEPS,
                  on_event=events.append, tick_s=0.03)
    kinds = [e.kind for e in events]
    assert kinds.count("start") == 2 and kinds.count("done") == 2 and "tick" in kinds
    tick = next(e for e in events if e.kind == "tick")
    assert set(tick.running) == {"00_a"} and tick.running["00_a"] > 0


def test_simulated_makespan_of_the_last_tutorial_run_with_two_jobs():
    names = [p.stem for p in notebook_paths()]
    serial, _ = simulate(names, TUTORIAL_SECONDS, jobs=1)
    two, plan = simulate(names, TUTORIAL_SECONDS, jobs=2)
    assert serial == pytest.approx(sum(TUTORIAL_SECONDS[n[:2]] for n in names))
    # the critical path (02 -> 03 -> 08) is shorter than half the work, so two jobs nearly halve the time
    assert two < 0.55 * serial
    starts = {n[:2]: s for n, s, _ in plan}
    ends = {n[:2]: e for n, _, e in plan}
    assert starts["03"] >= ends["02"] and starts["05"] >= ends["04"]


def test_a_producer_starts_before_a_longer_notebook_that_nobody_waits_for():
    # 02 (0.05 s) has 03 (0.1 s) waiting for it; 13 (0.12 s) has nobody: 02's chain is longer, so it goes first
    deps = {"02": (), "03": ("02",), "13": ()}
    _, log, _ = run({"02_p": 0.05, "03_c": 0.1, "13_l": 0.12}, jobs=1, deps=deps)
    assert [n for k, n, _ in log if k == "start"] == ["02_p", "13_l", "03_c"]


def _fake_notebook(path, body: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    params = nbformat.v4.new_code_cell('PROFILE = "tutorial"\nSEED = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# fake"), params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.mark.slow
@pytest.mark.notebook
def test_run_all_executes_real_notebooks_side_by_side_one_thread_each_and_reports_failures(tmp_path, monkeypatch,
                                                                                            capsys):
    import json

    import internvideo_core.notebooks as nbmod
    from internvideo_core import notebook_schedule as S

    monkeypatch.setitem(S.THREADS, "00", 3)   # a notebook with a fixed count of 3 gets 3, whatever the machine
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    ok, bad = tmp_path / "00_ok.ipynb", tmp_path / "01_bad.ipynb"
    _fake_notebook(ok, "import os\nfrom internvideo_core.results import save_results\n"
                       "save_results('00_ok', PROFILE, {'threads': os.environ.get('INTERNVIDEO_NUM_THREADS')})")
    _fake_notebook(bad, "1 / 0")
    monkeypatch.setattr(nbmod, "notebook_paths", lambda pattern="": [ok, bad])
    runs = nbmod.run_all("smoke", jobs=2, keep_going=True, tick_s=1.0)
    assert [r.notebook.name for r in runs] == ["00_ok.ipynb", "01_bad.ipynb"]
    assert runs[0].error is None and "ZeroDivisionError" in runs[1].error
    values = json.loads((tmp_path / "runs" / "results" / "smoke" / "00_ok.json").read_text())["values"]
    assert values["threads"] == "3"
    times = json.loads((tmp_path / "runs" / "smoke" / "times.json").read_text())
    assert times["jobs"] == 2 and set(times["notebooks"]) == {"00_ok", "01_bad"}
    assert times["threads"] == "2/3"   # the fixed counts that ran (01_bad: the default 2), not a share of the cores
    assert times["notebooks"]["01_bad"]["ok"] is False
    out = capsys.readouterr().out
    assert "start 00_ok" in out and "01_bad FAILED" in out and "2 side by side" in out


def test_each_notebook_has_a_fixed_thread_count_independent_of_the_machine(monkeypatch):
    """Training numbers move with torch's thread count, so the runner gives every notebook a fixed count (not a
    share of the machine's cores): the tutorial numbers are then the same on a 2-core and a 16-core machine."""
    import os

    from internvideo_core import notebook_schedule as S

    assert S.threads_of("04_video_language_pretraining") == S.DEFAULT_THREADS == 2
    assert set(S.THREADS) <= set(S.DEPENDENCIES)
    monkeypatch.setitem(S.THREADS, "13", 1)
    for cores in (2, 16):   # no share of the machine's cores enters the count
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        assert S.threads_of("08") == 2 and S.threads_of("13_vision_language_navigation") == 1
