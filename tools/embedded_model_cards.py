"""The embedded models' cards: ``MODEL_CARD.md`` from the ``card`` of ``config.json``, the demo's own answers
added to the cards, and the comparison of a rebuild's cards with the committed ones.

Used by ``tools/build_embedded_models.py`` (which trains the models); kept apart so that what a card says and
how ``--check`` / ``--compare`` judge a rebuild can be read, and tested, without the training code.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from internvideo_core.embedded import EMBEDDED

#: Build stage -> the embedded model it makes.
STAGE_MODELS = {"autoencoder": "videomae_pretrain_tiny_synth", "classifier": "videomae_vit_tiny_synth",
                "dual_encoder": "internvideo_mm_tiny_synth"}


def model_names(stages: list[str]) -> list[str]:
    """The embedded model names of build ``stages`` (``"autoencoder"``, ``"classifier"``, ``"dual_encoder"``)."""
    return [STAGE_MODELS[s] for s in stages]


# ------------------------------------------------------------------------------------------------- cards
#: What each card says besides its numbers (a paragraph ending in a blank line).
NOTES: dict[str, str] = {
    "videomae_pretrain_tiny_synth": """Trained on the **striped** look (notebook 02's `RECONSTRUCTION_OVERRIDES`,
`internvideo_core.embedded.STRIPED_LOOK`): each object is cut out of vertical stripes fixed to the frame, one
patch per period at the model's 28 px, so every tubelet inside an object holds the same normalised pattern and the
visible tubelets predict the hidden ones. The demo renders three such examples ("striped") for its reconstruction
tab. On the demo's other, flat one-colour examples nothing inside an object is predictable (only its edges):
there the model does no better than the mean-patch baseline (`flat_object_*`). `object_*`: the normalised-pixel
MSE on the masked tubelets with structure (a normalised value above 0.5), against predicting each tubelet's own
mean; `demo_striped_*`: the same ratio on the demo's striped examples as the page computes it.

""",
    "internvideo_mm_tiny_synth": """Word table: the recipe keeps the text tower's token embedding (49408 CLIP tokens
x 64) **frozen at its random initialisation** (`freeze_token_embedding`) and trains the text blocks on SynthMotion
captions only. The file stores only the rows of the SynthMotion vocabulary
(`internvideo_core.embedded.caption_token_ids()`: every word of the captions, paraphrases, prompts and questions,
plus the start, end and padding tokens; `word_table_rows_stored`) with their ids; loading rebuilds the full table
with zeros in every other row. A free-text word outside that vocabulary therefore contributes nothing (before, it
contributed a random vector the text tower never saw in training). The metrics were measured on the stored file.

""",
}


def write_model_card(name: str, path: Path) -> None:
    """``MODEL_CARD.md`` beside the weights, from the ``card`` of ``config.json``."""
    from internvideo_core.model_config import config_path

    cfg = json.loads(config_path(path).read_text())
    card = cfg["card"]
    metric_lines = "\n".join(f"| {k} | {v} |" for k, v in card["metrics"].items())
    note = NOTES.get(name, "")
    text = f"""# {name} (embedded SynthMotion model)

Task in the demo: **{EMBEDDED[name]}**. Architecture `{cfg['architecture']}` (registered in
`internvideo_core/zoo`), weights `model.safetensors` ({path.stat().st_size / 2**20:.2f} MiB, {card['weights_dtype']}).

- Recipe: `internvideo_core.recipes.{card['recipe']}`, profile `{card['profile']}` with the changes listed in
  `config.json` (`card.recipe_fields`); seed {card['seed']}.
- Data: {card['data']}
- Kit version: {card['kit_version']}; training CPU time: {card['train_cpu_seconds']} s.
- Rebuild (same seed, same metrics): `{card['command']}`

## Held-out metrics (SynthMotion clips no training step saw)

| metric | value |
|---|---|
{metric_lines}

{note}Trained on synthetic clips only: on real videos it guesses. Use a released checkpoint
(`internvideo zoo list`) for real footage.

