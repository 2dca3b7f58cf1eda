"""Two gloo processes (torchrun) vs one process on the full batch: synchronized gradients, equal updates."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ddp_cases import one_process_results, two_process_results  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["finetune", "pretrain"])
def test_two_processes_match_one_process_on_the_full_batch(case):
    r0, r1 = (r[case] for r in two_process_results())
    ref = one_process_results(case)
    assert len(ref["losses"]) == 2
    # gradients are synchronized: both ranks hold the same (averaged) gradients ...
    assert r0["grads"].keys() == ref["grads"].keys() and len(ref["grads"]) > 10
    for name, g in ref["grads"].items():
        torch.testing.assert_close(r0["grads"][name], r1["grads"][name], rtol=0, atol=0, msg=name)
        # ... equal to the full-batch gradients of one process
        torch.testing.assert_close(r0["grads"][name], g, rtol=1e-4, atol=1e-6, msg=name)
    # the logged loss (mean over ranks) and the updated weights match the single-process run
    torch.testing.assert_close(r0["losses"], ref["losses"], rtol=1e-5, atol=1e-6)
    for name, w in ref["state"].items():
        torch.testing.assert_close(r0["state"][name], r1["state"][name], rtol=0, atol=0, msg=name)
        torch.testing.assert_close(r0["state"][name], w, rtol=1e-4, atol=1e-5, msg=name)
    # the weights did move (the comparison is not vacuous), identically from the same start
    moved = max(float((ref["state"][k] - ref["init"][k]).abs().max()) for k in ref["state"])
    assert moved > 1e-3
    for k in ref["init"]:
        torch.testing.assert_close(r0["init"][k], ref["init"][k], rtol=0, atol=0)


def test_resumable_sampler_shards_like_distributed_sampler():
    from torch.utils.data import DistributedSampler

    from internvideo_core.train.distributed import ResumableSampler

    data = list(range(11))
    for drop_last in (False, True):
        for rank in (0, 1):
            ours = ResumableSampler(data, shuffle=True, seed=3, drop_last=drop_last, num_replicas=2, rank=rank)
            ref = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=True, seed=3, drop_last=drop_last)
            for epoch in (0, 1):
                ours.set_epoch(epoch)
                ref.set_epoch(epoch)
                assert list(ours) == list(ref)
            ours.set_epoch(1, start=2)
            assert list(ours) == list(ref)[2:] and len(ours) == len(ref) - 2


def test_single_process_helpers_without_process_group():
    from internvideo_core.train import distributed as D

    x = torch.randn(3, 2, requires_grad=True)
    assert D.all_gather_with_grad(x) is x
    assert D.get_rank() == 0 and D.get_world_size() == 1 and D.is_main_process()
    assert D.all_reduce_mean(torch.tensor(2.5)) == 2.5
    assert D.all_gather_object({"a": 1}) == [{"a": 1}]
    info = D.init_distributed(device="cpu")
    assert (info.rank, info.world_size, info.device.type) == (0, 1, "cpu")


def test_cleanup_waits_at_a_barrier_before_destroying_unless_told_not_to(monkeypatch):
    """A rank that tears down its gloo connections while another still uses them aborts at exit (SIGABRT,
    about one torchrun run in seven of tests/test_fsdp.py before the barrier): the barrier comes first."""
    from internvideo_core.train import distributed as D

    calls = []
    monkeypatch.setattr(D.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(D.dist, "get_world_size", lambda *a, **k: 2)
    monkeypatch.setattr(D.dist, "barrier", lambda *a, **k: calls.append("barrier"))
    monkeypatch.setattr(D.dist, "destroy_process_group", lambda *a, **k: calls.append("destroy"))
    D.cleanup_distributed()
    assert calls == ["barrier", "destroy"]
    calls.clear()
    D.cleanup_distributed(synchronize=False)  # an error path: the other ranks may never reach a barrier
    assert calls == ["destroy"]
    calls.clear()
    monkeypatch.setattr(D.dist, "get_world_size", lambda *a, **k: 1)
    D.cleanup_distributed()  # one process: nothing to wait for
    assert calls == ["destroy"]
    calls.clear()
    monkeypatch.setattr(D.dist, "is_initialized", lambda: False)
    D.cleanup_distributed()
    assert calls == []


@pytest.mark.parametrize("command", ["pretrain", "finetune", "evaluate", "train-mm"])
def test_a_command_waits_for_the_other_ranks_only_when_it_succeeded(command, monkeypatch, tmp_path):
    from internvideo_core.cli import main
    from internvideo_core.train import distributed as D

    seen = []
    monkeypatch.setattr(D, "cleanup_distributed", lambda *, synchronize=True: seen.append(synchronize))
    args = [command, "--data", str(tmp_path / "missing"), "--device", "cpu"]
    if command == "evaluate":
        args += ["--checkpoint", str(tmp_path / "missing.safetensors")]
    with pytest.raises((SystemExit, Exception)):
        main(args)
    assert seen == [False]
