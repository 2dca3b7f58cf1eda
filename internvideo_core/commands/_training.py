"""Shared pieces of the training commands (``pretrain``, ``finetune``, ``evaluate``, ``train-mm``).

Not a subcommand (the leading underscore keeps :mod:`internvideo_core.cli` from registering it). Every
config dataclass field becomes a flag (``base_lr`` -> ``--base-lr``), so the CLI and the Python API accept
the same settings.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Callable

__all__ = ["add_config_args", "config_from_args", "add_model_args", "model_overrides", "add_data_args",
           "ClassificationData", "resolve_classification_data", "make_loader", "run_main", "WithIndex",
           "positive_int", "prepare_run", "require_samples", "head_classes", "dataset_root", "check_listed_files",
           "fit_schedule_to_run", "run_summary"]

_HELP = {
    "epochs": "passes over the training data",
    "batch_size": "samples per process and step (default: 8)",
    "base_lr": "peak lr per 256 samples (scaled by total batch / 256 unless --no-scale-lr)",
    "checkpoint_every": "also save output_dir/checkpoint.pth every N steps (0: at the end of each epoch)",
    "precision": "auto (bf16 autocast on CUDA, fp32 on CPU), fp32, bf16 or fp16",
    "compile": "run the training step through torch.compile (the first steps compile; faster after)",
    "compile_mode": "torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune",
    "device": "auto, cpu, cuda (under torchrun each process takes GPU LOCAL_RANK)",
    "max_steps": "stop after this many steps (quick checks)",
    "mask_ratio": "fraction of tokens hidden from the encoder",
    "layer_decay": "layer-wise lr decay factor (1 = off)",
    "clip_grad": "max gradient norm (default: no clipping)",
    "min_lr": "final lr of the cosine schedule (scaled like --base-lr)",
    "warmup_lr": "lr at the first warm-up step (scaled like --base-lr)",
    "warmup_epochs": "linear warm-up length in epochs (counted per step)",
    "warmup_steps": "linear warm-up length in steps; > 0 wins over --warmup-epochs",
    "scale_lr": "multiply the lrs by global batch / 256 (the official rule)",
    "weight_decay": "AdamW weight decay",
    "weight_decay_end": "cosine-schedule the weight decay to this value (default: constant)",
    "betas": "AdamW betas",
    "eps": "AdamW eps",
    "mixup": "mixup Beta alpha (0 = off)",
    "cutmix": "cutmix Beta alpha (0 = off)",
    "cutmix_minmax": "cutmix box size range as fractions of the image (overrides --cutmix's box; default: off)",
    "mixup_prob": "probability of mixing a batch at all",
    "mixup_switch_prob": "probability of cutmix instead of mixup when both are on",
    "mixup_mode": "batch, pair or elem: one mix per batch, per pair or per sample (timm Mixup)",
    "model_ema_decay": "decay of the weight average (--model-ema)",
    "output_dir": "checkpoints, config.json and log.txt go here",
    "num_classes": "outputs of the classification head (and mixup targets); default: from the data (its class "
                   "names, else the largest label + 1); a value that contradicts the data is refused",
}


def attribute_docs(cls: type) -> dict[str, str]:
    """``{field: text}`` from the ``Attributes:`` sections of ``cls`` and its bases (Google style; a line
    ``a / b: text`` documents both ``a`` and ``b``), so a config field is documented once, in its dataclass,
    and its ``--help`` text is that sentence."""
    import inspect
    import re

    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        lines = inspect.cleandoc(klass.__doc__ or "").splitlines()
        inside, names = False, []
        for line in lines:
            if line.strip() == "Attributes:":
                inside = True
                continue
            if not inside:
                continue
            match = re.match(r"^    ([a-z_][a-z0-9_ /]*):\s*(.*)$", line)
            if match:
                names = [n.strip() for n in match.group(1).split("/")]
                for name in names:
                    docs[name] = match.group(2).strip()
            elif line.startswith("        ") and names:
                for name in names:
                    docs[name] += " " + line.strip()
            elif line.strip():
                inside, names = False, []
    return {k: v.replace("``", "").rstrip(".") for k, v in docs.items()}


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (``--batch-size 0`` is refused instead of silently becoming 8)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_POSITIVE = {"batch_size", "epochs"}


def prepare_run(cfg: Any, rank: int = 0) -> None:
    """What a training command does before it builds anything: check that the output folder can be written
    (a clear message now, not a ``PermissionError`` after the model and data were built) and seed every
    random generator with ``cfg.seed`` (+ rank), so that the model's initial weights repeat with ``--seed``."""
    from internvideo_core.housekeeping import NotWritableError, ensure_writable_dir
    from internvideo_core.train.loop import seed_everything

    if getattr(cfg, "output_dir", None):
        try:
            ensure_writable_dir(cfg.output_dir, "output folder (--output-dir)",
                                "pass --output-dir with a folder you can write to")
        except NotWritableError as err:
            raise SystemExit(f"error: {err}") from None
    if getattr(cfg, "tensorboard", False):  # a missing package or folder is reported now, not after the build
        from internvideo_core.train.tensorboard_log import check_tensorboard

        check_tensorboard(getattr(cfg, "output_dir", None))
    seed_everything(cfg.seed, rank)


