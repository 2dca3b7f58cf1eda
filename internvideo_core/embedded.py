"""The models that ship inside the package: trained on SynthMotion, ready right after ``git clone``.

Three tutorial-size models, trained once by ``python tools/build_embedded_models.py`` with the kit's own
recipes (:mod:`internvideo_core.recipes.videomae_synth`, :mod:`internvideo_core.recipes.mm_synth`) and
committed under ``internvideo_core/assets/models/<name>/``:

=============================  ===============  =======================================================
name (= architecture)          demo task        what it does
=============================  ===============  =======================================================
``videomae_vit_tiny_synth``    recognition      VideoMAE classifier of the 12 SynthMotion motions
``videomae_pretrain_tiny_synth``  reconstruction  VideoMAE masked autoencoder (tube masking, 90 %)
``internvideo_mm_tiny_synth``  video_text       InternVideo-MM dual encoder (zero-shot labels, retrieval)
=============================  ===============  =======================================================

Each folder holds ``model.safetensors`` (weights), ``config.json`` (the kit's model description, see
:mod:`internvideo_core.model_config`, plus a ``card`` entry: recipe, profile, seed, data, held-out metrics,
kit version, the command that rebuilds it) and ``MODEL_CARD.md`` (the same card for people).

The autoencoder learned from clips in the *striped* look (:data:`STRIPED_LOOK`, notebook 02's reconstruction
clips), the demo's "striped" examples show it; the others from the flat look of the demo's other examples
(:data:`SYNTH_LOOK`). The dual encoder's word table is stored by the rows of the SynthMotion vocabulary only
(:data:`TOKEN_TABLE`, :func:`caption_token_ids`): loading puts zeros in the other rows, so a free-text word outside
that vocabulary contributes nothing.

They are what the demo and :func:`~internvideo_core.pretrained.load_pretrained` use for these names when the
tutorial notebooks have not written newer files under ``runs/checkpoints/tutorial/``::

    model, preprocess, class_names = load_pretrained("videomae_vit_tiny_synth")
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["EMBEDDED", "BUILD_COMMAND", "SYNTH_LOOK", "STRIPED_LOOK", "models_dir", "is_embedded", "list_embedded",
           "embedded_path", "embedded_card", "embedded_for_task", "card_summary", "SynthPreprocess", "load_embedded",
           "square_uint8", "synth_recipe", "tutorial_path", "prefer_tutorial", "TOKEN_TABLE", "caption_texts",
           "caption_token_ids"]

#: Embedded model name -> the demo task it serves.
EMBEDDED: dict[str, str] = {
    "videomae_vit_tiny_synth": "recognition",
    "videomae_pretrain_tiny_synth": "reconstruction",
    "internvideo_mm_tiny_synth": "video_text",
}
#: How the embedded models' SynthMotion clips are drawn, and the demo's example clips with them (plain grey
#: background, no pixel noise, objects of 22-32 % of the frame: the look the VideoMAE recipe learns from; see
#: :mod:`internvideo_core.recipes.videomae_synth.config`). :class:`~internvideo_core.data.synthmotion.SynthConfig`
#: fields.
SYNTH_LOOK: dict[str, Any] = {"noise": 0.0, "textured": False, "radius": (0.22, 0.32)}
#: How the embedded autoencoder's clips are drawn, and the demo's "striped" examples with them: notebook 02's
#: reconstruction look (:data:`~internvideo_core.recipes.videomae_synth.RECONSTRUCTION_OVERRIDES`): objects cut out
#: of vertical stripes fixed to the frame, one patch per period at the model's 28 px, larger (30-38 % of the
#: frame), no marker. Inside an object every tubelet then holds the same normalised content, so the visible
#: tubelets predict the hidden ones; with the flat one-colour objects of :data:`SYNTH_LOOK` there is nothing inside
#: an object to predict.
STRIPED_LOOK: dict[str, Any] = {"noise": 0.0, "textured": False, "radius": (0.3, 0.38), "marker": False,
                                "fill": "grating", "fill_period": 4 / 28}
#: The one command that rebuilds every embedded model (same seed -> same card metrics).
BUILD_COMMAND = "python tools/build_embedded_models.py"


def models_dir() -> Path:
    """``internvideo_core/assets/models`` (inside the installed package); ``INTERNVIDEO_EMBEDDED_DIR`` points
    elsewhere (a rebuild in progress, tests)."""
    import os

    override = os.environ.get("INTERNVIDEO_EMBEDDED_DIR")
    return Path(override) if override else Path(__file__).resolve().parent / "assets" / "models"


def is_embedded(name: str) -> bool:
    return name in EMBEDDED


def list_embedded() -> list[str]:
    """Names of the embedded models whose weights are present."""
    return [n for n in EMBEDDED if embedded_path(n).is_file()]


def embedded_path(name: str) -> Path:
    """``assets/models/<name>/model.safetensors`` (it may be absent in a checkout without the assets)."""
    if name not in EMBEDDED:
        raise KeyError(f"{name!r} is not an embedded model; embedded models: {sorted(EMBEDDED)}")
    return models_dir() / name / "model.safetensors"


def embedded_card(name: str) -> dict[str, Any]:
    """The ``card`` of ``config.json`` beside the embedded weights (``{}`` when there is none): ``recipe``,
    ``profile``, ``seed``, ``data``, ``metrics`` (held-out SynthMotion), ``kit_version``, ``command``."""
    path = embedded_path(name).with_name("config.json")
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("card") or {})


def embedded_for_task(task: str) -> str:
    """The embedded model name serving a demo task (``recognition`` / ``video_text`` / ``reconstruction``)."""
    for name, t in EMBEDDED.items():
        if t == task:
            return name
    raise KeyError(f"no embedded model for task {task!r}")


def card_summary(task: str, card: dict[str, Any]) -> str:
    """The held-out numbers of an embedded model's ``card`` for the demo ``task``, one Markdown phrase (the page
    prints it beside the model)."""
    metrics = card.get("metrics") or {}

    class _Lookup(dict):  # a metric by its name or the name's first word ("t2v_R1 (first caption)")
        def __missing__(self, key: str) -> Any:
            for k, v in metrics.items():
                if k.split(" ")[0] == key:
                    return v
            raise KeyError(key)

    m = _Lookup(metrics)
    try:
        if task == "recognition":
            return (f"held-out SynthMotion top-1 **{m['top1']:.1f} %** on {m['test_clips']} clips (chance "
                    f"{m['chance']:.1f} %)")
        if task == "video_text":
            return (f"held-out SynthMotion zero-shot motion top-1 **{m['zero_shot_motion_top1']:.1f} %** with these "
                    f"labels (chance {m['chance']:.1f} %), text-to-video R@1 {m['t2v_R1']:.1f} % of "
                    f"{m['test_clips']} clips")
        text = (f"held-out error on hidden object tubelets **{m['object_loss_model']:.3f}** vs "
                f"{m['object_loss_mean_patch']:.3f} for the mean-patch baseline ({m['mask']} masking")
        if "flat_object_ratio_to_mean_patch" in metrics:
            text += (f", striped SynthMotion clips, the look it was trained on; {m['flat_object_loss_model']:.3f} "
                     f"vs {m['flat_object_loss_mean_patch']:.3f} on flat one-colour objects")
        return text + ")"
    except (KeyError, TypeError, ValueError):
        return ""


# -------------------------------------------------------------------------------------------- word table
#: The dual encoder's word table (49408 CLIP tokens x ``text_width``): the recipe keeps it frozen at its random
#: initialisation (``freeze_token_embedding``) and trains the text blocks on SynthMotion captions only. The
#: embedded file stores only the rows of :func:`caption_token_ids` (:func:`~internvideo_core.checkpoint.sparse_rows`);
#: loading gives back the whole table with **zeros in every other row**, so a free-text word outside the
#: SynthMotion vocabulary contributes nothing (before, it contributed a random vector the text tower never saw
#: in training).
TOKEN_TABLE = "token_embedding.weight"


def caption_texts() -> list[str]:
    """Every phrase SynthMotion's texts are made of (the captions and their paraphrases, the words the mm_synth
    recipe substitutes, questions and answers, SSv2-style labels, zero-shot templates, colours, shapes, sizes,
    backgrounds, motion names), placeholders removed: the words the dual encoder is trained on and the demo
    offers."""
    import re

    from internvideo_core.data import synthmotion_annotations as A
    from internvideo_core.data.synthmotion_render import BACKGROUNDS, COLOURS, KNOWN_MOTIONS, SHAPES, SIZE_WORDS
    from internvideo_core.recipes.mm_synth import SYNTH_TEMPLATES

    texts: list[str] = [p for phrases in A.MOTION_PHRASES.values() for p in phrases]
    texts += [*A.MOTION_GERUNDS.values(), *A.MOTION_VERB.values(), *A.NUMBER_WORDS, *KNOWN_MOTIONS, *SHAPES,
              *COLOURS, *SIZE_WORDS, *BACKGROUNDS, *SYNTH_TEMPLATES, "shape coloured other shapes stay shape stays"]
    texts += [t for q_a in A.DIRECTION_QUESTIONS.values() for t in q_a]
    texts += [A.ssv2_template_label(t).lower() for t in A.SSV2_TEMPLATES.values()]
    texts += list(A._SUBJECTS) + list(A._FRAMES)  # the caption templates
    texts += [A.prompt_for(m) for m in A.MOTION_PHRASES]
    texts += [qa[k] for m in A.MOTION_PHRASES for qa in A.questions_for(
        {"motion": m, "colour": "red", "shape": "circle", "num_objects": 2}) for k in ("question", "answer")]
    return sorted({re.sub(r"\{\w*\}", " ", t).strip() for t in texts} - {""})


def caption_token_ids() -> list[int]:
    """The rows of the word table the embedded dual encoder keeps: every token of :func:`caption_texts`, the
    start and end tokens and id 0 (the padding after the end token), sorted."""
    from internvideo_core.text import EOT_ID, SOT_ID, encode

    return sorted({0, SOT_ID, EOT_ID, *(i for t in caption_texts() for i in encode(t))})


# ------------------------------------------------------------------------------------ input protocol
def square_uint8(frames: Any, size: int) -> Any:
    """uint8 ``[T, H, W, 3]`` -> uint8 ``[T, size, size, 3]``: short side to ``size`` (antialiased), centre crop."""
    import torch
    from einops import rearrange

    from internvideo_core.data.transforms import center_crop, frames_to_tensor, resize_short_side

    x = center_crop(resize_short_side(frames_to_tensor(frames), size, antialias=True), size)
    return rearrange((x * 255).round_().clamp_(0, 255).to(torch.uint8), "c t h w -> t h w c")


def _stored_recipe(cls: type, fields: dict[str, Any] | None, default: Any) -> Any:
    """``cls(**fields)`` for the fields ``cls`` still has (JSON lists back to tuples); ``default`` when none."""
    import dataclasses

    if not fields:
        return default

    def tuples(v: Any) -> Any:
        return tuple(tuples(x) for x in v) if isinstance(v, list) else v

    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuples(v) for k, v in fields.items() if k in known})


def synth_recipe(name: str, card: dict[str, Any] | None = None) -> Any:
    """The recipe an embedded (``card`` given: the one stored on its card) or tutorial SynthMotion model was
    trained with: a :class:`~internvideo_core.recipes.videomae_synth.VideoMAESynthRecipe` for the VideoMAE
    names, a :class:`~internvideo_core.recipes.mm_synth.MMSynthRecipe` for the dual encoder."""
    if name == "internvideo_mm_tiny_synth":
        from internvideo_core.recipes import mm_synth

        return _stored_recipe(mm_synth.MMSynthRecipe, (card or {}).get("recipe_fields"), mm_synth.get_recipe("tutorial"))
    from internvideo_core.recipes import videomae_synth

    return _stored_recipe(videomae_synth.VideoMAESynthRecipe, (card or {}).get("recipe_fields"),
                          videomae_synth.get_recipe("tutorial"))


class SynthPreprocess:
    """The input protocol of a SynthMotion model (embedded or tutorial), for any video.

    ``preprocess(video) -> float [1, 3, T, S, S]`` where ``video`` is a file path or uint8 frames ``[N, H, W, 3]``
    (all frames of the video; :meth:`indices` picks the ones used). VideoMAE models: ``clip_frames`` evenly
    spaced frames stand for a rendered clip and every ``frame_stride``-th is used, squared to ``render_size`` px
    (antialiased), centre crop ``img_size``, ImageNet mean/std. Dual encoder: ``num_frames`` frames
    (``linspace``), squared to ``img_size``, CLIP mean/std. The demo uses the same object.
    """

    def __init__(self, name: str, recipe: Any) -> None:
        self.name, self.recipe = name, recipe
        self.mm = name.startswith("internvideo_mm")

    def indices(self, num_frames: int) -> Any:
        """Which frames of a ``num_frames``-frame video are read: int64 ``[T]``."""
        import numpy as np

        r = self.recipe
        if self.mm:
            from internvideo_core.data.sampling import uniform_indices

            return uniform_indices(num_frames, r.num_frames)
        full = np.linspace(0, num_frames - 1, r.clip_frames).round().astype(np.int64)
        return full[:: r.frame_stride][: r.num_frames]

    def from_frames(self, frames: Any) -> Any:
        """uint8 ``[T, H, W, 3]`` (the frames of :meth:`indices`, in order) -> float ``[1, 3, T, S, S]``."""
        import torch
        from einops import rearrange

        frames = torch.as_tensor(frames)
        r = self.recipe
        if self.mm:
            from internvideo_core.recipes import mm_synth

            return mm_synth.clips_to_input(rearrange(square_uint8(frames, r.img_size), "t h w c -> 1 c t h w"))
        from internvideo_core.recipes import videomae_synth

        flat = r.replace(clip_frames=r.num_frames, frame_stride=1)
        return videomae_synth.clips_to_input(square_uint8(frames, r.render_size)[None], flat)

    def __call__(self, video: Any) -> Any:
        import torch

        if isinstance(video, (str, Path)):
            from internvideo_core.data.io import open_video

            reader = open_video(video, num_threads=1)
            idx = self.indices(reader.info.num_frames)
            return self.from_frames(torch.stack(list(reader.read([int(i) for i in idx]))))
        frames = torch.as_tensor(video)
        return self.from_frames(frames[torch.as_tensor(self.indices(frames.shape[0]))])

    def describe(self) -> str:
        r = self.recipe
        if self.mm:
            return (f"{r.num_frames} frames (linspace), squared to {r.img_size} px, CLIP mean/std "
                    "(SynthMotion tutorial input)")
        nth = {1: "", 2: "2nd ", 3: "3rd "}.get(r.frame_stride, f"{r.frame_stride}th ")
        return (f"{r.num_frames} frames (every {nth}one of {r.clip_frames} evenly spaced); squared to "
                f"{r.render_size} px, centre crop {r.img_size} px (SynthMotion tutorial input)")


# ------------------------------------------------------------------------------------------- loading
def tutorial_path(name: str, profile: str = "tutorial") -> Path:
    """Where the tutorial notebooks write the model ``name`` (``runs/checkpoints/<profile>/...``)."""
    from internvideo_core.paths import runs_dir

    file = {"videomae_vit_tiny_synth": "videomae_synth_classifier.safetensors",
            "videomae_pretrain_tiny_synth": "videomae_synth_pretrain.safetensors",
            "internvideo_mm_tiny_synth": "mm_synth.safetensors"}[name]
    return runs_dir() / "checkpoints" / profile / file


def prefer_tutorial(name: str, tutorial: Path | None) -> bool:
    """True when the notebooks' file ``tutorial`` should be used instead of the embedded model: it exists and
    is newer than the embedded weights (or those are missing)."""
    if tutorial is None or not Path(tutorial).is_file():
        return False
    embedded = embedded_path(name)
    return not embedded.is_file() or Path(tutorial).stat().st_mtime > embedded.stat().st_mtime


def load_embedded(name: str, *, checkpoint_path: str | Path | None = None, device: Any = "cpu",
                  use_runs: bool = True) -> tuple[Any, SynthPreprocess, list[str]]:
    """``(model, preprocess, class_names)`` of a SynthMotion model (what
    :func:`~internvideo_core.pretrained.load_pretrained` returns for the embedded names).

    The weights: ``checkpoint_path`` when given; else the tutorial notebooks' file under ``runs/`` when it is
    newer than the embedded one (``use_runs``); else the embedded model. ``model.weights_source`` says which
    (``"embedded"`` / ``"runs"`` / ``"file"``), ``model.card`` holds the embedded model's card.
    """
    from internvideo_core.checkpoint import load_checkpoint
    from internvideo_core.data.synthmotion import KNOWN_MOTIONS
    from internvideo_core.model_config import read_model_config
    from internvideo_core.registry import create_model

    if name not in EMBEDDED:
        raise KeyError(f"{name!r} is not an embedded model; embedded models: {sorted(EMBEDDED)}")
    card: dict[str, Any] = {}
    if checkpoint_path is not None:
        path, source = Path(checkpoint_path), "file"
    elif use_runs and prefer_tutorial(name, tutorial_path(name)):
        path, source = tutorial_path(name), "runs"
    else:
        path, source = embedded_path(name), "embedded"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the embedded model {name!r} ships with the kit (git "
                                    f"checkout or wheel); rebuild it with `{BUILD_COMMAND} --only ...`")
        card = embedded_card(name)
    recipe = synth_recipe(name, card)
    saved = read_model_config(path) or {}
    class_names: list[str] = list(saved.get("class_names") or [])
    if name == "internvideo_mm_tiny_synth":
        from internvideo_core.recipes import mm_synth

        model = mm_synth.build_dual_encoder(recipe)
        load_checkpoint(model, path, strict=True)
    elif name == "videomae_pretrain_tiny_synth":
        from internvideo_core.recipes import videomae_synth

        model = videomae_synth.build_pretrain_model(recipe)
        load_checkpoint(model, path, strict=True)
    else:
        from internvideo_core.recipes import videomae_synth

        if not class_names:
            class_names = _classes_from_metadata(path) or list(KNOWN_MOTIONS)
        model = create_model(name, num_classes=len(class_names), **recipe.model_overrides(name))
        load_checkpoint(model, path, strict=True)
    model.weights_source, model.card = source, card
    model.weights_path = path
    return model.eval().to(device), SynthPreprocess(name, recipe), class_names


def _classes_from_metadata(path: Path) -> list[str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    return list(json.loads(meta["classes"])) if "classes" in meta else []
