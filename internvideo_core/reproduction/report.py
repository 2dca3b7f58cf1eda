"""The reproduction report of a ``make run``: ``runs/<profile>/REPORT.md``, a self-contained
``runs/<profile>/report.html`` (figures as base64 data URIs), the executed notebooks rendered to HTML in
``runs/<profile>/notebooks/``, and a short summary table for the terminal.

Per notebook: its headline numbers beside the trivial baseline (:mod:`.headlines`), whether its claim holds (the
claim tests, :mod:`.claims`), its run time (``runs/<profile>/times.json``, written by the runner); then the machine,
the kit version and git commit, and the paper's table (:mod:`.paper`).
"""
from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from internvideo_core.paths import runs_dir
from internvideo_core.reproduction.claims import ClaimTest, Claims, run_claim_tests
from internvideo_core.reproduction.headlines import NOTEBOOKS, Headline
from internvideo_core.reproduction.machine import machine_info
from internvideo_core.reproduction.paper import NOT_RUN, PAPER


def report_dir(profile: str) -> Path:
    """``runs/<profile>/``: the report, ``times.json``, ``claims.xml``, ``notebooks/*.html``, ``logs/``."""
    return runs_dir() / profile


def times_path(profile: str) -> Path:
    return report_dir(profile) / "times.json"


