"""The demo's key-frame action detection tab: boxes given by the visitor (or those of a rendered AVA-style
SynthMotion scene), the notebook-09 detector, and a key frame with boxes and scored actions.

    tab = KeyFrameDetection(service)                       # the DemoService of the page (clips, example folder)
    path, boxes_text, second = tab.render_scene()          # a SynthMotion AVA scene and its boxes
    picture, table = tab.detect(path, boxes_text, second)

Problems the visitor can act on raise :class:`~internvideo_core.demo.service.DemoError` with a readable message.
The model is the tutorial detector of notebook 09 (``runs/checkpoints/<profile>/ava_synth_detector.safetensors``);
the kit's zoo has no released AVA detector, so there is no "full" choice yet.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from internvideo_core.demo.models import shown_path
from internvideo_core.demo.service import EXAMPLE_PREFIX, DemoError

__all__ = ["parse_boxes", "format_boxes", "KeyFrameDetection"]


def parse_boxes(text: str) -> torch.Tensor:
    """One box per line (or ``;``-separated), ``x1, y1, x2, y2`` normalised to 0..1 -> ``[K, 4]``.

    Raises ``ValueError`` naming the bad box and what is expected."""
    boxes = []
    for part in (text or "").replace(";", "\n").splitlines():
        part = part.strip()
        if not part:
            continue
        fields = part.replace(",", " ").split()
        try:
            box = [float(v) for v in fields]
        except ValueError:
            raise ValueError(f"box {part!r}: expected four numbers x1, y1, x2, y2") from None
        if len(box) != 4:
            raise ValueError(f"box {part!r}: expected four numbers x1, y1, x2, y2, got {len(box)}")
        if not all(0.0 <= v <= 1.0 for v in box) or box[2] <= box[0] or box[3] <= box[1]:
            raise ValueError(f"box {part!r}: coordinates must be fractions of the frame (0..1) with x1 < x2 and "
                             "y1 < y2, e.g. 0.1, 0.2, 0.5, 0.9")
        boxes.append(box)
    if not boxes:
        raise ValueError("give at least one box: x1, y1, x2, y2 as fractions of the frame, one per line")
    return torch.tensor(boxes, dtype=torch.float32)


def format_boxes(boxes: torch.Tensor | np.ndarray) -> str:
    """``[K, 4]`` -> the text :func:`parse_boxes` reads (3 decimals, one box per line)."""
    return "\n".join(", ".join(f"{float(v):.3f}" for v in b) for b in np.asarray(boxes, dtype=float).reshape(-1, 4))


class KeyFrameDetection:
    """State and actions of the tab (the detector is loaded once, on first use)."""

    def __init__(self, service: Any, profile: str | None = None) -> None:
        self.service = service
        self.profile = profile or getattr(service, "profile", "tutorial")
        self._loaded: tuple | None = None
        self._lock = threading.RLock()

    def checkpoint(self) -> Path:
        from internvideo_core.recipes.ava_synth import detector_checkpoint_path

        return detector_checkpoint_path(self.profile)

    def status(self) -> str:
        """Markdown: which detector serves the tab, or how to get one."""
        path = self.checkpoint()
        if path.is_file():
            return (f"Model: the tutorial AVA-style detector of notebook 09 (`{path.name}`, profile {self.profile}): "
                    "trained on SynthMotion scenes only, it knows seven motions of coloured shapes "
                    "(move left/right/up/down, stay, rotate clockwise/counterclockwise), **not** AVA's person "
                    "actions; on real footage its scores only show the pipeline working.")
        return (f"**No detector yet** (`{shown_path(path)}` is missing). Train one with `internvideo notebooks run --profile "
                f"{self.profile} --only 09` (a few minutes on a CPU); the other tabs work without it.")

    def model(self) -> tuple:
        """``(detector, recipe, classes)``; :class:`DemoError` when the file is missing or unreadable."""
        with self._lock:
            if self._loaded is None:
                from internvideo_core.recipes.ava_synth import load_detector

                try:
                    model, recipe, classes, _ = load_detector(self.checkpoint())
                except FileNotFoundError:
                    raise DemoError(self.status()) from None
                except Exception as err:
                    raise DemoError(f"The detector file {shown_path(self.checkpoint())} could not be loaded ({type(err).__name__}); re-run "
                                    "notebook 09 to write it again.") from None
                self._loaded = (model.to(self.service.device), recipe, classes)
            return self._loaded

    def render_scene(self, index: int = 0, seed: int = 0) -> tuple[str, str, float]:
        """Render one AVA-style SynthMotion validation scene as mp4 in the example folder, as the detector's
        recipe renders them, registered as an example of the service (so the page's file checks accept it):
        ``("example:<name>", its boxes at the first annotated key frame as text, that second)``."""
        from internvideo_core.demo.videos import ExampleClip
        from internvideo_core.data.synthmotion import SynthConfig
        from internvideo_core.data.synthmotion_plan import CLIP_FNS, resolve_sizes
        from internvideo_core.data.synthmotion_writers import write_mp4

        _, recipe, _ = self.model()
        _, sizes = resolve_sizes(recipe.encoder_profile)
        cfg = SynthConfig(size=max(64, recipe.render_size), **dict(recipe.synth))
        clip = CLIP_FNS["ava"](seed, "val", int(index), sizes, cfg)
        folder = Path(self.service.example_dir)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"synthmotion_ava_scene_s{seed}_{index}_{cfg.size}px.mp4"
        path = folder / name
        with self._lock:
            if not path.exists():
                tmp = path.with_name(path.stem + ".tmp.mp4")
                write_mp4(tmp, clip.frames, cfg.fps)
                os.replace(tmp, path)
            if all(e.name != name for e in self.service.examples):
                self.service.examples.append(ExampleClip(name, path, "an AVA-style SynthMotion scene",
                                                         "SynthMotion AVA"))
        second = 1.0
        frame = int(round(second * cfg.fps))
        boxes = np.array([o["boxes"][frame] for o in clip.meta["objects"]])
        return EXAMPLE_PREFIX + name, format_boxes(boxes), second

    def detect(self, path: str | os.PathLike | None, boxes_text: str, second: float | None = None,
               top: int = 3) -> tuple[np.ndarray, str]:
        """Score the actions of the given boxes at the key frame ``second`` (default: the middle of the clip):
        ``(key frame with boxes and top actions, Markdown table of every score)``."""
        from internvideo_core.recipes.ava_synth import frames_to_input
        from internvideo_core.viz_boxes import draw_detections

        try:
            boxes = parse_boxes(boxes_text)
        except ValueError as err:
            raise DemoError(f"Boxes: {err}.") from None
        model, recipe, classes = self.model()
        clip = self.service.clip(path)
        n, fps = clip.num_frames, clip.info.fps or 25.0
        centre = n // 2 if second is None or float(second) < 0 else int(round(float(second) * fps))
        if not 0 <= centre < n:
            raise DemoError(f"The key frame at {float(second):.2f} s is outside the clip ({n / fps:.2f} s long).")
        # the detector was trained on one 2-second segment (clip_frames frames at 8 fps) around each key frame
        span = recipe.clip_frames / 8.0 * fps
        idx = np.linspace(centre - span / 2, centre + span / 2, recipe.clip_frames, endpoint=False).round()
        idx = np.clip(idx, 0, n - 1).astype(int)
        frames = self.service._frames(clip, idx)                                          # uint8 [T, H, W, 3]
        s = recipe.render_size
        small = torch.nn.functional.interpolate(frames.permute(0, 3, 1, 2).float(), size=(s, s), mode="area")
        small = small.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        x = frames_to_input(small[None], recipe.frame_stride).to(self.service.device)
        with self._lock, torch.no_grad():
            scores = torch.sigmoid(model(x, [(boxes * s).to(self.service.device)])).float().cpu()   # [K, A]
        key = self.service._frames(clip, np.array([centre]))[0].numpy()
        captions = []
        for k, row in enumerate(scores):
            best = sorted(zip(row.tolist(), classes), reverse=True)[:top]
            captions.append(f"box {k + 1}\n" + "\n".join(f"{c} {v:.2f}" for v, c in best))
        scale = max(1, 256 // max(key.shape[:2]))
        picture = draw_detections(key, boxes, captions, scale=scale, width=2)
        table = ["| box | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
        table += [f"| {k + 1} | " + " | ".join(f"{v:.2f}" for v in row.tolist()) + " |" for k, row in enumerate(scores)]
        note = (f"Key frame {centre} ({centre / fps:.2f} s) of {Path(str(path)).name}; {recipe.clip_frames} frames "
                f"around it resized to {s} x {s} px, every {recipe.frame_stride}th one to the encoder; "
                "scores = sigmoid of the RoI head's logits (multi-label, they need not sum to 1).")
        return picture, note + "\n\n" + "\n".join(table)
