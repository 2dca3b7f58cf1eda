"""The logic behind the Gradio demo (``demos/app.py``), free of any Gradio import so it can be tested alone.

    videos     example clips (the real sample videos shipped in ``internvideo_core/assets/videos`` and SynthMotion clips rendered on the spot),
               reading only the frames a model needs, messages for unreadable files, picture mosaics
    models     where each model comes from (released checkpoint in the cache, tutorial checkpoint under
               ``runs/checkpoints/<profile>``, or nothing, with what to do), loading and preprocessing
    tasks      recognition, zero-shot labels, text-to-video retrieval and masked reconstructions as plain
               functions of models and tensors
    service    :class:`~internvideo_core.demo.service.DemoService`: one object per demo process that caches
               models and embeddings and turns a video path and the widget values into displayable results

This package sits at the top of the kit's layers (next to the notebooks and the CLI): nothing else in
``internvideo_core`` imports it.
"""
