"""Rebuild the models embedded in the package (``internvideo_core/assets/models/``): one command, same seed,
same card metrics.

    python tools/build_embedded_models.py                       # all three, seed 0 (~13 min of CPU, 1 thread)
    python tools/build_embedded_models.py --only classifier     # autoencoder | classifier | dual_encoder
    python tools/build_embedded_models.py --out /tmp/models     # somewhere else (the package is untouched)
    python tools/build_embedded_models.py --check               # rebuild in a temporary folder, compare every card
                                                                # metric with the committed cards (exit 1: differs)
    python tools/build_embedded_models.py --compare /tmp/models # compare a finished rebuild, without training

What it trains, with the kit's own recipes (the tutorial profile's architectures and input protocol, longer
schedules and more clips than the notebooks, because these run once and ship):

- ``videomae_pretrain_tiny_synth``: masked autoencoder (tube masking, 90 %), recipe
  :mod:`internvideo_core.recipes.videomae_synth` (:func:`pretrain_on_synthmotion`) with notebook 02's
  reconstruction settings (``RECONSTRUCTION_OVERRIDES``: objects cut out of stripes fixed to the frame,
  :data:`~internvideo_core.embedded.STRIPED_LOOK`), on which masked reconstruction has something to predict;
- ``videomae_vit_tiny_synth``: the classifier of the 12 SynthMotion motions, fine-tuned from notebook 02's tutorial
  autoencoder (flat clips; trained here with notebook 02's call, independent of the embedded autoencoder)
  (:func:`finetune_on_synthmotion`) on many labelled clips;
- ``internvideo_mm_tiny_synth``: the dual encoder, recipe :mod:`internvideo_core.recipes.mm_synth`
  (:func:`train_dual_encoder_on_synthmotion`) on more caption clips for more epochs; its frozen random word table
  is stored by the rows of the SynthMotion vocabulary only
  (:func:`~internvideo_core.embedded.caption_token_ids`, zeros elsewhere when loaded).

The classifier and the dual encoder see clips drawn like the demo's SynthMotion examples
(:data:`internvideo_core.embedded.SYNTH_LOOK`: 64 px, plain background, no noise, large objects), the autoencoder
clips drawn like the demo's striped examples (:data:`~internvideo_core.embedded.STRIPED_LOOK`, 64 px), all brought
to each model's input size by the demo's own preprocessing, so what the demo shows is what they learned. Held-out
metrics (test splits that no training saw, plus the demo's own example clips through the demo code) go to each
model's ``config.json`` (``card``) and ``MODEL_CARD.md``. Weights are stored in float16 (the kit loads them into
float32); the metrics are measured on the stored weights, reloaded. Threads: ``--threads`` (default 1,
deterministic and kind to shared CPUs).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tools")]

from embedded_model_cards import (add_demo_check, compare_cards, demo_check, model_names,  # noqa: E402
                                  print_comparison, write_model_card)

from internvideo_core.embedded import (BUILD_COMMAND, STRIPED_LOOK, SYNTH_LOOK, caption_token_ids,  # noqa: E402
                                       models_dir)

#: Rendering of the VideoMAE models' clips: the demo's examples (SynthConfig defaults at 64 px, 16 frames).
RENDER_SIZE, RENDER_FRAMES = 64, 16
#: Clips per class: (train, val, test) of the SynthMotion classification part; ssv2 train clips join the
#: autoencoder's unlabelled pool.
CLASSIFICATION_CLIPS = (100, 10, 20)
SSV2_CLIPS = (40, 10, 10)
#: The autoencoder: notebook 02's reconstruction recipe (``RECONSTRUCTION_OVERRIDES``) with more clips and epochs,
#: batch 32 at lr 1.2e-2 per 256 (the step size of notebook 02's 4.8e-2 at batch 8). Measured (seed 0, 1600 clips
#: drawn at 64 px and squared to 28 px, held-out object-tubelet ratio to the mean patch at 90 %): 20 epochs 0.762
#: (lr 4.8e-2) / 0.759 (1.2e-2); batch 8, 10 epochs, 4.8e-2: 0.760; 30 epochs 0.751; trained at mask 75 %: 0.769.
#: The same models score 0.71-0.73 on clips rendered at 28 px directly (notebook 02: 0.71): downscaling softens
#: the object's edges, which are the hard tubelets.
AUTOENCODER = dict(pretrain_epochs=40, pretrain_batch_size=32, pretrain_lr=1.2e-2, pretrain_warmup_epochs=1)
CLASSIFIER = dict(finetune_batch_size=32, labels_per_class=CLASSIFICATION_CLIPS[0])
#: The classifier's schedule: the first phase starts from the autoencoder, each later phase restarts a cosine
#: schedule from the previous phase's stored (float16) weights.
CLASSIFIER_PHASES: tuple[dict, ...] = (
    dict(finetune_epochs=12, finetune_lr=1.6e-2, finetune_warmup_epochs=1),
    dict(finetune_epochs=8, finetune_lr=8e-3, finetune_warmup_epochs=0),
    dict(finetune_epochs=8, finetune_lr=8e-3, finetune_warmup_epochs=0),
    dict(finetune_epochs=8, finetune_lr=4e-3, finetune_warmup_epochs=0),
)
DUAL_ENCODER = dict(train_videos=2400, epochs=30)
STAGES = ("autoencoder", "classifier", "dual_encoder")


def _log(msg: str) -> None:
    print(f"[build {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------------- data
def demo_style_clips(part: str, split: str, seed: int, size: int, look: dict | None = None):
    """``(uint8 [N, 16, size, size, 3], labels [N], classes)``: SynthMotion clips drawn like the demo's examples
    (``look``: :data:`SYNTH_LOOK` by default, :data:`STRIPED_LOOK` for the autoencoder) at 64 px and squared to
    ``size`` px by the demo's preprocessing (antialiased short-side resize, centre crop)."""
    from internvideo_core.data.synthmotion import SynthConfig, SynthSizes, synthmotion_clips
    from internvideo_core.demo.models import square_uint8

    sizes = SynthSizes(classification=CLASSIFICATION_CLIPS, ssv2=SSV2_CLIPS)
    cfg = SynthConfig(size=RENDER_SIZE, num_frames=RENDER_FRAMES, **(SYNTH_LOOK if look is None else look))
    clips = synthmotion_clips(part, split, sizes, seed, cfg=cfg)
    videos = torch.stack([square_uint8(v, size) for v in clips.videos])
    return videos, clips.labels, tuple(clips.classes)