def read_times(profile: str) -> dict[str, Any]:
    """``{"notebooks": {stem: {"seconds", "start", "end", "ok"}}, "jobs", "threads", "wall_seconds"}`` of the
    last run (empty dict when there is none)."""
    try:
        return json.loads(times_path(profile).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def write_times(profile: str, spans: Iterable[tuple[str, float, float, bool]], *, jobs: int, threads: int | None,
                wall_seconds: float) -> Path:
    """Record this run's ``(stem, start, end, ok)`` spans, keeping earlier entries of notebooks not run now."""
    previous = read_times(profile).get("notebooks", {})
    now = {stem: {"seconds": round(end - start, 1), "start": round(start, 1), "end": round(end, 1), "ok": ok,
                  "this_run": True} for stem, start, end, ok in spans}
    kept = {k: {**v, "this_run": False} for k, v in previous.items() if k not in now}
    record = {"notebooks": {**kept, **now}, "jobs": jobs, "threads": threads, "wall_seconds": round(wall_seconds, 1),
              "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    path = times_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True))
    return path


def previous_seconds(profile: str) -> dict[str, float]:
    """Estimates for progress and ordering: the last run's seconds per notebook number (``"02"``)."""
    return {stem[:2]: float(v["seconds"]) for stem, v in read_times(profile).get("notebooks", {}).items()
            if v.get("ok", True)}


@dataclass
class HeadlineRow:
    label: str
    value: float | None
    baseline_label: str | None
    baseline: float | None
    unit: str
    beats: bool | None


@dataclass
class NotebookRow:
    stem: str
    status: str                       # "ok" / "failed" / "earlier run" / "no results"
    seconds: float | None
    error: str | None
    claim: str
    claim_status: str                 # "holds" / "fails" / "no claim test" / "not checked"
    claim_tests: list[ClaimTest] = field(default_factory=list)
    headlines: list[HeadlineRow] = field(default_factory=list)
    written_at: str | None = None
    html: str | None = None           # rendering, relative to the report folder
    figure: str | None = None         # base64 PNG


@dataclass
class Report:
    profile: str
    machine: dict[str, str]
    rows: list[NotebookRow]
    claims: Claims
    jobs: int | None
    threads: int | None
    wall_seconds: float | None
    created: str
    figures: dict[str, str] = field(default_factory=dict)


def _headline_rows(headlines: Iterable[Headline], values: dict[str, Any]) -> list[HeadlineRow]:
    return [HeadlineRow(h.label, h.value(values), h.baseline_label, h.baseline(values), h.unit,
                        h.beats_baseline(values)) for h in headlines]


def collect(profile: str, stems: Iterable[str], claims: Claims, *, errors: dict[str, str] | None = None
            ) -> Report:
    """Gather results (``runs/results/<profile>``), times and claims of the notebooks ``stems``."""
    from internvideo_core.results import results_path

    times = read_times(profile)
    ntimes = times.get("notebooks", {})
    rows = []
    for stem in stems:
        entry = NOTEBOOKS.get(stem)
        t = ntimes.get(stem, {})
        path = results_path(stem, profile)
        record = json.loads(path.read_text()) if path.exists() else None
        values = (record or {}).get("values", {})
        err = (errors or {}).get(stem)
        if err:
            status = "failed"
        elif t.get("this_run") and record is not None:
            status = "ok"
        elif record is not None:
            status = "earlier run"
        else:
            status = "no results"
        seconds = t.get("seconds", values.get("seconds") if isinstance(values.get("seconds"), (int, float)) else None)
        rows.append(NotebookRow(
            stem, status, seconds, err, entry.claim if entry else "(no entry in reproduction.headlines)",
            claims.status(stem[:2]), claims.by_notebook.get(stem[:2], []),
            _headline_rows(entry.headlines if entry else (), values), (record or {}).get("written_at")))
    return Report(profile, machine_info(), rows, claims, times.get("jobs"), times.get("threads"),
                  times.get("wall_seconds"), time.strftime("%Y-%m-%d %H:%M:%S"))


def fmt(v: float | None, unit: str = "") -> str:
    """A number as the report prints it (3 significant digits, ``-`` for missing)."""
    if v is None:
        return "-"
    s = str(v) if isinstance(v, int) else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"
    return f"{s} %" if unit == "%" else (f"{s} {unit}" if unit else s)


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s:.0f} s" if s < 120 else f"{int(s // 60)} min {s % 60:02.0f} s"


# ----------------------------------------------------------------------------------------------------- Markdown

def to_markdown(rep: Report) -> str:
    m = rep.machine
    ran = [r for r in rep.rows if r.status in ("ok", "failed")]
    lines = [f"# Reproduction report: the {rep.profile} profile", "",
             f"Written {rep.created} by `internvideo notebooks run --profile {rep.profile}`. "
             f"Kit {m['kit']}, commit `{m['commit']}`.", "",
             "## Machine", "", "| | |", "|---|---|",
             *[f"| {k} | {v} |" for k, v in m.items()], "",
             "## Run", "",
             f"{len(ran)} notebooks ran this time, {sum(r.status == 'failed' for r in rep.rows)} failed"
             + (f"; wall time {fmt_seconds(rep.wall_seconds)} with {rep.jobs} notebook(s) side by side"
                f" ({rep.threads or 'default'} thread(s) each)" if rep.wall_seconds is not None else "") + ". "
             + (f"Claims: {rep.claims.note}." if not rep.claims.checked else
                "Claims checked by `pytest -m tutorial_results` (JUnit XML in `claims.xml`)."), "",
             "| notebook | status | time | claim | claim holds | rendering |", "|---|---|---|---|---|---|"]
    for r in rep.rows:
        link = f"[html]({r.html})" if r.html else "-"
        lines.append(f"| {r.stem} | {r.status} | {fmt_seconds(r.seconds)} | {r.claim} | {r.claim_status} | "
                     f"{link} |")
    lines += ["", "## Headline numbers beside the trivial baseline", "",
              "| notebook | headline | value | baseline | baseline value | as claimed |", "|---|---|---|---|---|---|"]
    for r in rep.rows:
        for h in r.headlines:
            beats = {True: "yes", False: "no", None: "-"}[h.beats]
            lines.append(f"| {r.stem} | {h.label} | {fmt(h.value, h.unit)} | {h.baseline_label or '-'} | "
                         f"{fmt(h.baseline, h.unit)} | {beats} |")
    failing = [(r.stem, t) for r in rep.rows for t in r.claim_tests if t.outcome == "failed"]
    if failing:
        lines += ["", "Failing claim tests:", ""]
        lines += [f"- {stem}: `{t.file}::{t.name}` {t.message}" for stem, t in failing]
    errors = [r for r in rep.rows if r.error]
    if errors:
        lines += ["", "Failed notebooks:", ""] + [f"- {r.stem}: {r.error}" for r in errors]
    lines += ["", "## The paper's numbers and the command that reproduces each", "",
              f"Every number below needs the released checkpoint and the real data; {NOT_RUN} (no real data, "
              "checkpoints or GPU on the build machine). \"Exact\" means the kit's model or metric equals the "
              "official code on reference vectors in `tests/fixtures/official`.", "",
              "| result | paper | kit command | checkpoint | data | verified here |", "|---|---|---|---|---|---|"]
    for p in PAPER:
        cmd = f"`{p.command}`" if p.command else "none"
        cells = [p.result, p.number, cmd, p.checkpoint, p.data, f"{p.verified}; {NOT_RUN}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------- HTML

_CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;"
        "vertical-align:top}th{background:#f3f3f3}.holds{color:#176117}.fails,.failed{color:#b00;font-weight:bold}"
        "code{font-size:12px}img{max-width:100%}details{margin:.5em 0}")


def _img(b64: str | None, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">' if b64 else ""


def to_html(rep: Report) -> str:
    """The report as one HTML file with no external resource (figures are data URIs)."""
    e = html.escape
    m = rep.machine
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>InternVideo kit: {e(rep.profile)} "
           f"reproduction report</title><style>{_CSS}</style></head><body>",
           f"<h1>Reproduction report: the {e(rep.profile)} profile</h1>",
           f"<p>Written {e(rep.created)}. Kit {e(m['kit'])}, commit <code>{e(m['commit'])}</code>.</p>",
           "<h2>Machine</h2><table>", *[f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in m.items()],
           "</table><h2>Run</h2>"]
    if rep.wall_seconds is not None:
        out.append(f"<p>Wall time {e(fmt_seconds(rep.wall_seconds))} with {rep.jobs} notebook(s) side by side.</p>")
    if not rep.claims.checked:
        out.append(f"<p>Claims not checked: {e(rep.claims.note)}.</p>")
    out.append("<table><tr><th>notebook</th><th>status</th><th>time</th><th>claim</th><th>claim holds</th>"
               "<th>headline</th><th>value</th><th>baseline</th><th>baseline value</th></tr>")
    for r in rep.rows:
        hs = r.headlines or [HeadlineRow("-", None, None, None, "", None)]
        span = f" rowspan='{len(hs)}'"
        name = f"<a href='{e(r.html)}'>{e(r.stem)}</a>" if r.html else e(r.stem)
        for i, h in enumerate(hs):
            head = (f"<tr><td{span}>{name}</td><td{span} class='{e(r.status)}'>{e(r.status)}</td>"
                    f"<td{span}>{e(fmt_seconds(r.seconds))}</td><td{span}>{e(r.claim)}</td>"
                    f"<td{span} class='{e(r.claim_status)}'>{e(r.claim_status)}</td>") if i == 0 else "<tr>"
            out.append(head + f"<td>{e(h.label)}</td><td>{e(fmt(h.value, h.unit))}</td>"
                       f"<td>{e(h.baseline_label or '-')}</td><td>{e(fmt(h.baseline, h.unit))}</td></tr>")
    out.append("</table>")
    for r in rep.rows:
        bad = [t for t in r.claim_tests if t.outcome == "failed"]
        if bad or r.error:
            out.append(f"<p class='fails'>{e(r.stem)}: " + e(r.error or "; ".join(
                f"{t.file}::{t.name} {t.message}" for t in bad)) + "</p>")
    for key, title in (("headlines", "Headline beside baseline (first row of each notebook)"),
                       ("schedule", "The run: which notebooks ran side by side")):
        if rep.figures.get(key):
            out.append(f"<h3>{e(title)}</h3>" + _img(rep.figures[key], title))
    out.append("<h2>Each notebook's last figure</h2>")
    for r in rep.rows:
        if r.figure:
            link = f" (<a href='{e(r.html)}'>whole notebook</a>)" if r.html else ""
            out.append(f"<details><summary>{e(r.stem)}{link}</summary>{_img(r.figure, r.stem)}</details>")
    out += ["<h2>The paper's numbers and the command that reproduces each</h2>",
            f"<p>Every number needs the released checkpoint and the real data; {e(NOT_RUN)}. &ldquo;Exact&rdquo; "
            "means equal to the official code on reference vectors (<code>tests/fixtures/official</code>).</p>",
            "<table><tr><th>result</th><th>paper</th><th>kit command</th><th>checkpoint</th><th>data</th>"
            "<th>verified here</th></tr>"]
    for p in PAPER:
        cmd = f"<code>{e(p.command)}</code>" if p.command else "none"
        out.append(f"<tr><td>{e(p.result)}</td><td>{e(p.number)}</td><td>{cmd}</td><td>{e(p.checkpoint)}</td>"
                   f"<td>{e(p.data)}</td><td>{e(p.verified)}; {e(NOT_RUN)}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------------- terminal

def summary_table(rep: Report) -> str:
    """A short plain-text table: notebook, status, time, first headline vs baseline, claim."""
    lines = [f"{'notebook':34s} {'status':11s} {'time':>10s}  {'headline':>9s} {'baseline':>9s}  claim"]
    for r in rep.rows:
        h = r.headlines[0] if r.headlines else None
        lines.append(f"{r.stem[:34]:34s} {r.status:11s} {fmt_seconds(r.seconds):>10s}  "
                     f"{fmt(h.value if h else None):>9s} {fmt(h.baseline if h else None):>9s}  {r.claim_status}")
    n_fail = sum(r.status == "failed" for r in rep.rows)
    holds = sum(r.claim_status == "holds" for r in rep.rows)
    fails = sum(r.claim_status == "fails" for r in rep.rows)
    tail = (f"claims: {holds} hold, {fails} fail" if rep.claims.checked else f"claims not checked ({rep.claims.note})")
    wall = f" in {fmt_seconds(rep.wall_seconds)} with {rep.jobs} job(s)" if rep.wall_seconds is not None else ""
    ran = sum(r.status in ("ok", "failed") for r in rep.rows)
    lines.append(f"{ran} notebook{'s' if ran != 1 else ''} ran{wall}, {n_fail} failed; {tail}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- all of it

def write_report(profile: str, stems: Iterable[str] | None = None, *, errors: dict[str, str] | None = None,
                 check_claims: bool = True, render: bool = True, render_only: Iterable[str] | None = None
                 ) -> tuple[Report, Path, Path]:
    """Render the executed notebooks, run the claim tests, write ``REPORT.md`` and ``report.html``.

    ``stems``: the notebooks to report (default: every numbered notebook). ``render_only``: render just these
    (the ones that ran now); the others keep their earlier rendering. Returns ``(report, md, html)``.
    """
    render_set = None if render_only is None else set(render_only)
    from internvideo_core.notebooks import notebook_paths
    from internvideo_core.reproduction.render import (headline_chart, last_figure, render_notebook_html,
                                                      schedule_chart)

    stems = list(stems) if stems is not None else [p.stem for p in notebook_paths()]
    out = report_dir(profile)
    out.mkdir(parents=True, exist_ok=True)
    claims = (run_claim_tests(profile, out / "claims.xml") if check_claims
              else Claims(False, "claim tests skipped (--no-claims)"))
    rep = collect(profile, stems, claims, errors=errors)
    executed = runs_dir() / "notebooks" / profile
    for r in rep.rows:
        ipynb = executed / f"{r.stem}.ipynb"
        if not ipynb.exists():
            continue
        r.figure = last_figure(ipynb)
        rendered = out / "notebooks" / f"{r.stem}.html"
        if render_set is not None and r.stem not in render_set:
            r.html = f"notebooks/{r.stem}.html" if rendered.exists() else None
        elif render:
            try:
                render_notebook_html(ipynb, rendered)
                r.html = f"notebooks/{r.stem}.html"
            except Exception as exc:  # a rendering problem must not lose the report
                r.error = (r.error + "; " if r.error else "") + f"HTML rendering failed: {exc}"
    entries = {r.stem: NOTEBOOKS.get(r.stem) for r in rep.rows}
    bars = [(r.stem.replace("_", " ")[:32] + ("" if entries[r.stem].headlines[0].higher_is_better
                                            else "\n(lower is better)"),
             h.label, h.value, h.baseline_label or "", h.baseline) for r in rep.rows
            for h in r.headlines[:1] if h.value is not None and h.baseline is not None]
    rep.figures["headlines"] = headline_chart(bars) or ""
    spans = [(s, v["start"], v["end"], v.get("ok", True)) for s, v in read_times(profile).get("notebooks", {}).items()
             if v.get("this_run") and "start" in v and s in stems]
    rep.figures["schedule"] = schedule_chart(spans) or ""
    md, page = out / "REPORT.md", out / "report.html"
    md.write_text(to_markdown(rep), encoding="utf-8")
    page.write_text(to_html(rep), encoding="utf-8")
    return rep, md, page
