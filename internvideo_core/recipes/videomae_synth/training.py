"""Pretraining and fine-tuning of the recipe, on the loops of :mod:`internvideo_core.train`
(:func:`~internvideo_core.train.pretrain.pretrain`, :func:`~internvideo_core.train.finetune.finetune`).

Every function takes ``(recipe, seed, ...)``; the recipe carries its profile (a profile name stands for its
recipe). The loops' per-epoch lines are kept out of the output unless ``verbose=True`` (``progress=True`` shows a
tqdm bar); the history keeps every number.

    recipe = get_recipe("tutorial")
    model, history = pretrain_on_synthmotion(recipe, 0)                       # tube masking, ratio 0.9
    path = save_pretrained(model, recipe)
    clf, history, metrics = finetune_on_synthmotion(recipe, 0, init=path)
"""
from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from .config import VideoMAESynthRecipe, as_recipe
from .data import ClipLoader, SynthData, load_synth_data
from .evaluation import evaluate_classifier
from .models import build_classifier, build_pretrain_model

__all__ = ["pretrain_on_synthmotion", "finetune_on_synthmotion", "train_from_scratch"]


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Swallow the training loop's per-epoch lines unless ``verbose`` (tqdm bars go to stderr and stay)."""
    if verbose:
        yield
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            yield


def pretrain_on_synthmotion(recipe: VideoMAESynthRecipe | str, seed: int = 0, *, mask: str | None = None,
                            ratio: float | None = None, data: SynthData | None = None, progress: bool = False,
                            verbose: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """Pretrain the recipe's masked autoencoder on the unlabelled pool.

    ``mask`` (``"tube"`` / ``"random"``) and ``ratio`` default to the recipe's (tube, 0.9). Returns the model
    (eval mode) and a history ``{"loss": per-step losses, "epoch_loss", "seconds", "mask", "ratio"}``.
    """
    from internvideo_core.train.pretrain import PretrainConfig, pretrain

    r = as_recipe(recipe)
    mask = mask or r.mask_type
    ratio = r.mask_ratio if ratio is None else ratio
    data = data or load_synth_data(r, seed)
    torch.manual_seed(seed)
    model = build_pretrain_model(r)
    loader = ClipLoader(data.pool, None, r, batch_size=r.pretrain_batch_size, train=True, seed=seed)
    cfg = PretrainConfig(epochs=r.pretrain_epochs, base_lr=r.pretrain_lr, min_lr=r.pretrain_lr / 100,
                         warmup_epochs=r.pretrain_warmup_epochs, weight_decay=r.pretrain_weight_decay,
                         mask_type=mask, mask_ratio=ratio, seed=seed, device=_device(), progress=progress)
    start = time.perf_counter()
    with _quiet(verbose):
        result = pretrain(model, loader, cfg)
    model.eval()
    history = {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs],
               "seconds": time.perf_counter() - start, "mask": mask, "ratio": ratio}
    return model, history


def finetune_on_synthmotion(recipe: VideoMAESynthRecipe | str, seed: int = 0, init: str | Path | None = None, *,
                            data: SynthData | None = None, lr: float | None = None, layer_decay: float | None = None,
                            epochs: int | None = None, evaluate_on: str = "test", progress: bool = False,
                            verbose: bool = False) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """Fine-tune a classifier on the labelled subset, from ``init`` (a pretraining checkpoint) or from scratch.

    ``lr`` / ``layer_decay`` / ``epochs`` override the recipe's fine-tuning values (the scratch baseline uses
    :attr:`~VideoMAESynthRecipe.scratch_lr` etc., see :func:`train_from_scratch`). ``evaluate_on``: ``"test"``
    (default) or ``"val"`` (the split a hyper-parameter is chosen on).

    Returns ``(model, history, metrics)``: history ``{"loss", "epoch_loss", "seconds", "load_report"}``;
    metrics of :func:`evaluate_classifier` on the chosen split (single centre view).
    """
    from internvideo_core.train.finetune import FinetuneConfig, finetune

    r = as_recipe(recipe)
    data = data or load_synth_data(r, seed)
    lr = r.finetune_lr if lr is None else lr
    layer_decay = r.layer_decay if layer_decay is None else layer_decay
    epochs = r.finetune_epochs if epochs is None else epochs
    torch.manual_seed(seed)
    model = build_classifier(r, len(data.classes), init)
    report = getattr(model, "load_report", None)
    loader = ClipLoader(data.train_videos, data.train_labels, r, batch_size=r.finetune_batch_size, train=True,
                        seed=seed)
    cfg = FinetuneConfig(epochs=epochs, base_lr=lr, min_lr=lr / 100,
                         warmup_epochs=r.finetune_warmup_epochs, weight_decay=r.finetune_weight_decay,
                         layer_decay=layer_decay, mixup=0.0, cutmix=0.0, smoothing=r.smoothing, seed=seed,
                         device=_device(), progress=progress)
    start = time.perf_counter()
    with _quiet(verbose):
        result = finetune(model, loader, cfg)
    seconds = time.perf_counter() - start
    model.eval()
    if evaluate_on not in ("test", "val"):
        raise ValueError(f"evaluate_on must be 'test' or 'val', got {evaluate_on!r}")
    videos, labels = ((data.test_videos, data.test_labels) if evaluate_on == "test"
                      else (data.val_videos, data.val_labels))
    metrics = evaluate_classifier(model, videos, labels, r)
    history = {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs], "seconds": seconds,
               "load_report": report, "lr": lr, "layer_decay": layer_decay, "epochs": epochs}
    return model, history, metrics


def train_from_scratch(recipe: VideoMAESynthRecipe | str, seed: int = 0, *, data: SynthData | None = None,
                       lrs: tuple[float, ...] | None = None, epochs: int | None = None, progress: bool = False,
                       verbose: bool = False) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """The fair from-scratch baseline: the classifier trained from random weights with its own learning rate.

    For every learning rate of ``lrs`` (default :attr:`~VideoMAESynthRecipe.scratch_lrs`) a classifier is trained
    for ``epochs`` (default :attr:`~VideoMAESynthRecipe.scratch_epochs`) with **no layer-wise lr decay** (there
    is no pretrained depth to protect) and scored on the **validation** clips; the best one is then scored once
    on the test clips. Returns ``(model, history, metrics)`` like :func:`finetune_on_synthmotion`, the history
    with ``"sweep": {lr: val top-1}`` and ``"lr"`` (the chosen one); metrics on the test clips.
    """
    r = as_recipe(recipe)
    data = data or load_synth_data(r, seed)
    lrs = tuple(r.scratch_lrs if lrs is None else lrs)
    epochs = r.scratch_epochs if epochs is None else epochs
    best: tuple[float, Any] | None = None
    sweep: dict[float, float] = {}
    seconds = 0.0
    for lr in lrs:
        model, hist, val = finetune_on_synthmotion(r, seed, None, data=data, lr=lr, layer_decay=1.0, epochs=epochs,
                                                   evaluate_on="val", progress=progress, verbose=verbose)
        sweep[lr] = float(val["top1"])
        seconds += hist["seconds"]
        if best is None or sweep[lr] > best[0]:
            best = (sweep[lr], (model, hist))
    assert best is not None
    model, hist = best[1]
    metrics = evaluate_classifier(model, data.test_videos, data.test_labels, r)
    hist = {**hist, "sweep": sweep, "seconds": seconds}
    return model, hist, metrics
