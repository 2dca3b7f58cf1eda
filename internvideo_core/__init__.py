"""InternVideo kit core: the public API.

Names are resolved lazily (PEP 562) so that ``import internvideo_core`` stays fast and light; nothing here
touches the network.

    create_model, list_models, list_pretrained   model registry and zoo
    load_pretrained                              checkpoint name -> (model, preprocess, class_names)
    tokenize                                     CLIP BPE tokenizer -> LongTensor [N, 77]
    read_video, video_info                       uint8 [T, H, W, 3] frames and metadata
    load_checkpoint                              strict loading of every supported format, with a report
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "create_model": "internvideo_core.registry",
    "list_models": "internvideo_core.registry",
    "list_pretrained": "internvideo_core.registry",
    "load_pretrained": "internvideo_core.pretrained",
    "tokenize": "internvideo_core.text",
    "read_video": "internvideo_core.data.io",
    "video_info": "internvideo_core.data.io",
    "load_checkpoint": "internvideo_core.checkpoint",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'internvideo_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