def require_samples(dataset: Any, annotation: Any, batch_size: int | None = None, world_size: int = 1) -> None:
    """Refuse an empty dataset ("no samples in <file>") and a training set too small for one full batch per
    process (the loader drops the last partial batch, so an epoch would have no step)."""
    n = len(dataset)
    if n == 0:
        raise SystemExit(f"error: no samples in {annotation}: the annotation file lists no videos; check the "
                         "file (one 'path label' per line) or --data")
    if batch_size is not None and n // max(world_size, 1) < batch_size:
        raise SystemExit(f"error: {n} samples in {annotation} give no full batch of {batch_size} per process "
                         f"({world_size} process(es); the last partial batch is dropped in training): lower "
                         "--batch-size or add data")


def head_classes(data: "ClassificationData", records: list, given: int | None, model_arg: int | None) -> int:
    """The number of outputs of the classification head, decided by the data (one rule for ``finetune``):

    - class names known (a SynthMotion folder, ``--classes FILE``): their count;
    - else (a ``path label`` list, a Kinetics CSV numbered by its sorted label names): the largest label + 1;
    - ``--num-classes N`` (``given``) or ``--model-args num_classes=N`` (``model_arg``) may state it: they must
      agree with each other and with the class names; against a list without names, ``N`` may be larger (classes
      absent from the list), and a smaller ``N`` fails when the list is read (the file and line of the first label
      out of range). Anything else is a :class:`ValueError` naming both counts, so a
      400-output base architecture is never fine-tuned as a 400-way head on a 12-class list.
    """
    if given is not None and model_arg is not None and given != model_arg:
        raise ValueError(f"--num-classes {given} and --model-args num_classes={model_arg} disagree; give one")
    stated = given if given is not None else model_arg
    flag = "--num-classes" if given is not None else "--model-args num_classes"
    labels = [r.label for r in records if getattr(r, "label", -1) >= 0]
    if data.classes is not None:
        where = "the SynthMotion folder" if data.synth else "--classes"
        n, source = len(data.classes), f"{len(data.classes)} class names ({where})"
    else:
        n = max(labels) + 1 if labels else 0
        source = f"labels up to {n - 1} in {data.annotation}"
    if stated is None:
        if n < 1:
            raise ValueError(f"cannot tell the number of classes: {data.annotation} has no labels; pass --classes FILE "
                             "or --num-classes N")
        return n
    if stated < 1:
        raise ValueError(f"{flag} must be at least 1, got {stated}")
    if data.classes is not None and stated != n:
        raise ValueError(f"{flag} {stated} does not match the data: {source} give {n} classes. Drop {flag} "
                         "(the head is sized from the data) or fix the data / --classes")
    return stated


