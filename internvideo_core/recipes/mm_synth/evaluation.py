"""Evaluation of the trained dual encoder: similarity for retrieval, temporal order, zero-shot and multiple choice.

- retrieval: :func:`similarity` (``[num_texts, num_videos]``, the layout the retrieval metrics expect);
- temporal order: :func:`temporal_order_accuracy` (forwards vs backwards frames of the same clip);
- compositional zero-shot: prompts (:data:`SYNTH_TEMPLATES`, :func:`colour_templates`,
  :func:`combination_prompts`) over (shape, motion) classes, :func:`zero_shot_combinations`,
  :func:`zero_shot_motions` and :func:`zero_shot_report` (held-out vs seen combinations);
- prompt choice on a validation split: :func:`zero_shot_accuracy`, :func:`choose_prompt_variant`;
- multiple choice (MSR-VTT MC style): :func:`multiple_choice_items`, :func:`multiple_choice_eval`;
- retrieval baselines: :func:`colour_only_similarity` (a ranker that knows each clip's colour and nothing else).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from internvideo_core.data import synthmotion_annotations as A
from internvideo_core.data.synthmotion import COLOURS, KNOWN_MOTIONS, SHAPES
from internvideo_core.recipes.mm_synth.config import MMSynthRecipe
from internvideo_core.recipes.mm_synth.data import REVERSED_MOTION, CaptionClips
from internvideo_core.recipes.mm_synth.encoding import encode_texts, encode_videos, text_tokenizer

__all__ = [
    "similarity", "temporal_order_accuracy", "SYNTH_TEMPLATES", "colour_templates", "combination_classes",
    "combination_prompts", "zero_shot_combinations", "zero_shot_motions", "zero_shot_report",
    "multiple_choice_items", "multiple_choice_eval", "zero_shot_accuracy", "choose_prompt_variant",
    "colour_only_similarity",
]


def similarity(text_emb: torch.Tensor, video_emb: torch.Tensor, logit_scale: float | torch.Tensor = 1.0) -> torch.Tensor:
    """``logit_scale * cosine``: ``[num_texts, num_videos]`` (rows = texts, as the retrieval metrics expect)."""
    return float(logit_scale) * F.normalize(text_emb.float(), dim=-1) @ F.normalize(video_emb.float(), dim=-1).T


@torch.no_grad()
def temporal_order_accuracy(model: nn.Module, clips: CaptionClips, recipe: MMSynthRecipe) -> float:
    """Does the model read temporal order? For clips whose motion has a time-reversed partner ("moves left" /
    "moves right"...), the percentage whose first caption is closer to the clip played forwards than to the same
    frames played backwards (50 = blind to order)."""
    keep = [i for i, m in enumerate(clips.metas) if m["motion"] in REVERSED_MOTION]
    if not keep:
        return float("nan")
    sub = clips.subset(keep)
    t = F.normalize(encode_texts(model, [c[0] for c in sub.captions], recipe), dim=-1)
    fwd = (t * F.normalize(encode_videos(model, sub, recipe), dim=-1)).sum(-1)
    bwd = (t * F.normalize(encode_videos(model, sub, recipe, reverse=True), dim=-1)).sum(-1)
    return float((fwd > bwd).double().mean()) * 100.0


# ------------------------------------------------------------------------------------------------ zero-shot
#: Sentence frames of SynthMotion captions that take a class name such as ``"star rotates clockwise"``.
SYNTH_TEMPLATES: tuple[str, ...] = ("a {}", "the {}", "one {}", "in this video a {}", "a clip where a {}",
                                    "in this video the {}")


def colour_templates(templates: Sequence[str] = SYNTH_TEMPLATES, colours: Sequence[str] = tuple(COLOURS)) -> list[str]:
    """Every template once per colour (``"a {}"`` -> ``"a red {}"``, ``"a green {}"`` ...).

    Every training caption names the object's colour, so a prompt without one is unlike anything the text tower
    has seen; ensembling over all colours keeps the prompt in-distribution without telling the model the colour.
    """
    return [t.replace("{}", f"{c} {{}}", 1) for t in templates for c in colours]


def combination_classes(motions: Sequence[str] = KNOWN_MOTIONS) -> list[tuple[str, str]]:
    """Every (shape, motion) pair: the label space of compositional zero-shot recognition."""
    return [(s, m) for s in SHAPES for m in motions]


def combination_prompts(classes: Sequence[tuple[str, str]], paraphrase: int = 0) -> list[str]:
    """Class names ``"<shape> <motion phrase>"`` with the ``paraphrase``-th phrase of each motion."""
    return [f"{s} {A.MOTION_PHRASES[m][paraphrase % len(A.MOTION_PHRASES[m])]}" for s, m in classes]


def zero_shot_combinations(model: nn.Module, video_emb: torch.Tensor, classes: Sequence[tuple[str, str]],
                           recipe: MMSynthRecipe, templates: Sequence[str] = SYNTH_TEMPLATES, paraphrases: int = 1,
                           ensemble: str = "softmax_mean") -> torch.Tensor:
    """Probabilities ``[N, C]`` over (shape, motion) classes from a prompt ensemble of ``templates`` x the first
    ``paraphrases`` motion phrases (see :func:`internvideo_core.eval.zeroshot.zero_shot_classify`)."""
    from internvideo_core.eval.zeroshot import class_text_embeddings, zero_shot_classify

    encode = model.encode_text
    tok = text_tokenizer(recipe)
    per = [class_text_embeddings(combination_prompts(classes, p), templates, encode, tok) for p in range(paraphrases)]
    emb = torch.cat(per, dim=0)                                           # [templates * paraphrases, C, E]
    return zero_shot_classify(video_emb, emb, ensemble=ensemble, logit_scale=float(model.logit_scale.detach().exp()))


def zero_shot_motions(model: nn.Module, video_emb: torch.Tensor, recipe: MMSynthRecipe,
                      motions: Sequence[str] = KNOWN_MOTIONS) -> torch.Tensor:
    """Probabilities ``[N, M]`` over motions from the dataset's class prompts (``"a shape that moves to the left"``,
    ``msrvtt/zero_shot.json``)."""
    from internvideo_core.eval.zeroshot import zero_shot_classify

    emb = F.normalize(encode_texts(model, [A.prompt_for(m) for m in motions], recipe), dim=-1)
    return zero_shot_classify(video_emb, emb, logit_scale=float(model.logit_scale.detach().exp()))


def zero_shot_report(probs: torch.Tensor, clips: CaptionClips, classes: Sequence[tuple[str, str]]
                     ) -> dict[str, float]:
    """Accuracies (percent) of (shape, motion) predictions ``probs [N, C]`` on ``clips``: the whole combination,
    the motion alone and the shape alone, and ``motion_given_shape`` (the best motion among the classes of the
    clip's own shape, i.e. choosing the right sentence "a circle moves right" among "a circle <motion>"), on
    held-out clips (``heldout_*``, combinations never captioned in training) and on the other test clips
    (``seen_*``)."""
    pred = [classes[i] for i in probs.argmax(1).tolist()]
    zs = clips.zero_shot.tolist()
    out: dict[str, float] = {}
    for name, want in (("heldout", True), ("seen", False)):
        rows = [i for i, z in enumerate(zs) if z == want]
        for what, hit in (("combination", lambda i, p, m: p == (m["shape"], m["motion"])),
                          ("motion", lambda i, p, m: p[1] == m["motion"]),
                          ("shape", lambda i, p, m: p[0] == m["shape"]),
                          ("motion_given_shape", lambda i, p, m: _best_motion(probs[i], classes, m["shape"]) == m["motion"])):
            out[f"{name}_{what}"] = (100.0 * sum(hit(i, pred[i], clips.metas[i]) for i in rows) / len(rows)
                                     if rows else float("nan"))
        out[f"{name}_clips"] = len(rows)
    return out


def _best_motion(p: torch.Tensor, classes: Sequence[tuple[str, str]], shape: str) -> str:
    cols = [j for j, (s, _) in enumerate(classes) if s == shape]
    return classes[cols[int(p[cols].argmax())]][1]


def multiple_choice_items(clips: CaptionClips, seed: int = 0, num_options: int = 5) -> list[dict[str, Any]]:
    """The multiple-choice items of test clips, as in ``msrvtt/msrvtt_mc_test.jsonl`` (there ``clip_name`` and
    ``qid``, read by :func:`~internvideo_core.data.video_text_formats.read_msrvtt_mc`): the first caption
    among captions of the same object doing other motions; ``answer`` = index of the true one."""
    items = []
    for vid, meta, caps in zip(clips.ids, clips.metas, clips.captions):
        rng = np.random.default_rng([seed, 66, int(vid.removeprefix("video"))])
        items.append(A.multiple_choice(vid, meta, caps[0], rng, num_options))
    return items


def multiple_choice_eval(model: nn.Module, video_emb: torch.Tensor, items: Sequence[dict[str, Any]],
                         recipe: MMSynthRecipe) -> tuple[float, torch.Tensor]:
    """``(accuracy in percent, predicted option per item [N])``."""
    from internvideo_core.eval.zeroshot import multiple_choice, multiple_choice_accuracy

    k = len(items[0]["options"])
    cand = encode_texts(model, [o for it in items for o in it["options"]], recipe).reshape(len(items), k, -1)
    answers = torch.tensor([it["answer"] for it in items])
    return multiple_choice_accuracy(video_emb, cand, answers), multiple_choice(video_emb, cand)


def zero_shot_accuracy(probs: torch.Tensor, clips: CaptionClips, classes: Sequence[tuple[str, str]]
                       ) -> dict[str, float]:
    """Top-1 accuracies (percent) of (shape, motion) predictions ``probs [N, C]`` over *all* ``clips``: the whole
    ``combination``, the ``motion`` alone and the ``shape`` alone."""
    pred = [classes[i] for i in probs.argmax(1).tolist()]
    n = max(len(pred), 1)
    return {"combination": 100.0 * sum(p == (m["shape"], m["motion"]) for p, m in zip(pred, clips.metas)) / n,
            "motion": 100.0 * sum(p[1] == m["motion"] for p, m in zip(pred, clips.metas)) / n,
            "shape": 100.0 * sum(p[0] == m["shape"] for p, m in zip(pred, clips.metas)) / n}


def choose_prompt_variant(model: nn.Module, val_emb: torch.Tensor, val: CaptionClips,
                          classes: Sequence[tuple[str, str]], recipe: MMSynthRecipe,
                          variants: dict[str, dict[str, Any]]) -> tuple[str, dict[str, dict[str, float]]]:
    """The prompt variant to report, chosen on the **validation** clips (never on the test metric).

    Args:
        val_emb: ``[N_val, E]`` video embeddings of ``val``. variants: ``{name: keyword arguments of
            zero_shot_combinations}`` (``templates``, ``paraphrases``...).

    Returns:
        ``(name, {name: zero_shot_accuracy on val})``; the winner has the best validation motion accuracy (ties:
        the best combination accuracy, then the first listed, i.e. the simpler variant).
    """
    scores = {name: zero_shot_accuracy(zero_shot_combinations(model, val_emb, classes, recipe, **kw), val, classes)
              for name, kw in variants.items()}
    names = list(scores)
    best = max(names, key=lambda k: (round(scores[k]["motion"], 6), round(scores[k]["combination"], 6),
                                     -names.index(k)))
    return best, scores


def colour_only_similarity(clips: CaptionClips, seed: int = 0) -> torch.Tensor:
    """A retrieval baseline that knows colour and nothing else: ``[N, N]`` scores, 1 where caption ``i``'s clip has
    the colour of video ``j`` (the colour named in the caption), 0 elsewhere, plus a random tie-breaker in
    ``[0, 1e-3)``. Its R@1 is about ``1 / #clips of that colour``: what "the model only learned colour" would give."""
    colours = [m["colour"] for m in clips.metas]
    same = torch.tensor([[float(a == b) for b in colours] for a in colours])
    return same + 1e-3 * torch.rand(same.shape, generator=torch.Generator().manual_seed(seed))
