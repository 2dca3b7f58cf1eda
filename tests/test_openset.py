"""Open-set recognition: the EDL annealing, the evidential classifier and fine-tuning loop, the open-set report
and the ``eval-openset`` command on small lists in the real formats (UCF-101 / HMDB-51 / MiT-v2 mmaction lists)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from internvideo_core.eval.openset import (edl_uncertainty, macro_f1, open_macro_f1_openness, open_set_auroc,
                                           openset_report, scores_from_logits, softmax_uncertainty,
                                           uncertainty_threshold)
from internvideo_core.models.heads import EvidentialClassifier, edl_annealing_coef, evidential_loss

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(embed_dim=32, depth=2, num_heads=2, img_size=32, patch_size=16, num_frames=4, tubelet_size=2)


# --------------------------------------------------------------------------------------------- the loss
def test_exp_annealing_goes_from_start_towards_one_as_dear_computes_it():
    assert edl_annealing_coef(0, 10) == pytest.approx(0.01)
    assert edl_annealing_coef(5, 10) == pytest.approx(0.1)          # 0.01 ** (1 - 5 / 10)
    assert edl_annealing_coef(10, 10) == pytest.approx(1.0)
    assert edl_annealing_coef(3, 10, "step", step=10) == pytest.approx(0.3)
    assert edl_annealing_coef(12, 10, "step", step=10) == 1.0
    with pytest.raises(ValueError, match="annealing"):
        edl_annealing_coef(0, 10, "cosine")


def test_evidential_loss_by_hand_log_loss_plus_weighted_kl():
    logits = torch.tensor([[1.0, -0.5, 0.2]])
    alpha = torch.exp(logits) + 1
    s = alpha.sum()
    data = math.log(s) - math.log(alpha[0, 0])
    a = torch.tensor([1.0, float(alpha[0, 1]), float(alpha[0, 2])])  # true class's evidence removed
    kl = (torch.lgamma(a.sum()) - math.lgamma(3) - torch.lgamma(a).sum()
          + ((a - 1) * (torch.digamma(a) - torch.digamma(a.sum()))).sum())
    assert float(evidential_loss(logits, torch.tensor([0]))) == pytest.approx(data, rel=1e-6)
    assert float(evidential_loss(logits, torch.tensor([0]), kl_weight=0.3)) == pytest.approx(data + 0.3 * float(kl),
                                                                                         rel=1e-6)


# ----------------------------------------------------------------------------------------- the model
def test_evidential_classifier_wraps_a_videomae_encoder_and_an_mm_video_tower():
    from internvideo_core.registry import create_model

    vit = create_model("videomae_vit_tiny_synth", num_classes=0, **TINY)
    model = EvidentialClassifier(vit, 5)
    x = torch.randn(2, 3, 4, 32, 32)
    assert model(x).shape == (2, 5)
    assert model.get_layer_id("encoder.blocks.1.mlp.fc1.weight") == 2 and model.get_layer_id("head.fc.bias") == 3
    mm = create_model("internvideo_mm_tiny_synth", input_resolution=32, num_frames=4, vision_width=32,
                      vision_layers=2, vision_heads=2, vision_patch_size=16, temporal_layers=(1,), temporal_heads=2,
                      text_width=32, text_layers=1, text_heads=2, embed_dim=24)
    assert EvidentialClassifier(mm, 5).eval()(x).shape == (2, 5)  # encode_video [B, embed_dim]
    with pytest.raises(ValueError, match="feature_dim"):
        EvidentialClassifier(torch.nn.Identity(), 5)


def test_evidential_finetuning_anneals_the_kl_weight_per_epoch_and_learns():
    from internvideo_core.registry import create_model
    from internvideo_core.train.evidential import EvidentialConfig, finetune_evidential

    torch.manual_seed(0)
    model = create_model("videomae_vit_tiny_synth", num_classes=2, **TINY)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 4, 32, 32, generator=g)
    y = torch.tensor([0, 1] * 4)
    x[y == 1] += 1.0  # separable
    loader = [(x[i: i + 4], y[i: i + 4]) for i in (0, 4)]
    cfg = EvidentialConfig(epochs=6, base_lr=0.5, batch_size=4, layer_decay=1.0, device="cpu", progress=False)
    result = finetune_evidential(model, loader, cfg)
    assert [round(m["kl_weight"], 6) for m in result.epochs] == [round(edl_annealing_coef(e, 6), 6) for e in range(6)]
    model.eval()
    with torch.no_grad():
        u = edl_uncertainty(model(x))
        assert (model(x).argmax(-1) == y).float().mean() == 1.0
    assert float(u.max()) < 1.0
    with pytest.raises(ValueError, match="mixup"):
        finetune_evidential(model, loader, EvidentialConfig(mixup=0.8))


# ---------------------------------------------------------------------------------------- the report
def test_openset_report_separates_confident_known_from_evidence_free_unknown():
    known_logits = torch.full((6, 3), -5.0)
    known_logits[torch.arange(6), torch.tensor([0, 1, 2, 0, 1, 2])] = 5.0
    unknown_logits = torch.full((4, 3), -5.0)
    train_logits = known_logits.clone()
    rep = openset_report([0, 1, 2, 0, 1, 2], known_logits, [7, 7, 9, 9], unknown_logits, train_logits=train_logits)
    assert rep["closed_set_accuracy"] == 1.0 and rep["auroc"] == 1.0
    assert rep["threshold"] == pytest.approx(float(edl_uncertainty(known_logits)[0]))
    assert rep["open_set_macro_f1"] == 1.0 and rep["num_unknown_classes"] == 2
    assert rep["openness"]["macro_f1"] == [1.0, 1.0, 1.0]
    assert rep["open_maF1"] == pytest.approx(1.0)


def test_openset_report_equals_the_official_functions_on_random_logits():
    rng = torch.Generator().manual_seed(3)
    kl, ul = torch.randint(0, 4, (40,), generator=rng), torch.randint(0, 3, (30,), generator=rng) + 10
    klog, ulog, tlog = (torch.randn(n, 2, 4, generator=rng) * 3 for n in (40, 30, 50))
    rep = openset_report(kl, klog, ul, ulog, train_logits=tlog, num_rand=5, seed=7)
    ku, uu = edl_uncertainty(klog.mean(1)), edl_uncertainty(ulog.mean(1))  # views averaged before evidence
    thr = uncertainty_threshold(edl_uncertainty(tlog.mean(1)))
    assert rep["threshold"] == pytest.approx(thr)
    assert rep["auroc"] == pytest.approx(open_set_auroc(ku, uu))
    curve = open_macro_f1_openness(kl, klog.mean(1).argmax(-1), ku, ul - 10, ulog.mean(1).argmax(-1), uu, thr, 4, 3,
                                   num_rand=5, seed=7)
    assert rep["open_maF1"] == pytest.approx(curve["open_maF1"])
    preds = torch.cat([klog.mean(1).argmax(-1), ulog.mean(1).argmax(-1)])
    preds[torch.cat([ku, uu]) > thr] = 4
    assert rep["open_set_macro_f1"] == pytest.approx(macro_f1(torch.cat([kl, torch.full((30,), 4)]), preds))
    soft = openset_report(kl, klog, ul, ulog, threshold=0.5, kind="softmax")
    assert soft["auroc"] == pytest.approx(open_set_auroc(softmax_uncertainty(klog.mean(1)),
                                                         softmax_uncertainty(ulog.mean(1))))
    with pytest.raises(ValueError, match="threshold"):
        openset_report(kl, klog, ul, ulog)
    with pytest.raises(ValueError, match="kind"):
        scores_from_logits(klog, "entropy")


# ------------------------------------------------------------------------------- the command, real lists
def _write_videos(root, rels, seed):
    from internvideo_core.data.synthmotion_writers import write_mp4

    rng = np.random.default_rng(seed)
    for i, rel in enumerate(rels):
        frames = np.clip(rng.normal(100 + 20 * (i % 3), 40, size=(10, 32, 32, 3)), 0, 255).astype(np.uint8)
        write_mp4(root / rel, frames, fps=10)


@pytest.fixture(scope="module")
def real_lists(tmp_path_factory):
    """UCF-101-style known lists (mmaction ``ucf101_*_split_1_videos.txt``), an HMDB-51-style and a MiT-v2-style
    unknown list, with tiny mp4 files, and a tiny 3-class classifier."""
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.registry import create_model

    tmp = tmp_path_factory.mktemp("openset")
    ucf, hmdb, mit = tmp / "ucf101" / "videos", tmp / "hmdb51" / "videos", tmp / "mit"
    classes = ["ApplyEyeMakeup", "Archery", "BabyCrawling"]
    train = [f"{c}/v_{c}_g{g:02d}_c01.mp4 {k}" for k, c in enumerate(classes) for g in (8, 9)]
    test = [f"{c}/v_{c}_g{g:02d}_c01.mp4 {k}" for k, c in enumerate(classes) for g in (1, 2)]
    unknown = [f"{c}/{c}_clip_{j}.mp4 {lab}" for c, lab in (("brush_hair", 0), ("cartwheel", 1), ("dive", 9))
               for j in range(2)]
    mit_rows = [f"validation/{c}/yt-{c}{j}_1.mp4 {lab}" for c, lab in (("abseiling", 0), ("bathing", 12))
                for j in range(2)]
    _write_videos(ucf, [r.rsplit(" ", 1)[0] for r in train + test], 0)
    _write_videos(hmdb, [r.rsplit(" ", 1)[0] for r in unknown], 1)
    _write_videos(mit, [r.rsplit(" ", 1)[0] for r in mit_rows], 2)
    lists = {"train": tmp / "ucf101_train_split_1_videos.txt", "known": tmp / "ucf101_val_split_1_videos.txt",
             "hmdb": tmp / "hmdb51_val_split_1_videos.txt", "mit": tmp / "mit_val_list_videos.txt"}
    for key, rows in (("train", train), ("known", test), ("hmdb", unknown), ("mit", mit_rows)):
        lists[key].write_text("\n".join(rows) + "\n")
    torch.manual_seed(0)
    model = create_model("videomae_vit_tiny_synth", num_classes=3, init_scale=1.0, **TINY)
    ckpt = save_safetensors(model, tmp / "edl.safetensors")
    return {"ucf_root": ucf, "hmdb_root": hmdb, "mit_root": mit, "ckpt": ckpt, **lists}


def _args(d, unknown="hmdb"):
    margs = [f"{k}={v}" for k, v in TINY.items()] + ["num_classes=3"]
    return ["eval-openset", "--model-args", *margs, "--checkpoint", str(d["ckpt"]), "--known-list", str(d["known"]),
            "--known-root", str(d["ucf_root"]), "--unknown-list", str(d[unknown]),
            "--unknown-root", str(d[f"{unknown}_root"]),
            "--num-frames", "4", "--sampling-rate", "2", "--num-clips", "1", "--num-crops", "3", "--device", "cpu"]


def test_eval_openset_on_ucf_and_hmdb_lists_reports_every_score_with_its_meaning(real_lists, tmp_path, capsys):
    from internvideo_core.cli import main
    from internvideo_core.commands.eval_openset import clip_logits
    from internvideo_core.data.datasets import kinetics_dataset
    from internvideo_core.registry import create_model

    d = real_lists
    out = tmp_path / "openset.json"
    assert main([*_args(d), "--train-list", str(d["train"]), "--num-rand", "3", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    for phrase in ("closed-set accuracy", "AUROC (continuous uncertainty, no threshold)", "official threshold",
                   "open maF1 over openness", "What differs between them", "95 %"):
        assert phrase in text
    rep = json.loads(out.read_text())
    assert rep["num_known"] == 6 and rep["num_unknown"] == 6 and rep["num_unknown_classes"] == 3
    assert len(rep["openness"]["openness"]) == 4 and rep["kind"] == "edl"
    # the same numbers from the model's logits computed here (mean of the 3 crops' logits, then the evidence)
    model = create_model("videomae_vit_tiny_synth", checkpoint_path=str(d["ckpt"]), num_classes=3, **TINY)
    kw = dict(mode="test", size=32, num_frames=4, rate=2, num_clips=1, num_crops=3)
    logits = {k: clip_logits(model, kinetics_dataset(d[k], root=root, **kw), 4, "cpu")
              for k, root in (("known", d["ucf_root"]), ("hmdb", d["hmdb_root"]), ("train", d["ucf_root"]))}
    assert logits["known"][0].shape == (6, 3, 3)
    ref = openset_report(logits["known"][1], logits["known"][0], logits["hmdb"][1], logits["hmdb"][0],
                         train_logits=logits["train"][0], num_rand=3)
    for key in ("closed_set_accuracy", "auroc", "threshold", "open_set_macro_f1", "open_maF1"):
        assert rep[key] == pytest.approx(ref[key], rel=1e-5), key


def test_eval_openset_takes_a_mit_list_a_given_threshold_and_the_softmax_score(real_lists, tmp_path, capsys):
    from internvideo_core.cli import main

    d = real_lists
    out = tmp_path / "mit.json"
    assert main([*_args(d, "mit"), "--threshold", "0.5", "--score", "softmax", "--output", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["threshold"] == 0.5 and rep["kind"] == "softmax" and rep["num_unknown_classes"] == 2
    assert "1 - max softmax" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--train-list"):
        main(_args(d))


def test_roc_curve_runs_from_origin_to_one_and_its_area_is_the_auroc():
    from internvideo_core.eval.openset import roc_curve

    rng = np.random.default_rng(0)
    known, unknown = rng.integers(0, 6, 30).astype(float), rng.integers(2, 9, 20).astype(float)
    fpr, tpr = roc_curve(known, unknown)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(open_set_auroc(known, unknown))


def test_eval_openset_on_a_synthmotion_folder_uses_its_openset_part(tmp_path, capsys):
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.cli import main
    from internvideo_core.data.synthmotion import SynthConfig, generate_synthmotion
    from internvideo_core.registry import create_model

    root = tmp_path / "synth"
    generate_synthmotion(root, "smoke", seed=0, parts=["openset"], cfg=SynthConfig(size=32, num_frames=8))
    torch.manual_seed(0)
    ckpt = save_safetensors(create_model("videomae_vit_tiny_synth", num_classes=12, **TINY), tmp_path / "m.safetensors")
    out = tmp_path / "r.json"
    margs = [f"{k}={v}" for k, v in TINY.items()] + ["num_classes=12"]
    assert main(["eval-openset", "--data", str(root), "--checkpoint", str(ckpt), "--model-args", *margs,
                 "--num-crops", "1", "--device", "cpu", "--output", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["num_known"] == 12 and rep["num_unknown"] == 4 and rep["num_unknown_classes"] == 2  # orbit, shake
    assert rep["train_list"].endswith("kinetics/train.csv") and rep["unknown_list"].endswith("unknown_test.csv")
    with pytest.raises(SystemExit, match="no openset part"):
        generate_synthmotion(tmp_path / "s2", "smoke", seed=0, parts=["classification"],
                             cfg=SynthConfig(size=32, num_frames=8))
        main(["eval-openset", "--data", str(tmp_path / "s2"), "--checkpoint", str(ckpt), "--model-args", *margs])
