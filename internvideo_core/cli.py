"""The ``internvideo`` command line. Subcommands live in ``internvideo_core/commands/*.py``, each with a
``register(sub)`` function; :data:`COMMANDS` lists them (add a new module there)."""
from __future__ import annotations

import argparse
import importlib
import sys

from internvideo_core import __version__

#: The command modules under ``internvideo_core.commands``, in ``--help`` order (module name, not command name).
COMMANDS: tuple[str, ...] = (
    "pretrain",
    "finetune",
    "evaluate",
    "predict",
    "eval_retrieval",
    "eval_zeroshot",
    "eval_mc",
    "eval_qa",
    "eval_ava",
    "extract_features",
    "train_tal",
    "eval_tal",
    "eval_openset",
    "eval_nlq",
    "eval_mq",
    "train_mm",
    "synth",
    "zoo",
    "notebooks",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="internvideo",
        description="InternVideo kit: VideoMAE + InternVideo-MM models, SynthMotion data, training, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"internvideo_core.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
