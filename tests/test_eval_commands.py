"""The benchmark commands (eval-retrieval, eval-zeroshot, eval-mc, eval-qa, predict) end to end on SynthMotion
written in the real formats, with tiny random models saved to checkpoints: the printed / written metrics equal the
library functions on the same embeddings, and a re-run is served from the embedding cache without the model."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from internvideo_core.cli import main
from internvideo_core.models.mm import InternVideoMM

MM = "internvideo_mm_tiny_synth"
VM_ARGS = ["--model-args", "num_classes=12", "num_frames=8", "img_size=32", "pos_ref_num_frames=8"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    assert main(["synth", "--out", str(root), "--profile", "smoke", "--size", "32", "--num-frames", "8",
                 "--parts", "classification,captions,qa,tal", "--quiet"]) == 0
    return root


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory) -> dict[str, Path]:
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.registry import create_model

    d = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    save_safetensors(create_model(MM), d / "mm.safetensors")
    vm = create_model("videomae_vit_tiny_synth", num_classes=12, num_frames=8, img_size=32, pos_ref_num_frames=8,
                      init_scale=1.0)
    save_safetensors(vm, d / "vm.safetensors")
    return {"mm": d / "mm.safetensors", "vm": d / "vm.safetensors"}


def _no_model(monkeypatch) -> None:
    def boom(*a, **k):
        raise AssertionError("the model was called although every embedding is cached")

    monkeypatch.setattr(InternVideoMM, "encode_video", boom)
    monkeypatch.setattr(InternVideoMM, "encode_text", boom)


def saved_ids(synth: Path) -> list[str]:
    from internvideo_core.data.video_text_formats import read_msrvtt_1ka

    return [r.video_id for r in read_msrvtt_1ka(synth / "msrvtt/msrvtt_jsfusion_test.csv")]


def _sim(saved: dict) -> np.ndarray:
    return (float(saved["logit_scale"]) * F.normalize(saved["text"], dim=-1)
            @ F.normalize(saved["video"], dim=-1).T).double().numpy()


def test_eval_retrieval_reports_the_library_metrics_and_a_rerun_with_dsl_costs_no_model_time(
        synth, ckpts, tmp_path, capsys, monkeypatch):
    from internvideo_core.eval.retrieval import retrieval_metrics

    base = ["eval-retrieval", "--model", MM, "--checkpoint", str(ckpts["mm"]), "--dataset", "msrvtt",
            "--data-root", str(synth / "msrvtt"), "--feature-framerate", "8", "--cache-dir", str(tmp_path / "c"),
            "--quiet"]
    assert main([*base, "--output", str(tmp_path / "a.json"), "--save-embeddings", str(tmp_path / "e.pt")]) == 0
    out = json.loads((tmp_path / "a.json").read_text())
    saved = torch.load(tmp_path / "e.pt", weights_only=True)
    assert out["num_texts"] == out["num_videos"] == 8 and out["multi_caption"] is False
    from internvideo_core.data.eval_clips import load_retrieval_clips
    from internvideo_core.registry import create_model

    model = create_model(MM, checkpoint_path=str(ckpts["mm"]))
    frames, size = model.config.num_frames, model.config.input_resolution  # the tutorial model's protocol
    first = synth / "msrvtt/videos" / f"{saved_ids(synth)[0]}.mp4"
    with torch.no_grad():
        direct = F.normalize(model.encode_video(load_retrieval_clips(first, frames, size, 8.0)), dim=-1)[0]
    torch.testing.assert_close(saved["video"][0], direct, atol=1e-5, rtol=1e-5)
    assert out["plain"] == retrieval_metrics(_sim(saved), dsl=False)
    assert out["dsl"] == retrieval_metrics(_sim(saved), dsl=True)
    printed = capsys.readouterr().out
    assert f"R@1 {out['plain']['t2v']['R1']:.1f}" in printed and out["computed"] == {"videos": 8, "texts": 8}
    _no_model(monkeypatch)
    assert main([*base, "--dsl", "--output", str(tmp_path / "b.json")]) == 0
    again = json.loads((tmp_path / "b.json").read_text())
    assert again["computed"] == {"videos": 0, "texts": 0}
    assert again["metrics"] == out["dsl"]


def test_eval_retrieval_on_a_multi_caption_set_maps_every_caption_to_its_video(synth, ckpts, tmp_path):
    from internvideo_core.eval.retrieval import retrieval_metrics

    data = json.loads((synth / "msrvtt/videodatainfo.json").read_text())
    test = [v["video_id"] for v in data["videos"] if v["split"] == "test"][:5]
    caps: dict[str, list[list[str]]] = {}
    for s in data["sentences"]:
        if s["video_id"] in test:
            caps.setdefault(s["video_id"], []).append(s["caption"].split())
    root = tmp_path / "msvd"
    root.mkdir()
    (root / "raw-captions.pkl").write_bytes(pickle.dumps(caps))
    (root / "test_list.txt").write_text("\n".join(test) + "\n")
    assert main(["eval-retrieval", "--model", MM, "--checkpoint", str(ckpts["mm"]), "--dataset", "msvd",
                 "--data-root", str(root), "--video-dir", str(synth / "msrvtt/videos"), "--sampling", "uniform",
                 "--merge-clips", "2", "--no-cache", "--quiet", "--output", str(tmp_path / "m.json"),
                 "--save-embeddings", str(tmp_path / "m.pt")]) == 0
    out = json.loads((tmp_path / "m.json").read_text())
    saved = torch.load(tmp_path / "m.pt", weights_only=True)
    t2v = [i for i, v in enumerate(test) for _ in caps[v]]
    assert out["multi_caption"] and out["num_texts"] == len(t2v) > out["num_videos"] == 5
    assert out["plain"] == retrieval_metrics(_sim(saved), text_to_video=t2v)
    from internvideo_core.data.eval_clips import load_uniform_clips
    from internvideo_core.data.pipelines import load_mm_clip
    from internvideo_core.registry import create_model

    path = synth / "msrvtt/videos" / f"{test[0]}.mp4"
    model = create_model(MM, checkpoint_path=str(ckpts["mm"]))
    frames, size = model.config.num_frames, model.config.input_resolution
    short = round(size * 256 / 224)  # the CLIP protocol: short side 256 for a 224 crop
    torch.testing.assert_close(load_uniform_clips(path, frames, size, short, 1),
                               load_mm_clip(path, frames, size, short)[None])
    clips = load_uniform_clips(path, frames, size, short, 2)            # two halves of the video
    with torch.no_grad():
        direct = F.normalize(model.encode_video(clips), dim=-1).mean(0)
    assert clips.shape[0] == 2 and not torch.equal(clips[0], clips[1])
    torch.testing.assert_close(saved["video"][0], direct, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dataset", ["lsmdc", "didemo", "activitynet", "vatex"])
def test_retrieval_splits_read_the_official_files_with_paragraphs_and_multi_captions(dataset, tmp_path):
    from internvideo_core.data.benchmark_layouts import load_retrieval_split, resolve_video

    if dataset == "lsmdc":
        (tmp_path / "LSMDC16_challenge_1000_publictect.csv").write_text(
            "0001_Movie_A_00.00.01.000-00.00.02.000\t0\t1\t0\t1\tSOMEONE walks.\n"
            "0001_Movie_A_00.00.03.000-00.00.04.000\t2\t3\t2\t3\tSOMEONE sits.\n")
        vid = "0001_Movie_A_00.00.01.000-00.00.02.000"
        (tmp_path / "0001_Movie_A").mkdir()
        (tmp_path / "0001_Movie_A" / f"{vid}.avi").write_bytes(b"x")
        expect = (2, 2, None)
    elif dataset == "didemo":
        (tmp_path / "test_data.json").write_text(json.dumps([
            {"video": "a.mp4", "description": "a man runs", "times": [[0, 1]]},
            {"video": "a.mp4", "description": "he stops", "times": [[1, 2]]},
            {"video": "b.mov", "description": "a dog", "times": [[0, 0]]}]))
        vid = "a.mp4"
        (tmp_path / "a.mp4").write_bytes(b"x")
        expect = (2, 2, None)
    elif dataset == "activitynet":
        (tmp_path / "val_1.json").write_text(json.dumps({
            "v_x": {"duration": 10.5, "timestamps": [[0, 2], [2, 5]], "sentences": ["A man runs.", " He stops."]},
            "v_y": {"duration": 3.0, "timestamps": [[0, 1]], "sentences": ["A dog."]}}))
        (tmp_path / "val_ids.json").write_text(json.dumps(["v_y", "v_x", "v_y"]))
        vid = "v_x"
        (tmp_path / "v_x.mp4").write_bytes(b"x")
        expect = (2, 2, None)
    else:
        (tmp_path / "vatex_validation_v1.0.json").write_text(json.dumps([
            {"videoID": "yt1_000001_000011", "enCap": ["one", "two", "three"], "chCap": []},
            {"videoID": "yt2_000002_000012", "enCap": ["four", "five"], "chCap": []}]))
        (tmp_path / "test_list.txt").write_text("yt2_000002_000012\nyt1_000001_000011\ngone_000000_000010\n")
        vid = "yt1_000001_000011"
        (tmp_path / f"{vid}.mp4").write_bytes(b"x")
        expect = (5, 2, [0, 0, 1, 1, 1])
    split = load_retrieval_split(dataset, tmp_path)
    idx = split.index
    assert (len(idx.texts), len(idx.video_ids), idx.text_to_video) == expect
    if dataset == "didemo":
        assert idx.texts[0] == "a man runs he stops"
    if dataset == "activitynet":
        assert idx.video_ids == ["v_y", "v_x"] and idx.texts[1] == "A man runs.  He stops."
    assert resolve_video(tmp_path, vid).exists()


def test_retrieval_frame_indices_follow_the_official_one_frame_per_second_rule():
    from internvideo_core.data.benchmark_layouts import retrieval_frame_indices

    idx, pad = retrieval_frame_indices(300, 30.0, 12)          # 10 s: 10 frames + 2 zero frames
    assert idx.tolist() == list(range(0, 300, 30)) and pad == 2
    idx, pad = retrieval_frame_indices(900, 29.97, 12)         # 30 s: 12 of the 30 one-per-second frames
    cand = np.arange(0, 900, 30)
    assert idx.tolist() == cand[np.linspace(0, 29, 12).astype(int)].tolist() and pad == 0


def test_didemo_reads_only_the_first_31_seconds_as_the_official_loader(synth):
    from internvideo_core.data.eval_clips import load_retrieval_clips

    video = sorted((synth / "activitynet/videos").glob("*.mp4"))[0]     # about 9 s at 8 fps
    full = load_retrieval_clips(video, 80, 32, 8.0)                      # every frame (< 80), zero padded
    cut = load_retrieval_clips(video, 80, 32, 8.0, max_seconds=2)        # frames 0..16
    real = lambda x: int((x[0].abs().sum((0, 2, 3)) > 0).sum())  # noqa: E731  frames that are not padding
    assert real(cut) == 17 and real(full) > 17
    torch.testing.assert_close(cut[0, :, :17], full[0, :, :17])


def test_downstream_frames_are_segment_middles_and_short_videos_give_fewer_frames(synth):
    from internvideo_core.data.benchmark_layouts import downstream_frame_indices
    from internvideo_core.data.eval_clips import load_downstream_clip

    assert downstream_frame_indices(100, 8).tolist() == [5, 18, 30, 43, 55, 68, 80, 93]
    assert downstream_frame_indices(5, 8).tolist() == [0, 1, 2, 3, 4]
    video = sorted((synth / "msrvtt/videos").glob("*.mp4"))[0]
    assert tuple(load_downstream_clip(video, 8, 56, 64).shape) == (3, 8, 56, 56)


def test_a_retrieval_finetune_in_the_clip4clip_layout_loads_strictly_with_its_frame_count(ckpts, tmp_path,
                                                                                         monkeypatch):
    import dataclasses

    from internvideo_core import registry
    from internvideo_core.commands._pretrained import load_for_eval
    from internvideo_core.registry import create_model, get_pretrained

    ref = create_model(MM, checkpoint_path=str(ckpts["mm"]))
    # CLIP4Clip.state_dict() with sim_header meanP + loose_type: only the clip_evl CLIP, under "clip."
    torch.save({f"clip.{k}": v.half() for k, v in ref.state_dict().items()}, tmp_path / "pytorch_model.bin")
    real = get_pretrained("internvideo_mm_l14_msrvtt_retrieval")
    assert real.arch == "internvideo_mm_l14" and real.overrides == {"num_frames": 12}
    fake = dataclasses.replace(real, name="tiny_msrvtt_retrieval", arch=MM)
    monkeypatch.setitem(registry._PRETRAINED, fake.name, fake)
    em = load_for_eval(fake.name, checkpoint=tmp_path / "pytorch_model.bin")
    assert em.num_frames == 12 and em.family == "mm"
    for k, v in ref.state_dict().items():
        assert torch.equal(em.model.state_dict()[k], v.half().float()), k


def test_an_architecture_name_without_weights_is_refused():
    from internvideo_core.commands._pretrained import load_for_eval

    with pytest.raises(SystemExit, match="--checkpoint"):
        load_for_eval(MM)
    assert load_for_eval(MM, random_weights=True).family == "mm"


def test_mergeclip_interpolates_the_clip_weights_except_the_renamed_projection_and_temporal_modules():
    from internvideo_core.convert.mergeclip import merge_clip_weights
    from internvideo_core.registry import create_model

    torch.manual_seed(1)
    model, other = create_model(MM), create_model(MM)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sd = other.state_dict()
    clip = {k: v for k, v in sd.items() if not k.startswith(("visual.transformer.dpe", "visual.transformer.dec"))
            and k not in ("visual.transformer.temporal_cls_token", "visual.transformer.balance",
                          "text_mask_embedding", "visual_proj", "visual_ln_post.weight", "visual_ln_post.bias")}
    clip["visual.conv1.weight"] = sd["visual.conv1.weight"].squeeze(2)       # CLIP's 2-D patch embedding
    clip["visual.proj"], clip["visual.ln_post.weight"] = sd["visual_proj"], sd["visual_ln_post.weight"]
    clip["visual.ln_post.bias"] = sd["visual_ln_post.bias"]
    merged = merge_clip_weights(model, clip, 0.25)
    now = model.state_dict()
    assert "visual.conv1.weight" in merged and "token_embedding.weight" in merged
    torch.testing.assert_close(now["token_embedding.weight"],
                               0.25 * sd["token_embedding.weight"] + 0.75 * before["token_embedding.weight"])
    for k in ("visual_proj", "visual_ln_post.weight", "visual.transformer.balance", "text_mask_embedding",
              "visual.transformer.dec.0.attn.in_proj_weight"):
        assert torch.equal(now[k], before[k]), k


def test_eval_zeroshot_equals_the_prompt_ensemble_and_reuses_cached_embeddings(synth, ckpts, tmp_path,
                                                                               monkeypatch):
    from internvideo_core.eval.classification import mean_class_accuracy, topk_accuracy
    from internvideo_core.eval.zeroshot import INTERNVIDEO_TEMPLATES, zero_shot_classify

    base = ["eval-zeroshot", "--model", MM, "--checkpoint", str(ckpts["mm"]), "--dataset", "k400",
            "--annotation", str(synth / "kinetics/test.csv"), "--video-dir", str(synth),
            "--classes", str(synth / "classes.txt"), "--cache-dir", str(tmp_path / "c"), "--quiet"]
    assert main([*base, "--output", str(tmp_path / "z.json"), "--save-embeddings", str(tmp_path / "z.pt")]) == 0
    out = json.loads((tmp_path / "z.json").read_text())
    s = torch.load(tmp_path / "z.pt", weights_only=True)
    assert s["text"].shape[0] == len(INTERNVIDEO_TEMPLATES) == 16
    probs = zero_shot_classify(s["video"], s["text"], logit_scale=float(s["logit_scale"]))
    acc = topk_accuracy(probs, s["labels"])
    assert out["metrics"] == {"top1": acc["top1"], "top5": acc["top5"],
                              "mean_class_accuracy": mean_class_accuracy(probs, s["labels"], num_classes=12)}
    _no_model(monkeypatch)
    assert main([*base, "--ensemble", "embedding_mean", "--output", str(tmp_path / "z2.json")]) == 0
    again = json.loads((tmp_path / "z2.json").read_text())
    assert again["computed"] == {"videos": 0, "prompts": 0}
    probs = zero_shot_classify(s["video"], s["text"], "embedding_mean", float(s["logit_scale"]))
    assert again["metrics"]["top1"] == topk_accuracy(probs, s["labels"])["top1"]


def test_eval_mc_accuracy_equals_the_library_and_the_lsmdc_reader_uses_one_based_answers(synth, ckpts, tmp_path):
    from internvideo_core.data.benchmark_layouts import read_lsmdc_mc
    from internvideo_core.eval.zeroshot import multiple_choice_accuracy

    assert main(["eval-mc", "--model", MM, "--checkpoint", str(ckpts["mm"]), "--dataset", "msrvtt",
                 "--data-root", str(synth / "msrvtt"), "--no-cache", "--quiet", "--output", str(tmp_path / "mc.json"),
                 "--save-embeddings", str(tmp_path / "mc.pt")]) == 0
    out = json.loads((tmp_path / "mc.json").read_text())
    s = torch.load(tmp_path / "mc.pt", weights_only=True)
    assert out["num_questions"] == 8 and out["num_options"] == 5
    assert out["metrics"]["accuracy"] == multiple_choice_accuracy(s["video"], s["options"], s["answers"])
    (tmp_path / "mc.csv").write_text("3001_21_JUMP_STREET_00.03.07.077-00.03.07.559\t00.03.07.077\t00.03.07.559\t"
                                     "00.03.06.000\t00.03.08.000\ta\tb\tSOMEONE runs.\td\te\t3\n")
    (item,) = read_lsmdc_mc(tmp_path / "mc.csv")
    assert item.answer == 2 and item.options[item.answer] == "SOMEONE runs." and len(item.options) == 5
    video = tmp_path / "3001_21_JUMP_STREET" / f"{item.video_id}.avi"       # one folder per movie
    video.parent.mkdir()
    video.write_bytes(b"x")
    from internvideo_core.data.benchmark_layouts import resolve_video

    assert resolve_video(tmp_path, item.video_id, (".avi",)) == video


def test_eval_qa_trains_a_head_then_reuses_it_and_reports_all_and_in_vocabulary_accuracy(synth, ckpts, tmp_path,
                                                                                       monkeypatch):
    from internvideo_core.data.video_qa_formats import read_msrvtt_qa_json
    from internvideo_core.eval.qa import qa_accuracy
    from internvideo_core.eval.qa_heads import QAHeadError, load_qa_head

    base = ["eval-qa", "--model", MM, "--checkpoint", str(ckpts["mm"]), "--dataset", "msrvtt",
            "--data-root", str(synth / "msrvtt/qa"), "--video-dir", str(synth / "msrvtt/videos"),
            "--cache-dir", str(tmp_path / "c"), "--quiet"]
    assert main([*base, "--train-head", str(tmp_path / "head.pt"), "--epochs", "2", "--hidden", "16",
                 "--output", str(tmp_path / "q.json")]) == 0
    out = json.loads((tmp_path / "q.json").read_text())
    test = read_msrvtt_qa_json(synth / "msrvtt/qa/test_qa.json")
    _, vocab = load_qa_head(tmp_path / "head.pt")
    pred = [out["predictions"][str(r.qid)] for r in test]
    ref = qa_accuracy(pred, [r.answer for r in test], vocab)
    assert {k: out["metrics"][k] for k in ref} == ref and ref["num_oov"] > 0
    monkeypatch.setattr(InternVideoMM, "encode_text", lambda *a, **k: (_ for _ in ()).throw(AssertionError()))
    monkeypatch.setattr("internvideo_core.models.mm_video.VideoTower.forward",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("model called")))
    assert main([*base, "--head", str(tmp_path / "head.pt"), "--output", str(tmp_path / "q2.json")]) == 0
    again = json.loads((tmp_path / "q2.json").read_text())
    assert again["computed"] == {"videos": 0, "questions": 0} and again["metrics"] == out["metrics"]
    torch.save({"state_dict": {"vqa_classifier.1.weight": torch.zeros(8, 4), "vqa_classifier.5.weight":
                               torch.zeros(7, 8), "caption_decoder.w": torch.zeros(1)}}, tmp_path / "msrvtt.ckpt")
    with pytest.raises(QAHeadError, match="caption decoder"):
        load_qa_head(tmp_path / "msrvtt.ckpt")


def test_predict_labels_every_window_and_draws_a_timeline(synth, ckpts, tmp_path):
    from internvideo_core.data.eval_clips import sliding_windows
    from internvideo_core.data.io import open_video

    video = sorted((synth / "activitynet/videos").glob("*.mp4"))[0]
    assert main(["predict", str(video), "--model", "videomae_vit_tiny_synth", "--checkpoint", str(ckpts["vm"]),
                 *VM_ARGS, "--classes", str(synth / "classes.txt"), "--rate", "2", "--top-k", "3", "--quiet",
                 "--plot", str(tmp_path / "t.png"), "--output", str(tmp_path / "p.json")]) == 0
    out = json.loads((tmp_path / "p.json").read_text())
    with open_video(video) as v:
        n = v.info.num_frames
    assert len(out["windows"]) == len(sliding_windows(n, 16, 16)) > 1
    assert len(out["top_k"]) == 3 and out["top_k"][0]["prob"] >= out["top_k"][-1]["prob"]
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_embedding_cache_recomputes_a_changed_video_and_ignores_a_torn_entry(tmp_path):
    import os

    from internvideo_core.eval.embedding_cache import EmbeddingCache, embed_videos

    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    calls = []

    def encode(path):
        calls.append(path)
        return torch.full((3,), float(len(calls)))

    cache = EmbeddingCache(tmp_path / "c", {"model": "m"})
    first, n1 = embed_videos([video], encode, cache, progress=False)
    again, n2 = embed_videos([video], encode, cache, progress=False)
    assert (n1, n2) == (1, 0) and torch.equal(first, again)
    assert EmbeddingCache(tmp_path / "c", {"model": "other"}).get("videos", "anything") is None
    os.utime(video, ns=(0, 10**9))                                   # the file changed: a new key
    _, n3 = embed_videos([video], encode, cache, progress=False)
    assert n3 == 1
    for entry in (tmp_path / "c").rglob("*.pt"):
        entry.write_bytes(b"torn")
    changed, n4 = embed_videos([video], encode, cache, progress=False)
    assert n4 == 1 and float(changed[0, 0]) == 3.0
