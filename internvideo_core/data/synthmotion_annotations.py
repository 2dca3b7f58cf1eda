"""SynthMotion language: captions with paraphrases, SSv2-style templates, question/answer pairs.

All text is generated from a clip's meta (motion, shape, colour, size, number of objects) with a seeded
``numpy.random.Generator``; nothing here renders or writes files.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# Several paraphrases of each motion as a verb phrase in the third person.
MOTION_PHRASES: dict[str, tuple[str, ...]] = {
    "move left": ("moves to the left", "slides left", "travels from right to left", "drifts leftwards",
                  "goes left"),
    "move right": ("moves to the right", "slides right", "travels from left to right", "drifts rightwards",
                   "goes right"),
    "move up": ("moves up", "rises", "travels upwards", "goes up", "climbs towards the top"),
    "move down": ("moves down", "sinks", "travels downwards", "goes down", "drops towards the bottom"),
    "rotate clockwise": ("rotates clockwise", "spins clockwise", "turns clockwise", "twirls clockwise"),
    "rotate counterclockwise": ("rotates counterclockwise", "spins anticlockwise", "turns counterclockwise",
                                "twirls anticlockwise"),
    "grow": ("grows", "gets bigger", "expands", "grows larger", "swells"),
    "shrink": ("shrinks", "gets smaller", "contracts", "becomes smaller", "dwindles"),
    "fade in": ("fades in", "appears gradually", "slowly becomes visible", "emerges out of nothing"),
    "fade out": ("fades out", "disappears gradually", "slowly vanishes", "fades away"),
    "bounce": ("bounces", "hops up and down", "jumps repeatedly", "bounces up and down"),
    "stay": ("stays still", "does not move", "remains in place", "sits motionless", "stays put"),
    "orbit": ("moves in a circle", "circles around", "orbits around a point", "goes round in a loop"),
    "shake": ("shakes", "wiggles from side to side", "jitters left and right", "trembles sideways"),
}
# Present participle of each motion for "which shape is ...?" questions.
MOTION_GERUNDS: dict[str, str] = {
    "move left": "moving to the left", "move right": "moving to the right", "move up": "moving up",
    "move down": "moving down", "rotate clockwise": "rotating clockwise",
    "rotate counterclockwise": "rotating counterclockwise", "grow": "growing", "shrink": "shrinking",
    "fade in": "fading in", "fade out": "fading out", "bounce": "bouncing", "stay": "staying still",
    "orbit": "moving in a circle", "shake": "shaking",
}
# One-word answers to "what is the X doing?".
MOTION_VERB: dict[str, str] = {
    "move left": "moving", "move right": "moving", "move up": "moving", "move down": "moving",
    "rotate clockwise": "rotating", "rotate counterclockwise": "rotating", "grow": "growing",
    "shrink": "shrinking", "fade in": "fading", "fade out": "fading", "bounce": "bouncing",
    "stay": "resting", "orbit": "circling", "shake": "shaking",
}
# (question about the direction, one-word answer) for direction-pair motions.
DIRECTION_QUESTIONS: dict[str, tuple[str, str]] = {
    "move left": ("which direction does the {obj} move?", "left"),
    "move right": ("which direction does the {obj} move?", "right"),
    "move up": ("which direction does the {obj} move?", "up"),
    "move down": ("which direction does the {obj} move?", "down"),
    "rotate clockwise": ("which way does the {obj} rotate?", "clockwise"),
    "rotate counterclockwise": ("which way does the {obj} rotate?", "counterclockwise"),
    "grow": ("does the {obj} grow or shrink?", "grow"),
    "shrink": ("does the {obj} grow or shrink?", "shrink"),
    "fade in": ("does the {obj} fade in or fade out?", "in"),
    "fade out": ("does the {obj} fade in or fade out?", "out"),
}
# Something-Something-v2-style templates of the direction-pair classes ("[something]" is the placeholder).
SSV2_TEMPLATES: dict[str, str] = {
    "move left": "Moving [something] from right to left",
    "move right": "Moving [something] from left to right",
    "move up": "Moving [something] up",
    "move down": "Moving [something] down",
    "rotate clockwise": "Rotating [something] clockwise",
    "rotate counterclockwise": "Rotating [something] counterclockwise",
    "grow": "Making [something] bigger",
    "shrink": "Making [something] smaller",
    "fade in": "Letting [something] fade in",
    "fade out": "Letting [something] fade out",
}
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six")
_SUBJECTS = ("a {colour} {shape}", "the {colour} {shape}", "a {size} {colour} {shape}", "one {colour} {shape}",
             "a {colour} coloured {shape}")
_FRAMES = ("{subj} {verb}", "in this video {subj} {verb}", "we see {subj} that {verb}", "a clip where {subj} {verb}",
           "on a {background} background {subj} {verb}", "{subj} {verb} while {others} still")


def ssv2_template_label(template: str) -> str:
    """The key of a template in SSv2's labels JSON: brackets removed (``"Moving something up"``)."""
    return template.replace("[", "").replace("]", "")


