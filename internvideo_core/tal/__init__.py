"""Temporal action localization on snippet features (an ActionFormer-style head; the model itself is
:class:`internvideo_core.models.tal_head.TALHead`).

    data        TALVideo, load_tal_videos (features folder + ActivityNet-format JSON), seconds_to_grid,
                grid_to_seconds, collate
    targets     regression_ranges, make_points, assign_targets, decode_offsets, tal_losses
    training    TALTrainConfig, train_tal_head
    inference   predict_segments, write_anet_results, read_anet_results, result_rows, save_tal_head,
                load_tal_head

    videos = load_tal_videos("runs/features/synth", "activity_net.v1-3.min.json", "training", classes)
    head = TALHead(TALHeadConfig(in_dim=videos[0].feats.shape[1], num_classes=len(classes)))
    train_tal_head(head, videos, TALTrainConfig(epochs=30))
    write_anet_results("results.json", predict_segments(head, val_videos, classes))
"""
from __future__ import annotations

from .data import TALVideo, collate, grid_to_seconds, load_tal_videos, seconds_to_grid
from .inference import (load_tal_head, predict_segments, read_anet_results, result_rows, save_tal_head,
                        write_anet_results)
from .targets import assign_targets, decode_offsets, make_points, regression_ranges, tal_losses
from .training import TALTrainConfig, batch_targets, train_tal_head

__all__ = [
    "TALVideo", "load_tal_videos", "seconds_to_grid", "grid_to_seconds", "collate", "regression_ranges",
    "make_points", "assign_targets", "decode_offsets", "tal_losses", "TALTrainConfig", "batch_targets",
    "train_tal_head", "predict_segments", "write_anet_results", "read_anet_results", "result_rows", "save_tal_head",
    "load_tal_head",
]
