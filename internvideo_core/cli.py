"""The ``internvideo`` command line. Subcommands live in ``internvideo_core/commands/*.py``, each with a
``register(sub)`` function; :data:`COMMANDS` lists them (add a new module there)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, Callable

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
    "models",
    "export_hf",
    "notebooks",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="internvideo",
        description="InternVideo kit: VideoMAE + InternVideo-MM models, SynthMotion data, training, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (also INTERNVIDEO_DEBUG=1); by default an ordinary "
                             "mistake prints one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"internvideo_core.commands.{name}").register(sub)
    return parser


def _ordinary_errors() -> tuple[type[BaseException], ...]:
    """The kit's typed errors for ordinary mistakes (a missing or unreadable file, an unknown model or field, no
    CUDA, a class-count mismatch, a bad flag value), shown as one line instead of a traceback."""
    from internvideo_core.checkpoint import CheckpointError
    from internvideo_core.data.annotations import AnnotationError
    from internvideo_core.data.video_checks import VideoReadError
    from internvideo_core.hub import HubError
    from internvideo_core.train.distributed import DeviceUnavailableError
    from internvideo_core.train.tensorboard_log import TensorBoardUnavailableError

    return (CheckpointError, AnnotationError, VideoReadError, HubError, DeviceUnavailableError,
            TensorBoardUnavailableError, FileNotFoundError, PermissionError, ValueError, KeyError, TypeError)


def _message(err: BaseException) -> str:
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    return str(text).strip() or type(err).__name__


def run_command(func: Callable[[argparse.Namespace], Any], args: argparse.Namespace, debug: bool = False) -> int:
    """Run a parsed command: its exit code; an ordinary mistake (:func:`_ordinary_errors`) prints
    ``error: <message>`` on one line and gives 1, with ``debug`` (``--debug`` / ``INTERNVIDEO_DEBUG=1``) it is
    re-raised with its traceback. Under torchrun only rank 0 (``RANK``) prints: the other ranks exit quietly."""
    debug = debug or os.environ.get("INTERNVIDEO_DEBUG", "") not in ("", "0")
    rank0 = int(os.environ.get("RANK", "0") or 0) == 0
    try:
        return int(func(args) or 0)
    except BrokenPipeError:  # `internvideo zoo list | head`: the reader left; no traceback (Python docs' recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except SystemExit as exc:
        if rank0 or not isinstance(exc.code, str):
            raise
        raise SystemExit(1) from None  # the message is printed once, by rank 0
    except _ordinary_errors() as err:
        if debug:
            raise
        if rank0:
            print(f"error: {_message(err)} [internvideo --debug ... shows the traceback]", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from internvideo_core.model_config import command_line

    args.command_line = command_line(sys.argv[1:] if argv is None else argv)  # recorded in saved models' config.json
    return run_command(args.func, args, args.debug)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
