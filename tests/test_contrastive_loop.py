"""``train_contrastive`` step by step against a hand-written reference loop: the same losses and weights to the
bit, and what the loop records (losses, epoch log, log.txt, checkpoints), how it clips, schedules, seeds, picks
captions and clamps the temperature. A tiny linear dual encoder keeps every run a fraction of a second."""
from __future__ import annotations

import contextlib
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from internvideo_core.train import distributed as D
from internvideo_core.train.contrastive import (
    ContrastiveConfig, DualEncoderTask, collate_video_text, contrastive_loss, train_contrastive,
)
from internvideo_core.train.schedule import WarmupCosine

pytestmark = pytest.mark.usefixtures("one_thread")

VOCAB, DIM = 12, 6


class TinyDual(nn.Module):
    """A linear dual encoder: ``video [B, 3, 2, 2, 2] -> [B, DIM]``, ``tokens [B, L] -> [B, DIM]`` (mean of the
    token embeddings, projected), plus ``logit_scale``."""

    def __init__(self, seed: int = 0, logit_scale: float = math.log(1 / 0.07), context_length: int | None = None):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.video_proj = nn.Parameter(torch.randn(24, DIM, generator=g) * 0.3)
        self.video_bias = nn.Parameter(torch.randn(DIM, generator=g) * 0.1)
        self.token_embedding = nn.Parameter(torch.randn(VOCAB, DIM, generator=g))
        self.text_proj = nn.Parameter(torch.randn(DIM, DIM, generator=g) * 0.5)
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale)))
        if context_length is not None:
            self.config = type("Cfg", (), {"context_length": context_length})()
        self.seen: list[torch.Tensor] = []  # the token ids each step fed to the text tower


    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        return video.flatten(1) @ self.video_proj + self.video_bias

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        self.seen.append(tokens)
        return self.token_embedding[tokens.clamp(max=VOCAB - 1)].mean(1) @ self.text_proj


def char_tokenize(texts, context_length=77):
    """Token ``i`` = letter ``i`` of the caption (``a`` -> 1 ...), zero-padded to ``context_length``."""
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for r, s in enumerate(texts):
        ids = [min(ord(ch) - 96, VOCAB - 1) if ch.isalpha() else 0 for ch in s][:context_length]
        out[r, :len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


# paraphrases with other letters (the text tower averages token embeddings, so a permutation would not differ)
CAPTIONS = [["abc", "ddd"], ["dde", "hha", "fed"], ["ggh"], ["hij", "aaa"], ["kkb", "cce"], ["aej", "bba"]]


def _items(n: int = 6, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(3, 2, 2, 2, generator=g), CAPTIONS[i % len(CAPTIONS)]) for i in range(n)]


def _loader(items, batch_size=3, shuffle=False):
    return DataLoader(items, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_video_text)


def _reference(model: TinyDual, items, cfg: ContrastiveConfig, *, rank: int = 0, shuffle: bool = False,
               batch_size: int = 3):
    """The loop written out: seeds, AdamW groups, per-step lr/wd schedule, caption draw, symmetric InfoNCE (under
    bf16 autocast if asked), clipping, the logit-scale clamp. Returns ``(losses, lrs, grad norms, captions)``."""
    torch.manual_seed(cfg.seed + rank)
    text_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 29 + rank)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg.base_lr, betas=cfg.betas, eps=cfg.eps)
    loader = DataLoader(items, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_video_text)
    spe = len(loader)
    lr_s = WarmupCosine.from_epochs(cfg.base_lr, cfg.min_lr, cfg.epochs, spe, cfg.warmup_epochs, cfg.warmup_lr,
                                    cfg.warmup_steps)
    wd_s = None if cfg.weight_decay_end is None else WarmupCosine(cfg.weight_decay, cfg.weight_decay_end,
                                                                  cfg.epochs * spe)
    losses, lrs, norms, picked = [], [], [], []
    step = 0
    for _ in range(cfg.epochs):
        for video, caps in loader:
            if cfg.max_steps is not None and step >= cfg.max_steps:
                return losses, lrs, norms, picked
            lr = lr_s(step)
            for gr in opt.param_groups:
                gr["lr"] = lr
                if wd_s is not None and gr["weight_decay"] > 0:
                    gr["weight_decay"] = wd_s(step)
            texts = []
            for options in caps:
                k = int(torch.randint(len(options), (1,), generator=text_gen)) if cfg.paraphrase else 0
                texts.append(options[k])
            picked.append(texts)
            tokens = char_tokenize(texts, context_length=77)
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if cfg.precision == "bf16" else contextlib.nullcontext()
            with ctx:
                loss = contrastive_loss(model.encode_video(video), model.encode_text(tokens), model.logit_scale,
                                        max_logit_scale=cfg.max_logit_scale)
            opt.zero_grad(set_to_none=True)
            loss.float().backward()
            if cfg.clip_grad is not None:
                norms.append(float(torch.nn.utils.clip_grad_norm_(list(model.parameters()), cfg.clip_grad)))
            opt.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(cfg.max_logit_scale))
            losses.append(float(loss.detach()))
            lrs.append(lr)
            step += 1
    return losses, lrs, norms, picked


