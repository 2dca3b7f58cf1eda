"""Config dataclasses of the training loops (one per loop; shared fields in :class:`TrainConfig`).

Defaults follow the official VideoMAE / InternVideo recipes (lr per 256 samples, AdamW, warmup + cosine);
``epochs``/``warmup_epochs`` default to the official values too, so set them for small runs. Every field can
be given on the command line (``internvideo pretrain --help``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Fields shared by every loop.

    Attributes:
        epochs: passes over the loader.
        batch_size: samples per process and step; ``None`` = the loader's ``batch_size``. The lr is
            ``base_lr * batch_size * world_size / 256`` when ``scale_lr`` is on (official rule).
        base_lr / min_lr / warmup_lr: peak, final and warmup-start lr, all scaled the same way.
        warmup_epochs / warmup_steps: linear warmup length (``warmup_steps > 0`` wins), per iteration.
        weight_decay / weight_decay_end: AdamW decay, cosine-scheduled to ``weight_decay_end`` if given.
        betas / eps: AdamW.
        clip_grad: max gradient norm, ``None`` = no clipping.
        precision: ``auto`` (bf16 autocast on CUDA, fp32 on CPU), ``fp32``, ``bf16``, ``fp16`` (GradScaler).
        checkpoint_every: also save every this many steps (0 = at the end of each epoch only).
        output_dir: checkpoints and ``log.txt``; ``None`` = keep nothing on disk.
        seed: seeds torch/numpy/python (plus the rank) and the loop's own generators.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``...
        steps_per_epoch: needed only for loaders without ``len()``.
        max_steps: stop early after this many steps in total (for quick checks and tests).
        progress: show a tqdm bar on rank 0.
        tensorboard: also write TensorBoard event files to output_dir/tensorboard (per step: loss, lr, grad
            norm; per epoch: the epoch log); the log.txt JSON lines stay. Needs the tensorboard package.
        compile: run the training step through ``torch.compile`` (:mod:`.compile`; the first steps compile).
        compile_mode: ``default``, ``reduce-overhead`` (CUDA graphs), ``max-autotune``...
    """

    epochs: int = 1
    batch_size: int | None = None
    base_lr: float = 1e-3
    min_lr: float = 1e-6
    warmup_lr: float = 1e-6
    warmup_epochs: float = 0
    warmup_steps: int = -1
    scale_lr: bool = True
    weight_decay: float = 0.05
    weight_decay_end: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    clip_grad: float | None = None
    precision: str = "auto"
    checkpoint_every: int = 0
    output_dir: str | None = None
    seed: int = 0
    device: str = "auto"
    steps_per_epoch: int | None = None
    max_steps: int | None = None
    progress: bool = True
    tensorboard: bool = False
    compile: bool = False
    compile_mode: str = "default"


@dataclass
class PretrainConfig(TrainConfig):
    """VideoMAE pretraining (official ``run_mae_pretraining.py`` defaults: lr 1.5e-4 per 256, warmup 40 of 800
    epochs, wd 0.05, betas (0.9, 0.95), tube masking at 90 %).

    Attributes:
        mask_type: ``tube`` (the same spatial mask in every time slot) or ``random``.
        mask_ratio: fraction of tokens hidden from the encoder.
        patch_size / tubelet_size: token grid; ``None`` = read from the model's config.
    """

    epochs: int = 800
    base_lr: float = 1.5e-4
    min_lr: float = 1e-5
    warmup_lr: float = 1e-6
    warmup_epochs: float = 40
    betas: tuple[float, float] = (0.9, 0.95)
    mask_type: str = "tube"
    mask_ratio: float = 0.9
    patch_size: int | None = None
    tubelet_size: int | None = None


@dataclass
class FinetuneConfig(TrainConfig):
    """Supervised fine-tuning (official ``run_class_finetuning.py`` defaults: lr 1e-3 per 256, layer decay
    0.75, warmup 5 epochs, wd 0.05, mixup 0.8 / cutmix 1.0, label smoothing 0.1).

    Attributes:
        layer_decay: lr factor per layer from the head down (1.0 = off).
        mixup / cutmix: Beta alphas (0 = off); ``cutmix_minmax`` overrides ``cutmix``'s box size.
        mixup_prob / mixup_switch_prob / mixup_mode: as timm's Mixup (``batch``, ``pair``, ``elem``).
        smoothing: label smoothing (also applied to mixed targets).
        model_ema / model_ema_decay: keep an exponential moving average of the weights (timm ModelEmaV3).
        num_classes: ``None`` = read from the model (``model.num_classes`` / ``model.head.out_features``).
        eval_every: validate every this many epochs when a validation loader is given (0 = only at the end).
    """

    epochs: int = 30
    base_lr: float = 1e-3
    min_lr: float = 1e-6
    warmup_lr: float = 1e-6
    warmup_epochs: float = 5
    layer_decay: float = 0.75
    mixup: float = 0.8
    cutmix: float = 1.0
    cutmix_minmax: tuple[float, float] | None = None
    mixup_prob: float = 1.0
    mixup_switch_prob: float = 0.5
    mixup_mode: str = "batch"
    smoothing: float = 0.1
    model_ema: bool = False
    model_ema_decay: float = 0.9999
    num_classes: int | None = None
    eval_every: int = 1


@dataclass
class ContrastiveConfig(TrainConfig):
    """Video-text contrastive training of the dual encoder (CLIP-style recipe: AdamW betas (0.9, 0.98),
    eps 1e-6, wd 0.2, no batch scaling of the lr, symmetric InfoNCE with a learnable temperature clamped to
    ``logit_scale <= ln(max_logit_scale)``, features gathered across ranks).

    Attributes:
        paraphrase: pick one caption at random among each video's paraphrases every step (else the first).
        max_logit_scale: upper clamp of ``exp(logit_scale)`` (CLIP: 100).
        context_length: tokenizer length for captions given as strings; ``None`` = the model's
            ``config.context_length`` (77 if it has none).
    """

    epochs: int = 10
    base_lr: float = 1e-5
    min_lr: float = 0.0
    warmup_lr: float = 0.0
    warmup_epochs: float = 1
    scale_lr: bool = False
    weight_decay: float = 0.2
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    paraphrase: bool = True
    max_logit_scale: float = 100.0
    context_length: int | None = None
