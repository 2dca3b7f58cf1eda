"""Features of untrimmed videos: sliding snippets through a kit encoder, one ``[N, D]`` array per video.

    snippets   SnippetPlan, snippet_plan, SnippetFeatures, encoder_fn, input_protocol,
               extract_video_features, extract_snippet_features(model, video_path, ...) -> (features, centre_times)
    extract    extract_features_to_folder (resumable, one .npy + .json per video, index.json), list_videos,
               load_features, read_index
"""
from __future__ import annotations

from .extract import ExtractionReport, extract_features_to_folder, list_videos, load_features, read_index, video_id
from .snippets import (SnippetFeatures, SnippetPlan, encoder_fn, extract_snippet_features, extract_video_features,
                       input_protocol, snippet_plan)

__all__ = [
    "SnippetPlan", "SnippetFeatures", "snippet_plan", "encoder_fn", "input_protocol", "extract_video_features",
    "extract_snippet_features", "ExtractionReport", "extract_features_to_folder", "list_videos", "load_features",
    "read_index", "video_id",
]
