"""Zero-shot classification with prompt ensembles, and multiple-choice video-text matching.

Works on embeddings (or callables that make them), never on model classes, so any dual encoder fits:
``encode_text(tokens) -> [N, E]`` and ``tokenize(list_of_str) -> tokens``, e.g. ``model.encode_text`` and
``internvideo_core.tokenize``.

Prompt templates: :data:`INTERNVIDEO_TEMPLATES` are the 16 of the official InternVideo zero-shot code
(ActionCLIP's set, ``CoTrain/modules/text_prompt.py``), used by ``internvideo eval-zeroshot``; :data:`TEMPLATE_SETS`
names every set. :data:`KINETICS_TEMPLATES` are the 28 Kinetics-700 templates of CLIP
(``openai/CLIP``, ``data/prompts.md``, section "Kinetics700"), the standard prompt set for zero-shot Kinetics with
CLIP-style video models. Class names are inserted with ``template.format(name)`` (underscores in Kinetics label
files should be replaced by spaces by the caller or via ``clean_classname``).

Ensembles (``zero_shot_classify(..., ensemble=...)``):

* ``"softmax_mean"`` (default; the official rule of InternVideo's ``compute_zs_classify``): for every template
  ``t`` compute ``softmax_c(logit_scale * cos(video, text[t, c]))`` and average the probabilities over templates;
* ``"embedding_mean"`` (CLIP's classic ensemble): average the L2-normalised text embeddings of a class over the
  templates, re-normalise, then one softmax over ``logit_scale * cos``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "KINETICS_TEMPLATES", "INTERNVIDEO_TEMPLATES", "TEMPLATE_SETS", "clean_classname", "class_text_embeddings", "zero_shot_classify", "multiple_choice",
    "multiple_choice_accuracy",
]

#: CLIP's Kinetics-700 prompt templates (openai/CLIP ``data/prompts.md``, "Kinetics700"), 28 entries, original order.
KINETICS_TEMPLATES: tuple[str, ...] = (
    'a photo of {}.',
    'a photo of a person {}.',
    'a photo of a person using {}.',
    'a photo of a person doing {}.',
    'a photo of a person during {}.',
    'a photo of a person performing {}.',
    'a photo of a person practicing {}.',
    'a video of {}.',
    'a video of a person {}.',
    'a video of a person using {}.',
    'a video of a person doing {}.',
    'a video of a person during {}.',
    'a video of a person performing {}.',
    'a video of a person practicing {}.',
    'a example of {}.',
    'a example of a person {}.',
    'a example of a person using {}.',
    'a example of a person doing {}.',
    'a example of a person during {}.',
    'a example of a person performing {}.',
    'a example of a person practicing {}.',
    'a demonstration of {}.',
    'a demonstration of a person {}.',
    'a demonstration of a person using {}.',
    'a demonstration of a person doing {}.',
    'a demonstration of a person during {}.',
    'a demonstration of a person performing {}.',
    'a demonstration of a person practicing {}.',
)


#: The official InternVideo zero-shot prompts (``multi-modalities-downstream/CoTrain/modules/text_prompt.py``,
#: ``prompt_type="all"``, ActionCLIP's 16 templates, in order), used with ``ensemble="softmax_mean"`` (its
#: ``compute_zs_classify``: ``softmax`` over classes of ``logit_scale.exp() * cos`` per template, mean over templates).
INTERNVIDEO_TEMPLATES: tuple[str, ...] = (
    "a photo of action {}", "a picture of action {}", "Human action of {}", "{}, an action",
    "{} this is an action", "{}, a video of action", "Playing action of {}", "{}",
    "Playing a kind of action, {}", "Doing a kind of action, {}", "Look, the human is {}",
    "Can you recognize the action of {}?", "Video classification of {}", "A video of {}",
    "The man is {}", "The woman is {}",
)

#: Named template sets: ``internvideo`` (official, default of ``internvideo eval-zeroshot``), the official
#: ``single`` / ``single_doing`` / ``no`` prompt types, and CLIP's Kinetics-700 set.
TEMPLATE_SETS: dict[str, tuple[str, ...]] = {
    "internvideo": INTERNVIDEO_TEMPLATES,
    "single": ("A video of {}",),
    "single_doing": ("A person is doing {}",),
    "no": ("{}",),
    "clip_kinetics": KINETICS_TEMPLATES,
}

def clean_classname(name: str) -> str:
    """Kinetics-style label to prompt text: underscores to spaces, surrounding quotes and white space removed."""
    return str(name).strip().strip('"').replace("_", " ").strip()


@torch.no_grad()
def class_text_embeddings(classnames: Sequence[str], templates: Sequence[str],
                          encode_text: Callable[[Any], torch.Tensor], tokenize: Callable[[list[str]], Any],
                          batch_size: int = 256, normalize: bool = True) -> torch.Tensor:
    """Text embeddings of every (template, class) prompt.

    Args:
        classnames: C class names (inserted as-is; see :func:`clean_classname`).
        templates: T format strings with one ``{}``.
        encode_text: tokens -> ``[n, E]`` embeddings (e.g. ``model.encode_text``); called in batches of
            ``batch_size`` prompts under ``torch.no_grad``.
        tokenize: list of strings -> tokens accepted by ``encode_text`` (e.g. ``internvideo_core.tokenize``).
        normalize: L2-normalise every embedding (needed by both ensembles; keep True unless you know better).

    Returns:
        ``[T, C, E]`` float tensor.
    """
    if not classnames or not templates:
        raise ValueError("need at least one class name and one template")
    for t in templates:
        if "{}" not in t:
            raise ValueError(f"template {t!r} has no '{{}}' placeholder for the class name")
    prompts = [t.format(c) for t in templates for c in classnames]
    chunks = []
    for i in range(0, len(prompts), batch_size):
        emb = encode_text(tokenize(prompts[i:i + batch_size]))
        chunks.append(torch.as_tensor(emb).float())
    emb = torch.cat(chunks, dim=0).reshape(len(templates), len(classnames), -1)
    return F.normalize(emb, dim=-1) if normalize else emb


def zero_shot_classify(video_emb: torch.Tensor, class_text_emb_per_template: torch.Tensor,
                       ensemble: str = "softmax_mean", logit_scale: float | torch.Tensor = 100.0) -> torch.Tensor:
    """Class probabilities of videos from a prompt ensemble.

    Args:
        video_emb: ``[N, E]`` video embeddings (normalised here).
        class_text_emb_per_template: ``[T, C, E]`` text embeddings (from :func:`class_text_embeddings`), or
            ``[C, E]`` for a single template.
        ensemble: ``"softmax_mean"`` (per-template softmax over classes, then mean over templates; default) or ``"embedding_mean"`` (mean normalised text embedding per class, CLIP's classic ensemble).
        logit_scale: the *multiplier* (``model.logit_scale.exp()``, about 100 for trained CLIP-style models).

    Returns:
        ``[N, C]`` probabilities (rows sum to 1).
    """
    v = F.normalize(torch.as_tensor(video_emb).float(), dim=-1)
    t = torch.as_tensor(class_text_emb_per_template).float()
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3 or v.ndim != 2 or t.shape[-1] != v.shape[-1]:
        raise ValueError(f"expected video_emb [N, E] and text embeddings [T, C, E]; got {tuple(v.shape)} and "
                         f"{tuple(t.shape)}")
    t = F.normalize(t, dim=-1)
    scale = torch.as_tensor(logit_scale, dtype=torch.float32)
    if ensemble == "softmax_mean":
        logits = scale * torch.einsum("ne,tce->tnc", v, t)
        return logits.softmax(dim=-1).mean(dim=0)
    if ensemble == "embedding_mean":
        proto = F.normalize(t.mean(dim=0), dim=-1)
        return (scale * v @ proto.T).softmax(dim=-1)
    raise ValueError(f"ensemble must be 'softmax_mean' or 'embedding_mean', got {ensemble!r}")


def multiple_choice(video_emb: torch.Tensor, candidate_text_emb: torch.Tensor) -> torch.Tensor:
    """Pick the caption that matches each video best (MSR-VTT multiple choice, LSMDC fill-in...).

    Args:
        video_emb: ``[N, E]``. candidate_text_emb: ``[N, K, E]`` the K candidate captions of every video.

    Returns:
        ``[N]`` int64 index of the candidate with the highest cosine similarity (first one on ties).
    """
    v = F.normalize(torch.as_tensor(video_emb).float(), dim=-1)
    c = F.normalize(torch.as_tensor(candidate_text_emb).float(), dim=-1)
    if c.ndim != 3 or v.ndim != 2 or c.shape[0] != v.shape[0] or c.shape[-1] != v.shape[-1]:
        raise ValueError(f"expected video_emb [N, E] and candidate_text_emb [N, K, E]; got {tuple(v.shape)} and "
                         f"{tuple(c.shape)}")
    return torch.einsum("ne,nke->nk", v, c).argmax(dim=1)


def multiple_choice_accuracy(video_emb: torch.Tensor, candidate_text_emb: torch.Tensor, answer_idx: Any) -> float:
    """Multiple-choice accuracy in percent; ``answer_idx`` ``[N]`` is the index of the correct candidate."""
    pred = multiple_choice(video_emb, candidate_text_emb)
    ans = torch.as_tensor(answer_idx).long().reshape(-1)
    if ans.shape != pred.shape:
        raise ValueError(f"answer_idx has shape {tuple(ans.shape)}, expected {tuple(pred.shape)}")
    return float((pred == ans).double().mean()) * 100.0
