"""Recipes: profile-dependent configurations plus thin functions that the notebooks call.

A recipe chooses sizes and hyper-parameters (smoke / tutorial / full) and wires the data, the models and the
training loops of :mod:`internvideo_core.train` together; it holds no training logic of its own.

    videomae_synth   VideoMAE pretraining and fine-tuning on SynthMotion (notebooks 02 and 03)
    mm_synth         InternVideo-MM video-language training, zero-shot, retrieval and QA on SynthMotion (04-07)
    openset_synth    evidential (EDL) fine-tuning and open-set scoring on SynthMotion's held-out motions (10)
    interaction_synth  cross-model attention between the frozen VideoMAE and InternVideo-MM encoders (11)
    nav_synth        vision-language navigation on BabyAI (minigrid): a video-clip policy imitating the bot (13)
"""
