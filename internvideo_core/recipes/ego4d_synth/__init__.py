"""Ego4D episodic memory on SynthMotion: natural-language queries grounded in long videos (notebook 12).

Long SynthMotion videos with several objects and many events are written as the official ``nlq_{split}.json`` /
``moments_{split}.json`` (:mod:`internvideo_core.data.synthmotion_ego4d`) and read back with the official-format
reader (:mod:`internvideo_core.data.ego4d_formats`); the clips are written as mp4 files. The InternVideo-MM dual
encoder of notebook 04 describes each snippet through the kit's feature extractor (what ``internvideo
extract-features`` runs) and each query (``tokenize`` + ``encode_text``); a VSLNet-style span predictor
(:class:`internvideo_core.models.grounding.SpanGrounder`) is trained on top, and its windows are scored by
:func:`internvideo_core.eval.grounding.nlq_metrics`, against a text-only model and random windows.

Modules::

    config     EgoRecipe, RECIPES, get_recipe
    features   cell_windows, time_to_cells, snippet_protocol, feature_folder, extract_features, encode_queries,
               EgoFeatures, build_features
    training   train_grounder, predict_spans, spans_to_results, random_window_results, prior_results
    pipeline   EgoSplit, load_split, data_stamp, split_features, timeline_figure

Functions take ``(recipe, seed, ...)`` (or ``(recipe, ...)`` when nothing is random); the recipe carries its
profile (``recipe.profile``).
"""
from __future__ import annotations

from internvideo_core.recipes.ego4d_synth.config import RECIPES, EgoRecipe, get_recipe
from internvideo_core.recipes.ego4d_synth.features import (
    EgoFeatures, build_features, cell_windows, encode_queries, extract_features, feature_folder, snippet_protocol,
    time_to_cells,
)
from internvideo_core.recipes.ego4d_synth.pipeline import (
    EgoSplit, data_stamp, load_split, split_features, timeline_figure,
)
from internvideo_core.recipes.ego4d_synth.training import (
    predict_spans, prior_results, random_window_results, spans_to_results, train_grounder,
)

__all__ = [
    "EgoRecipe", "RECIPES", "get_recipe", "EgoFeatures", "build_features", "cell_windows", "encode_queries",
    "extract_features", "feature_folder", "snippet_protocol", "time_to_cells", "train_grounder", "predict_spans",
    "spans_to_results", "random_window_results", "prior_results", "EgoSplit", "load_split", "data_stamp",
    "split_features", "timeline_figure",
]
