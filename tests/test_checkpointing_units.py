"""Training checkpoints, function by function: stale temporaries, random-state round trips, config flattening,
what is stored for each optional part, and every refusal of ``load_training_checkpoint`` (fast unit cases; the
end-to-end resume runs are in tests/test_train_resume.py)."""
from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from internvideo_core.train.checkpointing import (
    FORMAT, ResumeError, ResumeFileNotFound, atomic_torch_save, capture_rng_state, config_to_dict,
    load_training_checkpoint, preserve_rng, restore_rng_state, save_training_checkpoint,
)
from internvideo_core.train.schedule import WarmupCosine


class NotAllowed:
    """A custom object: ``torch.load(weights_only=True)`` refuses to unpickle it."""


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_save_removes_dead_temporaries_only_and_creates_the_folder(tmp_path):
    path = tmp_path / "sub" / "checkpoint.pth"
    path.parent.mkdir()
    dead = path.parent / f".checkpoint.pth.tmp-{_dead_pid()}"
    dead.write_bytes(b"half")
    other = path.parent / f".other.pth.tmp-{_dead_pid()}"
    other.write_bytes(b"half")
    assert atomic_torch_save({"a": torch.ones(2)}, path) == path
    assert not dead.exists() and other.exists()
    assert torch.load(path, weights_only=True)["a"].tolist() == [1.0, 1.0]
    deeper = tmp_path / "x" / "y" / "c.pth"
    atomic_torch_save({"b": 1}, deeper)
    assert torch.load(deeper, weights_only=True) == {"b": 1}
    assert sorted(p.name for p in deeper.parent.iterdir()) == ["c.pth"]


def test_rng_state_round_trip_restores_every_source_and_generators():
    g = torch.Generator().manual_seed(5)
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    np.random.standard_normal()  # leaves a cached gaussian in numpy's legacy state
    state = capture_rng_state({"mask": g})
    assert set(state) == {"torch", "cuda", "numpy", "python", "generators"}
    assert state["cuda"] == [] and set(state["generators"]) == {"mask"}
    assert state["numpy"]["kind"] == "MT19937" and state["numpy"]["keys"].dtype == torch.int64
    expected = (torch.rand(3), np.random.rand(3), np.random.standard_normal(), random.random(), torch.rand(2, generator=g))
    restore_rng_state(state, {"mask": g})
    got = (torch.rand(3), np.random.rand(3), np.random.standard_normal(), random.random(), torch.rand(2, generator=g))
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    assert got[2] == expected[2] and got[3] == expected[3] and torch.equal(got[4], expected[4])
    with pytest.raises(KeyError, match=r"no state for generator 'text' \(it has \['mask'\]\)"):
        restore_rng_state(state, {"text": torch.Generator()})
    restore_rng_state(state)  # without generators: fine
    assert capture_rng_state()["generators"] == {}


def test_preserve_rng_undoes_draws_even_on_error():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    with preserve_rng({"g": g}):
        torch.rand(5)
        torch.rand(5, generator=g)
        random.random()
    after = (torch.rand(1), torch.rand(1, generator=g))
    torch.manual_seed(0)
    g.manual_seed(0)
    assert torch.equal(after[0], torch.rand(1)) and torch.equal(after[1], torch.rand(1, generator=g))
    torch.manual_seed(0)
    with pytest.raises(RuntimeError):
        with preserve_rng():
            torch.rand(3)
            raise RuntimeError("boom")
    first = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(first, torch.rand(1))


def test_config_to_dict_flattens_to_plain_values():
    @dataclasses.dataclass
    class Cfg:
        path: Path = Path("/tmp/x")
        sizes: tuple = (1, (2, 3))
        nested: dict = dataclasses.field(default_factory=lambda: {1: Path("a"), "b": None})
        flag: bool = True
        rate: float = 0.5
        name: str = "n"
        n: int = 3
        nothing: None = None

    assert config_to_dict(Cfg()) == {"path": "/tmp/x", "sizes": [1, [2, 3]], "nested": {"1": "a", "b": None},
                                     "flag": True, "rate": 0.5, "name": "n", "n": 3, "nothing": None}
    assert config_to_dict(None) == {}
    assert config_to_dict({"a": Path("p"), "b": [Path("q")]}) == {"a": "p", "b": ["q"]}


