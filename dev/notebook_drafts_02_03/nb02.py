import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).parent))
from nbbuild import build
build("/work/main/notebooks/02_masked_video_pretraining.ipynb", [
("md", """
# 02 · Masked video pretraining (VideoMAE)

InternVideo's first encoder is a **VideoMAE**: a video ViT cut into space-time *tubelets* (2 frames × p × p
pixels), trained without labels to **reconstruct the tubelets it does not see**. Two choices make it work on
video ([Tong et al., 2022](https://arxiv.org/abs/2203.12602)):

* an **extremely high mask ratio** (90 %): neighbouring frames are nearly identical, so a video is far more
  redundant than an image (MAE on images uses 75 %); the encoder only runs on the 10 % visible tokens, which
  also makes pretraining cheap;
* **tube masking**: the same spatial positions are hidden in every frame, so a hidden patch cannot simply be
  copied from the same place one frame earlier (the "information leakage" of random masking).

The targets are the masked tubelets' pixels, **normalised per tubelet** (mean 0, std 1: `norm_pix_loss`).

In this notebook we pretrain a small VideoMAE on unlabelled SynthMotion clips, look at its reconstructions, and
compare tube with random masking. Notebook 03 fine-tunes the encoder saved here.
"""),
("code", """
PROFILE = "tutorial"  # smoke | tutorial | full
SEED = 0
"""),
("code", """
import os
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle threads sleep instead of spinning (before importing torch)
import time
import torch
from internvideo_core import viz
from internvideo_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD, denormalize
from internvideo_core.recipes import videomae_synth as R
from internvideo_core.results import save_results

torch.set_num_threads(2)
t_start = time.perf_counter()
recipe = R.get_recipe(PROFILE)
print(recipe)
"""),
("md", """
## The data: unlabelled SynthMotion clips

The recipe renders SynthMotion clips in memory and splits them the way semi-supervised video learning is
evaluated (the regime where the VideoMAE paper finds pretraining matters most):

* a **pool of unlabelled clips** (the training clips of the Kinetics-like and SSv2-like parts) for pretraining;
* a **few labelled clips per class**, taken from that pool, for fine-tuning in notebook 03;
* **held-out test clips** that no training ever sees.

To make a tiny model learn in a couple of CPU minutes, the clips are rendered small, on plain backgrounds and
without pixel noise (the rendering knobs are in `recipe.synth`); the model sees `recipe.num_frames` frames
(every `frame_stride`-th) and an `img_size` crop.
"""),
("code", """
data = R.load_synth_data(recipe, PROFILE, SEED)
print(f"pool {tuple(data.pool.shape)} | labelled {tuple(data.train_videos.shape)} | test {tuple(data.test_videos.shape)}"
      f" | rendered in {data.seconds:.1f} s")
picks = [int((data.train_labels == c).nonzero()[0]) for c in range(0, len(data.classes), 2)]
viz.show_gallery([data.train_videos[i] for i in picks], [data.classes[data.train_labels[i]] for i in picks],
                 frames_per_clip=6);
"""),
("md", """
## Tube masking versus random masking

A mask is a boolean per token, tokens in `(t, h, w)` order. **Tube** masking hides `int(0.9 · h · w)` spatial
positions and hides the *same* positions in every time slot; **random** masking hides 90 % of all tokens
independently. Grey = hidden from the encoder.
"""),
("code", """
grid = recipe.grid
clip = denormalize(R.clips_to_input(data.test_videos[:1], recipe)[0], IMAGENET_MEAN, IMAGENET_STD)  # [3, T, H, W]
tube = R.make_mask("tube", 1, grid, recipe.mask_ratio, seed=SEED)[0]
rand = R.make_mask("random", 1, grid, recipe.mask_ratio, seed=SEED)[0]
print(f"token grid (t, h, w) = {grid}: {tube.numel()} tokens, {int(tube.sum())} masked by tube, {int(rand.sum())} by random")
viz.show_mask_overlay(clip, tube, grid, tubelet=recipe.tubelet_size, title=f"tube masking {recipe.mask_ratio:.0%}");
viz.show_mask_overlay(clip, rand, grid, tubelet=recipe.tubelet_size, title=f"random masking {recipe.mask_ratio:.0%}");
"""),
("md", """
### Why random masking leaks

With random masking, a hidden tubelet usually has a **visible twin at the same position in a neighbouring time
slot**; since consecutive frames are almost the same, copying it is a good guess, and the network can solve the
task without understanding anything. The cell below measures exactly that with no network at all: for every
masked token it copies the nearest visible token at the same spatial position (if there is one) and scores the
copy with the training loss (normalised pixels; predicting all zeros scores about 1).
"""),
("code", """
probe_model = R.build_pretrain_model(recipe)   # only used for its patchify helpers
leak = {kind: R.copy_neighbour_error(probe_model, data.test_videos, recipe, kind, recipe.mask_ratio, seed=SEED)
        for kind in ("tube", "random")}
for kind, v in leak.items():
    print(f"{kind:6s}: {v['copyable']:5.1%} of masked tokens have a visible twin in time; copy error {v['error']:.3f}")
"""),
("md", """
## Pretraining

`pretrain_on_synthmotion` builds the autoencoder (`videomae_pretrain_tiny_synth` with the recipe's sizes) and
runs the kit's pretraining loop (`internvideo_core.train.pretrain`: AdamW, warmup + cosine, a fresh tube mask
per clip and step). The loss drops quickly: first the flat background becomes predictable, then the object
patches.
"""),
("code", """
model, history = R.pretrain_on_synthmotion(PROFILE, SEED, mask="tube", ratio=recipe.mask_ratio, data=data)
print(f"{len(history['loss'])} steps in {history['seconds']:.0f} s; loss {history['epoch_loss'][0]:.3f} (epoch 1) "
      f"-> {history['epoch_loss'][-1]:.3f} (epoch {len(history['epoch_loss'])})")
viz.plot_curves({"tube 90%": history["loss"]}, xlabel="step", ylabel="normalised-pixel MSE",
                title="VideoMAE pretraining loss");
ckpt = R.save_pretrained(model, PROFILE, recipe=recipe)
print("saved", ckpt)
"""),
("md", """
## Reconstructions at 75 %, 90 % and 95 %

`model.reconstruct` pastes the predicted tubelets into the visible ones. The model predicts **normalised**
pixels (each tubelet's mean and std are removed from the target), so, as the official VideoMAE visualisation
does, each predicted tubelet is de-normalised with the **true** mean and std of that tubelet: the picture shows
the structure the model predicts inside each patch, while the patch's average colour and contrast come from the
ground truth.
"""),
("code", """
x = R.clips_to_input(data.test_videos[:1], recipe)
rows, rec_error = {}, {}
for ratio in (0.75, 0.9, 0.95):
    m = R.make_mask("tube", 1, grid, ratio, seed=SEED)
    rows[f"{ratio:.0%}"] = (m[0], model.reconstruct(x, m)[0])
    rec_error[ratio] = R.reconstruction_error(model, data.test_videos, recipe, "tube", ratio, seed=SEED)
viz.show_reconstructions(clip, rows, grid, tubelet=recipe.tubelet_size);
for ratio, err in rec_error.items():
    print(f"tube {ratio:.0%}: test loss {err:.3f}")
"""),
("md", """
## Tube versus random masking, same budget

We pretrain a second autoencoder with **random** masking at the same ratio, same data, same number of steps,
then compare the two (a) on both kinds of masks and (b) on what their encoders are worth for recognition:
a linear probe (logistic regression on frozen, mean-pooled encoder features) trained on the labelled clips and
scored on the test clips; an untrained encoder is the reference.
"""),
("code", """
model_rand, history_rand = R.pretrain_on_synthmotion(PROFILE, SEED, mask="random", ratio=recipe.mask_ratio, data=data)
viz.plot_curves({"tube": history["loss"], "random": history_rand["loss"]}, xlabel="step",
                ylabel="normalised-pixel MSE", title="training loss: tube vs random masking");
cross = {f"{name} model, {kind} masks": R.reconstruction_error(m, data.test_videos, recipe, kind, recipe.mask_ratio, seed=SEED)
         for name, m in (("tube", model), ("random", model_rand)) for kind in ("tube", "random")}
for k, v in cross.items():
    print(f"{k:28s} test loss {v:.3f}")
"""),
("code", """
torch.manual_seed(SEED)
untrained = R.build_pretrain_model(recipe)
probe = {}
for name, m in (("untrained", untrained), ("random masking", model_rand), ("tube masking", model)):
    feats_train = R.encoder_features(m, data.train_videos, recipe)
    feats_test = R.encoder_features(m, data.test_videos, recipe)
    probe[name] = R.linear_probe(feats_train, data.train_labels, feats_test, data.test_labels)
viz.plot_bars(probe, ylabel="linear-probe top-1 (%)", title="frozen encoder features",
              reference=100 / len(data.classes));
print({k: round(v, 1) for k, v in probe.items()})
"""),
("md", """
**Reading the numbers.** The random-masking model's training loss is lower: its task is easier, partly because
of the leakage measured above. On tube masks, where nothing can be copied, it does worse than the tube model.
Whether the harder task also gives better features is what the probe measures; on a toy this small the gap
between the two is modest, and notebook 03 shows where pretraining pays off: fine-tuning with few labels.
"""),
("code", """
seconds = time.perf_counter() - t_start
save_results("02_masked_video_pretraining", PROFILE, {
    "pretrain_loss_first_epoch": history["epoch_loss"][0], "pretrain_loss_last_epoch": history["epoch_loss"][-1],
    "pretrain_seconds": history["seconds"], "pretrain_steps": len(history["loss"]),
    "random_pretrain_loss_last_epoch": history_rand["epoch_loss"][-1],
    "leak_copyable_tube": leak["tube"]["copyable"], "leak_copyable_random": leak["random"]["copyable"],
    "leak_copy_error_random": leak["random"]["error"],
    "reconstruction_loss": {f"{r:.2f}": v for r, v in rec_error.items()},
    "cross_loss": cross, "linear_probe_top1": probe,
    "checkpoint": str(ckpt), "seconds": seconds,
})
print(f"notebook time {seconds:.0f} s")
"""),
])