def fit_schedule_to_run(cfg: Any, steps_per_epoch: int) -> Any:
    """With ``--max-steps`` shorter than the schedule, the warm-up is scaled to the run (``warmup_steps`` =
    warm-up x max_steps / total steps, so a smoke run reaches its peak lr instead of sitting at ``warmup_lr``);
    ``cfg`` unchanged otherwise. Returns the (new) config."""
    total = int(cfg.epochs * steps_per_epoch)
    if not cfg.max_steps or cfg.max_steps >= total:
        return cfg
    warm = cfg.warmup_steps if cfg.warmup_steps > 0 else int(cfg.warmup_epochs * steps_per_epoch)
    scaled = round(warm * cfg.max_steps / total) if warm else 0
    return dataclasses.replace(cfg, warmup_steps=scaled if scaled > 0 else -1,
                               warmup_epochs=cfg.warmup_epochs if scaled > 0 else 0)


def run_summary(name: str, cfg: Any, *, model: str, clips: int, classes: int | None, steps_per_epoch: int,
                world_size: int, device: Any, resume: str | None = None) -> str:
    """The lines a run starts with: data (clips, classes), steps per epoch and in total, per-process and global
    batch, the scaled learning rate and warm-up, device, precision, world size and backend, and the step a
    resumed run continues from."""
    import torch.distributed as dist

    from internvideo_core.train.loop import _precision

    total = int(cfg.epochs * steps_per_epoch)
    run_steps = min(total, cfg.max_steps) if cfg.max_steps else total
    glob = cfg.batch_size * world_size
    factor = glob / 256 if cfg.scale_lr else 1.0
    warm = cfg.warmup_steps if cfg.warmup_steps > 0 else int(cfg.warmup_epochs * steps_per_epoch)
    backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else "none (one process)"
    lines = [
        f"{name}: {model} on {clips} clips" + (f", {classes} classes" if classes else ""),
        f"  steps: {steps_per_epoch} per epoch x {cfg.epochs} epochs = {total}"
        + (f", this run stops at step {run_steps} (--max-steps)" if run_steps < total else ""),
        f"  batch: {cfg.batch_size} per process x {world_size} process(es) = {glob} global",
        f"  lr: {cfg.base_lr:g} per 256 samples -> {cfg.base_lr * factor:.3g} peak"
        + (" (scaled by global batch / 256)" if cfg.scale_lr else " (not scaled)")
        + f", warm-up {min(warm, total)} steps",
        f"  device {device}, precision {_precision(cfg.precision, __import__('torch').device(device))}, "
        f"world size {world_size}, backend {backend}",
    ]
    if resume:
        import torch

        try:
            step = torch.load(resume, map_location="cpu", weights_only=True).get("step", 0)
        except Exception:  # noqa: BLE001 - a broken file is reported (typed, naming it) when training loads it
            step = "?"
        lines.append(f"  resumed from step {step} ({resume})")
    return "\n".join(lines)


def _base_type(tp: Any) -> tuple[Any, bool]:
    """``(inner type, optional?)`` of a resolved annotation."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def add_config_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One flag per field of the dataclass ``cls`` (defaults shown in ``--help``)."""
    hints = typing.get_type_hints(cls)
    documented = attribute_docs(cls)
    group = parser.add_argument_group(f"{cls.__name__} (training settings)")
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        tp, optional = _base_type(hints[f.name])
        default = f.default
        help_text = _HELP.get(f.name) or documented.get(f.name) or f.name.replace("_", " ")
        if "(default" not in help_text:
            help_text += " (default: %(default)s)"
        if tp is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
            continue
        if typing.get_origin(tp) is tuple:
            inner = typing.get_args(tp)[0]
            group.add_argument(flag, type=inner, nargs=len(typing.get_args(tp)), default=default, help=help_text,
                               metavar=f.name.upper())
        else:
            kind = positive_int if f.name in _POSITIVE and tp is int else tp
            group.add_argument(flag, type=kind, default=default, help=help_text)


