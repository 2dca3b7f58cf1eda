"""``internvideo notebooks run``: execute the numbered notebooks headlessly."""
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


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.notebooks import run_all

    _check_selectors(args.only)
    runs = run_all(args.profile, args.seed, only=args.only or None, keep_going=args.keep_going)
    failed = [r for r in runs if r.error]
    print(f"{len(runs) - len(failed)} notebooks ran, {len(failed)} failed")
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notebooks", help="execute the numbered notebooks with papermill")
    nsub = p.add_subparsers(dest="notebooks_command", metavar="ACTION")
    run = nsub.add_parser("run", help="execute notebooks/NN_*.ipynb, write runs/notebooks and runs/results")
    run.add_argument("--profile", default="tutorial", choices=["smoke", "tutorial", "full"],
                     help="smoke: seconds (CI); tutorial: minutes on a CPU; full: GPU and real data")
    run.add_argument("--seed", type=int, default=0, help="the SEED parameter of every notebook")
    run.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 03")
    run.add_argument("--keep-going", action="store_true", help="continue after a failing notebook")
    run.set_defaults(func=_run)
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])