def test_saved_checkpoint_layout(tmp_path):
    model = torch.nn.Linear(2, 2)
    wrapper = torch.nn.Module()
    wrapper.module = model
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = WarmupCosine(base=1.0, final=0.0, total_steps=4)
    disabled = torch.amp.GradScaler("cpu", enabled=False)
    path = save_training_checkpoint(tmp_path / "c.pth", model=wrapper, optimizer=opt, scheduler=sched,
                                    scaler=disabled, step=7, epoch=2, batch_in_epoch=3, config={"lr": 0.1},
                                    extra={"note": "x"}, generators={"g": torch.Generator().manual_seed(1)})
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["format"] == FORMAT == "internvideo-train-v1"
    assert set(ckpt["model"]) == {"weight", "bias"}  # the bare model, wrapper removed
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == 0.1
    assert ckpt["scheduler"] == {"base": 1.0, "final": 0.0, "total_steps": 4, "warmup_steps": 0,
                                 "start_warmup_value": 0.0}
    assert ckpt["scaler"] is None and ckpt["ema"] is None
    assert (ckpt["step"], ckpt["epoch"], ckpt["batch_in_epoch"]) == (7, 2, 3)
    assert ckpt["config"] == {"lr": 0.1} and ckpt["extra"] == {"note": "x"}
    assert len(ckpt["rng"]) == 1 and set(ckpt["rng"][0]) == {"step", "epoch_start"}
    assert set(ckpt["rng"][0]["step"]["generators"]) == {"g"}
    enabled = torch.amp.GradScaler("cpu", enabled=True)
    ema = torch.nn.Linear(2, 2)
    sched2 = torch.optim.lr_scheduler.StepLR(opt, step_size=2)
    ckpt = torch.load(save_training_checkpoint(tmp_path / "d.pth", model=model, scaler=enabled, ema=ema,
                                               scheduler=sched2, rng=[{"step": 1, "epoch_start": 2}]),
                      weights_only=True)
    assert ckpt["scaler"]["scale"] == enabled.state_dict()["scale"]
    assert torch.equal(ckpt["ema"]["weight"], ema.weight) and ckpt["scheduler"]["step_size"] == 2
    assert ckpt["rng"] == [{"step": 1, "epoch_start": 2}] and ckpt["optimizer"] is None
    assert ckpt["config"] == {} and ckpt["extra"] == {} and ckpt["step"] == 0


def test_load_restores_each_part_and_refuses_what_does_not_fit(tmp_path):
    torch.manual_seed(0)
    model, ema = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    sched.step()
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0)
    path = save_training_checkpoint(tmp_path / "c.pth", model=model, optimizer=opt, scheduler=sched,
                                    scaler=scaler, ema=ema, step=3)
    m2, e2 = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    o2 = torch.optim.SGD(m2.parameters(), lr=0.5)
    s2 = torch.optim.lr_scheduler.StepLR(o2, step_size=5)
    sc2 = torch.amp.GradScaler("cpu", init_scale=2.0)
    ckpt = load_training_checkpoint(path, model=m2, optimizer=o2, scheduler=s2, scaler=sc2, ema=e2)
    assert ckpt["step"] == 3 and torch.equal(m2.weight, model.weight) and torch.equal(e2.weight, ema.weight)
    assert o2.param_groups[0]["lr"] == 0.1 and s2.step_size == 2 and s2.last_epoch == 1
    assert sc2.get_scale() == 8.0
    # a file without optimizer / EMA state
    bare = save_training_checkpoint(tmp_path / "bare.pth", model=model)
    with pytest.raises(ResumeError, match="holds no optimizer state"):
        load_training_checkpoint(bare, optimizer=o2)
    with pytest.raises(ResumeError, match="holds no EMA weights"):
        load_training_checkpoint(bare, ema=e2)
    load_training_checkpoint(bare, scheduler=s2, scaler=sc2)  # absent scheduler / scaler states are skipped
    with pytest.raises(ResumeError, match="does not fit this model"):
        load_training_checkpoint(bare, model=torch.nn.Linear(3, 2))
    with pytest.raises(ResumeError, match="optimizer state does not fit"):
        load_training_checkpoint(path, optimizer=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0))
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(ResumeError, match="is empty"):
        load_training_checkpoint(empty)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ResumeError, match="cannot be read as a training checkpoint"):
        load_training_checkpoint(junk)
    listed = tmp_path / "list.pth"
    torch.save([1, 2], listed)
    with pytest.raises(ResumeError, match="not a kit training checkpoint"):
        load_training_checkpoint(listed)
    with pytest.raises(ResumeFileNotFound, match="no training checkpoint at"):
        load_training_checkpoint(tmp_path)  # a folder is not a file
    assert issubclass(ResumeError, ValueError) and issubclass(ResumeFileNotFound, FileNotFoundError)