def _cfg(**kw):
    base = dict(epochs=2, base_lr=0.05, min_lr=0.001, warmup_lr=0.01, warmup_epochs=0.5, weight_decay=0.3,
                progress=False, device="cpu", seed=3)
    base.update(kw)
    return ContrastiveConfig(**base)


def _assert_same_weights(a: nn.Module, b: nn.Module):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name


def _pair(logit_scale: float = 4.9):
    model, ref_model = TinyDual(logit_scale=logit_scale), TinyDual(logit_scale=logit_scale)
    return model, ref_model


def test_train_contrastive_equals_the_reference_loop_step_by_step(tmp_path, capsys):
    cfg = _cfg(clip_grad=0.5, weight_decay_end=0.1, max_logit_scale=50.0, output_dir=str(tmp_path))
    # logit_scale starts above ln(50): the first step clamps it back
    model, ref_model = _pair(4.9)
    items = _items()
    extra = {0: {"recall": 10.0}, 1: {"recall": 12.5}}
    res = train_contrastive(model, _loader(items), cfg, tokenize=char_tokenize, end_of_epoch=lambda e: extra[e])
    losses, lrs, norms, picked = _reference(ref_model, items, cfg)
    assert len(losses) == 4 and res.step == 4
    assert res.losses == losses  # exact, step by step
    _assert_same_weights(model, ref_model)
    assert float(model.logit_scale.detach()) == pytest.approx(math.log(50.0), abs=0.1)
    # paraphrases were drawn (not always the first caption)
    assert any(t != [c[0] for c in CAPTIONS[i:i + 3]] for t, i in zip(picked, (0, 3, 0, 3)))
    assert [model.seen[k][:, 0].tolist() for k in range(4)] == [[ord(t[0]) - 96 for t in ts] for ts in picked]
    # the schedule reaches the loop: one warmup step from warmup_lr, then cosine over 3 steps to min_lr
    assert lrs == [0.01, 0.05] + [0.001 + 0.5 * 0.049 * (1 + math.cos(math.pi * i / 3)) for i in (1, 2)]
    # clipping was active (the raw norms are above the cap); the epoch log holds the means and the callback's
    assert min(norms) > 0.5
    assert [e["epoch"] for e in res.epochs] == [0, 1] and [e["step"] for e in res.epochs] == [2, 4]
    assert [e["recall"] for e in res.epochs] == [10.0, 12.5]
    assert res.epochs[0]["loss"] == pytest.approx((losses[0] + losses[1]) / 2, rel=1e-12)
    assert res.epochs[1]["lr"] == pytest.approx((lrs[2] + lrs[3]) / 2, rel=1e-12)
    assert res.epochs[1]["grad_norm"] == pytest.approx((norms[2] + norms[3]) / 2, rel=1e-12)
    # the printed log lines, and no progress bar with progress=False
    out = capsys.readouterr()
    printed = out.out.splitlines()
    assert [x.split("  ")[0] for x in printed] == ["[train-mm] epoch 0 (1 of 2) step 2/4",
                                                   "[train-mm] epoch 1 (2 of 2) step 4/4"]
    assert printed[1].endswith("recall 12.5") and out.err == ""
    # log.txt: one JSON line per epoch, the same numbers
    lines = [json.loads(x) for x in (tmp_path / "log.txt").read_text().splitlines()]
    assert lines == [pytest.approx(e, rel=1e-12) for e in res.epochs]
    # the checkpoint at the end: step, epoch, the config, the caption generator's state
    assert res.checkpoint == tmp_path / "checkpoint.pth"
    ckpt = torch.load(res.checkpoint, weights_only=True)
    assert (ckpt["step"], ckpt["epoch"], ckpt["batch_in_epoch"]) == (4, 1, 2)
    assert ckpt["config"]["clip_grad"] == 0.5 and ckpt["config"]["max_logit_scale"] == 50.0
    assert set(ckpt["rng"][0]["step"]["generators"]) == {"text"}
    assert torch.equal(ckpt["model"]["token_embedding"], ref_model.token_embedding.detach())


