"""Checkpoint conversion for the VideoMAE classifier (:class:`VideoViT`) and autoencoder (:class:`VideoMAEPretrain`).

The kit keeps the official parameter names, so conversion is near-identity. Sources handled:

Classifier (``videomae_vit_*``):
- released fine-tuned files ``{"module": ...}``: identity (they hold no positional table; the kit rebuilds
  it as a buffer);
- released pretraining files ``{"model": ...}``: what the official ``run_class_finetuning.py`` does:
  strip ``encoder.`` / ``backbone.``; the decoder, ``encoder_to_decoder`` and ``mask_token`` are not part of
  the classifier (reported in ``report.ignored``); ``encoder.norm`` is dropped too when
  ``use_mean_pooling`` (the official fine-tuning model has ``norm = Identity`` and loads non-strictly, so
  the pretrained final norm is discarded and ``fc_norm`` starts fresh); ``fc_norm`` / ``head`` are
  reported in ``report.initialized``;
- a head with more rows than ``num_classes`` (K710 -> K400) keeps its first ``num_classes`` rows, as the
  official script does for Kinetics-400, only when asked (``report.head_subset``: ``"k400"`` with a 400-class
  model, or ``"first"``) and is listed in ``report.resized``; without it :func:`load_checkpoint` refuses the
  class-count mismatch naming both counts; every other mismatch is a strict error;
- Hugging Face ``VideoMAEForVideoClassification`` / ``VideoMAEForPreTraining`` / ``VideoMAEModel`` state dicts
  (``videomae.embeddings...``), see :mod:`internvideo_core.convert.hf_videomae`;
- the kit's own safetensors (identity). A ``module.`` prefix (DDP) is stripped everywhere.

Autoencoder (``videomae_pretrain_*``): released ``{"model": ...}`` (identity), Hugging Face
``VideoMAEForPreTraining``, kit safetensors. A fine-tuned classifier file is refused with a clear message.

``to_official`` returns ``model.state_dict()`` (official keys and shapes); :func:`save_official` writes it
with the release wrapper (``{"module": ...}`` / ``{"model": ...}``).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from internvideo_core.checkpoint import CheckpointError, Converter, LoadReport, register_converter
from internvideo_core.convert.hf_videomae import hf_to_official, is_hf_videomae
from internvideo_core.models.videomae import VideoMAEPretrain
from internvideo_core.models.vit import VideoViT

__all__ = ["classifier_from_external", "pretrain_from_external", "to_official", "save_official",
           "load_from_autoencoder"]

_DECODER_REASON = ("pretraining decoder part, not used by the classifier (official run_class_finetuning.py "
                   "drops it too)")
_POS_REASON = "positional table: the kit rebuilds the fixed sinusoid table from the config (not a parameter)"


def _strip_ddp(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if tensors and all(k.startswith("module.") for k in tensors):
        return {k[len("module."):]: v for k, v in tensors.items()}
    return dict(tensors)


def _prepare(tensors: dict[str, torch.Tensor], report: LoadReport) -> dict[str, torch.Tensor]:
    tensors = _strip_ddp(tensors)
    if is_hf_videomae(tensors):
        report.notes.append(f"Hugging Face VideoMAE layout (was {report.source_format}) converted to the official one")
        report.source_format = "huggingface"
        tensors = hf_to_official(tensors)
    return tensors


def classifier_from_external(model: nn.Module, tensors: dict[str, torch.Tensor],
                             report: LoadReport) -> dict[str, torch.Tensor]:
    """Map a checkpoint's tensors to :class:`VideoViT` names (see the module docstring)."""
    tensors = _prepare(tensors, report)
    from_pretraining = any(k.startswith("encoder.") for k in tensors) or "mask_token" in tensors
    state: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if key.startswith("decoder.") or key in ("encoder_to_decoder.weight", "mask_token"):
            report.ignored[key] = _DECODER_REASON
            continue
        name = key
        for prefix in ("backbone.", "encoder."):
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        if name == "pos_embed":
            report.ignored[key] = _POS_REASON
            continue
        if name.startswith("norm.") and model.fc_norm is not None:
            report.ignored[key] = ("final encoder norm: the official fine-tuning model with use_mean_pooling has "
                                   "no such layer (norm = Identity, non-strict load drops it); fc_norm is used")
            continue
        state[name] = value
    head = model.head
    if isinstance(head, nn.Linear) and "head.weight" in state and report.head_subset is not None:
        rows = state["head.weight"].shape[0]
        if report.head_subset == "k400" and (head.out_features != 400 or rows < 400):
            raise CheckpointError(f"{report.path}: --head-subset k400 keeps the first 400 classes of a Kinetics-710 "
                                  f"head into a 400-class model; here the file has {rows} classes and the model "
                                  f"{head.out_features} (use --head-subset first, or num_classes=400)")
        if rows > head.out_features and state["head.weight"].shape[1:] == head.weight.shape[1:]:
            for k in ("head.weight", "head.bias"):
                if k in state:
                    old = tuple(state[k].shape)
                    state[k] = state[k][: head.out_features]
                    report.resized[k] = f"{old} -> {tuple(state[k].shape)} (first {head.out_features} rows)"
            report.notes.append(f"classification head cut from {rows} to its first {head.out_features} classes "
                                f"(head_subset={report.head_subset!r}; official rule for K710 -> K400)")
    own = model.state_dict()
    for k in ("fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"):
        if k in own and k not in state:
            why = "not in a pretraining checkpoint" if from_pretraining else "not in the checkpoint"
            report.initialized[k] = f"{why}: newly initialised, train it (fine-tuning)"
    return state


