"""InternVideo-MM on SynthMotion: video-text contrastive pretraining, zero-shot, retrieval and video QA.

The recipe behind notebooks 04 (video-language pretraining), 05 (zero-shot), 06 (retrieval) and 07 (video QA).
It picks sizes and hyper-parameters per profile and wires SynthMotion's caption part, the dual encoder
(``create_model("internvideo_mm_tiny_synth", ...)``), the contrastive loop
(:func:`internvideo_core.train.contrastive.train_contrastive`) and the metrics of :mod:`internvideo_core.eval`.

Data (the ``captions`` part of SynthMotion, MSR-VTT-like):

- **train**: ``train_videos`` captioned clips (the profile's training videos plus more from the same
  generator: clip ``i`` is the same clip whatever the count); each has several paraphrased captions, one drawn
  at random every time the clip is used (paraphrases as augmentation);
- **val / test**: the profile's clips (``test_videos`` may extend the test split, so the zero-shot numbers rest on
  more held-out clips); every 4th test clip shows a (shape, motion) combination that no training caption has.

Trained naively, a small model from scratch learns colour (enough to tell most pairs of a random batch apart)
and little else in a few CPU minutes. Four cheap choices of this kit (not of InternVideo, which starts from CLIP
and web-scale data) aim to make it learn *motion* as well:

- **pretrained, locked text tower**: InternVideo-MM starts from CLIP; without CLIP, the text tower is first
  trained alone on the captions (:func:`warm_start_text_tower`: two paraphrases of a clip must match, with
  colour / shape / motion words dropped at random) and then frozen (``freeze_text``, as in LiT);
- **attribute dropout**: the captions the video tower is matched against lose their colour and/or shape words at
  random (:func:`drop_attributes`), so the motion must be read from the video;
- **time reversal**: with probability ``reverse_prob`` a clip is played backwards and its captions are written
  for the reversed motion ("moves left" <-> "moves right", "grows" <-> "shrinks"...), generated from the clip's
  annotation; a reversal that would create a held-out combination is skipped;
- **hard-negative batches** (``hard_negative_group``, ``group_by``): clips of the same shape and colour are put
  in the same batch in groups, so that in-batch negatives often differ only in their motion.

Measured once each (tutorial profile, seed 0; notebook 04's exercises): without attribute dropout the temporal-order
test falls from 80.1 % to 71.6 % and zero-shot motion on seen combinations from 35 % to 16 %; without time reversal
(``reverse_prob=0``) nothing measurable is lost (order 80.7 %), since the data already hold both motions of every
direction pair. Shape is not learned by this 48-px model in the tutorial budget, with or without attribute dropout;
colour, motion and temporal order are (see ``tests/test_tutorial_results_mm.py``).

    recipe = mm_synth.get_recipe("tutorial")                             # carries its profile
    model, history = mm_synth.train_dual_encoder_on_synthmotion(recipe, 0)  # saved for notebooks 05-07
    model, history = mm_synth.get_dual_encoder(recipe, 0)                   # load it, or train it if missing
    test = mm_synth.caption_clips(recipe, 0, "test")

Modules (each layer imports only the ones above it)::

    config        MMSynthRecipe, RECIPES, get_recipe, as_recipe
    data          CaptionClips, caption_clips, REVERSED_MOTION, frame_indices, clips_to_input
    batching      drop_attributes, CaptionTrainSet, GroupedBatchSampler
    encoding      WordCachedTokenizer, text_tokenizer, encode_videos, encode_texts
    checkpoints   build_dual_encoder, checkpoint_path, save_dual_encoder, load_dual_encoder
    training      text_parameters, warm_start_text_tower, train_dual_encoder_on_synthmotion, get_dual_encoder
    evaluation    similarity, temporal_order_accuracy, zero-shot prompts and reports, validation-chosen prompts,
                  multiple choice, colour-only retrieval baseline
    qa            qa_items, qa_features, train_qa_head, predict_answers
    figures       retrieval_ranks, retrieval_figure (notebook 06's gallery and explorer)

Everything public is re-exported here: ``from internvideo_core.recipes import mm_synth; mm_synth.<name>``.
"""
from __future__ import annotations

from internvideo_core.data.synthmotion import KNOWN_MOTIONS, SHAPES  # noqa: F401  (mm_synth.SHAPES ...)
from internvideo_core.recipes.mm_synth.batching import CaptionTrainSet, GroupedBatchSampler, drop_attributes
from internvideo_core.recipes.mm_synth.checkpoints import (
    build_dual_encoder, checkpoint_path, load_dual_encoder, save_dual_encoder,
)
from internvideo_core.recipes.mm_synth.config import RECIPES, MMSynthRecipe, as_recipe, get_recipe
from internvideo_core.recipes.mm_synth.data import (
    REVERSED_MOTION, CaptionClips, caption_clips, clips_to_input, frame_indices,
)
from internvideo_core.recipes.mm_synth.encoding import WordCachedTokenizer, encode_texts, encode_videos, text_tokenizer
from internvideo_core.recipes.mm_synth.evaluation import (
    SYNTH_TEMPLATES, colour_templates, combination_classes, combination_prompts, multiple_choice_eval,
    multiple_choice_items, similarity, temporal_order_accuracy, zero_shot_combinations, zero_shot_motions,
    zero_shot_report, zero_shot_accuracy, choose_prompt_variant, colour_only_similarity,
)
from internvideo_core.recipes.mm_synth.figures import retrieval_figure, retrieval_ranks
from internvideo_core.recipes.mm_synth.qa import predict_answers, qa_features, qa_items, train_qa_head
from internvideo_core.recipes.mm_synth.training import (
    get_dual_encoder, text_parameters, train_dual_encoder_on_synthmotion, warm_start_text_tower,
)

__all__ = [
    "MMSynthRecipe", "RECIPES", "get_recipe", "as_recipe", "CaptionClips", "caption_clips", "REVERSED_MOTION",
    "frame_indices", "clips_to_input", "CaptionTrainSet", "drop_attributes", "GroupedBatchSampler", "text_parameters",
    "warm_start_text_tower", "build_dual_encoder", "train_dual_encoder_on_synthmotion", "checkpoint_path",
    "save_dual_encoder", "load_dual_encoder", "get_dual_encoder", "encode_videos", "encode_texts", "text_tokenizer",
    "WordCachedTokenizer", "similarity", "SYNTH_TEMPLATES", "colour_templates", "combination_classes",
    "combination_prompts", "zero_shot_combinations", "zero_shot_motions", "zero_shot_report",
    "temporal_order_accuracy", "multiple_choice_items", "multiple_choice_eval", "qa_items", "qa_features",
    "train_qa_head", "predict_answers", "zero_shot_accuracy", "choose_prompt_variant", "colour_only_similarity",
    "retrieval_ranks", "retrieval_figure",
]
