"""Model interaction on SynthMotion (notebook 11): classifiers on the frozen VideoMAE encoder alone, on the frozen
InternVideo-MM video tower alone, their late fusion, their concatenated features, and the cross-model attention
model of :mod:`internvideo_core.models.interaction`, on a task where the two encoders are complementary
(direction x colour).

    config   InteractionSynthRecipe, RECIPES, get_recipe
    core     InteractionData, load_interaction_data, load_encoders, train_classifier, accuracy_report,
             compare_classifiers
"""
from __future__ import annotations

from .config import RECIPES, InteractionSynthRecipe, get_recipe
from .core import (InteractionData, accuracy_report, compare_classifiers, load_encoders, load_interaction_data,
                   train_classifier)

__all__ = ["InteractionSynthRecipe", "RECIPES", "get_recipe", "InteractionData", "load_interaction_data",
           "load_encoders", "train_classifier", "accuracy_report", "compare_classifiers"]
