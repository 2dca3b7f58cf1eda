"""Plot helpers: the mask picture shows exactly the hidden tubelets."""
from __future__ import annotations

import numpy as np
import torch

from internvideo_core import viz
from internvideo_core.masking import tube_mask


def test_mask_frames_greys_exactly_the_masked_tubelets():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)  # T=4, 2x2 tokens of 4 px, tubelet 2
    grid = (2, 2, 2)
    mask = tube_mask(1, grid, 0.5, generator=torch.Generator().manual_seed(0))[0]
    solid = viz.mask_frames(clip, mask, grid, tubelet=2, keep=0.0)
    m = mask.numpy().reshape(grid)
    for t in range(4):
        hidden = np.kron(m[t // 2], np.ones((4, 4), dtype=bool))
        assert (solid[t][hidden] == 128).all()                 # solid grey: nothing of the content
        np.testing.assert_array_equal(solid[t][~hidden], clip[t][~hidden])  # visible pixels untouched
    shaded = viz.mask_frames(clip, mask, grid, tubelet=2)   # default: content shows faintly through
    assert not (shaded[0][np.kron(m[0], np.ones((4, 4), dtype=bool))] == 128).all()