def videomae_data(recipe: Any, seed: int, look: dict | None = None):
    """The recipe's :class:`SynthData` from demo-style clips of ``look`` (pool: classification + ssv2 train;
    labelled: the classification train clips; test: the classification test split)."""
    from internvideo_core.recipes import videomae_synth as VS

    train, labels, classes = demo_style_clips("classification", "train", seed, recipe.render_size, look)
    ssv2, _, _ = demo_style_clips("ssv2", "train", seed, recipe.render_size, look)
    test, test_labels, _ = demo_style_clips("classification", "test", seed, recipe.render_size, look)
    return VS.SynthData(pool=torch.cat([train, ssv2]), train_videos=train, train_labels=labels,
                        test_videos=test, test_labels=test_labels, classes=classes)


# ------------------------------------------------------------------------------------------------ saving
def _save(model: torch.nn.Module, name: str, out: Path, *, class_names=None, input: dict, card: dict) -> Path:
    """float16 weights + ``config.json`` (with ``card``) in ``out/<name>/``; returns the weights' path."""
    from internvideo_core.model_config import config_path, save_model

    half = copy.deepcopy(model).half()
    path = save_model(half, out / name / "model.safetensors", arch=name, overrides={}, class_names=class_names,
                      input=input, command=BUILD_COMMAND)
    if name == "internvideo_mm_tiny_synth":
        _keep_caption_rows(path)
    cfg = json.loads(config_path(path).read_text())
    cfg["card"] = card
    config_path(path).write_text(json.dumps(cfg, indent=1))
    return path