def test_each_rank_seeds_torch_with_seed_plus_rank_and_its_own_caption_generator(monkeypatch):
    """Rank 1 of a (simulated) two-process run: the shuffling order comes from ``seed + rank``, the paraphrase
    draws from a generator seeded ``seed * 1000 + 29 + rank``."""
    monkeypatch.setattr(D, "get_rank", lambda: 1)
    cfg = _cfg(seed=5, epochs=1)
    model, ref_model = _pair(2.0)
    items = _items(9)
    res = train_contrastive(model, _loader(items, shuffle=True), cfg, tokenize=char_tokenize)
    losses, _, _, picked = _reference(ref_model, items, cfg, rank=1, shuffle=True)
    assert res.losses == losses and len(losses) == 3
    assert [model.seen[k][:, 0].tolist() for k in range(3)] == [[ord(t[0]) - 96 for t in ts] for ts in picked]
    _assert_same_weights(model, ref_model)
    # rank 0 would have trained on another order or other captions
    ref0 = TinyDual(logit_scale=2.0)
    assert _reference(ref0, items, cfg, rank=0, shuffle=True)[0] != losses


def test_first_caption_bf16_autocast_and_max_steps_follow_the_config():
    cfg = _cfg(paraphrase=False, precision="bf16", max_steps=3, warmup_epochs=0)
    model, ref_model = _pair(2.0)
    items = _items()
    res = train_contrastive(model, _loader(items), cfg, tokenize=char_tokenize)
    losses, _, _, picked = _reference(ref_model, items, cfg)
    assert len(losses) == 3 and res.losses == losses and res.step == 3
    assert picked[0] == [c[0] for c in CAPTIONS[:3]]
    assert [model.seen[k][:, 0].tolist() for k in range(3)] == [[ord(t[0]) - 96 for t in ts] for ts in picked]
    _assert_same_weights(model, ref_model)
    fp32, _ = _pair(2.0)
    assert train_contrastive(fp32, _loader(items), _cfg(paraphrase=False, max_steps=3, warmup_epochs=0),
                             tokenize=char_tokenize).losses != losses


def test_logit_scale_is_clamped_at_zero_from_below():
    model = TinyDual(logit_scale=-1.0)
    train_contrastive(model, _loader(_items()), _cfg(max_steps=1), tokenize=char_tokenize)
    assert float(model.logit_scale.detach()) == 0.0


