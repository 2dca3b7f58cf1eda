"""The attention backend switch restricts SDPA to exactly the kernel it names (read back from PyTorch's flags,
which the context sets on every device), leaves PyTorch's choice alone for ``auto`` and refuses unknown names
with the list of valid ones (fast, CPU)."""
from __future__ import annotations

import pytest
import torch

from internvideo_core.models.attention_backend import ATTENTION_BACKENDS, attention_backend


def _enabled() -> dict[str, bool]:
    b = torch.backends.cuda
    return {"flash": b.flash_sdp_enabled(), "efficient": b.mem_efficient_sdp_enabled(),
            "cudnn": b.cudnn_sdp_enabled(), "math": b.math_sdp_enabled()}


@pytest.mark.parametrize("name", ["flash", "efficient", "cudnn", "math"])
def test_each_named_backend_enables_exactly_its_own_kernel_and_restores_the_flags(name):
    before = _enabled()
    with attention_backend(name):
        assert _enabled() == {k: k == name for k in before}
    assert _enabled() == before


def test_auto_and_the_default_leave_pytorchs_choice_untouched():
    assert ATTENTION_BACKENDS == ("auto", "flash", "efficient", "cudnn", "math")
    before = _enabled()
    for ctx in (attention_backend(), attention_backend("auto")):
        with ctx:
            assert _enabled() == before


def test_an_unknown_backend_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match=r"^attention backend must be one of \('auto', 'flash', 'efficient', "
                                         r"'cudnn', 'math'\), got 'Math'$"):
        attention_backend("Math")
