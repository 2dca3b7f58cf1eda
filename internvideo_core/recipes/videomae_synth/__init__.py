"""VideoMAE on SynthMotion: masked pretraining on unlabelled clips, then fine-tuning on few labels.

The recipe behind notebooks 02 (masked video pretraining) and 03 (action recognition). It picks sizes and
hyper-parameters per profile and calls the training loops of :mod:`internvideo_core.train` (pretraining:
:func:`~internvideo_core.train.pretrain.pretrain`, fine-tuning: :func:`~internvideo_core.train.finetune.finetune`).
Used as ``from internvideo_core.recipes import videomae_synth``; every name below is re-exported here. The
recipe functions take ``(recipe, seed, ...)``, the recipe carrying its profile (``recipe.profile``).

    config        VideoMAESynthRecipe, RECIPES, get_recipe, as_recipe (and why the defaults are what they are),
                  SEED_TABLE (notebook 03's three seeds), RECONSTRUCTION_OVERRIDES (notebook 02's striped clips)
    data          SynthData, load_synth_data, clips_to_input, ClipLoader, shuffle_frames, make_mask
    models        build_pretrain_model, build_classifier
    checkpoints   pretrain_checkpoint_path, save_pretrained, classifier_checkpoint_path, save_classifier,
                  checkpoint_matches
    training      pretrain_on_synthmotion, finetune_on_synthmotion, train_from_scratch (the fair baseline)
    explorer      mask_explorer (sliders, or a static figure headless), explorer_panel, visible_statistics
    evaluation    predict_logits, evaluate_classifier, encoder_features, linear_probe, reconstruction_error,
                  reconstruction_report, copy_neighbour_error, direction_accuracy

    recipe = get_recipe("tutorial")
    model, history = pretrain_on_synthmotion(recipe, 0)                       # tube masking, ratio 0.9
    path = save_pretrained(model, recipe)
    clf, history, metrics = finetune_on_synthmotion(recipe, 0, init=path)
    scratch, history, metrics = train_from_scratch(recipe, 0)                 # lr chosen on the val clips
"""
from __future__ import annotations

from .checkpoints import (checkpoint_matches, classifier_checkpoint_path, pretrain_checkpoint_path,
                          save_classifier, save_pretrained)
from .config import (RECIPES, RECONSTRUCTION_OVERRIDES, SEED_TABLE, SEED_TABLE_COMMAND, VideoMAESynthRecipe,
                     as_recipe, get_recipe)
from .data import ClipLoader, SynthData, clips_to_input, load_synth_data, make_mask, shuffle_frames
from .evaluation import (copy_neighbour_error, direction_accuracy, encoder_features, evaluate_classifier,
                         linear_probe, predict_logits, reconstruction_error, reconstruction_report)
from .explorer import explorer_panel, mask_explorer, visible_statistics, widgets_available
from .models import build_classifier, build_pretrain_model
from .training import finetune_on_synthmotion, pretrain_on_synthmotion, train_from_scratch

__all__ = [
    "VideoMAESynthRecipe", "RECIPES", "get_recipe", "as_recipe", "SEED_TABLE", "SEED_TABLE_COMMAND", "RECONSTRUCTION_OVERRIDES", "train_from_scratch", "SynthData", "load_synth_data", "ClipLoader",
    "clips_to_input", "build_pretrain_model", "build_classifier", "pretrain_on_synthmotion",
    "finetune_on_synthmotion", "predict_logits", "evaluate_classifier", "pretrain_checkpoint_path",
    "save_pretrained", "encoder_features", "linear_probe", "reconstruction_error", "reconstruction_report",
    "copy_neighbour_error",
    "explorer_panel", "mask_explorer", "visible_statistics", "widgets_available",
    "shuffle_frames", "checkpoint_matches", "classifier_checkpoint_path", "save_classifier", "make_mask", "direction_accuracy",
]
