"""The reproduction report of ``make run``: headline tables, claims mapped to notebooks, the self-contained HTML,
the notebooks rendered to HTML, the terminal summary. Built from fixture results in a temporary runs folder."""
from __future__ import annotations

import base64
import re
import textwrap

import nbformat
import pytest

from internvideo_core.reproduction import claims as claims_mod
from internvideo_core.reproduction import report as report_mod
from internvideo_core.reproduction.claims import Claims, notebooks_of, parse_junit
from internvideo_core.reproduction.headlines import NOTEBOOKS, lookup
from internvideo_core.reproduction.paper import NOT_RUN, PAPER
from internvideo_core.results import save_results

# a 1x1 PNG
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

JUNIT = textwrap.dedent("""\
    <?xml version="1.0" encoding="utf-8"?>
    <testsuites><testsuite name="pytest" tests="3">
    <testcase classname="tests.test_tutorial_results" file="tests/test_tutorial_results.py"
              name="test_02_masked_pretraining_learns" time="0.01"/>
    <testcase classname="tests.test_tutorial_results" file="tests/test_tutorial_results.py"
              name="test_03_pretrained_encoder_beats_scratch" time="0.01">
      <failure message="AssertionError: 41.7 &lt; 50&#10;more">trace</failure></testcase>
    <testcase classname="tests.test_tutorial_results_mm" file="tests/test_tutorial_results_mm.py"
              name="test_shared_helper_of_the_mm_notebooks" time="0.01"/>
    </testsuite></testsuites>
    """)

VALUES_02 = {"test_object_loss_model": 0.70, "test_object_loss_mean_patch": 0.96, "test_loss_model": 0.30,
             "test_loss_mean_patch": 0.377, "seconds": 101.0}
VALUES_03 = {"pretrained_top1": 41.7, "scratch_top1": 16.7, "shuffled_top1": 12.5, "seconds": 80.0}
STEMS = ["02_masked_video_pretraining", "03_action_recognition", "13_vision_language_navigation"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A runs folder with results of 02 and 03 (13 never ran), a times record and 03's executed notebook."""
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    save_results("02_masked_video_pretraining", "tutorial", VALUES_02)
    save_results("03_action_recognition", "tutorial", VALUES_03)
    report_mod.write_times("tutorial", [("02_masked_video_pretraining", 0.0, 100.0, True),
                                        ("03_action_recognition", 100.0, 190.0, True)],
                           jobs=2, threads=1, wall_seconds=200.0)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# 03"), cell]
    out = tmp_path / "runs" / "notebooks" / "tutorial"
    out.mkdir(parents=True)
    nbformat.write(nb, out / "03_action_recognition.ipynb")
    junit = tmp_path / "claims.xml"
    junit.write_text(JUNIT)
    monkeypatch.setattr(report_mod, "run_claim_tests", lambda profile, path: parse_junit(junit))
    return tmp_path / "runs"


def test_claim_tests_map_to_notebooks_by_name_prefix_else_by_file():
    assert notebooks_of("tests/test_tutorial_results.py", "test_03_x") == ("03",)
    assert notebooks_of("tests/test_tutorial_results_mm.py", "test_helper") == ("04", "05", "06", "07")
    assert notebooks_of("tests/test_unknown.py", "test_helper") == ()


def test_junit_outcomes_give_each_notebook_its_claim_status(tmp_path):
    path = tmp_path / "c.xml"
    path.write_text(JUNIT)
    c = parse_junit(path)
    assert c.status("02") == "holds" and c.status("03") == "fails" and c.status("05") == "holds"
    assert c.status("01") == "no claim test"
    assert c.by_notebook["03"][0].message == "AssertionError: 41.7 < 50"
    assert Claims(False, "smoke").status("02") == "not checked"


def test_claims_are_not_checked_for_profiles_the_claim_tests_do_not_read(tmp_path):
    c = claims_mod.run_claim_tests("smoke", tmp_path / "c.xml")
    assert not c.checked and "tutorial" in c.note


def test_headline_lookup_follows_nested_keys_and_ignores_non_numbers():
    values = {"metrics": {"random": {"SR": 32.0}}, "flag": True, "name": "x"}
    assert lookup(values, "metrics/random/SR") == 32.0
    assert lookup(values, "metrics/missing/SR") is None and lookup(values, "flag") is None
    assert lookup(values, "name") is None


def test_report_markdown_has_headlines_beside_baselines_claims_times_machine_and_the_paper_table(runs):
    rep, md, page = report_mod.write_report("tutorial", STEMS)
    text = md.read_text()
    assert "| 02_masked_video_pretraining | held-out loss on object tubelets | 0.700 | predict each tubelet's mean " \
           "| 0.960 | yes |" in text
    assert "| 03_action_recognition | top-1, fine-tuned from 02's encoder | 41.7 % | from scratch | 16.7 % | yes |" \
        in text
    rows = {r.stem: r for r in rep.rows}
    assert rows["02_masked_video_pretraining"].claim_status == "holds"
    assert rows["03_action_recognition"].claim_status == "fails"
    assert rows["13_vision_language_navigation"].status == "no results"
    assert rows["03_action_recognition"].seconds == 90.0 and rows["03_action_recognition"].status == "ok"
    assert "AssertionError: 41.7 < 50" in text
    for key in ("cpu", "cores", "torch", "kit", "commit"):
        assert f"| {key} | {rep.machine[key]} |" in text
    for row in PAPER:
        assert row.number in text
    assert NOT_RUN in text and "91.1 / 77.2" in text and "eval-zeroshot" in text
    paper = text[text.index("## The paper's numbers"):]
    table = [ln for ln in paper.splitlines() if ln.startswith("| ")]
    # a `|` inside a command (`--thresholds thumos|anet`) is escaped: every row has the header's column count
    counts = {len(re.split(r"(?<!\\)\|", ln)) for ln in table}
    assert len(counts) == 1, counts


def test_report_html_is_self_contained_with_embedded_figures(runs):
    _, _, page = report_mod.write_report("tutorial", STEMS)
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html), "external resource in report.html"
    assert "<link" not in html and "<script" not in html
    images = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(images) >= 3  # headline chart, run timeline, 03's last figure
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "41.7 %" in html and "fails" in html and "eval-retrieval" in html


