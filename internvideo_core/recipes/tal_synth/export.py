"""Notebook 08's localization head as a file the demo reads, with a reference to the encoder of its features.

    path = save_head(recipe, head, encoder_model, "finetuned", feature_dir, root)   # notebook 08
    write_head(recipe, head, encoder_model, "finetuned", mean, std)                  # given mean / std
    tm = load_timeline_model("tutorial")            # TimelineModel: head, classes, encoder, protocol, mean / std
    x = tm.standardise(feats)                       # [N, D] as the head saw them in training

The file is ``runs/checkpoints/<profile>/tal_synth_head.safetensors``: the head's weights written like
:func:`~internvideo_core.tal.save_tal_head` (so :func:`~internvideo_core.tal.load_tal_head` reads it too), plus in
the metadata the encoder (``"finetuned"``: notebook 03's classifier, ``"frozen"``: notebook 02's autoencoder; the
checkpoint file name relative to ``runs/checkpoints/<profile>/`` and a hash of its weights), the snippet protocol
(``clip_len``, ``frame_interval``, ``stride``, ``size``, ``short_side``, ``pool``, ``fps``) and the mean / std of
the training snippets the features were standardised with.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from .config import TALSynthRecipe

__all__ = ["HEAD_FILE", "ENCODERS", "TimelineModel", "TimelineModelError", "head_checkpoint_path", "save_head",
           "write_head", "read_head_info", "load_timeline_model"]

HEAD_FILE = "tal_synth_head.safetensors"
#: Encoders a saved head may reference: name -> (checkpoint file in runs/checkpoints/<profile>/, the notebook
#: that writes it).
ENCODERS: dict[str, tuple[str, str]] = {"finetuned": ("videomae_synth_classifier.safetensors", "03"),
                                        "frozen": ("videomae_synth_pretrain.safetensors", "02")}


class TimelineModelError(RuntimeError):
    """The head or its encoder is missing, unreadable or does not match (the message says what to run)."""


@dataclasses.dataclass
class TimelineModel:
    """A loaded head (eval mode), its ``classes``, the ``encoder`` (eval mode), ``encoder_name``, the snippet
    ``protocol`` dict and the feature ``mean`` / ``std`` float32 ``[D]``."""

    head: nn.Module
    classes: list[str]
    encoder: nn.Module
    encoder_name: str
    protocol: dict[str, Any]
    mean: np.ndarray
    std: np.ndarray

    def standardise(self, feats: np.ndarray) -> np.ndarray:
        """``[N, D]`` raw snippet features -> standardised as in training (float32)."""
        return ((feats - self.mean) / self.std).astype(np.float32)


def head_checkpoint_path(profile: str) -> Path:
    """``runs/checkpoints/<profile>/tal_synth_head.safetensors`` (written by notebook 08)."""
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / profile / HEAD_FILE


def _encoder_path(profile: str, name: str) -> Path:
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / profile / ENCODERS[name][0]


def save_head(recipe: TALSynthRecipe, head: nn.Module, encoder: nn.Module, encoder_name: str,
              feature_dir: str | Path, root: str | Path, path: str | Path | None = None) -> Path:
    """Write ``head`` (trained on standardised features of ``encoder_name`` in ``feature_dir``; ``root``: the
    SynthMotion ``tal`` folder whose training videos give the mean / std) to :func:`head_checkpoint_path` of
    ``recipe.profile`` (or ``path``)."""
    from internvideo_core.tal import load_tal_videos

    from .pipeline import TAL_CLASSES, annotation_file

    train = load_tal_videos(feature_dir, annotation_file(Path(root)), "training", TAL_CLASSES)
    allf = np.concatenate([v.feats for v in train])
    mean, std = allf.mean(0), allf.std(0) + 1e-6                     # as pipeline._standardise
    return write_head(recipe, head, encoder, encoder_name, mean, std, path)


def write_head(recipe: TALSynthRecipe, head: nn.Module, encoder: nn.Module, encoder_name: str, mean: np.ndarray,
               std: np.ndarray, path: str | Path | None = None) -> Path:
    """Write ``head`` with the feature ``mean`` / ``std`` ``[D]`` given (the layout of the module docstring);
    the snippet protocol is the recipe's (notebook 02's encoder input, ``feat_stride``, ``pool``, 8 fps)."""
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.recipes.videomae_synth import get_recipe as mae_recipe

    from .pipeline import TAL_CLASSES, _fingerprint, synth_config

    if encoder_name not in ENCODERS:
        raise ValueError(f"encoder_name must be one of {list(ENCODERS)} (a file the demo can load), got "
                         f"{encoder_name!r}")
    profile = recipe.profile
    r, m = recipe, mae_recipe(profile)
    protocol = {"clip_len": m.num_frames, "frame_interval": m.frame_stride, "stride": r.feat_stride,
                "size": m.img_size, "short_side": m.render_size, "pool": r.pool, "fps": float(synth_config(r).fps)}
    meta = {"task": "tal_head", "config": json.dumps(dataclasses.asdict(head.config)),
            "classes": json.dumps(list(TAL_CLASSES)), "profile": profile, "encoder": encoder_name,
            "encoder_checkpoint": ENCODERS[encoder_name][0], "encoder_hash": _fingerprint(encoder),
            "protocol": json.dumps(protocol), "feature_mean": json.dumps(np.asarray(mean, dtype=float).tolist()),
            "feature_std": json.dumps(np.asarray(std, dtype=float).tolist())}
    return save_safetensors(head, path or head_checkpoint_path(profile), metadata=meta)


def read_head_info(path: str | Path) -> dict[str, str]:
    """The metadata of a head file (``{}`` when it has none)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