def test_string_captions_use_the_kit_tokenizer_at_the_models_context_length():
    from internvideo_core.text import tokenize

    items = [(torch.zeros(3, 2, 2, 2), f"a shape moves {w}") for w in ("left", "right", "up")]
    texts = [c for _, c in items]
    model = TinyDual(context_length=16)
    train_contrastive(model, _loader(items), _cfg(max_steps=1))
    assert model.seen[0].equal(tokenize(texts, context_length=16))
    model = TinyDual(context_length=16)  # the config wins over the model
    train_contrastive(model, _loader(items), _cfg(max_steps=1, context_length=12))
    assert model.seen[0].equal(tokenize(texts, context_length=12))
    model = TinyDual()  # no config: CLIP's 77
    train_contrastive(model, _loader(items), _cfg(max_steps=1))
    assert model.seen[0].equal(tokenize(texts, context_length=77))


def test_the_engine_is_wrapped_for_ddp_with_unused_parameters_on_the_run_device(monkeypatch):
    """The dual encoder's MLM embedding takes no part in the contrastive loss: DDP must be told so
    (``find_unused_parameters=True``), else it fails on the second step of a multi-process run."""
    import internvideo_core.train.contrastive as C

    calls = []

    def fake_wrap(module, device, find_unused_parameters=False):
        calls.append((module, device, find_unused_parameters))
        return module

    monkeypatch.setattr(C, "wrap_ddp", fake_wrap)
    model = TinyDual()
    train_contrastive(model, _loader(_items()), _cfg(max_steps=1, max_logit_scale=20.0), tokenize=char_tokenize)
    ((task, device, unused),) = calls
    assert isinstance(task, DualEncoderTask) and task.model is model and task.gather is True
    assert task.max_logit_scale == 20.0
    assert device == torch.device("cpu") and unused is True


def test_the_model_and_the_caption_tokens_go_to_the_configured_device():
    """``meta`` stands in for a GPU: the weights move there, and the tokens of string captions (made on the
    CPU) follow the video to it before the text tower sees them."""
    model = TinyDual()
    res = train_contrastive(model, _loader(_items()), _cfg(device="meta", max_steps=0), tokenize=char_tokenize)
    assert res.losses == [] and all(p.device.type == "meta" for p in model.parameters())
    model = TinyDual()
    with pytest.raises(RuntimeError, match="cannot be called on meta tensors"):  # a meta loss has no value
        train_contrastive(model, _loader(_items()), _cfg(device="meta", max_steps=1), tokenize=char_tokenize)
    assert [t.device.type for t in model.seen] == ["meta"]


class _NoLen:
    """A loader without ``len()`` (a stream): ``steps_per_epoch`` in the config says how many batches."""

    def __init__(self, loader):
        self.loader = loader

    def __iter__(self):
        return iter(self.loader)


def test_a_loader_without_len_trains_with_steps_per_epoch_from_the_config():
    cfg = _cfg(steps_per_epoch=2)
    model, ref_model = _pair(2.0)
    items = _items()
    res = train_contrastive(model, _NoLen(_loader(items)), cfg, tokenize=char_tokenize)
    assert res.losses == _reference(ref_model, items, cfg)[0] and res.step == 4


class _Crashing(list):
    """A list of batches whose iteration fails before batch ``crash_at`` while armed (a killed run)."""

    crash_at: int | None = None

    def __iter__(self):
        for i, batch in enumerate(list.__iter__(self)):
            if i == self.crash_at:
                raise OSError("simulated crash")
            yield batch


def test_a_crashed_run_resumes_from_its_step_checkpoint_exactly(tmp_path):
    """``checkpoint_every=1`` leaves a checkpoint after the first step; resuming it (caption generator
    included) gives the remaining losses and final weights of the uninterrupted run."""
    items = _items()
    cfg = _cfg(checkpoint_every=1, output_dir=str(tmp_path))
    batches = _Crashing(_loader(items))
    batches.crash_at = 1
    model, ref_model = _pair(2.0)
    with pytest.raises(OSError, match="simulated crash"):
        train_contrastive(model, batches, cfg, tokenize=char_tokenize)
    ckpt = torch.load(tmp_path / "checkpoint.pth", weights_only=True)
    assert (ckpt["step"], ckpt["epoch"], ckpt["batch_in_epoch"]) == (1, 0, 1)
    batches.crash_at = None
    resumed = TinyDual(seed=9)  # other weights: all of them come from the checkpoint
    res = train_contrastive(resumed, batches, cfg, tokenize=char_tokenize, resume=str(tmp_path / "checkpoint.pth"))
    losses = _reference(ref_model, items, cfg)[0]
    assert res.losses == losses[1:] and res.step == 4
    _assert_same_weights(resumed, ref_model)