Licence: Apache-2.0, like the kit. The weights were trained by the kit from a random initialisation on SynthMotion, clips the kit renders itself; no third-party data or weights went into them.
"""
    path.with_name("MODEL_CARD.md").write_text(text)


# -------------------------------------------------------------------------------------------- demo check
def demo_check(out: Path) -> dict:
    """The demo's own answers on its SynthMotion examples with the models in ``out`` (an empty runs folder):
    recognition top-1, zero-shot top-1 and the retrieval rank of each example's caption; the reconstruction tab's
    model / mean-patch error on the masked object tubelets of each striped example (mask 90 %, mask seed 0, the
    page's defaults)."""
    from internvideo_core.demo.service import EXAMPLE_PREFIX, DemoService
    from internvideo_core.demo.videos import STRIPED_EXAMPLES, SYNTH_EXAMPLES

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INTERNVIDEO_RUNS"] = str(Path(tmp) / "runs")
        os.environ["INTERNVIDEO_EMBEDDED_DIR"] = str(out)
        service = DemoService("tutorial", synth_examples=len(SYNTH_EXAMPLES), example_dir=Path(tmp) / "ex",
                              device="cpu", striped_examples=len(STRIPED_EXAMPLES))
        defaults = service.defaults()
        rows = []
        for ex, (motion, _, _) in zip([e for e in service.examples if e.origin == "SynthMotion"], SYNTH_EXAMPLES):
            ref = EXAMPLE_PREFIX + ex.name
            row: dict[str, Any] = {"example": ex.name, "motion": motion}
            if service.choices["recognition"].available:
                row["recognised"] = next(iter(service.recognize(ref, 1)))
            if service.choices["video_text"].available:
                zs = service.zero_shot(ref, defaults["labels"], defaults["templates"])
                row["zero_shot"] = next(iter(zs))
                names = [n for n, _ in service.retrieve(ex.caption, len(service.examples))[2]]
                row["retrieval_rank"] = names.index(ex.name) + 1
            rows.append(row)
        striped = []
        if service.choices["reconstruction"].available:
            for ex in service.striped():
                rec = service.reconstruct(EXAMPLE_PREFIX + ex.name, 0.9, 0)[2]
                striped.append({"example": ex.name, "object_ratio": round(rec.object_ratio, 3),
                                "object_tubelets": rec.object_tubelets})
    return {"examples": rows, "striped": striped}


def add_demo_check(out: Path, check: dict) -> None:
    """Put the demo's answers on its 12 SynthMotion examples on the cards (recognition and zero-shot top-1
    right, retrieval rank 1 of the example's caption among all example clips) and the reconstruction tab's
    object-tubelet ratios on the striped examples (each, and the worst: what the browser test holds the page to)."""
    from internvideo_core.model_config import config_path

    rows = check["examples"]
    found = {"videomae_vit_tiny_synth": {"demo_examples_recognised": sum(r.get("recognised") == r["motion"]
                                                                         for r in rows)},
             "internvideo_mm_tiny_synth": {
                 "demo_examples_zero_shot_right": sum(r.get("zero_shot", "").endswith(MOTION_PHRASE.get(r["motion"], "?"))
                                                      for r in rows),
                 "demo_examples_retrieval_rank1": sum(r.get("retrieval_rank") == 1 for r in rows)}}
    for name, counts in found.items():
        found[name] = {k: f"{v} / {len(rows)}" for k, v in counts.items()}
    if check.get("striped"):
        ratios = [r["object_ratio"] for r in check["striped"]]
        found["videomae_pretrain_tiny_synth"] = {
            "demo_striped_examples_object_ratio (90 %, mask seed 0)": " / ".join(f"{r:.3f}" for r in ratios),
            "demo_striped_examples_worst_object_ratio": max(ratios)}
    for name, metrics in found.items():
        path = out / name / "model.safetensors"
        if not path.is_file():
            continue
        cfg = json.loads(config_path(path).read_text())
        cfg["card"]["metrics"].update(metrics)
        config_path(path).write_text(json.dumps(cfg, indent=1))
        write_model_card(name, path)


#: motion -> the end of its zero-shot label ("shape moves to the left").
MOTION_PHRASE = {"move left": "to the left", "move right": "to the right", "move up": "moves up", "move down": "moves down",
           "rotate clockwise": "rotates clockwise", "rotate counterclockwise": "rotates counterclockwise",
           "grow": "grows", "shrink": "shrinks", "fade in": "fades in", "fade out": "fades out", "bounce": "bounces",
           "stay": "stays still"}


# ------------------------------------------------------------------------------------------------- check
def compare_cards(built: Path, committed: Path, names: list[str]) -> tuple[list[tuple[str, str, Any, Any]], bool]:
    """Every card metric of the models ``names`` in ``built`` against ``committed``: rows ``(model, metric,
    committed value, rebuilt value)`` and whether all are equal (a metric missing on either side differs)."""
    from internvideo_core.model_config import config_path

    rows, same = [], True
    for name in names:
        def metrics(root: Path) -> dict:
            path = config_path(root / name / "model.safetensors")
            return json.loads(path.read_text())["card"]["metrics"] if path.is_file() else {}

        old, new = metrics(committed), metrics(built)
        for key in list(old) + [k for k in new if k not in old]:
            a, b = old.get(key, "(missing)"), new.get(key, "(missing)")
            rows.append((name, key, a, b))
            same &= a == b
    return rows, same


def print_comparison(rows: list[tuple[str, str, Any, Any]]) -> None:
    print("| model | metric | committed card | rebuilt | same |\n|---|---|---|---|---|")
    for name, key, a, b in rows:
        print(f"| {name} | {key} | {a} | {b} | {'yes' if a == b else '**NO**'} |")