def _keep_caption_rows(path: Path) -> None:
    """Rewrite the dual encoder's weights with only the word-table rows of the SynthMotion vocabulary
    (:func:`internvideo_core.embedded.caption_token_ids`, stored by
    :func:`internvideo_core.checkpoint.sparse_rows`; the loader puts zeros in the other rows)."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from internvideo_core.checkpoint import sparse_rows
    from internvideo_core.embedded import TOKEN_TABLE, caption_token_ids
    from internvideo_core.housekeeping import apply_umask

    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata() or {})
    state = load_file(str(path))
    state.update(sparse_rows(TOKEN_TABLE, state.pop(TOKEN_TABLE), caption_token_ids()))
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    apply_umask(tmp)
    os.replace(tmp, path)


def _reload(model: torch.nn.Module, path: Path) -> torch.nn.Module:
    """``model`` with the stored (float16) weights, float32, eval mode: what users get."""
    from internvideo_core.checkpoint import load_checkpoint

    fresh = copy.deepcopy(model).float()
    load_checkpoint(fresh, path, strict=True)
    return fresh.eval()


def _card(recipe_name: str, recipe: Any, seed: int, data: str, metrics: dict, seconds: float) -> dict:
    import dataclasses

    from internvideo_core import __version__

    return {"recipe": recipe_name, "profile": "tutorial", "recipe_fields": json.loads(json.dumps(
        dataclasses.asdict(recipe), default=str)), "seed": seed, "data": data, "metrics": metrics,
            "kit_version": __version__, "command": f"{BUILD_COMMAND} --seed {seed} --threads {torch.get_num_threads()}",
            "train_cpu_seconds": round(seconds, 1), "weights_dtype": "float16"}


# ------------------------------------------------------------------------------------------------ stages
def build_autoencoder(seed: int, out: Path) -> dict:
    """The masked autoencoder, on clips in notebook 02's reconstruction look (:data:`STRIPED_LOOK` =
    ``RECONSTRUCTION_OVERRIDES["synth"]``: objects cut out of stripes fixed to the frame, larger, no marker),
    drawn at 64 px like the demo's examples and squared to the model's 28 px by the demo's preprocessing. Held-out
    metrics on striped test clips (the look it learned) and on the flat one-colour test clips of the other demo
    examples (:data:`SYNTH_LOOK`)."""
    from internvideo_core.recipes import videomae_synth as VS

    start = time.process_time()
    recipe = VS.get_recipe("tutorial", **{**VS.RECONSTRUCTION_OVERRIDES, **AUTOENCODER})
    if dict(recipe.synth) != STRIPED_LOOK:
        raise RuntimeError(f"STRIPED_LOOK {STRIPED_LOOK} differs from RECONSTRUCTION_OVERRIDES' {dict(recipe.synth)}")
    data = videomae_data(recipe, seed, STRIPED_LOOK)
    _log(f"autoencoder: {len(data.pool)} unlabelled striped clips, {recipe.pretrain_epochs} epochs, "
         f"lr {recipe.pretrain_lr} (per 256)")
    model, history = VS.pretrain_on_synthmotion(recipe, seed, data=data)
    seconds = time.process_time() - start
    path = _save(model, "videomae_pretrain_tiny_synth", out, input=_videomae_input(recipe), card={})
    model = _reload(model, path)
    flat, _, _ = demo_style_clips("classification", "test", seed, recipe.render_size, SYNTH_LOOK)
    rep = VS.reconstruction_report(model, data.test_videos, recipe, "tube", recipe.mask_ratio, seed=seed)
    rep_flat = VS.reconstruction_report(model, flat, recipe, "tube", recipe.mask_ratio, seed=seed)
    metrics = {"test_clips": len(data.test_videos), "mask": f"tube {recipe.mask_ratio:.0%}",
               "loss_model": round(rep["model"], 4), "loss_mean_patch": round(rep["mean_patch"], 4),
               "object_loss_model": round(rep["object_model"], 4),
               "object_loss_mean_patch": round(rep["object_mean_patch"], 4),
               "object_ratio_to_mean_patch": round(rep["object_model"] / rep["object_mean_patch"], 3),
               "flat_object_loss_model": round(rep_flat["object_model"], 4),
               "flat_object_loss_mean_patch": round(rep_flat["object_mean_patch"], 4),
               "flat_object_ratio_to_mean_patch": round(rep_flat["object_model"] / rep_flat["object_mean_patch"], 3),
               "final_train_loss": round(history["epoch_loss"][-1], 4)}
    _finish(model, "videomae_pretrain_tiny_synth", out, path, recipe, seed, metrics, seconds,
            f"SynthMotion classification + ssv2 train clips ({len(data.pool)}, no labels) in notebook 02's "
            f"reconstruction look (objects cut out of vertical stripes fixed to the frame, one patch per period, "
            f"radius 30-38 % of the frame, no marker; plain background), drawn at {RENDER_SIZE} px like the demo's "
            f"striped examples and squared to {recipe.render_size} px. Metrics: `object_*` on striped held-out "
            f"clips, `flat_object_*` on held-out clips in the flat one-colour look of the other demo examples",
            "videomae_synth", input=_videomae_input(recipe))
    return metrics


def build_classifier(seed: int, out: Path, init: Path | None = None, changes: dict | None = None,
                     start_phase: int = 0) -> dict:
    """Fine-tune the classifier in :data:`CLASSIFIER_PHASES` from ``init`` (default: notebook 02's tutorial
    autoencoder, trained here with notebook 02's call; ``--classifier-init`` gives that file when it exists, e.g.
    ``runs/checkpoints/tutorial/videomae_synth_pretrain.safetensors`` after ``make run``). ``start_phase`` > 0:
    ``init`` is the stored classifier of the phase before (``--classifier-from``)."""
    from internvideo_core.recipes import videomae_synth as VS

    name = "videomae_vit_tiny_synth"
    start = time.process_time()
    recipe = VS.get_recipe("tutorial", **{**CLASSIFIER, **CLASSIFIER_PHASES[0], **(changes or {})})
    data = videomae_data(recipe, seed)
    if init is None:  # notebook 02's tutorial autoencoder, made as notebook 02 makes it
        _log("classifier init: the tutorial autoencoder of notebook 02 (pretrain_on_synthmotion('tutorial', seed))")
        tutorial = VS.get_recipe("tutorial")
        ae, _ = VS.pretrain_on_synthmotion(tutorial, seed)
        init = VS.save_pretrained(ae, tutorial, Path(tempfile.mkdtemp()) / "init.safetensors")
    first_init = f"fingerprint {_fingerprint(init)}" if start_phase == 0 else f"phase {start_phase} from {init}"
    path = Path(init)
    for k in range(start_phase, len(CLASSIFIER_PHASES)):
        recipe = VS.get_recipe("tutorial", **{**CLASSIFIER, **CLASSIFIER_PHASES[k], **(changes or {})})
        _log(f"classifier phase {k + 1}/{len(CLASSIFIER_PHASES)}: {len(data.train_videos)} labelled clips, "
             f"{recipe.finetune_epochs} epochs, lr {recipe.finetune_lr} (per 256), init {path}")
        torch.manual_seed(seed + k)
        model, history, _ = VS.finetune_on_synthmotion(recipe, seed + k, init=path, data=data)
        path = _save(model, name, out, class_names=data.classes, input=_videomae_input(recipe), card={})
        model = _reload(model, path)
        res = VS.evaluate_classifier(model, data.test_videos, data.test_labels, recipe)
        _log(f"classifier phase {k + 1}: held-out top-1 {float(res['top1']):.2f}, final train loss "
             f"{history['epoch_loss'][-1]:.4f}")
    seconds = time.process_time() - start
    metrics = {"test_clips": len(data.test_videos), "top1": round(float(res["top1"]), 2),
               "top5": round(float(res["top5"]), 2), "chance": round(100 / len(data.classes), 2),
               "init": f"notebook 02's tutorial autoencoder (pretrain_on_synthmotion('tutorial', seed); {first_init})",
               "schedule": " then ".join(f"{p['finetune_epochs']} epochs at lr {p['finetune_lr']}"
                                         for p in CLASSIFIER_PHASES),
               "final_train_loss": round(history["epoch_loss"][-1], 4)}
    _finish(model, name, out, path, recipe, seed, metrics, seconds,
            f"SynthMotion classification train clips ({len(data.train_videos)}, {CLASSIFICATION_CLIPS[0]} per "
            f"class), drawn like the demo's examples ({RENDER_SIZE} px, plain background, large objects), squared to "
            f"{recipe.render_size} px", "videomae_synth", class_names=data.classes, input=_videomae_input(recipe))
    return metrics


def build_dual_encoder(seed: int, out: Path) -> dict:
    import torch.nn.functional as F

    from internvideo_core.demo.models import video_text_defaults
    from internvideo_core.eval.zeroshot import zero_shot_classify
    from internvideo_core.recipes import mm_synth as R

    start = time.process_time()
    recipe = R.get_recipe("tutorial", **DUAL_ENCODER)
    _log(f"dual encoder: {recipe.train_videos} caption clips, {recipe.epochs} epochs")
    train = R.caption_clips(recipe, seed, "train", look=SYNTH_LOOK)
    model, history = R.train_dual_encoder_on_synthmotion(recipe, seed, train=train, save=False)
    seconds = time.process_time() - start
    inp = {"num_frames": recipe.num_frames, "img_size": recipe.img_size, "sampling": "uniform"}
    path = _save(model, "internvideo_mm_tiny_synth", out, input=inp, card={})
    model = _reload(model, path)
    test = R.caption_clips(recipe, seed, "test", look=SYNTH_LOOK)
    video = F.normalize(R.encode_videos(model, test, recipe), dim=-1)
    labels, templates, _ = video_text_defaults("tutorial")
    from internvideo_core.data.synthmotion import KNOWN_MOTIONS

    known = [i for i, m in enumerate(test.motions) if m in KNOWN_MOTIONS]
    text = torch.stack([F.normalize(R.encode_texts(model, [t.format(lbl) for t in templates], recipe), dim=-1)
                        .mean(0) for lbl in labels])
    probs = zero_shot_classify(video[known], F.normalize(text, dim=-1),
                               logit_scale=float(model.logit_scale.detach().exp()))
    truth = torch.tensor([KNOWN_MOTIONS.index(test.motions[i]) for i in known])
    caps = F.normalize(R.encode_texts(model, [c[0] for c in test.captions], recipe), dim=-1)
    sims = caps @ video.T
    ranks = (sims > sims.diag()[:, None]).sum(1) + 1
    metrics = {"test_clips": len(test), "zero_shot_motion_top1 (demo labels, 12 motions)":
               round(100.0 * float((probs.argmax(1) == truth).float().mean()), 2),
               "zero_shot_clips": len(known), "chance": round(100 / len(labels), 2),
               "t2v_R1 (first caption)": round(100.0 * float((ranks == 1).float().mean()), 2),
               "t2v_R5 (first caption)": round(100.0 * float((ranks <= 5).float().mean()), 2),
               "final_train_loss": round(float(history["loss"][-1]), 4),
               "word_table_rows_stored": f"{len(caption_token_ids())} of {model.token_embedding.weight.shape[0]}"}
    _check_vocabulary([*(c for caps in train.captions for c in caps), *(c for caps in test.captions for c in caps),
                       *(c for caps in train.reversed_captions if caps for c in caps), *labels,
                       *(t.format(lbl) for t in templates for lbl in labels)], recipe)
    _finish(model, "internvideo_mm_tiny_synth", out, path, recipe, seed, metrics, seconds,
            f"SynthMotion caption train clips ({recipe.train_videos}, {RENDER_SIZE} px, plain background, large objects), resized to "
            f"{recipe.img_size} px", "mm_synth", input=inp)
    return metrics


def _check_vocabulary(texts: list[str], recipe: Any) -> None:
    """Every token of ``texts`` (the training and test captions, the demo's labels and prompts) must be a stored
    row of the word table (:func:`internvideo_core.embedded.caption_token_ids`)."""
    from internvideo_core.recipes import mm_synth as R

    kept = set(caption_token_ids())
    tok = R.text_tokenizer(recipe)
    lost = sorted({t for t in texts if not set(tok([t])[0].tolist()) <= kept})
    if lost:
        raise RuntimeError(f"{len(lost)} texts have tokens outside caption_token_ids(), e.g. {lost[:3]}: add their "
                           "words to internvideo_core.embedded.caption_texts()")


def _fingerprint(path: Path) -> str:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return (fh.metadata() or {}).get("fingerprint", "?")


def _videomae_input(recipe: Any) -> dict:
    return {"num_frames": recipe.num_frames, "img_size": recipe.img_size, "render_size": recipe.render_size,
            "clip_frames": recipe.clip_frames, "frame_stride": recipe.frame_stride, "sampling": "uniform"}


def _finish(model, name, out, path, recipe, seed, metrics, seconds, data, recipe_name, class_names=None,
            input=None) -> None:
    card = _card(recipe_name, recipe, seed, data, metrics, seconds)
    _save(model, name, out, class_names=class_names, input=input or {}, card=card)
    write_model_card(name, path)
    _log(f"{name}: {json.dumps(metrics)} ({seconds:.0f} s CPU) -> {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(STAGES), help=f"comma-separated stages of {STAGES}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="where the model folders go (default: the package; with --check a "
                   "new temporary folder)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the cards name the count used: float "
                   "sums depend on it)")
    p.add_argument("--no-demo-check", action="store_true")
    p.add_argument("--check", action="store_true", help="rebuild into a temporary folder (or --out) and compare "
                   "every card metric with the committed cards (--against); exit 1 on any difference")
    p.add_argument("--against", default=str(models_dir()), help="the cards --check / --compare hold the rebuild "
                   "to (default: the package's)")
    p.add_argument("--compare", default=None, metavar="DIR", help="no training: compare the cards of a rebuild "
                   "already in DIR with --against (what --check does after rebuilding)")
    p.add_argument("--classifier", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="change the classifier's recipe fields (e.g. finetune_epochs=16 layer_decay=0.9)")
    p.add_argument("--classifier-from", nargs=2, default=None, metavar=("PHASE", "FILE"),
                   help="start the classifier at phase PHASE (2, ...) from FILE, the stored classifier of the phase "
                        "before (a rebuild interrupted between phases)")
    p.add_argument("--classifier-init", default=None, help="the classifier's initial weights: notebook 02's tutorial "
                   "autoencoder file (default: train it here with notebook 02's call)")
    args = p.parse_args(argv)
    stages = [s.strip() for s in args.only.split(",") if s.strip()]
    for s in stages:
        if s not in STAGES:
            p.error(f"unknown stage {s!r}; choose from {STAGES}")
    against = Path(args.against)
    if args.compare:
        rows, same = compare_cards(Path(args.compare), against, model_names(stages))
        print_comparison(rows)
        _log(f"{args.compare} {'reproduces' if same else 'DIFFERS from'} the cards in {against}")
        return 0 if same else 1
    torch.set_num_threads(args.threads)
    wall, cpu = time.perf_counter(), time.process_time()
    if args.out is not None:
        out = Path(args.out)
    elif args.check:
        out = Path(tempfile.mkdtemp(prefix="embedded_check_"))
    else:
        out = models_dir()
    if args.check:  # the models not rebuilt come from --against, so that the demo check sees all three
        import shutil

        for stage, name in zip(STAGES, model_names(list(STAGES))):
            if stage not in stages and (against / name).is_dir():
                shutil.copytree(against / name, out / name, dirs_exist_ok=True)
    init = Path(args.classifier_init) if args.classifier_init else None
    start_phase = 0
    if args.classifier_from:
        start_phase, init = int(args.classifier_from[0]) - 1, Path(args.classifier_from[1])
    changes = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.classifier)}
    builders = {"autoencoder": build_autoencoder, "dual_encoder": build_dual_encoder,
                "classifier": lambda seed, out: build_classifier(seed, out, init, changes, start_phase)}
    for s in STAGES:
        if s in stages:
            torch.manual_seed(args.seed)
            builders[s](args.seed, out)
    if not args.no_demo_check:
        check = demo_check(out)
        _log(json.dumps(check, indent=1))
        add_demo_check(out, check)
    _log(f"built {', '.join(stages)} in {out}: {time.perf_counter() - wall:.0f} s wall, "
         f"{time.process_time() - cpu:.0f} s CPU")
    if args.check:
        rows, same = compare_cards(out, against, model_names(stages))
        print_comparison(rows)
        _log(f"the rebuild in {out} {'reproduces' if same else 'DIFFERS from'} the cards in {against}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
