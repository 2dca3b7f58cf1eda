"""Vision-language navigation metrics over paths of positions: SR, SPL, NE, OSR, nDTW, SDTW.

Each metric is computed as its public reference implementation computes it, with one documented change of
distance (see *Distances* below):

* **NE, SR, OSR, SPL** as the R2R evaluation of the Matterport3D simulator (``tasks/R2R/eval.py``,
  ``Evaluation._score_item`` / ``score``; Anderson et al. 2018, "On evaluation of embodied navigation agents"):

  - the goal is the reference path's last position;
  - ``NE`` (navigation error) = ``d(final position, goal)``;
  - ``SR`` = ``NE < success_distance`` (strictly less: R2R's ``i < self.error_margin``, margin 3 m there);
  - ``OSR`` (oracle success) = ``min_t d(p_t, goal) < success_distance`` (the nearest position of the path,
    again strictly less);
  - ``SPL`` = ``SR * l / max(L, l)`` with ``L`` the length of the predicted path (sum of ``d`` between
    consecutive positions, R2R's ``trajectory_lengths``) and ``l`` the shortest-path length from start to goal.
    R2R takes ``l`` = graph distance(start, goal), which equals the length of its reference path because R2R's
    reference paths *are* shortest paths. Without a graph we take ``l`` = the length of the reference path
    under ``d`` (the expert's path here); with ``distance`` a geodesic and a shortest reference path this is
    R2R's number exactly;
  - R2R requires the predicted path to start at the reference start (``assert start == path[0][0]``); so do we
    (``ValueError``).

* **nDTW, SDTW** as the authors' ``r4r/dtw.py`` (google-research; Ilharco et al. 2019, "General evaluation for
  instruction conditioned navigation using dynamic time warping"):

  - exact dynamic time warping by dynamic programming over the ``(len(pred)+1) x (len(ref)+1)`` table,
    ``D[0,0] = 0``, ``D[i,j] = d(pred[i-1], ref[j-1]) + min(D[i-1,j], D[i,j-1], D[i-1,j-1])``;
  - ``nDTW = exp(-DTW / (d_th * len(ref)))`` with ``d_th = success_distance`` (``threshold``, 3 m there, the
    same number as R2R's margin);
  - ``SDTW = nDTW * [d(pred[-1], ref[-1]) <= d_th]``: **less or equal**, unlike R2R's strict ``<`` for SR. A
    path ending exactly ``success_distance`` from the goal has ``SR = 0`` but ``SDTW = nDTW > 0``; each metric
    follows its own reference here.

**Distances.** Both references use the shortest-path (geodesic) distance on the Matterport3D navigation graph.
Grid worlds have no such graph in the evaluator's hands, so the default ``d`` is the Euclidean distance between
positions (grid cells here, e.g. MiniGrid's ``agent_pos``). Pass ``distance=`` (a function of two positions)
for another one, e.g. a BFS distance on the grid's free cells to get the geodesic numbers.

Paths are taken as given: a position repeated by turning in place is one more entry in the DTW table and in
``len(ref)`` (R2R's trajectories repeat viewpoints the same way; its reference paths do not, so pass
de-duplicated reference paths to mimic that; the kit's navigation recipe passes the bot's per-step positions).

All rates are fractions in [0, 1] as both references return them (multiply by 100 for the percentages of
papers). The batch form :func:`navigation_metrics_batch` averages each metric over episodes, as R2R's
``np.average`` over instructions and r4r's per-episode scores do.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

__all__ = ["navigation_metrics", "navigation_metrics_batch", "dtw", "path_length", "euclidean",
           "METRIC_KEYS"]

Position = Sequence[float]
Distance = Callable[[Position, Position], float]

METRIC_KEYS = ("SR", "SPL", "NE", "OSR", "nDTW", "SDTW")


def euclidean(a: Position, b: Position) -> float:
    """Euclidean distance between two positions (any number of coordinates)."""
    return float(math.dist(tuple(float(v) for v in a), tuple(float(v) for v in b)))


def _as_path(path: Sequence[Position], name: str) -> list[tuple[float, ...]]:
    points = [tuple(float(v) for v in np.asarray(p).reshape(-1)) for p in path]
    if not points:
        raise ValueError(f"{name} is empty: a path needs at least its start position")
    dims = {len(p) for p in points}
    if len(dims) != 1:
        raise ValueError(f"{name} mixes positions with {sorted(dims)} coordinates; give one (x, y[, z]) per step")
    return points


def path_length(path: Sequence[Position], distance: Distance = euclidean) -> float:
    """Sum of ``distance`` between consecutive positions (R2R's ``trajectory_lengths``); 0 for one position."""
    points = _as_path(path, "path")
    return float(sum(distance(a, b) for a, b in zip(points[:-1], points[1:])))


def dtw(pred_path: Sequence[Position], ref_path: Sequence[Position], distance: Distance = euclidean) -> float:
    """Exact dynamic time warping cost between two paths (r4r's ``DTW(..., metric='dtw')``), O(n m)."""
    pred, ref = _as_path(pred_path, "pred_path"), _as_path(ref_path, "ref_path")
    n, m = len(pred), len(ref)
    cost = np.array([[distance(p, r) for r in ref] for p in pred], dtype=np.float64)  # [n, m]
    table = np.full((n + 1, m + 1), np.inf)
    table[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            table[i, j] = cost[i - 1, j - 1] + min(table[i - 1, j], table[i, j - 1], table[i - 1, j - 1])
    return float(table[n, m])


def navigation_metrics(pred_path: Sequence[Position], ref_path: Sequence[Position], success_distance: float, *,
                       distance: Distance = euclidean) -> dict[str, float]:
    """The six VLN metrics of one episode: ``{"SR", "SPL", "NE", "OSR", "nDTW", "SDTW"}``.

    Args:
        pred_path: the agent's positions ``[T_pred, D]`` (a sequence of ``(x, y)`` or ``(x, y, z)``), start
            included, one entry per step (repeated positions, e.g. after a turn, are allowed).
        ref_path: the reference (expert) positions ``[T_ref, D]``; its first entry must equal ``pred_path[0]``
            and its last entry is the goal.
        success_distance: R2R's ``error_margin`` and r4r's ``threshold`` (3.0 m in both; grid cells here).
        distance: distance between two positions (default Euclidean; see the module docstring).

    Returns:
        floats; ``SR``, ``OSR``, ``SPL``, ``nDTW``, ``SDTW`` in [0, 1], ``NE`` in the units of ``distance``.
    """
    if not success_distance > 0:
        raise ValueError(f"success_distance must be positive, got {success_distance!r}")
    pred, ref = _as_path(pred_path, "pred_path"), _as_path(ref_path, "ref_path")
    if len(pred[0]) != len(ref[0]):
        raise ValueError(f"pred_path has {len(pred[0])}-D positions but ref_path {len(ref[0])}-D ones")
    if pred[0] != ref[0]:
        raise ValueError(f"pred_path starts at {pred[0]} but ref_path at {ref[0]}: as in R2R's evaluation, the "
                         f"predicted path must include the episode's start position")
    goal = ref[-1]
    ne = distance(pred[-1], goal)
    oracle_error = min(distance(p, goal) for p in pred)
    success = ne < success_distance                      # R2R: nav_error < error_margin
    shortest = path_length(ref, distance)                # R2R: distances[start][goal] (= its reference length)
    length = path_length(pred, distance)
    spl = shortest / max(length, shortest) if success and max(length, shortest) > 0 else float(success)
    ndtw = math.exp(-dtw(pred, ref, distance) / (success_distance * len(ref)))
    sdtw = ndtw if distance(pred[-1], ref[-1]) <= success_distance else 0.0   # r4r: <= threshold
    return {"SR": float(success), "SPL": float(spl), "NE": float(ne),
            "OSR": float(oracle_error < success_distance), "nDTW": float(ndtw), "SDTW": float(sdtw)}


def navigation_metrics_batch(pred_paths: Sequence[Sequence[Position]], ref_paths: Sequence[Sequence[Position]],
                             success_distance: float, *, distance: Distance = euclidean) -> dict[str, float]:
    """:func:`navigation_metrics` averaged over episodes (one ``pred_paths[i]`` per ``ref_paths[i]``)."""
    if len(pred_paths) != len(ref_paths):
        raise ValueError(f"{len(pred_paths)} predicted paths for {len(ref_paths)} reference paths: give one each")
    if not pred_paths:
        raise ValueError("no episodes to evaluate")
    rows = [navigation_metrics(p, r, success_distance, distance=distance) for p, r in zip(pred_paths, ref_paths)]
    return {k: float(np.mean([row[k] for row in rows])) for k in METRIC_KEYS}