def config_from_args(args: argparse.Namespace, cls: type, **fixed: Any):
    """Build ``cls`` from the parsed flags (``fixed`` wins)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    for k, v in values.items():
        if isinstance(v, list):
            values[k] = tuple(v)
    values.update(fixed)
    return cls(**values)


def add_model_args(parser: argparse.ArgumentParser, default_model: str | None, help: str | None = None) -> None:
    parser.add_argument("--model", default=default_model, help=help or f"architecture name (default: {default_model}; "
                        "see `internvideo models`)")
    parser.add_argument("--model-args", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides, e.g. embed_dim=384 depth=12 drop_path_rate=0.1")


def model_overrides(items: list[str]) -> dict[str, Any]:
    """``["depth=2", "img_size=32"]`` -> ``{"depth": 2, "img_size": 32}`` (python literals, else strings)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--model-args expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def add_data_args(parser: argparse.ArgumentParser, *, val: bool = False) -> None:
    g = parser.add_argument_group("data")
    g.add_argument("--data", required=True,
                   help="a SynthMotion folder (internvideo synth --out DIR) or an annotation file: a VideoMAE list "
                        "'path label' or an official Kinetics CSV")
    g.add_argument("--data-root", default=None, help="folder the paths in the list are relative to (default: the "
                   "dataset root: the nearest folder at or above the list with a SynthMotion manifest.json, else "
                   "the list's own folder)")
    g.add_argument("--classes", default=None, help="class-name list (one per line) for Kinetics CSVs and the count")
    if val:
        g.add_argument("--val-data", default=None, help="validation list (default: the SynthMotion val split; "
                       "'none' to skip)")
    g.add_argument("--num-frames", type=int, default=None, help="frames per clip (default: the model's)")
    g.add_argument("--sampling-rate", type=int, default=None,
                   help="frame stride of dense sampling (default: 4 official, 1 for SynthMotion's short clips)")
    g.add_argument("--img-size", type=int, default=None, help="crop size (default: the model's img_size)")
    g.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")


def dataset_root(annotation: str | Path) -> Path | None:
    """The SynthMotion folder an annotation file belongs to: the nearest folder at or above it (3 levels) holding
    ``manifest.json`` (``None``: not inside one)."""
    folder = Path(annotation).resolve().parent
    for candidate in [folder, *folder.parents][:4]:
        if (candidate / "manifest.json").is_file():
            return candidate
    return None


def check_listed_files(records: list, annotation: str | Path, root: str | Path, show: int = 3) -> None:
    """Stat every video (or frame folder) of ``records`` before anything is built: a missing one is a
    :class:`FileNotFoundError` naming how many are missing, the first ``show`` of them and the path rule
    (relative paths in a list are joined to ``--data-root``, default :func:`dataset_root`, else the list's folder).
    """
    import os

    missing = [r.path for r in records if not os.path.exists(r.path)]
    if not missing:
        return
    first = ", ".join(missing[:show])
    hint = (f"paths in {annotation} are joined to the data root {root} (--data-root; default: the folder with the "
            "SynthMotion manifest.json above the list, else the list's folder)")
    synth = dataset_root(annotation)
    if synth is not None and Path(root).resolve() != synth:
        hint += f"; this list belongs to the SynthMotion folder {synth}: drop --data-root or pass --data-root {synth}"
    raise FileNotFoundError(f"{len(missing)} of {len(records)} videos listed in {annotation} do not exist (first: "
                            f"{first}): {hint}")


@dataclasses.dataclass
class ClassificationData:
    annotation: Path
    root: Path
    classes: list[str] | None
    synth: bool


