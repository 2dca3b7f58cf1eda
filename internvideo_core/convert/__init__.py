"""Checkpoint converters, one module per model family.

Each module calls :func:`internvideo_core.checkpoint.register_converter` for its model class(es); the
checkpoint module imports this package lazily. Modules here may import ``internvideo_core.models``.
"""