def _build_encoder(profile: str, name: str, path: Path) -> nn.Module:
    from internvideo_core.checkpoint import load_checkpoint
    from internvideo_core.data.synthmotion import KNOWN_MOTIONS
    from internvideo_core.recipes import videomae_synth as R

    r = R.get_recipe(profile)
    if name == "finetuned":
        return R.build_classifier(r, len(KNOWN_MOTIONS), path).eval()
    model = R.build_pretrain_model(r)
    load_checkpoint(model, str(path), strict=True)
    return model.eval()


def load_timeline_model(profile: str, path: str | Path | None = None) -> TimelineModel:
    """The head of ``profile`` (or ``path``) and its encoder; :class:`TimelineModelError` saying which notebook to
    run when a file is missing, unreadable, or the encoder's weights changed since the head was trained."""
    from internvideo_core.tal import load_tal_head

    from .pipeline import _fingerprint

    head_path = Path(path) if path is not None else head_checkpoint_path(profile)
    rerun = f"run notebook 08 (`internvideo notebooks run --profile {profile} --only 08`)"
    if not head_path.is_file():
        raise TimelineModelError(f"no localization head yet ({head_path.name} is missing): {rerun}.")
    try:
        info = read_head_info(head_path)
        head, classes = load_tal_head(head_path)
        name = info["encoder"]
        protocol = json.loads(info["protocol"])
        mean = np.asarray(json.loads(info["feature_mean"]), dtype=np.float32)
        std = np.asarray(json.loads(info["feature_std"]), dtype=np.float32)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same advice
        raise TimelineModelError(f"{head_path.name} is not a head written by notebook 08 ({type(err).__name__}); "
                                 f"{rerun} to write it again.") from None
    if name not in ENCODERS:
        raise TimelineModelError(f"{head_path.name} refers to the encoder {name!r}, which cannot be loaded; {rerun}.")
    enc_path = _encoder_path(profile, name)
    if not enc_path.is_file():
        raise TimelineModelError(f"the head's encoder {enc_path.name} is missing: run notebook {ENCODERS[name][1]} "
                                 f"(or {rerun}, which writes it too).")
    try:
        encoder = _build_encoder(profile, name, enc_path)
    except Exception as err:  # noqa: BLE001
        raise TimelineModelError(f"the encoder {enc_path.name} could not be loaded ({type(err).__name__}); "
                                 f"{rerun}.") from None
    if _fingerprint(encoder) != info.get("encoder_hash"):
        raise TimelineModelError(f"{enc_path.name} changed since the head was trained on its features; {rerun} to "
                                 "train the head again.")
    return TimelineModel(head, list(classes), encoder, name, protocol, mean, std)
