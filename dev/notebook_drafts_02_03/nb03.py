import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).parent))
from nbbuild import build
build("/work/main/notebooks/03_action_recognition.ipynb", [
("md", """
# 03 · Action recognition: fine-tuning a pretrained video encoder

Notebook 02 pretrained a small VideoMAE on **unlabelled** SynthMotion clips. Here we fine-tune its encoder as
an action classifier on **a few labelled clips per class** and compare with the same classifier trained from
scratch with exactly the same recipe and budget: the semi-supervised regime where the VideoMAE paper reports the
largest gains from pretraining (e.g. UCF101 and HMDB51, and SSv2 in general).

Then we look at what the classifier relies on (temporal order), at its confusions, at the official multi-view
test protocol, and at how to load a released InternVideo checkpoint.
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
import internvideo_core as ic
from internvideo_core import paths, viz
from internvideo_core.eval.classification import confusion_matrix
from internvideo_core.recipes import videomae_synth as R
from internvideo_core.results import save_results

torch.set_num_threads(2)
t_start = time.perf_counter()
recipe = R.get_recipe(PROFILE)
data = R.load_synth_data(recipe, PROFILE, SEED)
print(f"{len(data.classes)} classes | labelled {len(data.train_videos)} clips "
      f"({recipe.labels_per_class} per class) | test {len(data.test_videos)} clips | unlabelled pool {len(data.pool)}")
"""),
("md", """
## The pretrained encoder

`create_model("videomae_vit_tiny_synth", checkpoint_path=...)` (here through `R.build_classifier`) reads the
autoencoder file of notebook 02 into a classifier: the `encoder.` prefix is stripped, the decoder,
`encoder_to_decoder` and `mask_token` are **ignored** (reported, not silently dropped), and the classification
head (`fc_norm`, `head`) starts fresh, as in the official fine-tuning script. If notebook 02 has not run (or was
run with another recipe), the encoder is pretrained here with the same recipe.
"""),
("code", """
ckpt = R.pretrain_checkpoint_path(PROFILE)
if R.checkpoint_matches(ckpt, recipe):
    print("using", ckpt)
else:
    print(f"{ckpt} missing or from another recipe: pretraining here (as notebook 02 does)")
    mae, _ = R.pretrain_on_synthmotion(PROFILE, SEED, data=data)
    R.save_pretrained(mae, PROFILE, recipe=recipe)
report = R.build_classifier(recipe, len(data.classes), ckpt).load_report
print(report.summary())
"""),
("md", """
## Fine-tuning: pretrained versus scratch, same budget

Both runs use the kit's fine-tuning loop (`internvideo_core.train.finetune`: AdamW with layer-wise lr decay,
warmup + cosine, label smoothing, drop path), the same labelled clips, the same number of steps and the same
seed; only the initial encoder weights differ.
"""),
("code", """
pre_model, pre_hist, pre = R.finetune_on_synthmotion(init=ckpt, profile=PROFILE, seed=SEED, data=data)
scr_model, scr_hist, scr = R.finetune_on_synthmotion(init=None, profile=PROFILE, seed=SEED, data=data)
chance = 100 / len(data.classes)
print(f"pretrained: top-1 {pre['top1']:.1f} %  ({pre_hist['seconds']:.0f} s)")
print(f"scratch:    top-1 {scr['top1']:.1f} %  ({scr_hist['seconds']:.0f} s)   chance {chance:.1f} %")
viz.plot_curves({"pretrained": pre_hist["epoch_loss"], "scratch": scr_hist["epoch_loss"]}, xlabel="epoch",
                ylabel="training loss", title="fine-tuning");
viz.plot_bars({"pretrained (MAE)": pre["top1"], "scratch": scr["top1"]}, ylabel="test top-1 (%)",
              title=f"{recipe.labels_per_class} labels per class", reference=chance);
"""),
("md", """
## Does the model use temporal order?

Most SynthMotion classes come in pairs that are each other's time reversal (move left / right, grow / shrink,
fade in / out, ...): a single frame, or the set of frames in any order, cannot tell them apart. We shuffle the
frames of every test clip and test again. For the clips of these direction pairs we also report the *direction
accuracy*: among the clips whose predicted class is in the right pair, the fraction with the right direction
(chance: 50 %).
"""),
("code", """
shuffled = R.shuffle_frames(data.test_videos, torch.Generator().manual_seed(SEED))
shuf = R.evaluate_classifier(pre_model, shuffled, data.test_labels, recipe)
dir_ordered = R.direction_accuracy(pre["pred"], data.test_labels, data.classes)
dir_shuffled = R.direction_accuracy(shuf["pred"], data.test_labels, data.classes)
print(f"top-1: ordered {pre['top1']:.1f} %  ->  frames shuffled {shuf['top1']:.1f} %")
print(f"direction accuracy within the right pair: ordered {dir_ordered['direction']:.1f} %  ->  "
      f"shuffled {dir_shuffled['direction']:.1f} %  (chance 50 %)")
viz.show_frames(shuffled[0], title="a test clip with its frames shuffled");
"""),
("md", """
## Confusions

Rows: true class, columns: predicted class (pretrained model, single centre view).
"""),
("code", """
cm = confusion_matrix(pre["pred"], data.test_labels, len(data.classes))
viz.plot_matrix(cm, row_labels=data.classes, col_labels=data.classes, fmt="d", xlabel="predicted", ylabel="true",
                title="confusion matrix (test clips)");
"""),
("md", """
## Multi-view testing

The official test protocol classifies several **views** of each video, applies a softmax to each view's logits
and averages the probabilities (Kinetics: 5 clips × 3 crops; SSv2: 2 × 3). Here: 2 temporal views (the two
frame phases of the stride-2 sampling) × 3 spatial crops, through `aggregate_views` / `topk_accuracy` of
`internvideo_core.eval.classification`.
"""),
("code", """
multi = R.evaluate_classifier(pre_model, data.test_videos, data.test_labels, recipe,
                              temporal_views=recipe.test_temporal_views, spatial_views=recipe.test_spatial_views)
print(f"single view: top-1 {pre['top1']:.1f} % | {multi['num_views']} views: top-1 {multi['top1']:.1f} %, "
      f"top-5 {multi['top5']:.1f} %")
"""),
("md", """
## A released checkpoint

With the weights of the InternVideo release in the cache, the same `create_model` call builds the exact
VideoMAE-B classifier fine-tuned on Kinetics-400 (81.5 % top-1) and classifies a real clip with the official
5 × 3-view protocol. Without them the cell says how to get them and the notebook goes on.
"""),
("code", """
from internvideo_core.hub import cached_path
from internvideo_core.registry import get_pretrained

name = "videomae_vit_base_k400"
path = cached_path(name)
released = None
if path.exists() and PROFILE != "smoke":
    from internvideo_core.data.pipelines import load_videomae_views

    entry = get_pretrained(name)
    model = ic.create_model(entry.arch, checkpoint_path=str(path), **entry.overrides)
    views = load_videomae_views(paths.data_dir() / "videos" / "arm_wrestling_demo.mp4")
    with torch.no_grad():
        probs = model(views).softmax(-1).mean(0)
    labels = paths.read_labels(entry.label_map)
    top = probs.topk(5)
    released = [(labels[i], round(float(p), 3)) for p, i in zip(top.values, top.indices)]
    print(name, "on arm_wrestling_demo.mp4:", released)
else:
    print(f"{name} is not in the cache ({path}).\\n"
          f"Get it with:  internvideo zoo download {name}   (about 350 MB), then re-run this cell.")
"""),
("code", """
seconds = time.perf_counter() - t_start
save_results("03_action_recognition", PROFILE, {
    "pretrained_top1": pre["top1"], "scratch_top1": scr["top1"], "gain_top1": pre["top1"] - scr["top1"],
    "pretrained_top5": pre["top5"], "scratch_top5": scr["top5"], "chance_top1": chance,
    "shuffled_top1": shuf["top1"], "direction_accuracy": dir_ordered["direction"],
    "direction_accuracy_shuffled": dir_shuffled["direction"],
    "multiview_top1": multi["top1"], "multiview_views": multi["num_views"],
    "labels_per_class": recipe.labels_per_class, "finetune_seconds": pre_hist["seconds"] + scr_hist["seconds"],
    "released_checkpoint_top5": released, "seconds": seconds,
})
print(f"notebook time {seconds:.0f} s")
"""),
])
