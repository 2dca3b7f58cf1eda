"""On-disk cache of video and text embeddings, so that re-running an evaluation with another protocol option
(dual softmax, another template ensemble, another metric) costs no model time.

A cache entry is keyed by everything that changes the embedding:

* the *namespace*: model name, checkpoint fingerprint (:func:`file_fingerprint`: absolute path, size,
  modification time), the sampling / preprocessing settings and the precision, given as a JSON-able dict;
* the *item*: a video file's fingerprint (path, size, mtime), or the text itself.

Video embeddings live in one small file per video (``<root>/<namespace hash>/videos/<item hash>.pt``), text
embeddings in one file per text list (``.../texts/<hash of all texts>.pt``). Files are written atomically and
read with ``torch.load(weights_only=True)``. A corrupt entry is recomputed.

    cache = EmbeddingCache("runs/embeddings", {"model": "internvideo_mm_l14", "checkpoint": file_fingerprint(ckpt),
                                               "frames": 12, "sampling": "retrieval-1fps"})
    emb, computed = embed_videos(paths, lambda p: model.encode_video(load(p)), cache, desc="MSR-VTT videos")
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

__all__ = ["file_fingerprint", "EmbeddingCache", "embed_videos", "embed_texts"]


def file_fingerprint(path: str | os.PathLike | None) -> dict[str, Any] | None:
    """``{"path": absolute path, "size": bytes, "mtime_ns": ...}`` of a file (``None`` for ``None``)."""
    if path is None:
        return None
    p = Path(path).resolve()
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _digest(obj: Any) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:20]


class EmbeddingCache:
    """Embeddings under ``root`` for one namespace (model + checkpoint + sampling); ``root=None`` disables it.

    ``hits`` / ``misses`` count the lookups of this object.
    """

    def __init__(self, root: str | os.PathLike | None, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.dir = None if root is None else Path(root) / _digest(namespace)
        self.hits = 0
        self.misses = 0
        if self.dir is not None:
            self.dir.mkdir(parents=True, exist_ok=True)
            meta = self.dir / "namespace.json"
            if not meta.exists():
                meta.write_text(json.dumps(namespace, indent=1, sort_keys=True, default=str), encoding="utf-8")

    def _path(self, kind: str, key: Any) -> Path | None:
        return None if self.dir is None else self.dir / kind / f"{_digest(key)}.pt"

    def get(self, kind: str, key: Any) -> torch.Tensor | None:
        path = self._path(kind, key)
        if path is None or not path.exists():
            self.misses += 1
            return None
        try:
            value = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a torn or foreign file: recompute it
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, kind: str, key: Any, value: torch.Tensor) -> None:
        path = self._path(kind, key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        torch.save(value.detach().float().cpu().contiguous(), tmp)
        os.replace(tmp, path)


def embed_videos(paths: Sequence[str | os.PathLike], encode: Callable[[str], torch.Tensor], cache: EmbeddingCache,
                 desc: str = "videos", progress: bool = True) -> tuple[torch.Tensor, int]:
    """Embedding of every video file: cached ones are read, the others computed with ``encode(path) -> [...]``
    (one video at a time, streamed with a tqdm bar) and stored.

    Returns ``(stacked embeddings [N, ...], number computed by the model)``.
    """
    from tqdm.auto import tqdm

    out: list[torch.Tensor] = []
    computed = 0
    for p in tqdm(paths, desc=desc, unit="video", disable=not progress):
        key = file_fingerprint(p)
        value = cache.get("videos", key)
        if value is None:
            value = encode(str(p)).detach().float().cpu()
            cache.put("videos", key, value)
            computed += 1
        out.append(value)
    return torch.stack(out), computed


def embed_texts(texts: Sequence[str], encode: Callable[[Sequence[str]], torch.Tensor], cache: EmbeddingCache,
                batch_size: int = 256, desc: str = "texts", progress: bool = True) -> tuple[torch.Tensor, int]:
    """Embeddings ``[N, ...]`` of a list of texts, cached as one entry keyed by the whole list.

    ``encode(batch_of_strings) -> [b, ...]``. Returns ``(embeddings, number of texts computed)``.
    """
    from tqdm.auto import tqdm

    key = list(texts)
    value = cache.get("texts", key)
    if value is not None:
        return value, 0
    chunks = [encode(list(texts[i:i + batch_size])).detach().float().cpu()
              for i in tqdm(range(0, len(texts), batch_size), desc=desc, unit="batch", disable=not progress)]
    value = torch.cat(chunks) if chunks else torch.empty(0)
    cache.put("texts", key, value)
    return value, len(texts)