def resolve_classification_data(data: str, split: str, root: str | None = None,
                                classes: str | None = None) -> ClassificationData:
    """Find the ``split`` list of a SynthMotion folder, or take ``data`` as the annotation file itself."""
    path = Path(data)
    names = Path(classes).read_text(encoding="utf-8").split("\n") if classes else None
    if path.is_dir():
        manifest = path / "manifest.json"
        if not manifest.is_file():
            raise SystemExit(f"{path} is a folder without manifest.json: pass a SynthMotion folder "
                             "(internvideo synth --out DIR) or an annotation file")
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        if "classification" not in files:
            raise SystemExit(f"{path} has no classification part: generate it with "
                             f"`internvideo synth --out {path} --parts classification`")
        part = files["classification"]
        if names is None:
            names = (path / part["classes"]).read_text(encoding="utf-8").split("\n")
        return ClassificationData(path / part[split], Path(root) if root else path,
                                  [n for n in names if n.strip()], True)
    if not path.is_file():
        raise SystemExit(f"annotation file {path} not found")
    synth = dataset_root(path)  # a list inside a SynthMotion folder: paths relative to that folder, rate 1
    return ClassificationData(path, Path(root) if root else (synth or path.parent),
                              [n for n in names if n.strip()] if names else None, synth is not None)


def make_loader(dataset: Any, batch_size: int, *, train: bool, seed: int = 0, num_workers: int = 0,
                collate_fn: Callable | None = None):
    """DataLoader with a rank-sharded :class:`~internvideo_core.train.distributed.ResumableSampler`."""
    import torch
    from torch.utils.data import DataLoader

    from internvideo_core.train.distributed import ResumableSampler

    sampler = ResumableSampler(dataset, shuffle=train, seed=seed, drop_last=train)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=train, num_workers=num_workers,
                      pin_memory=torch.cuda.is_available(), collate_fn=collate_fn,
                      persistent_workers=False)


class WithIndex:
    """Dataset wrapper appending the item index (a video id for multi-view aggregation / deduplication)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        item = self.dataset[i]
        return (*item, i)


# the choices of the speed options, spelt here so that --help needs no torch import (kept equal to
# internvideo_core.train.compile.COMPILE_MODES / models.attention_backend.ATTENTION_BACKENDS by a test)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
ATTENTION_BACKENDS = ("auto", "flash", "efficient", "cudnn", "math")


def add_speed_args(parser: argparse.ArgumentParser, compile: bool = True) -> None:
    """``--attention`` (every command running a model) and, with ``compile``, ``--compile`` / ``--compile-mode``
    (the training commands take those from their config). Wrap the command's run with :func:`with_speed_options`."""
    g = parser.add_argument_group("speed")
    if compile:
        g.add_argument("--compile", action="store_true", help="run the model through torch.compile (the first "
                       "batches compile, tens of seconds for a ViT-B; faster after)")
        g.add_argument("--compile-mode", default="default", choices=COMPILE_MODES,
                       help="torch.compile mode: default; reduce-overhead = CUDA graphs (fixed shapes); max-autotune = "
                            "autotuned kernels + CUDA graphs; max-autotune-no-cudagraphs = autotuned kernels only")
    g.add_argument("--attention", default="auto", choices=ATTENTION_BACKENDS,
                   help="scaled-dot-product attention kernel: auto (PyTorch's choice), flash, efficient, cudnn "
                        "(Hopper) or math (the reference)")


def with_speed_options(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``run(args)`` inside ``attention_backend(args.attention)``."""
    @functools.wraps(run)
    def wrapped(args: argparse.Namespace) -> int:
        from internvideo_core.models.attention_backend import attention_backend

        with attention_backend(getattr(args, "attention", "auto") or "auto"):
            return run(args)

    return wrapped


def run_main(register: Callable[[argparse._SubParsersAction], None], name: str,
             argv: list[str] | None = None) -> int:
    """``python -m internvideo_core.commands.<name>`` (e.g. under torchrun) = ``internvideo <name>``, with the
    same error handling (one line from rank 0; ``--debug`` anywhere in the arguments shows the traceback)."""
    from internvideo_core.cli import run_command

    parser = argparse.ArgumentParser(prog=f"internvideo {name}")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    rest = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in rest
    args = parser.parse_args([name, *(a for a in rest if a != "--debug")])
    args.command_line = " ".join([f"python -m internvideo_core.commands.{name.replace('-', '_')}", *rest])
    return run_command(args.func, args, debug)
