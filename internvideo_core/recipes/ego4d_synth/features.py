"""Snippet features of the long videos through the kit's real path, and query embeddings.

The videos are mp4 files (``v1/clips/<clip_uid>.mp4``); their features are what ``internvideo extract-features``
writes (:func:`internvideo_core.features.extract_features_to_folder`, one ``<clip_uid>.npy`` + ``.json`` per video,
the ActionFormer snippet layout) and are read back with :func:`internvideo_core.features.load_features`. Nothing
here decodes a frame or runs the encoder on its own.

Snippet ``i`` is a feature at its centre time ``c_i`` (from the feature file's record). For grounding, snippet ``i``
stands for the cell of time between the midpoints to its neighbours (the first cell starts at 0 s, the last ends
at the video's end), so the cells tile the video; an answer window becomes the first and last cell it touches.

:func:`build_features` joins what the grounding model needs: per video the snippet sequence, per query (read from
the official ``nlq_{split}.json`` rows) its text embedding (``tokenize`` + ``encode_text``) and its answer as cell
indices.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from internvideo_core.data.ego4d_formats import NLQQuery
from internvideo_core.recipes.ego4d_synth.config import EgoRecipe

__all__ = ["cell_windows", "time_to_cells", "snippet_protocol", "feature_folder", "extract_features",
           "encode_queries", "EgoFeatures", "build_features"]


def cell_windows(centre_times: Sequence[float] | np.ndarray, duration: float) -> torch.Tensor:
    """``[N, 2]`` seconds of the cells of snippets centred at ``centre_times`` ``[N]``: boundaries at the midpoints
    between neighbouring centres, the first cell from 0, the last to ``duration``."""
    c = torch.as_tensor(np.asarray(centre_times, dtype=np.float64))
    mid = (c[1:] + c[:-1]) / 2
    zero, end = torch.zeros(1, dtype=torch.float64), torch.full((1,), float(duration), dtype=torch.float64)
    return torch.stack([torch.cat([zero, mid]), torch.cat([mid, end])], dim=1)


def time_to_cells(start_sec: float, end_sec: float, cells: torch.Tensor) -> tuple[int, int]:
    """First and last cell (inclusive) touched by the window ``[start_sec, end_sec]``: the cell holding the start
    and the cell holding the end (``cells [N, 2]`` from :func:`cell_windows`; clamped to the video)."""
    n = cells.shape[0]
    first = int(torch.searchsorted(cells[:, 1].contiguous(), torch.tensor([start_sec], dtype=cells.dtype),
                                   right=True)[0])
    last = int(torch.searchsorted(cells[:, 1].contiguous(), torch.tensor([end_sec], dtype=cells.dtype))[0])
    first = min(max(first, 0), n - 1)
    return first, min(max(last, first), n - 1)


def snippet_protocol(recipe: EgoRecipe, model: nn.Module) -> dict[str, Any]:
    """The keyword arguments of :func:`internvideo_core.features.extract_video_features` for this recipe: the
    model's own frame count and input size, ``frame_interval`` / ``stride`` of the recipe, no resize beyond the
    model's size (the SynthMotion frames are rendered at it; InternVideo-MM's 256/224 short side would crop)."""
    cfg = model.config
    size = int(cfg.input_resolution)
    return {"clip_len": int(recipe.clip_len or cfg.num_frames), "frame_interval": recipe.frame_interval,
            "stride": recipe.stride, "size": size, "short_side": size}


def _fingerprint(model: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:12]


def feature_folder(recipe: EgoRecipe, model: nn.Module, root: str | Path, data_stamp: str) -> Path:
    """``root/features/internvideo_mm-<weights hash>-<protocol + data hash>``: a rerun with the same weights, protocol
    and videos finds its features there (``internvideo extract-features`` skips finished videos)."""
    proto = json.dumps({**snippet_protocol(recipe, model), "data": data_stamp}, sort_keys=True)
    tag = hashlib.sha256(proto.encode()).hexdigest()[:8]
    return Path(root) / "features" / f"internvideo_mm-{_fingerprint(model)}-{tag}"


def extract_features(recipe: EgoRecipe, model: nn.Module, videos: Sequence[str | Path], out_dir: str | Path
                     ) -> Path:
    """Snippet features of ``videos`` into ``out_dir`` with the kit's extractor (what ``internvideo
    extract-features --model internvideo_mm_tiny_synth --clip-len 4 --frame-interval 5 --stride 8 --img-size 48
    --short-side 48`` runs); finished videos are skipped. Raises if a video fails."""
    from internvideo_core.features import extract_features_to_folder

    rep = extract_features_to_folder(model.eval(), list(videos), out_dir, progress=False,
                                     meta={"model": "internvideo_mm_tiny_synth", "recipe": "ego4d_synth"},
                                     batch_size=256, **snippet_protocol(recipe, model))
    if rep.failed:
        raise RuntimeError(f"feature extraction failed for {rep.failed}")
    return Path(out_dir)


@torch.no_grad()
def encode_queries(model: nn.Module, texts: Sequence[str], context_length: int, batch_size: int = 256
                   ) -> torch.Tensor:
    """Sentence embeddings ``[Q, E]`` of the queries: :func:`internvideo_core.text.tokenize` + ``encode_text``."""
    from internvideo_core.text import tokenize

    model.eval()
    out = [model.encode_text(tokenize(list(texts[i:i + batch_size]), context_length=context_length))
           for i in range(0, len(texts), batch_size)]
    return torch.cat(out) if out else torch.zeros(0)


@dataclass
class EgoFeatures:
    """Inputs of the grounding model for one split.

    ``video [V, N, Dv]``: snippet features per video (all videos of a split have ``N`` snippets); ``query [Q, Dq]``;
    ``episode long [Q]``: the video of each query; ``start`` / ``end`` long ``[Q]``: answer cells (inclusive);
    ``queries``: the NLQ rows; ``clip_uids [V]``; ``windows [V, N, 2]``: seconds of each cell
    (:func:`cell_windows`); ``centre_times [V, N]`` seconds, as the feature files record them.
    """

    video: torch.Tensor
    query: torch.Tensor
    episode: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor
    queries: list[NLQQuery]
    clip_uids: list[str]
    windows: torch.Tensor
    centre_times: torch.Tensor

    def __len__(self) -> int:
        return len(self.queries)

    def cells(self, v: int) -> torch.Tensor:
        """``[N, 2]`` seconds of the cells of video ``v``."""
        return self.windows[v]

    @property
    def durations(self) -> list[float]:
        return [float(w[-1, 1]) for w in self.windows]


def build_features(model: nn.Module, feature_dir: str | Path, queries: Sequence[NLQQuery], context_length: int
                   ) -> EgoFeatures:
    """Features of the clips of ``queries`` read from ``feature_dir`` (written by :func:`extract_features`, one
    ``<clip_uid>.npy`` each, all with the same snippet count) and the queries' embeddings.

    A query whose clip has no feature file is an error naming the file (from
    :func:`internvideo_core.features.load_features`)."""
    from internvideo_core.features import load_features

    uids = list(dict.fromkeys(q.clip_uid for q in queries))
    feats, windows, centres = [], [], []
    for uid in uids:
        f, rec = load_features(feature_dir, uid)
        feats.append(torch.from_numpy(f))
        centres.append(torch.tensor(rec["centre_times"], dtype=torch.float64))
        windows.append(cell_windows(rec["centre_times"], rec["duration"]))
    counts = sorted({len(f) for f in feats})
    if len(counts) > 1:
        raise ValueError(f"{feature_dir}: build_features batches the videos of a split together and needs one snippet "
                         f"count; got {counts[:5]} (cut the clips to one length or group them by length)")
    where = {u: i for i, u in enumerate(uids)}
    cells = [time_to_cells(q.clip_start_sec or 0.0, q.clip_end_sec or 0.0, windows[where[q.clip_uid]])
             for q in queries]
    return EgoFeatures(
        video=torch.stack(feats), query=encode_queries(model, [q.query for q in queries], context_length),
        episode=torch.tensor([where[q.clip_uid] for q in queries], dtype=torch.long),
        start=torch.tensor([c[0] for c in cells], dtype=torch.long),
        end=torch.tensor([c[1] for c in cells], dtype=torch.long), queries=list(queries), clip_uids=uids,
        windows=torch.stack(windows), centre_times=torch.stack(centres))
