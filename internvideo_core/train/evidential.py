"""Evidential (EDL) fine-tuning for open-set recognition, as InternVideo's open-set task (DEAR, Bao et al. 2021).

    model = create_model("videomae_vit_tiny_synth", num_classes=12, head_drop_rate=0.5)   # any classifier
    load_encoder_weights(model, "runs/checkpoints/tutorial/videomae_synth_pretrain.safetensors")
    result = finetune_evidential(model, loader, EvidentialConfig(epochs=10, warmup_epochs=1))

The model's logits are the evidential logits: evidence ``e = exp(clamp(logits, -10, 10))``, ``alpha = e + 1``,
loss ``sum_k y_k (log S - log alpha_k)`` (DEAR's ``loss_type='log'``) plus, with ``with_kl``, the KL divergence
of the Dirichlet without the true class's evidence to the uniform one, weighted by
:func:`~internvideo_core.models.heads.edl_annealing_coef` of the current epoch (DEAR: ``annealing_method='exp'``,
``annealing_start=0.01``; the coefficient changes once per epoch, as DEAR's annealing runner passes the epoch).

Official settings and where they differ: DEAR's EDL configs (``*_edlloss_*``) use the KL term; InternVideo's
released ViT-H open-set config (``inference_mae_enn.py``) sets ``with_kldiv=False, with_avuloss=False`` (the
``edlnokl`` variant): ``with_kl=False`` here. DEAR's other terms (AvU calibration loss, contrastive debiasing)
are not part of InternVideo's configuration and are not implemented.

Everything else is the fine-tuning loop of :mod:`internvideo_core.train.finetune` (AdamW, layer-wise lr decay,
warmup + cosine); mixup / cutmix / label smoothing do not apply to the EDL loss and are off.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import torch
from torch import nn

from internvideo_core.models.heads import edl_annealing_coef, evidential_loss
from internvideo_core.train import distributed as D
from internvideo_core.train.config import FinetuneConfig
from internvideo_core.train.loop import (TrainResult, resolve_device, run_training, seed_everything,
                                         setup_optimization, wrap_ddp)

__all__ = ["EvidentialConfig", "finetune_evidential"]


@dataclass
class EvidentialConfig(FinetuneConfig):
    """:class:`~internvideo_core.train.config.FinetuneConfig` plus the EDL loss settings (DEAR defaults).

    Attributes:
        evidence: ``exp`` (``exp(clamp(x, -10, 10))``), ``relu`` or ``softplus``.
        edl_loss: ``log`` (DEAR's), ``digamma`` or ``mse``.
        with_kl: add the annealed KL term (InternVideo's ViT-H config: off).
        annealing_method / annealing_start / annealing_step: see
            :func:`~internvideo_core.models.heads.edl_annealing_coef`.
    """

    mixup: float = 0.0
    cutmix: float = 0.0
    smoothing: float = 0.0
    evidence: str = "exp"
    edl_loss: str = "log"
    with_kl: bool = True
    annealing_method: str = "exp"
    annealing_start: float = 0.01
    annealing_step: int = 10


def finetune_evidential(model: nn.Module, loader: Iterable, config: EvidentialConfig | None = None, *,
                        resume: str | None = None) -> TrainResult:
    """Train ``model(video) -> logits [B, K]`` with the EDL loss on ``(video, label)`` batches.

    Returns the :class:`~internvideo_core.train.loop.TrainResult`; the per-step metrics hold the KL weight used
    (``kl_weight``).
    """
    cfg = config or EvidentialConfig()
    if cfg.mixup > 0 or cfg.cutmix > 0 or cfg.cutmix_minmax is not None or cfg.smoothing > 0:
        raise ValueError("mixup / cutmix / label smoothing do not apply to the evidential loss; set them to 0")
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, D.get_rank())
    model.to(device)
    optimizer, lr_s, wd_s, spe, _ = setup_optimization(model, cfg, loader, layer_decay=cfg.layer_decay)
    engine = wrap_ddp(model, device)
    state = {"step": 0}

    def compute_loss(batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        video, label = (batch["video"], batch["label"]) if isinstance(batch, dict) else (batch[0], batch[1])
        epoch = state["step"] // spe
        kl = edl_annealing_coef(epoch, cfg.epochs, cfg.annealing_method, cfg.annealing_start,
                                cfg.annealing_step) if cfg.with_kl else 0.0
        loss = evidential_loss(engine(video), label, kl_weight=kl, kind=cfg.evidence, loss=cfg.edl_loss)
        return loss, {"kl_weight": kl}

    def after_step(step: int) -> None:
        state["step"] = step

    return run_training(model=model, loader=loader, optimizer=optimizer, compute_loss=compute_loss,
                        epochs=cfg.epochs, device=device, lr_schedule=lr_s, wd_schedule=wd_s,
                        precision=cfg.precision, clip_grad=cfg.clip_grad, steps_per_epoch=spe,
                        output_dir=cfg.output_dir, checkpoint_every=cfg.checkpoint_every, resume=resume,
                        max_steps=cfg.max_steps, after_step=after_step, config=cfg, name="evidential",
                        progress=cfg.progress)
