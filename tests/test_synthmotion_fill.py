"""SynthMotion's opt-in grating fill (notebook 02): a new option only, the default is unchanged."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from internvideo_core.data.synthmotion import SynthConfig, render_clip


def test_default_rendering_is_bytewise_what_it_was():
    h = hashlib.sha256()
    for motion in ("move left", "rotate clockwise", "grow", "fade in"):
        h.update(render_clip(motion, 3)[0].tobytes())
        h.update(render_clip(motion, 4, SynthConfig(size=28, noise=0.0, textured=False, radius=(0.22, 0.32)))[0].tobytes())
    assert h.hexdigest()[:16] == "2fc8d161d30be56f"  # computed before the fill options existed


def test_the_grating_fill_puts_structure_inside_the_object_only():
    fill = "grating"
    base = SynthConfig(size=32, noise=0.0, textured=False, radius=(0.3, 0.32), marker=False)
    flat, meta = render_clip("stay", 5, base)
    filled, _ = render_clip("stay", 5, base.replace(fill=fill))
    cx, cy = (meta["boxes"][0, 0] + meta["boxes"][0, 2]) / 2 * 32, (meta["boxes"][0, 1] + meta["boxes"][0, 3]) / 2 * 32
    inner = filled[0, int(cy) - 3: int(cy) + 3, int(cx) - 3: int(cx) + 3]
    spread = lambda a: np.ptp(a.astype(float), axis=(0, 1)).max()  # noqa: E731  per channel
    assert spread(flat[0, int(cy) - 3: int(cy) + 3, int(cx) - 3: int(cx) + 3]) == 0  # flat: one colour
    assert spread(inner) > 10                                                         # filled: structure
    assert np.array_equal(filled[0, :2, :2], flat[0, :2, :2])                                        # background as is


def test_unknown_fill_is_refused():
    with pytest.raises(ValueError, match="fill"):
        SynthConfig(fill="polka")