def test_load_is_strict_weights_only_and_says_what_failed(tmp_path):
    path = save_training_checkpoint(tmp_path / "c.pth", model=torch.nn.Linear(2, 2))
    renamed = torch.nn.Sequential(torch.nn.Linear(2, 2))  # same shapes, other names ("0.weight")
    with pytest.raises(ResumeError, match=r"Resume with the same --model and --model-args as the run that wrote it\.$"):
        load_training_checkpoint(path, model=renamed)
    pickled = tmp_path / "pickled.pth"
    torch.save({"format": FORMAT, "model": {}, "x": NotAllowed()}, pickled)
    with pytest.raises(ResumeError, match="cannot be read as a training checkpoint"):
        load_training_checkpoint(pickled)  # never unpickles arbitrary objects
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ResumeError, match=r"\(UnpicklingError: "):
        load_training_checkpoint(junk)
    state = capture_rng_state()
    del state["generators"]
    with pytest.raises(KeyError, match=r"no state for generator 'g' \(it has \[\]\)"):
        restore_rng_state(state, {"g": torch.Generator()})


def test_scheduler_states_and_default_positions(tmp_path):
    @dataclasses.dataclass
    class StatefulSchedule:
        base: float = 1.0

        def state_dict(self):
            return {"own": 7}

    model = torch.nn.Linear(2, 2)
    ckpt = torch.load(save_training_checkpoint(tmp_path / "a.pth", model=model, scheduler=StatefulSchedule()),
                      weights_only=True)
    assert ckpt["scheduler"] == {"own": 7}  # its own state_dict wins over the dataclass fields
    assert (ckpt["epoch"], ckpt["batch_in_epoch"], ckpt["step"]) == (0, 0, 0)
    ckpt = torch.load(save_training_checkpoint(tmp_path / "b.pth", model=model, scheduler=object()), weights_only=True)
    assert ckpt["scheduler"] is None  # neither a state_dict nor a dataclass: nothing to store
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = save_training_checkpoint(tmp_path / "c.pth", model=model, optimizer=opt)
    with pytest.raises(ResumeError, match="resume with the settings of the run that wrote it$"):
        load_training_checkpoint(path, optimizer=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0))


def test_a_scaler_without_is_enabled_is_stored(tmp_path):
    class PlainScaler:
        def state_dict(self):
            return {"scale": 4.0}

    ckpt = torch.load(save_training_checkpoint(tmp_path / "s.pth", model=torch.nn.Linear(2, 2), scaler=PlainScaler()),
                      weights_only=True)
    assert ckpt["scaler"] == {"scale": 4.0}


def test_a_failed_save_whose_temporary_cannot_be_removed_raises_the_original_error(tmp_path):
    """The clean-up after a failed write must not mask the error: here the temporary name is taken by a folder,
    so ``open`` fails and so does the ``unlink`` of the clean-up; the caller sees the ``open`` error."""
    import os

    path = tmp_path / "checkpoint.pth"
    atomic_torch_save({"v": 1}, path)
    blocker = tmp_path / f".checkpoint.pth.tmp-{os.getpid()}"
    blocker.mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_torch_save({"v": 2}, path)
    assert torch.load(path, weights_only=True) == {"v": 1} and blocker.is_dir()
