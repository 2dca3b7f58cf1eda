"""train layer of the InternVideo kit: optimizers, schedules, checkpoints, DDP helpers and the loops.

    from internvideo_core.train import pretrain, PretrainConfig, finetune, FinetuneConfig, evaluate
    from internvideo_core.train import train_contrastive, ContrastiveConfig
    from internvideo_core.train import behaviour_cloning, ImitationConfig      # imitation of an expert (VLN)

Names are resolved lazily so importing the package stays light.
"""
from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "pretrain": "internvideo_core.train.pretrain",
    "finetune": "internvideo_core.train.finetune",
    "train_contrastive": "internvideo_core.train.contrastive",
    "contrastive_loss": "internvideo_core.train.contrastive",
    "evaluate": "internvideo_core.train.evaluate",
    "PretrainConfig": "internvideo_core.train.config",
    "FinetuneConfig": "internvideo_core.train.config",
    "ContrastiveConfig": "internvideo_core.train.config",
    "TrainResult": "internvideo_core.train.loop",
    "create_optimizer": "internvideo_core.train.optim",
    "WarmupCosine": "internvideo_core.train.schedule",
    "VideoMixup": "internvideo_core.train.mixup",
    "load_encoder_weights": "internvideo_core.train.finetune",
    "behaviour_cloning": "internvideo_core.train.imitation",
    "ImitationConfig": "internvideo_core.train.imitation",
    "bc_loss": "internvideo_core.train.imitation",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'internvideo_core.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
