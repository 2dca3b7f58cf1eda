"""InternVideo-MM on SynthMotion (transitional: the whole recipe still lives in :mod:`.data`)."""
from internvideo_core.recipes.mm_synth.data import *  # noqa: F401,F403
from internvideo_core.recipes.mm_synth.data import KNOWN_MOTIONS, SHAPES, __all__  # noqa: F401