def ssv2_entry(video_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    """One entry of an SSv2 JSON list: id, filled-in label, template and placeholders."""
    template = SSV2_TEMPLATES[meta["motion"]]
    obj = f"{meta['colour']} {meta['shape']}"
    label = template.replace("[something]", obj)
    return {"id": video_id, "label": label[0].lower() + label[1:], "template": template, "placeholders": [obj]}


def caption_variants(meta: dict[str, Any], rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct templated captions (paraphrases) describing the main object's motion."""
    others = meta.get("num_objects", 1) - 1
    fields = {"colour": meta["colour"], "shape": meta["shape"], "size": meta.get("size", "medium")}
    seen: list[str] = []
    for _ in range(n * 20):
        frame = str(rng.choice(_FRAMES))
        if "{others}" in frame and others == 0:
            continue
        subj = str(rng.choice(_SUBJECTS)).format(**fields)
        verb = str(rng.choice(MOTION_PHRASES[meta["motion"]]))
        bg = meta.get("background", "plain")
        text = frame.format(subj=subj, verb=verb, background=bg,
                            others=f"{NUMBER_WORDS[others]} other " + ("shapes stay" if others > 1 else "shape stays"))
        if text not in seen:
            seen.append(text)
        if len(seen) == n:
            break
    return seen


def prompt_for(motion: str) -> str:
    """A canonical class prompt (zero-shot classification): ``"a shape that moves to the left"``."""
    return f"a shape that {MOTION_PHRASES[motion][0]}"


def questions_for(meta: dict[str, Any]) -> list[dict[str, str]]:
    """Question/answer pairs (MSRVTT-QA style, one-word answers) of a clip; types: what, direction, colour,
    shape, count."""
    obj = f"{meta['colour']} {meta['shape']}"
    motion = meta["motion"]
    out = [
        {"question": f"what is the {obj} doing?", "answer": MOTION_VERB[motion], "type": "what"},
        {"question": f"what colour is the {meta['shape']} that is {MOTION_GERUNDS[motion]}?",
         "answer": meta["colour"], "type": "colour"},
        {"question": f"which shape is {MOTION_GERUNDS[motion]}?", "answer": meta["shape"], "type": "shape"},
        {"question": "how many shapes are there?", "answer": NUMBER_WORDS[meta.get("num_objects", 1)],
         "type": "count"},
    ]
    if motion in DIRECTION_QUESTIONS:
        q, a = DIRECTION_QUESTIONS[motion]
        out.append({"question": q.format(obj=obj), "answer": a, "type": "direction"})
    return out


def multiple_choice(video_id: str, meta: dict[str, Any], caption: str, rng: np.random.Generator,
                    num_options: int = 5) -> dict[str, Any]:
    """A multiple-choice item: the true caption among distractor captions of the same object doing other
    motions (only the motion tells them apart)."""
    wrong = [m for m in MOTION_PHRASES if m != meta["motion"]]
    options = [caption]
    for m in rng.permutation(np.array(wrong))[: num_options - 1]:
        options.append(caption_variants({**meta, "motion": str(m)}, rng, 1)[0])
    order = rng.permutation(len(options))
    options = [options[i] for i in order]
    return {"video_id": video_id, "options": options, "answer": int(np.argmin(order))}