def test_executed_notebooks_are_rendered_to_html_beside_the_report(runs):
    rep, md, _ = report_mod.write_report("tutorial", STEMS)
    rendered = md.parent / "notebooks" / "03_action_recognition.html"
    assert rendered.exists() and PNG[:40] in rendered.read_text()
    assert "[html](notebooks/03_action_recognition.html)" in md.read_text()
    assert not (md.parent / "notebooks" / "02_masked_video_pretraining.html").exists()  # not executed here


def test_terminal_summary_lists_each_notebook_with_time_headline_baseline_and_claim(runs):
    rep, _, _ = report_mod.write_report("tutorial", STEMS, render=False)
    lines = report_mod.summary_table(rep).splitlines()
    assert lines[0].split()[:3] == ["notebook", "status", "time"]
    row = next(ln for ln in lines if ln.startswith("03_action_recognition"))
    assert row.split()[1:] == ["ok", "90", "s", "41.7", "16.7", "fails"]
    assert lines[-1] == "2 notebooks ran in 3 min 20 s with 2 job(s), 0 failed; claims: 1 hold, 1 fail"


def test_notebooks_report_command_writes_the_report_from_existing_results(runs, capsys):
    from internvideo_core.cli import main

    assert main(["notebooks", "report", "--profile", "tutorial", "--no-html"]) == 0
    out = capsys.readouterr().out
    assert "02_masked_video_pretraining" in out and "report:" in out
    assert (runs / "tutorial" / "REPORT.md").exists() and (runs / "tutorial" / "report.html").exists()
    assert main(["notebooks", "report", "--profile", "tutorial", "--no-html", "--strict-claims"]) == 1


def test_every_notebook_has_a_headline_entry():
    from internvideo_core.notebooks import notebook_paths

    missing = [p.stem for p in notebook_paths() if p.stem not in NOTEBOOKS]
    assert not missing, f"add {missing} to internvideo_core/reproduction/headlines.py"


@pytest.mark.tutorial_results
@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_headline_and_baseline_keys_exist_in_the_tutorial_results(stem, tutorial_results):
    values = tutorial_results(stem)
    for h in NOTEBOOKS[stem].headlines:
        assert lookup(values, h.key) is not None, f"{stem}: no number at {h.key!r}; update reproduction/headlines.py"
        if h.baseline_key:
            assert lookup(values, h.baseline_key) is not None, f"{stem}: no number at {h.baseline_key!r}"


def test_plan_prints_the_order_and_estimate_without_running(tmp_path, monkeypatch, capsys):
    from internvideo_core.cli import main

    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    assert main(["notebooks", "run", "--plan", "--jobs", "2", "--only", "02", "03", "13"]) == 0
    out = capsys.readouterr().out.splitlines()
    order = [ln.split()[-1] for ln in out[1:-1]]
    assert order == ["02_masked_video_pretraining", "13_vision_language_navigation", "03_action_recognition"]
    assert out[-1].startswith("about 209 s")  # 02 (120 s) then 03 (86 s), beside 13 (209 s)
    assert not (tmp_path / "runs" / "notebooks").exists()


def test_numbers_print_counts_as_integers_and_rates_with_sensible_digits():
    from internvideo_core.reproduction.headlines import Headline

    assert report_mod.fmt(Headline("n", "n").value({"n": 14})) == "14"
    assert report_mod.fmt(Headline("p", "p", scale=100.0).value({"p": 0.5834}), "%") == "58.3 %"
    assert report_mod.fmt(0.9449) == "0.945" and report_mod.fmt(8.3333, "%") == "8.33 %"
    assert report_mod.fmt(None) == "-" and report_mod.fmt(176.5, "clips/s") == "176.5 clips/s"


def test_a_partial_run_renders_only_its_notebooks_and_links_earlier_renderings(runs):
    _, md, _ = report_mod.write_report("tutorial", STEMS, render_only=["02_masked_video_pretraining"])
    assert not (md.parent / "notebooks" / "03_action_recognition.html").exists()
    report_mod.write_report("tutorial", STEMS)  # renders 03
    (md.parent / "notebooks" / "03_action_recognition.html").write_text("earlier")
    _, md, _ = report_mod.write_report("tutorial", STEMS, render_only=["02_masked_video_pretraining"])
    assert (md.parent / "notebooks" / "03_action_recognition.html").read_text() == "earlier"
    assert "[html](notebooks/03_action_recognition.html)" in md.read_text()