def pretrain_from_external(model: nn.Module, tensors: dict[str, torch.Tensor],
                           report: LoadReport) -> dict[str, torch.Tensor]:
    """Map a checkpoint's tensors to :class:`VideoMAEPretrain` names (identity for official files)."""
    tensors = _prepare(tensors, report)
    if not any(k.startswith("encoder.") for k in tensors) and any(k.startswith("blocks.") for k in tensors):
        raise CheckpointError(
            f"{report.path} is a video classifier checkpoint (keys blocks.*, head.*), not a VideoMAE pretraining "
            f"checkpoint (encoder.*, decoder.*): load it with a videomae_vit_* model instead")
    state: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if key in ("pos_embed", "encoder.pos_embed", "decoder.pos_embed"):
            report.ignored[key] = _POS_REASON
            continue
        state[key] = value
    return state


def to_official(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights with the official key names and shapes (``model.state_dict()``, detached, same device)."""
    return {k: v.detach() for k, v in model.state_dict().items()}


def save_official(model: nn.Module, path: str | Path) -> Path:
    """Write ``model`` as a released file: ``{"module": sd}`` (classifier) or ``{"model": sd}`` (autoencoder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = "model" if isinstance(model, VideoMAEPretrain) else "module"
    torch.save({wrapper: {k: v.cpu() for k, v in to_official(model).items()}}, path)
    return path


def load_from_autoencoder(classifier: VideoViT, autoencoder: VideoMAEPretrain) -> LoadReport:
    """Initialise ``classifier`` from an in-memory autoencoder's encoder, exactly as loading its checkpoint.

    Same rules as a released pretraining file (decoder ignored, ``encoder.norm`` dropped with mean pooling,
    ``fc_norm`` / ``head`` newly initialised); any other mismatch (width, depth, patch size) raises
    :class:`CheckpointError` naming the keys. Returns the :class:`LoadReport` (also set as ``load_report``).
    """
    report = LoadReport(path=f"<{type(autoencoder).__name__} in memory>", source_format="kit-autoencoder")
    state = classifier_from_external(classifier, dict(autoencoder.state_dict()), report)
    own = classifier.state_dict()
    unexpected = sorted(set(state) - set(own))
    missing = sorted(set(own) - set(state) - set(report.initialized))
    wrong = sorted(k for k in set(state) & set(own) if state[k].shape != own[k].shape)
    if unexpected or missing or wrong:
        raise CheckpointError(
            f"the autoencoder does not fit the classifier: unexpected {unexpected[:10]}, missing {missing[:10]}, "
            f"shape mismatches {wrong[:10]}; build both with the same width/depth/patch/tubelet sizes")
    classifier.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
    report.converted = len(state)
    classifier.load_report = report
    return report


register_converter(VideoViT, Converter(classifier_from_external, to_official))
register_converter(VideoMAEPretrain, Converter(pretrain_from_external, to_official))