def test_progress_true_shows_a_bar_per_epoch(capsys):
    train_contrastive(TinyDual(), _loader(_items()), _cfg(max_steps=1, progress=True), tokenize=char_tokenize)
    assert "train-mm epoch 0 (1 of 2)" in capsys.readouterr().err


# ------------------------------------------------------------------------------- the loss and its inputs
def _fake_two_ranks(monkeypatch):
    """Rank 1 of two: the other rank's rows are this rank's rows with their features rolled by one."""
    monkeypatch.setattr(D, "is_dist", lambda: True)
    monkeypatch.setattr(D, "get_rank", lambda: 1)
    monkeypatch.setattr(D, "all_gather_with_grad", lambda x: torch.cat([x.roll(1, dims=1), x]))


def _gathered_reference(v, t, scale):
    vn, tn = F.normalize(v, dim=-1), F.normalize(t, dim=-1)
    all_v, all_t = torch.cat([vn.roll(1, dims=1), vn]), torch.cat([tn.roll(1, dims=1), tn])
    labels = torch.arange(len(v), 2 * len(v))  # this rank's rows sit after rank 0's
    return 0.5 * (F.cross_entropy(scale * vn @ all_t.t(), labels) + F.cross_entropy(scale * tn @ all_v.t(), labels))


def test_loss_gathers_by_default_and_labels_this_ranks_rows_after_the_others(monkeypatch):
    g = torch.Generator().manual_seed(4)
    v, t = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    plain = contrastive_loss(v, t, torch.tensor(1.5))
    _fake_two_ranks(monkeypatch)
    expected = _gathered_reference(v, t, math.exp(1.5))
    torch.testing.assert_close(contrastive_loss(v, t, torch.tensor(1.5)), expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(contrastive_loss(v, t, torch.tensor(1.5), gather=False), plain, rtol=0, atol=0)
    assert abs(float(expected) - float(plain)) > 0.1

    class Fake(nn.Module):
        def __init__(self):
            super().__init__()
            self.logit_scale = nn.Parameter(torch.tensor(1.5))

        def encode_video(self, video):
            return video

        def encode_text(self, tokens):
            return tokens

    torch.testing.assert_close(DualEncoderTask(Fake())(v, t), expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(DualEncoderTask(Fake(), gather=False)(v, t), plain, rtol=0, atol=0)


def test_loss_labels_live_on_the_embeddings_device():
    """``meta`` stands in for a GPU: labels made on the CPU would not match the logits' device."""
    v, t = torch.randn(3, 4, device="meta"), torch.randn(3, 4, device="meta")
    assert contrastive_loss(v, t, torch.tensor(1.0, device="meta")).device.type == "meta"


def test_caption_draws_come_from_the_given_generator_only():
    from internvideo_core.train.contrastive import select_captions

    tok = lambda texts, context_length=77: torch.tensor([[len(s)] for s in texts])  # noqa: E731
    ids = torch.arange(8 * 5 * 2).reshape(8, 5, 2)
    torch.manual_seed(0)
    gen, twin = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    got = select_captions(ids, gen, tok)
    assert got.equal(ids[torch.arange(8), torch.randint(5, (8,), generator=twin)])
    assert torch.equal(gen.get_state(), twin.get_state())
    caps = [["a", "bb", "ccc"], ["dddd", "eeeee"], ["f"]]
    got = select_captions(caps, gen, tok).flatten().tolist()
    picks = [int(torch.randint(len(c), (1,), generator=twin)) for c in caps]
    assert got == [len(c[k]) for c, k in zip(caps, picks)]
    assert torch.equal(gen.get_state(), twin.get_state())
