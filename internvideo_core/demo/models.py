"""Which model each part of the demo uses, where it comes from, and how a clip is prepared for it.

Three tasks, each served by one model:

==============  ==================================  ===============================================================
task            released checkpoint (kit cache)     tutorial checkpoint (``runs/checkpoints/<profile>/``)
==============  ==================================  ===============================================================
recognition     ``videomae_vit_base_k400`` ...      ``videomae_synth_classifier.safetensors`` (notebook 03)
video_text      ``internvideo_mm_l14_pretrain``,    ``mm_synth.safetensors`` (notebook 04)
                ``internvideo_mm_b16_pretrain``
reconstruction  ``videomae_pretrain_base_hybrid``   ``videomae_synth_pretrain.safetensors`` (notebook 02)
==============  ==================================  ===============================================================

:func:`choose_model` looks at files only (no network, no download, no weights read): with ``full=True`` a
released checkpoint already in the cache comes first and the tutorial file second; otherwise the tutorial file
comes first. When neither exists the choice carries a message saying what is missing and how to get it.
:func:`load_model` then builds the model, loads the weights strictly and returns a :class:`DemoModel` with the
frame sampling and preprocessing of that model (for released checkpoints the zoo entry's input protocol through
:func:`~internvideo_core.pretrained.load_pretrained`, one view to stay CPU-friendly; the recipe's own
preprocessing for the tutorial models).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from internvideo_core.embedded import square_uint8

__all__ = [
    "TASKS", "TASK_TITLES", "RELEASED", "ModelChoice", "DemoModel", "ModelUnavailable", "choose_model",
    "load_model", "tutorial_checkpoint_path", "video_text_defaults",
    "mm_recipe_from_metadata", "shown_path", "square_uint8",
]

TASKS: tuple[str, ...] = ("recognition", "video_text", "reconstruction")
TASK_TITLES = {
    "recognition": "action recognition (VideoMAE classifier)",
    "video_text": "zero-shot labels and retrieval (InternVideo-MM dual encoder)",
    "reconstruction": "masked reconstruction (VideoMAE autoencoder)",
}
#: Released checkpoints for each task, in order of preference (the first one found in the cache is used).
RELEASED: dict[str, tuple[str, ...]] = {
    "recognition": ("videomae_vit_base_k400", "videomae_vit_large_k400", "videomae_vit_base_k710",
                    "videomae_vit_large_k700", "videomae_vit_base_ssv2", "videomae_vit_large_ssv2"),
    "video_text": ("internvideo_mm_l14_pretrain", "internvideo_mm_b16_pretrain"),
    "reconstruction": ("videomae_pretrain_base_hybrid", "videomae_pretrain_large_hybrid",
                       "videomae_pretrain_huge_hybrid"),
}
_NOTEBOOK = {"recognition": "03", "video_text": "04", "reconstruction": "02"}
_DEFAULT_KINETICS_LABELS = ("arm wrestling", "playing guitar", "riding a bike", "dancing ballet",
                            "swimming backstroke", "shaking hands")


def video_text_defaults(kind: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """``(candidate labels, prompt templates, retrieval query)`` offered with a released (``kind="released"``,
    Kinetics names and the 28 CLIP Kinetics templates) or a tutorial dual encoder (SynthMotion motions, written
    as the captions are: "a red shape moves to the left", ensembled over the eight colours)."""
    if kind == "released":
        from internvideo_core.eval.zeroshot import KINETICS_TEMPLATES

        return _DEFAULT_KINETICS_LABELS, tuple(KINETICS_TEMPLATES), "two people arm wrestling"
    from internvideo_core.data import synthmotion_annotations as A
    from internvideo_core.data.synthmotion import KNOWN_MOTIONS
    from internvideo_core.recipes.mm_synth import colour_templates

    labels = tuple(f"shape {A.MOTION_PHRASES[m][0]}" for m in KNOWN_MOTIONS)
    return labels, tuple(colour_templates(("a {}",))), "a red circle moves to the left"


class ModelUnavailable(RuntimeError):
    """The task has no usable model; the message says what is missing and what to do."""


def shown_path(path: str | Path | None) -> str:
    """``path`` as the page may show it: relative to the kit's runs folder (``runs/...``), checkpoint cache
    (``cache/...``) or embedded models (``internvideo_core/assets/models/...``), else the file name only: never an absolute path of the server (user and home folders)."""
    if path is None:
        return ""
    from internvideo_core.embedded import models_dir
    from internvideo_core.paths import cache_dir, runs_dir

    real = Path(path).expanduser().resolve()
    for label, root in (("runs", runs_dir()), ("cache", cache_dir()), ("internvideo_core/assets/models", models_dir())):
        try:
            return f"{label}/{real.relative_to(root.expanduser().resolve()).as_posix()}"
        except ValueError:
            continue
    return Path(path).name


@dataclass(frozen=True)
class ModelChoice:
    """Where the model of ``task`` comes from: ``kind`` ``"released"`` / ``"tutorial"`` / ``"embedded"`` (shipped
    in the package, :mod:`internvideo_core.embedded`) / ``"checkpoint"`` (``--checkpoint``: a file with its
    ``config.json``) / ``"missing"``; ``name`` (checkpoint, architecture or recipe name), ``path``; ``problem``
    explains a missing or unusable model; ``note``: what the page adds (the embedded model's held-out numbers)."""

    task: str
    kind: str
    name: str
    path: Path | None
    problem: str = ""
    profile: str = ""
    note: str = ""

    @property
    def available(self) -> bool:
        return not self.problem and self.path is not None

    def describe(self) -> str:
        """One Markdown line for the page: ``model: <name> from <path>``, or the problem."""
        if not self.available:
            return self.problem
        what = {"released": "released checkpoint", "tutorial": f"tutorial model, {self.profile} profile",
                "embedded": "embedded SynthMotion model, shipped with the kit",
                "checkpoint": "your checkpoint (--checkpoint)"}[self.kind]
        return f"model: **{self.name}** from `{shown_path(self.path)}` ({what})" + (f"; {self.note}" if self.note else "")


@dataclass
class DemoModel:
    """A loaded model with its input protocol.

    ``frame_indices(num_frames) -> int64 [T]``: which frames of a video it reads; ``preprocess(uint8 [T, H, W, 3])
    -> float [V, 3, T, S, S]`` (V views). Recognition: ``classes``. Video-text: ``tokenize(list[str]) -> tokens``,
    default prompt ``templates`` (each with ``{}``), ``default_labels``, ``default_query``. Reconstruction: the
    ``pixel_mean`` / ``pixel_std`` the input was normalised with.
    """

    choice: ModelChoice
    model: nn.Module
    frame_indices: Callable[[int], np.ndarray]
    preprocess: Callable[[torch.Tensor], torch.Tensor]
    protocol: str
    classes: tuple[str, ...] = ()
    tokenize: Callable[[Sequence[str]], torch.Tensor] | None = None
    templates: tuple[str, ...] = ()
    default_labels: tuple[str, ...] = ()
    default_query: str = ""
    pixel_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    pixel_std: tuple[float, float, float] = (0.229, 0.224, 0.225)


# ------------------------------------------------------------------------------------------ checkpoint paths
def tutorial_checkpoint_path(task: str, profile: str) -> Path:
    """The file the tutorial notebooks write for ``task`` (see the module table)."""
    from internvideo_core.recipes import mm_synth, videomae_synth

    if task == "recognition":
        return videomae_synth.classifier_checkpoint_path(profile)
    if task == "video_text":
        return mm_synth.checkpoint_path(profile)
    if task == "reconstruction":
        return videomae_synth.pretrain_checkpoint_path(profile)
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def _metadata(path: Path) -> dict[str, str] | None:
    """safetensors metadata, or None when the file cannot be opened as safetensors."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except Exception:  # any unreadable file is reported the same way
        return None


# --------------------------------------------------------------------------------------------------- choice
def _cached_release(task: str) -> ModelChoice | None:
    from internvideo_core.registry import cached_path, list_pretrained

    known = set(list_pretrained())
    for name in RELEASED[task]:
        if name in known:
            path = cached_path(name)
            if path.is_file() and path.stat().st_size > 0:
                return ModelChoice(task, "released", name, path)
    return None


def _tutorial_choice(task: str, profile: str) -> ModelChoice:
    from internvideo_core.recipes import mm_synth, videomae_synth

    path = tutorial_checkpoint_path(task, profile)
    name = {"recognition": "videomae_vit_tiny_synth", "video_text": "internvideo_mm_tiny_synth",
            "reconstruction": "videomae_pretrain_tiny_synth"}[task]
    run = f"`make run`, or `internvideo notebooks run --profile {profile} --only {_NOTEBOOK[task]}`"
    if profile not in videomae_synth.RECIPES or profile not in mm_synth.RECIPES:
        return ModelChoice(task, "tutorial", name, None, f"unknown profile {profile!r}; use one of "
                           f"{sorted(videomae_synth.RECIPES)}", profile)
    if not path.is_file():
        return ModelChoice(task, "tutorial", name, None,
                           f"`{shown_path(path)}` does not exist (notebook {_NOTEBOOK[task]} writes it: {run})", profile)
    meta = _metadata(path)
    if meta is None:
        return ModelChoice(task, "tutorial", name, None,
                           f"`{shown_path(path)}` is not a readable safetensors file; delete it and rerun notebook "
                           f"{_NOTEBOOK[task]} ({run})", profile)
    if task in ("recognition", "reconstruction"):
        want = videomae_synth.get_recipe(profile).fingerprint()
        if meta.get("fingerprint") != want:
            return ModelChoice(task, "tutorial", name, None,
                               f"`{shown_path(path)}` was written for another version of the {profile} recipe (fingerprint "
                               f"{meta.get('fingerprint')!r}, expected {want!r}); rerun notebook "
                               f"{_NOTEBOOK[task]} ({run})", profile)
    return ModelChoice(task, "tutorial", name, path, "", profile)


def _embedded_note(task: str, card: dict[str, Any]) -> str:
    from internvideo_core.embedded import card_summary

    return card_summary(task, card)


def _embedded_choice(task: str, profile: str) -> ModelChoice | None:
    """The model shipped in the package for ``task`` (tutorial profile only), or None when absent."""
    from internvideo_core.embedded import embedded_card, embedded_for_task, embedded_path

    if profile != "tutorial":
        return None
    name = embedded_for_task(task)
    path = embedded_path(name)
    if not path.is_file():
        return None
    return ModelChoice(task, "embedded", name, path, "", profile, note=_embedded_note(task, embedded_card(name)))


def choose_model(task: str, profile: str = "tutorial", full: bool = False) -> ModelChoice:
    """Pick the model of ``task`` from the files present (never downloads, never reads weights).

    Local models: the tutorial notebooks' file when it is newer than the embedded model shipped in the package
    (:mod:`internvideo_core.embedded`, tutorial profile), else the embedded model, else the tutorial file.
    ``full``: prefer a released checkpoint in the kit cache (``INTERNVIDEO_CACHE``) over the local models;
    without ``full`` a cached released checkpoint is the fallback.
    """
    from internvideo_core.embedded import prefer_tutorial

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    released = _cached_release(task)
    tutorial = _tutorial_choice(task, profile)
    embedded = _embedded_choice(task, profile)
    local = [embedded, tutorial]
    if embedded is not None and tutorial.available and prefer_tutorial(embedded.name, tutorial.path):
        local = [tutorial, embedded]
    order = [released, *local] if full else [*local, released]
    for choice in order:
        if choice is not None and choice.available:
            return choice
    first = RELEASED[task][0]
    problem = (f"**No model for {TASK_TITLES[task]}.** The demo looks for the tutorial model: {tutorial.problem}; "
               f"and for a released checkpoint in the kit cache (`INTERNVIDEO_CACHE`; none of "
               f"{', '.join(RELEASED[task])} is there): `internvideo zoo download {first}`, then "
               "`python demos/app.py --full`. The other tabs still work.")
    return ModelChoice(task, "missing", "", None, problem, profile)


# ---------------------------------------------------------------------------------------------- loading
def load_model(choice: ModelChoice, device: str | torch.device = "cpu") -> DemoModel:
    """Build and load the model of ``choice`` (strict), in eval mode on ``device``; :class:`ModelUnavailable` on
    failure."""
    if not choice.available:
        raise ModelUnavailable(choice.problem)
    tutorial = {"recognition": _tutorial_classifier, "video_text": _tutorial_mm, "reconstruction": _tutorial_mae}
    try:
        if choice.kind == "released":
            loaded = _released(choice)
        elif choice.kind == "embedded":
            loaded = _embedded(choice)
        elif choice.kind == "checkpoint":
            from internvideo_core.demo.user_checkpoint import load_user_checkpoint

            loaded = load_user_checkpoint(choice)
        else:
            loaded = tutorial[choice.task](choice)
    except ModelUnavailable:
        raise
    except Exception as err:  # shown to the user with the file and what to do
        detail = str(err).replace(str(choice.path), shown_path(choice.path))
        raise ModelUnavailable(f"**Could not load {choice.name} from `{shown_path(choice.path)}`**: {type(err).__name__}: {detail}. "
                               "Delete the file and fetch or train it again.") from err
    loaded.model.eval().to(device)
    return loaded


def _released(choice: ModelChoice) -> DemoModel:
    """A released checkpoint through :func:`~internvideo_core.pretrained.load_pretrained`: the entry's own input
    protocol with one view (the centred clip, centre crop; the official test averages more views)."""
    from internvideo_core.eval.zeroshot import clean_classname
    from internvideo_core.pretrained import load_pretrained
    from internvideo_core.text import tokenize

    model, pre, names = load_pretrained(choice.name, checkpoint_path=choice.path)

    def indices(n: int) -> np.ndarray:
        return pre.indices(n, "single")[0]

    def preprocess(frames: torch.Tensor) -> torch.Tensor:  # the frames of ``indices``, in order
        return pre.from_frames(frames, np.arange(frames.shape[0])[None], crops=1)

    spec = pre.spec
    protocol = spec.describe("single") + (f" (the official test: {spec.test_clips} clips x {spec.test_crops} crops)"
                                          if spec.num_test_views > 1 else "")
    kw: dict[str, Any] = dict(pixel_mean=tuple(spec.mean), pixel_std=tuple(spec.std))
    if choice.task == "recognition":
        from internvideo_core.checkpoint import refuse_new_head

        refuse_new_head(getattr(model, "load_report", None), shown_path(choice.path), flag=None)
        n_cls = int(model.config.num_classes)
        classes = tuple(clean_classname(c) for c in names)
        kw["classes"] = classes if len(classes) == n_cls else tuple(f"class {i}" for i in range(n_cls))
    elif choice.task == "video_text":
        labels, templates, query = video_text_defaults("released")
        kw.update(tokenize=tokenize, templates=templates, default_labels=labels, default_query=query)
    return DemoModel(choice, model, indices, preprocess, protocol, **kw)


def _embedded(choice: ModelChoice) -> DemoModel:
    """An embedded model through :func:`~internvideo_core.embedded.load_embedded` (its stored recipe's input)."""
    from internvideo_core.embedded import load_embedded

    model, pre, classes = load_embedded(choice.name, checkpoint_path=choice.path)
    kw: dict[str, Any] = {}
    if choice.task == "recognition":
        kw["classes"] = tuple(classes)
    elif choice.task == "video_text":
        from internvideo_core.recipes import mm_synth as R

        labels, templates, query = video_text_defaults("tutorial")
        kw.update(tokenize=R.text_tokenizer(pre.recipe), templates=templates, default_labels=labels,
                  default_query=query)
    return DemoModel(choice, model, pre.indices, pre.from_frames, pre.describe(), **kw)


def _videomae_recipe_input(recipe: Any) -> tuple[Callable[[int], np.ndarray], Callable[[torch.Tensor], torch.Tensor]]:
    """Sampling and preprocessing of the videomae_synth recipe for any video (the embedded models' own,
    :class:`~internvideo_core.embedded.SynthPreprocess`)."""
    from internvideo_core.embedded import SynthPreprocess

    pre = SynthPreprocess("videomae_vit_tiny_synth", recipe)
    return pre.indices, pre.from_frames


def _tutorial_classifier(choice: ModelChoice) -> DemoModel:
    from internvideo_core.data.synthmotion import KNOWN_MOTIONS
    from internvideo_core.recipes import videomae_synth as VS
    from safetensors import safe_open

    recipe = VS.get_recipe(choice.profile)
    meta = _metadata(choice.path) or {}
    with safe_open(str(choice.path), framework="pt") as fh:
        if "head.weight" not in fh.keys():
            raise ModelUnavailable(f"`{shown_path(choice.path)}` has no `head.weight`: it is not a classifier (the demo expects "
                                   "the fine-tuned model of notebook 03, saved with `videomae_synth.save_classifier`)")
        n_cls = int(fh.get_slice("head.weight").get_shape()[0])
    classes = tuple(json.loads(meta["classes"])) if "classes" in meta else ()
    if not classes:
        classes = tuple(KNOWN_MOTIONS) if n_cls == len(KNOWN_MOTIONS) else tuple(f"class {i}" for i in range(n_cls))
    if len(classes) != n_cls:
        raise ModelUnavailable(f"`{shown_path(choice.path)}` has {n_cls} outputs but its metadata names {len(classes)} classes")
    model = VS.build_classifier(recipe, n_cls, checkpoint_path=choice.path)
    indices, preprocess = _videomae_recipe_input(recipe)
    return DemoModel(choice, model, indices, preprocess, _tutorial_videomae_protocol(recipe), classes=classes)


def _tutorial_videomae_protocol(recipe: Any) -> str:
    from internvideo_core.embedded import SynthPreprocess

    return SynthPreprocess("videomae_vit_tiny_synth", recipe).describe()


def _tutorial_mae(choice: ModelChoice) -> DemoModel:
    from internvideo_core.checkpoint import load_checkpoint
    from internvideo_core.recipes import videomae_synth as VS

    recipe = VS.get_recipe(choice.profile)
    model = VS.build_pretrain_model(recipe)
    load_checkpoint(model, choice.path, strict=True)
    indices, preprocess = _videomae_recipe_input(recipe)
    return DemoModel(choice, model, indices, preprocess, _tutorial_videomae_protocol(recipe))


def mm_recipe_from_metadata(meta: dict[str, str], profile: str) -> Any:
    """The :class:`~internvideo_core.recipes.mm_synth.MMSynthRecipe` stored in a checkpoint's metadata (JSON),
    or the profile's recipe when the file does not say."""
    from internvideo_core.recipes import mm_synth as R

    text = meta.get("recipe")
    if not text:
        return R.get_recipe(profile)

    def tuples(v: Any) -> Any:
        return tuple(tuples(x) for x in v) if isinstance(v, list) else v

    stored = json.loads(text)
    fields = {f.name for f in dataclasses.fields(R.MMSynthRecipe)}
    return R.MMSynthRecipe(**{k: tuples(v) for k, v in stored.items() if k in fields - {"profile"}},
                           profile=meta.get("profile", profile))


def _tutorial_mm(choice: ModelChoice) -> DemoModel:
    from internvideo_core.checkpoint import load_checkpoint
    from internvideo_core.embedded import SynthPreprocess
    from internvideo_core.recipes import mm_synth as R

    recipe = mm_recipe_from_metadata(_metadata(choice.path) or {}, choice.profile)
    model = R.build_dual_encoder(recipe)
    load_checkpoint(model, choice.path, strict=True)
    pre = SynthPreprocess("internvideo_mm_tiny_synth", recipe)
    labels, templates, query = video_text_defaults("tutorial")
    return DemoModel(choice, model, pre.indices, pre.from_frames, pre.describe(),
                     tokenize=R.text_tokenizer(recipe), templates=templates, default_labels=labels,
                     default_query=query)
