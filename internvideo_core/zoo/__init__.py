"""Registrations: each module here registers one model family and its released checkpoints.

Imported lazily by :func:`internvideo_core.registry._load_zoo`; modules may import from
``internvideo_core.models`` but nothing above it.
"""
