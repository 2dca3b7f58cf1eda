"""Spatio-temporal action detection (AVA protocol) on SynthMotion: the recipe behind notebook 09.

    config       AVASynthRecipe, RECIPES, get_recipe
    data         AVASplit, load_ava_split, keyframes_of, KeyFrameLoader, frames_to_input
    models       build_detector, encoder_checkpoint
    checkpoints  detector_checkpoint_path, save_detector, load_detector
    training     train_detector
    evaluation   predict_scores, detection_rows, prior_scores, frame_map

    r = get_recipe("tutorial")                           # carries its profile (r.profile)
    train, val = load_ava_split(r, 0, "train"), load_ava_split(r, 0, "val")
    init, _ = encoder_checkpoint(r, 0)                   # notebook 03's classifier (made now if absent)
    model, history = train_detector(r, 0, train, init)
    rows = detection_rows(val, predict_scores(r, model, val))
    frame_map(val, rows)["mAP"]
"""
from __future__ import annotations

from .checkpoints import detector_checkpoint_path, load_detector, save_detector
from .config import RECIPES, AVASynthRecipe, get_recipe
from .data import AVASplit, KeyFrameLoader, frames_to_input, keyframes_of, load_ava_split
from .evaluation import detection_rows, frame_map, predict_scores, prior_scores
from .models import build_detector, encoder_checkpoint
from .training import train_detector

__all__ = ["AVASynthRecipe", "RECIPES", "get_recipe", "AVASplit", "load_ava_split", "keyframes_of",
           "KeyFrameLoader", "frames_to_input", "build_detector", "encoder_checkpoint", "train_detector",
           "predict_scores", "detection_rows", "prior_scores", "frame_map", "detector_checkpoint_path",
           "save_detector", "load_detector"]
