"""Checkpoint converters, one module per model family.

Each module calls :func:`internvideo_core.checkpoint.register_converter` for its model class(es); the
checkpoint module imports them lazily, by an explicit list in ``checkpoint._converter_for``
(``hf_videomae`` converts Hugging Face files and registers nothing). Modules here may import ``internvideo_core.models``.
"""
