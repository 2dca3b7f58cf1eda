"""Speed options keep the numbers: the MAE step without graph breaks (and equal to eager), --compile in the
training loops and commands, the attention backend switch (math == default), FP8 through torchao (code path
on the CPU), the multi-view input gathered straight into its output (bit-identical) and one decoder thread
inside DataLoader workers."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from internvideo_core import masking
from internvideo_core.commands import _training as T
from internvideo_core.models.attention_backend import ATTENTION_BACKENDS, attention_backend
from internvideo_core.registry import create_model
from internvideo_core.train import compile as C

pytestmark = pytest.mark.usefixtures("one_thread")


def _mae_batch(model, batch: int = 2, seed: int = 0):
    c = model.config
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, c.num_frames, c.img_size, c.img_size, generator=g)
    mask = masking.tube_mask(batch, grid=c.grid, ratio=0.9, generator=g)
    return x, mask, masking.num_masked("tube", c.grid, 0.9)


@pytest.fixture(scope="module")
def mae():
    torch.manual_seed(0)
    return create_model("videomae_pretrain_tiny_synth")


# ---------------------------------------------------------------------------------------------- MAE step
def test_mae_loss_with_the_masked_count_compiles_to_one_graph_without_breaks(mae):
    x, mask, n = _mae_batch(mae)
    graphs, breaks, reasons = C.graph_breaks(mae.loss, x, mask, num_masked=n)
    assert (graphs, breaks) == (1, 0), reasons


@pytest.mark.slow  # Dynamo tracing of a whole MAE step: 15-60 s on this shared CPU
def test_mae_loss_without_the_count_still_breaks_where_it_reads_the_mask_back(mae):
    x, mask, _ = _mae_batch(mae)
    _, breaks, _ = C.graph_breaks(mae.loss, x, mask)
    assert breaks > 0  # the reason num_masked exists: without it the count is read back from the device


def test_mae_loss_with_the_count_equals_the_loss_without_it(mae):
    x, mask, n = _mae_batch(mae)
    assert torch.equal(mae.loss(x, mask), mae.loss(x, mask, num_masked=n))
    assert torch.equal(mae(x, mask), mae(x, mask, num_masked=n))
    assert torch.equal(mae.targets(x, mask), mae.targets(x, mask, num_masked=n))


def test_a_wrong_masked_count_is_refused_on_cpu(mae):
    x, mask, n = _mae_batch(mae)
    with pytest.raises(ValueError, match="given as num_masked"):
        mae.loss(x, mask, num_masked=n - 1)


@pytest.mark.slow  # Dynamo tracing of a whole MAE step: 15-60 s on this shared CPU
def test_compiled_mae_step_matches_eager_loss_and_gradients(mae):
    x, mask, n = _mae_batch(mae, seed=1)
    mae.zero_grad()
    ref = mae.loss(x, mask, num_masked=n)
    ref.backward()
    ref_grads = {k: p.grad.clone() for k, p in mae.named_parameters() if p.grad is not None}
    mae.zero_grad()
    torch._dynamo.reset()
    compiled = torch.compile(mae.loss, backend="aot_eager", fullgraph=True)  # fullgraph: a break would raise
    out = compiled(x, mask, num_masked=n)
    out.backward()
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-7)
    for k, p in mae.named_parameters():
        if k in ref_grads:
            torch.testing.assert_close(p.grad, ref_grads[k], rtol=1e-5, atol=1e-7, msg=k)
    mae.zero_grad()


@pytest.mark.slow  # Dynamo tracing of a whole MAE step: 15-60 s on this shared CPU
def test_pretrain_loop_with_compile_gives_the_eager_losses(monkeypatch):
    from internvideo_core.train.pretrain import PretrainConfig, pretrain

    calls = []

    def quick_compile(module, mode="default", backend="inductor", dynamic=False):
        calls.append(mode)
        return torch.compile(module, backend="aot_eager", dynamic=dynamic)  # inductor: ~40 s on this CPU

    monkeypatch.setattr(C, "compile_module", quick_compile)
    torch.manual_seed(0)
    videos = torch.randn(4, 3, 8, 24, 24)
    losses = {}
    for flag in (False, True):
        torch.manual_seed(0)
        model = create_model("videomae_pretrain_tiny_synth")
        cfg = PretrainConfig(epochs=1, warmup_epochs=0, batch_size=2, device="cpu", progress=False,
                             compile=flag, compile_mode="reduce-overhead" if flag else "default")
        losses[flag] = pretrain(model, [videos[:2], videos[2:]], cfg).losses
    assert calls == ["reduce-overhead"]
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-5)


def test_compile_module_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="compile mode"):
        C.compile_module(torch.nn.Linear(2, 2), mode="fastest")


def test_maybe_compile_is_the_identity_when_off():
    m = torch.nn.Linear(2, 2)
    assert C.maybe_compile(m, argparse.Namespace(compile=False)) is m
    assert C.maybe_compile(m, argparse.Namespace()) is m


# ---------------------------------------------------------------------------------------------- commands
def test_command_line_choices_equal_the_modules_choices():
    assert T.COMPILE_MODES == C.COMPILE_MODES
    assert T.ATTENTION_BACKENDS == ATTENTION_BACKENDS


@pytest.mark.parametrize("command", ["pretrain", "finetune", "evaluate", "extract_features"])
def test_every_model_command_takes_compile_and_attention(command):
    import importlib

    mod = importlib.import_module(f"internvideo_core.commands.{command}")
    parser = argparse.ArgumentParser()
    mod.register(parser.add_subparsers(dest="command"))
    name = command.replace("_", "-")
    extra = ["--data", "x"] if command in ("pretrain", "finetune", "evaluate") else []
    if command == "extract_features":
        extra = ["--videos", "v", "--output", "o"]
    args = parser.parse_args([name, *extra, "--compile", "--compile-mode", "max-autotune", "--attention", "math"])
    assert args.compile is True and args.compile_mode == "max-autotune" and args.attention == "math"
    assert args.func.__wrapped__.__name__ == "_run"  # run inside attention_backend(args.attention)


def test_speed_wrapper_runs_the_command_inside_the_attention_backend():
    seen = {}

    def run(args):
        seen["flash"] = torch.backends.cuda.flash_sdp_enabled()
        seen["math"] = torch.backends.cuda.math_sdp_enabled()
        return 0

    assert T.with_speed_options(run)(argparse.Namespace(attention="math")) == 0
    assert seen == {"flash": False, "math": True}
    assert torch.backends.cuda.flash_sdp_enabled()  # restored afterwards


# ---------------------------------------------------------------------------------------------- attention
def test_math_attention_gives_the_default_logits():
    torch.manual_seed(0)
    model = create_model("videomae_vit_tiny_synth", init_scale=1.0).eval()  # logits of real size
    c = model.config
    x = torch.randn(2, 3, c.num_frames, c.img_size, c.img_size)
    with torch.no_grad():
        ref = model(x)
        with attention_backend("math"):
            out = model(x)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_unknown_attention_backend_is_refused():
    with pytest.raises(ValueError, match="attention backend"):
        attention_backend("fast")


# ---------------------------------------------------------------------------------------------- FP8
def test_fp8_training_converts_the_block_linears_and_stays_close_to_fp32():
    pytest.importorskip("torchao")
    from internvideo_core.train.fp8 import fp8_training, logits_deviation

    torch.manual_seed(0)
    model = create_model("videomae_vit_tiny_synth", embed_dim=64, num_heads=2, depth=2, drop_path_rate=0.0,
                         init_scale=1.0)
    c = model.config
    x = torch.randn(2, 3, c.num_frames, c.img_size, c.img_size)
    ref = model(x).detach()
    n = fp8_training(model)
    assert n == 2 * 4  # qkv, proj, fc1, fc2 per block; the head is kept
    assert type(model.head).__name__ == "Linear"
    out = model(x)
    out.sum().backward()  # the FP8 backward runs (emulated on the CPU)
    dev = logits_deviation(ref, out.detach())
    assert 0 < dev["max_rel"] < 0.25 and dev["mean_abs"] < 0.1, dev


def test_fp8_inference_needs_an_fp8_gpu():
    pytest.importorskip("torchao")
    from internvideo_core.train.fp8 import FP8UnavailableError, fp8_inference

    if torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 9):
        pytest.skip("this machine has an FP8 GPU")
    with pytest.raises(FP8UnavailableError, match="compute capability"):
        fp8_inference(torch.nn.Linear(16, 16))


# ---------------------------------------------------------------------------------------------- input pipeline
def test_multi_view_input_equals_cropping_each_resized_view(videos_dir):
    from internvideo_core.data.io import read_video
    from internvideo_core.data.pipelines import load_videomae_views
    from internvideo_core.data.sampling import dense_views
    from internvideo_core.data.transforms import (IMAGENET_MEAN, IMAGENET_STD, frames_to_tensor, normalize,
                                                  resize_short_side, spatial_crops)

    path = videos_dir / "test.mp4"
    views = load_videomae_views(path, num_clips=2, num_crops=3)
    frames = read_video(path)
    ref = []
    for row in dense_views(len(frames), 16, 4, 2):  # the plain recipe: each view on its own
        clip = normalize(resize_short_side(frames_to_tensor(frames[torch.from_numpy(row)]), 224),
                         IMAGENET_MEAN, IMAGENET_STD)
        ref.extend(spatial_crops(clip, 224, 3))
    assert views.is_contiguous() and torch.equal(views, torch.stack(ref))


def test_frames_to_tensor_is_contiguous_channel_first():
    from internvideo_core.data.transforms import frames_to_tensor

    x = frames_to_tensor(torch.randint(0, 255, (4, 6, 8, 3), dtype=torch.uint8))
    assert x.shape == (3, 4, 6, 8) and x.is_contiguous()


class _Threads(Dataset):
    def __init__(self, path):
        self.path = path

    def __len__(self):
        return 1

    def __getitem__(self, i):
        from internvideo_core.data.io import open_video

        return open_video(self.path).num_threads


def test_video_readers_use_one_decoder_thread_inside_dataloader_workers(videos_dir):
    ds = _Threads(videos_dir / "test.mp4")
    assert ds[0] == 0  # the main process: the decoder's choice
    assert next(iter(DataLoader(ds, num_workers=1))).item() == 1


def test_demo_compiles_its_models_only_on_cuda(monkeypatch):
    from internvideo_core.demo import service as S

    loaded = []

    class Fake:
        def __init__(self):
            self.model = torch.nn.Linear(2, 2)
            self.model.compile = lambda **kw: loaded.append(kw)

    monkeypatch.setattr(S, "load_model", lambda choice, device: Fake())
    cpu = S.DemoService(synth_examples=0, device="cpu", compile=True)
    assert cpu.compile is False
    gpu = S.DemoService(synth_examples=0, device="cuda", compile=True)
    gpu.model(next(iter(gpu.choices)))
    assert loaded == [{"dynamic": False}]


def test_train_clips_cropped_before_the_float_conversion_are_the_same(videos_dir):
    from internvideo_core.data.annotations import VideoRecord
    from internvideo_core.data.datasets import ClipDataset

    ds = ClipDataset([VideoRecord(str(videos_dir / "arm_wrestling_demo.mp4"), 0)] * 4, mode="train", flip=True,
                     num_frames=8, rate=2)
    assert ds._crop_uint8
    fast = [ds[i][0] for i in range(4)]
    ds._crop_uint8 = False  # the plain recipe: the whole clip to float, then the transform
    for i, x in enumerate(fast):
        assert x.dtype == torch.float32 and torch.equal(x, ds[i][0]), i
