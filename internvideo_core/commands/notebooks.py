"""``internvideo notebooks run``: execute the numbered notebooks headlessly, side by side, and write the
reproduction report; ``internvideo notebooks report``: rewrite the report from the results already there."""
from __future__ import annotations

import argparse


def _check_selectors(only: list[str] | None) -> None:
    """Refuse ``--only`` prefixes that match no notebook (a typo would otherwise run nothing and exit 0)."""
    from internvideo_core.notebooks import notebook_paths

    names = [p.name for p in notebook_paths()]
    unmatched = [o for o in only or [] if not any(n.startswith(o) for n in names)]
    if unmatched:
        raise SystemExit(f"error: --only {' '.join(unmatched)} matches no notebook; the notebooks are: "
                         f"{', '.join(names)}")


def _report(profile: str, errors: dict[str, str], args: argparse.Namespace,
            ran: list[str] | None = None) -> int:
    """Write the report, print the summary; 1 when ``--strict-claims`` and a claim fails (or was not checked)."""
    from internvideo_core.reproduction.report import summary_table, write_report

    print(f"[{profile}] writing the report (rendering notebooks to HTML"
          + (", running the claim tests" if not args.no_claims else "") + ") ...", flush=True)
    rep, md, page = write_report(profile, errors=errors, check_claims=not args.no_claims,
                                 render=not args.no_html, render_only=ran)
    print(summary_table(rep))
    print(f"report: {md} and {page}" + ("" if args.no_html else f"; notebooks as HTML in {md.parent / 'notebooks'}"))
    if args.strict_claims and (not rep.claims.checked or any(r.claim_status == "fails" for r in rep.rows)):
        print("claims: " + (rep.claims.note if not rep.claims.checked else "some fail (see the report)"))
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.notebooks import run_all

    _check_selectors(args.only)
    if args.jobs is not None and args.jobs < 1:
        raise SystemExit(f"error: --jobs must be at least 1, got {args.jobs}")
    if args.plan:
        return _plan(args)
    runs = run_all(args.profile, args.seed, only=args.only or None, keep_going=args.keep_going, jobs=args.jobs)
    failed = {r.notebook.stem: r.error for r in runs if r.error}
    print(f"{len(runs) - len(failed)} notebooks ran, {len(failed)} failed")
    rc = 0
    if not args.no_report:
        rc = _report(args.profile, failed, args, ran=[r.notebook.stem for r in runs])
    return 1 if failed else rc


def _plan(args: argparse.Namespace) -> int:
    """Print the order and estimated times of a run without running anything."""
    from internvideo_core.notebook_schedule import TUTORIAL_SECONDS, simulate
    from internvideo_core.notebooks import default_jobs, select
    from internvideo_core.reproduction.report import previous_seconds

    jobs = args.jobs or default_jobs()
    known = previous_seconds(args.profile)
    estimates = {**TUTORIAL_SECONDS, **known}
    total, plan = simulate([p.stem for p in select(args.only or None)], estimates, jobs)
    source = ("the previous run, " if known else "") + "the published tutorial times (serial, 2 threads) otherwise"
    print(f"[{args.profile}] plan with {jobs} job(s), each notebook with its fixed torch thread count; times from {source}:")
    for name, start, end in sorted(plan, key=lambda x: (x[1], x[0])):
        print(f"  {start:6.0f} s - {end:6.0f} s  {name}")
    print(f"about {total:.0f} s if each notebook takes as long as there (one thread per notebook is slower)")
    return 0


def _report_only(args: argparse.Namespace) -> int:
    return _report(args.profile, {}, args)


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-claims", action="store_true", help="do not run the claim tests (pytest -m tutorial_results)")
    p.add_argument("--no-html", action="store_true", help="do not render the executed notebooks to HTML")
    p.add_argument("--strict-claims", action="store_true",
                   help="exit with status 1 when a claim test fails (what `make reproduce` uses)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notebooks", help="execute the numbered notebooks with papermill")
    nsub = p.add_subparsers(dest="notebooks_command", metavar="ACTION")
    run = nsub.add_parser("run", help="execute notebooks/NN_*.ipynb (runs/notebooks, runs/results), then write "
                                      "runs/<profile>/REPORT.md and report.html")
    run.add_argument("--profile", default="tutorial", choices=["smoke", "tutorial", "full"],
                     help="smoke: seconds (CI); tutorial: minutes on a CPU; full: GPU and real data")
    run.add_argument("--seed", type=int, default=0, help="the SEED parameter of every notebook")
    run.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 03")
    run.add_argument("--keep-going", action="store_true", help="continue after a failing notebook")
    run.add_argument("--jobs", type=int, default=None,
                     help="notebooks side by side, one share of the cores each (default: one per core, at most "
                          "4); dependencies (03 after 02, 05-07 after 04, ...) are respected")
    run.add_argument("--no-report", action="store_true", help="only run the notebooks")
    run.add_argument("--plan", action="store_true", help="print the order and estimated times, run nothing")
    _report_options(run)
    run.set_defaults(func=_run)
    rep = nsub.add_parser("report", help="(re)write runs/<profile>/REPORT.md and report.html from the results "
                                         "already in runs/ (no notebook runs)")
    rep.add_argument("--profile", default="tutorial", choices=["smoke", "tutorial", "full"],
                     help="smoke, tutorial or full: whose results to report")
    _report_options(rep)
    rep.set_defaults(func=_report_only)
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])
