"""The released checkpoints once on a real clip: top-5 results computed by the kit, stored with their provenance.

Notebooks 03 and 05 show what a released InternVideo model says about ``arm_wrestling_demo.mp4``. Where the
weights are in the cache they compute it live; where they are not (the machines that execute the tutorial cannot
download them) they show the result stored in ``internvideo_core/assets/released_results.json``, which a
maintainer with the weights writes once:

    python tools/precompute_released_results.py          # every entry of RELEASED_EXAMPLES that is cached

Each stored entry says what produced it: the checkpoint name and the sha256 of the file that was read (checked
against the zoo's published digest when there is one), the clip and its sha256, the protocol, the kit version and
git commit, torch's version, the device and the date. :func:`stored_result` refuses an entry whose clip digest no
longer matches the shipped clip or whose fields are missing, so a stale or hand-edited number is never shown as
the model's.
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from internvideo_core.paths import PACKAGE_DIR

__all__ = ["RESULTS_FILE", "RELEASED_EXAMPLES", "ReleasedExample", "ReleasedResultError", "classify_top5",
           "zero_shot_top5", "compute_result", "stored_result", "update_results", "describe"]

#: Where the stored results live (shipped with the package).
RESULTS_FILE = PACKAGE_DIR / "assets" / "released_results.json"
_REQUIRED = ("checkpoint", "task", "clip", "clip_sha256", "protocol", "top5", "checkpoint_sha256",
             "published_sha256", "kit_version", "git_commit", "torch", "device", "date", "command")


class ReleasedResultError(ValueError):
    """A stored released-model result is malformed or does not belong to the shipped clip."""


@dataclass(frozen=True)
class ReleasedExample:
    """One released checkpoint and what the notebooks show of it.

    ``task``: ``"classification"`` (the fine-tuned classifier's own head, the official 5 x 3 test views averaged)
    or ``"zero_shot"`` (the dual encoder with the 28 official Kinetics templates over the 400 class names).
    ``notebook``: the notebook that shows it."""
    checkpoint: str
    task: str
    notebook: str
    protocol: str


#: The released models the notebooks show on ``arm_wrestling_demo.mp4``.
RELEASED_EXAMPLES: dict[str, ReleasedExample] = {
    "videomae_vit_base_k400": ReleasedExample(
        "videomae_vit_base_k400", "classification", "03_action_recognition",
        "VideoMAE-B fine-tuned on Kinetics-400: 16 frames every 4th, 5 clips x 3 crops of 224 px, softmax averaged"),
    "internvideo_mm_b16_pretrain": ReleasedExample(
        "internvideo_mm_b16_pretrain", "zero_shot", "05_zero_shot",
        "InternVideo-MM B/16 zero-shot: 8 frames, 256 -> 224 centre crop, 28 Kinetics templates x 400 classes, "
        "per-template softmax averaged"),
}


def classify_top5(model: Callable[[torch.Tensor], torch.Tensor], preprocess: Any, labels: list[str],
                  video: str | Path) -> list[tuple[str, float]]:
    """Top-5 ``(class name, probability)`` of a classifier on ``video`` with its official test views:
    ``preprocess(video, views="test")`` -> ``[V, 3, T, H, W]``, softmax per view, averaged over the V views."""
    views = preprocess(video, views="test").to(_device_of(model))
    with torch.no_grad():
        probs = model(views).float().softmax(-1).mean(0)  # [C]
    top = probs.topk(min(5, probs.numel()))
    return [(labels[i], round(float(p), 4)) for p, i in zip(top.values, top.indices.tolist())]


def zero_shot_top5(model: Any, preprocess: Any, labels: list[str], video: str | Path) -> list[tuple[str, float]]:
    """Top-5 ``(class name, probability)`` of a dual encoder by zero-shot classification over ``labels`` with the
    28 official Kinetics templates (:data:`~internvideo_core.eval.zeroshot.KINETICS_TEMPLATES`)."""
    from internvideo_core.eval.zeroshot import (KINETICS_TEMPLATES, class_text_embeddings, clean_classname,
                                                zero_shot_classify)
    from internvideo_core.text import tokenize

    names = [clean_classname(c) for c in labels]
    with torch.no_grad():
        text = class_text_embeddings(names, KINETICS_TEMPLATES, model.encode_text, tokenize)  # [28, C, E]
        emb = model.encode_video(preprocess(video).to(_device_of(model)))  # [1, E]
        probs = zero_shot_classify(emb, text, logit_scale=float(model.logit_scale.exp()))[0]
    top = probs.topk(min(5, probs.numel()))
    return [(names[i], round(float(p), 4)) for p, i in zip(top.values, top.indices.tolist())]


def _device_of(model: Any) -> torch.device:
    params = getattr(model, "parameters", None)
    first = next(iter(params()), None) if callable(params) else None
    return first.device if first is not None else torch.device("cpu")


def compute_result(checkpoint: str, clip: str = "arm_wrestling_demo.mp4", *, cache_dir: str | Path | None = None,
                   device: str = "cpu", command: str = "python tools/precompute_released_results.py") -> dict:
    """Run the released ``checkpoint`` (from the cache; never downloads) on the shipped ``clip`` and return the
    entry :func:`update_results` stores: the top-5 and its provenance."""
    from internvideo_core import __version__
    from internvideo_core.hub import sha256_file
    from internvideo_core.paths import sample_video
    from internvideo_core.pretrained import load_pretrained
    from internvideo_core.registry import cached_path, get_pretrained
    from internvideo_core.reproduction.machine import git_commit

    example = _example(checkpoint)
    path = cached_path(checkpoint, cache_dir)
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint}: no cached file at {path}; `internvideo zoo download {checkpoint}` "
                                f"first (this function never downloads)")
    digest, published = sha256_file(path), get_pretrained(checkpoint).sha256
    if published is not None and digest != published:
        raise ReleasedResultError(f"{path}: sha256 {digest} differs from the published {published}; "
                                  f"delete the file and download it again")
    video = sample_video(clip)
    model, preprocess, labels = load_pretrained(checkpoint, checkpoint_path=path, device=device)
    run = classify_top5 if example.task == "classification" else zero_shot_top5
    top5 = run(model, preprocess, labels, video)
    return {"checkpoint": checkpoint, "task": example.task, "clip": clip, "clip_sha256": sha256_file(video),
            "protocol": example.protocol, "top5": [[name, p] for name, p in top5], "checkpoint_sha256": digest,
            "published_sha256": published, "kit_version": __version__, "git_commit": git_commit(),
            "torch": torch.__version__, "device": str(device),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"), "command": command}


def _example(checkpoint: str) -> ReleasedExample:
    if checkpoint not in RELEASED_EXAMPLES:
        raise KeyError(f"{checkpoint!r} is not a released example; choose from {sorted(RELEASED_EXAMPLES)}")
    return RELEASED_EXAMPLES[checkpoint]


def _read(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ReleasedResultError(f"{path}: not readable JSON ({err}); restore it from git") from err
    if not isinstance(data, dict) or not isinstance(data.get("results", {}), dict):
        raise ReleasedResultError(f"{path}: expected {{\"results\": {{checkpoint: entry}}}}; restore it from git")
    return data.get("results", {})


def _validate(entry: Any, path: Path, checkpoint: str) -> dict:
    if not isinstance(entry, dict):
        raise ReleasedResultError(f"{path}: the entry of {checkpoint!r} is not an object")
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise ReleasedResultError(f"{path}: the entry of {checkpoint!r} lacks {missing}; recompute it with "
                                  f"`python tools/precompute_released_results.py`")
    top5 = entry["top5"]
    ok = isinstance(top5, list) and 0 < len(top5) <= 5 and all(
        isinstance(r, list) and len(r) == 2 and isinstance(r[0], str) and isinstance(r[1], (int, float))
        and 0.0 <= r[1] <= 1.0 for r in top5)
    if not ok or entry["checkpoint"] != checkpoint:
        raise ReleasedResultError(f"{path}: the entry of {checkpoint!r} is malformed (expected its own name and "
                                  f"top5 = up to five [class name, probability in 0..1] pairs)")
    return entry


def stored_result(checkpoint: str, clip: str = "arm_wrestling_demo.mp4", *, path: str | Path = RESULTS_FILE
                  ) -> dict | None:
    """The stored entry of ``checkpoint`` on ``clip``, or None when none was stored. Raises
    :class:`ReleasedResultError` when the entry is malformed or was computed on a different clip file (its
    sha256 differs from the shipped clip's)."""
    from internvideo_core.hub import sha256_file
    from internvideo_core.paths import sample_video

    _example(checkpoint)
    path = Path(path)
    entry = _read(path).get(checkpoint)
    if entry is None:
        return None
    entry = _validate(entry, path, checkpoint)
    if entry["clip"] != clip:
        return None
    if entry["clip_sha256"] != sha256_file(sample_video(clip)):
        raise ReleasedResultError(f"{path}: the entry of {checkpoint!r} was computed on a different {clip} "
                                  f"(sha256 differs); recompute it with `python tools/precompute_released_results.py`")
    return entry


def update_results(entries: list[dict], path: str | Path = RESULTS_FILE) -> Path:
    """Merge ``entries`` (from :func:`compute_result`) into the results file, one per checkpoint."""
    path = Path(path)
    results = _read(path)
    for entry in entries:
        results[entry["checkpoint"]] = _validate(entry, path, entry["checkpoint"])
    doc = {"about": "Released InternVideo checkpoints on the kit's sample clips, computed by the kit "
                    "(internvideo_core.reproduction.released); see each entry's provenance.",
           "results": dict(sorted(results.items()))}
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def describe(entry: dict) -> str:
    """A few lines for a notebook: the top-5 and where it came from."""
    rows = "\n".join(f"  {p * 100:5.1f} %  {name}" for name, p in entry["top5"])
    return (f"{entry['checkpoint']} on {entry['clip']} (stored result, computed {entry['date']} with kit "
            f"{entry['kit_version']} at {entry['git_commit']}, torch {entry['torch']} on {entry['device']}; "
            f"weights sha256 {entry['checkpoint_sha256'][:12]}...):\n{rows}\nProtocol: {entry['protocol']}.")
