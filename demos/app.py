"""The InternVideo kit's Gradio demo: upload a clip (or pick an example), see its sampled frames, the action
recognised by a VideoMAE classifier, zero-shot labels and text-to-video retrieval with the InternVideo-MM dual
encoder, and masked reconstructions by a VideoMAE autoencoder.

    python demos/app.py [--host 127.0.0.1] [--port 7860] [--profile tutorial] [--full] [--share no]
                        [--checkpoint PATH_OR_NAME ...]

Right after ``git clone`` the page runs on the SynthMotion models embedded in the package
(:mod:`internvideo_core.embedded`); ``--checkpoint`` puts your own model (or a named one) in their place.

The page only lays out widgets; everything else (which model, where it comes from, decoding, inference) lives
in :mod:`internvideo_core.demo` and is tested without Gradio. See ``demos/README.md``.
"""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402  (after the analytics switch)

from internvideo_core.demo.service import EXAMPLE_PREFIX, DemoError, DemoService  # noqa: E402

__all__ = ["build_demo", "launch_options", "main"]

log = logging.getLogger("internvideo.demo")
_PLAYABLE = {".mp4", ".webm", ".ogg", ".m4v"}
_INTRO = """# InternVideo kit demo
Upload a short video (mp4, avi, webm) or pick an example: the real clips bundled with the kit or SynthMotion
clips the kit renders on the spot. Then try the tabs. Models and where they come from:
"""


def _warn(message: str) -> str:
    return f"**Problem:** {message}" if not message.startswith("**") else message


def _guard(fn: Callable[..., tuple], n_out: int, message_slot: int) -> Callable[..., tuple]:
    """Run ``fn``; a :class:`DemoError` (or any other failure) becomes a message in output ``message_slot``
    and empty values elsewhere: the visitor never sees a traceback, nor the words of an unexpected error
    (they could quote a file or a path of the server; the console log has them)."""

    def run(*args: Any) -> tuple:
        try:
            return fn(*args)
        except DemoError as err:
            text = _warn(str(err))
        except Exception as err:  # logged for the console, summarised for the page
            log.exception("demo action failed")
            text = f"**Something went wrong** ({type(err).__name__}); the server's console has the details."
        out: list[Any] = [None] * n_out
        out[message_slot] = text
        return tuple(out)

    return run


def default_example(service: DemoService):
    """The example shown first: a rendered SynthMotion clip when the recognition model is a tutorial model
    (trained on SynthMotion only, so a real clip would only show it guessing), else the first bundled video."""
    if not service.examples:
        return None
    if service.choices["recognition"].kind != "released":
        synth = [e for e in service.examples if e.origin != "bundled"]
        if synth:
            return synth[0]
    return service.examples[0]


def _whole(value: Any) -> Any:
    """A widget number as an int when it is a whole number; anything else is passed on for the service to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def upload_folder() -> Path:
    """Where Gradio stores uploads (``GRADIO_TEMP_DIR``, default ``<tmp>/gradio``): the only folder besides the
    examples that the page opens files from."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


def launch_options(service: DemoService, max_file_size: str = "200mb") -> dict[str, Any]:
    """Keyword arguments for ``demo.launch``: an upload size limit and the folders Gradio must never serve
    (the kit's runs and cache folders, the user's private folders); the bundled sample videos ship inside
    the package and are public."""
    from internvideo_core.paths import cache_dir, runs_dir

    blocked = [str(runs_dir()), str(cache_dir()), str(Path.home() / ".ssh"), str(Path.home() / ".cache"),
               str(Path.home() / ".config")]
    uploads = upload_folder().resolve()
    blocked = [b for b in blocked if not uploads.is_relative_to(Path(b).resolve())]  # uploads must stay usable
    return {"max_file_size": max_file_size, "blocked_paths": blocked}


def keyframe_detection_tab(service: DemoService, current: Any, shown: list, show: Callable[[str], tuple]) -> None:
    """The "Key-frame action detection" tab (inside ``gr.Tabs``): boxes typed by the visitor or those of a
    rendered AVA-style SynthMotion scene, scored by notebook 09's detector (:mod:`internvideo_core.demo.detection`).
    ``current`` / ``shown`` / ``show``: the page's clip state, preview outputs and preview function."""
    from internvideo_core.demo.detection import KeyFrameDetection

    tab = KeyFrameDetection(service)
    with gr.Tab("Key-frame action detection"):
        gr.Markdown(tab.status() + "\n\nAVA-style: at one key frame, every given box gets a score per action "
                    "(time-pooled encoder map, RoIAlign on the box, max pooling, sigmoid). Boxes are fractions of "
                    "the frame, `x1, y1, x2, y2`, one per line.")
        with gr.Row():
            boxes = gr.Textbox("0.00, 0.00, 0.50, 1.00\n0.38, 0.00, 1.00, 0.85", label="boxes (x1, y1, x2, y2 in "
                               "0..1, one per line; the default fits the people of demo_spatiotemporal_det.mp4)",
                               lines=3, scale=3, elem_id="det-boxes")
            second = gr.Number(-1, label="key frame (seconds; -1 = middle of the clip)", scale=1, elem_id="det-second")
        with gr.Row():
            scene_btn = gr.Button("Render an AVA-style SynthMotion scene (with its boxes)", elem_id="det-scene-btn")
            det_btn = gr.Button("Detect actions", variant="primary", elem_id="det-btn")
        det_out = gr.Image(label="key frame, boxes and top actions", type="numpy", elem_id="det-picture")
        det_msg = gr.Markdown(elem_id="det-message")

    def scene() -> tuple:
        path, text, sec = tab.render_scene()
        return (*show(path), text, sec, f"Rendered `{path.removeprefix(EXAMPLE_PREFIX)}`; press **Detect actions**.")

    def detect(path: str, text: str, sec: float) -> tuple:
        return tab.detect(path, text, None if sec is None else float(sec))

    scene_btn.click(_guard(scene, len(shown) + 3, len(shown) + 2), None, [*shown, boxes, second, det_msg])
    det_btn.click(_guard(detect, 2, 1), [current, boxes, second], [det_out, det_msg])


def action_timeline_tab(service: DemoService, current: Any, shown: list, show: Callable[[str], tuple]) -> None:
    """The "Action timeline" tab (inside ``gr.Tabs``): action segments that notebook 08's localization head finds
    in the current (uploaded or example) video, on a timeline; a button renders an untrimmed SynthMotion video and
    draws its ground truth beneath (:mod:`internvideo_core.demo.timeline`). ``current`` / ``shown`` / ``show``:
    the page's clip state, preview outputs and preview function."""
    from internvideo_core.demo.timeline import ActionTimeline

    tab = ActionTimeline(service)
    with gr.Tab("Action timeline"):
        gr.Markdown(tab.status() + "\n\nTemporal action localization: snippet features slide over the whole "
                    "video, the head predicts segments (start, end, action, score), soft-NMS removes duplicates.")
        with gr.Row():
            min_score = gr.Slider(0.0, 1.0, value=0.3, step=0.05, label="minimum score to show",
                                  elem_id="timeline-min-score")
            example_btn = gr.Button("Render an untrimmed SynthMotion video (with its ground truth)",
                                    elem_id="timeline-example-btn")
            run_btn = gr.Button("Find the actions", variant="primary", elem_id="timeline-btn")
        picture = gr.Image(label="timeline: detected segments (ground truth beneath for a rendered video)",
                           type="numpy", elem_id="timeline-picture")
        message = gr.Markdown(elem_id="timeline-message")

    def example() -> tuple:
        ref, truth = tab.render_example()
        return (*show(ref), f"Rendered an untrimmed SynthMotion video with {len(truth)} actions; press "
                "**Find the actions**.")

    def run(ref: str, score: float) -> tuple:
        pic, text, _ = tab.detect(ref, 0.3 if score is None else score)
        return pic, text

    example_btn.click(_guard(example, len(shown) + 1, len(shown)), None, [*shown, message])
    run_btn.click(_guard(run, 2, 1), [current, min_score], [picture, message])


def build_demo(service: DemoService | None = None, *, profile: str = "tutorial", full: bool = False,
               synth_examples: int = 8) -> gr.Blocks:
    """The demo page. ``service`` defaults to ``DemoService(profile, full, synth_examples)``.

    The service is restricted to Gradio's upload folder and the examples (:meth:`DemoService.restrict_to`);
    the page refers to examples as ``"example:<name>"``, so no server path appears in the page or ``/config``.
    """
    service = service or DemoService(profile=profile, full=full, synth_examples=synth_examples)
    service.restrict_to(upload_folder())
    names = [e.name for e in service.examples]
    first = default_example(service)
    defaults = service.defaults()

    def show(ref: str | None) -> tuple:
        path = service.resolve(ref)  # refuses files outside the upload folder and the examples
        info, frames = service.preview(ref)
        video = str(path) if path.suffix.lower() in _PLAYABLE else None
        return ref, info, frames, video

    def pick_example(name: str) -> tuple:
        if not name:
            return (gr.update(),) * 4
        return show(EXAMPLE_PREFIX + service.example(name).name)

    def uploaded(payload: Any) -> tuple:
        # the event runs with preprocess=False: Gradio would otherwise copy ANY server path a client names in
        # the FileData payload into its cache before this function could refuse it
        path = payload.get("path") if isinstance(payload, dict) else payload
        if not path:
            return (gr.update(),) * 4
        return show(str(path))

    def clip_name(ref: str) -> str:
        if not ref:
            return "?"
        return ref[len(EXAMPLE_PREFIX):] if ref.startswith(EXAMPLE_PREFIX) else Path(ref).name

    def recognise(path: str) -> tuple:
        top = service.recognize(path, 5)
        return top, f"{clip_name(path)}: {service.protocol('recognition')}"

    def zero_shot(path: str, labels: str, templates: str) -> tuple:
        probs = service.zero_shot(path, labels, templates)
        return probs, f"{clip_name(path)}: softmax over {len(probs)} labels; {service.protocol('video_text')}"

    def retrieve(query: str, k: float) -> tuple:
        picture, table, _ = service.retrieve(query, _whole(k))
        return picture, table

    def reconstruct(path: str, ratio: float, seed: float) -> tuple:
        picture, text, _ = service.reconstruct(path, ratio, _whole(0 if seed is None else seed))
        return picture, f"{clip_name(path)}: {text} Input: {service.protocol('reconstruction')}."

    striped = service.striped()

    def next_striped(k: int) -> tuple:
        ex = striped[int(k or 0) % len(striped)]
        return (*show(EXAMPLE_PREFIX + ex.name), (int(k or 0) + 1) % len(striped))

    # delete_cache: Gradio removes this app's uploads and outputs older than an hour, checked hourly
    with gr.Blocks(title="InternVideo kit demo", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(_INTRO)
        gr.Markdown(service.describe_models(), elem_id="model-sources")
        current = gr.State(EXAMPLE_PREFIX + first.name if first else None)
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label="Upload a video", file_types=[".mp4", ".avi", ".webm", ".mkv", ".mov"],
                                 type="filepath", elem_id="upload")
                example = gr.Dropdown(names, value=first.name if first else None, label="or pick an example",
                                      elem_id="example")
                preview = gr.Video(label="clip", interactive=False, height=220, elem_id="preview")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="video-status")
                frames = gr.Gallery(label="sampled frames (only these are decoded for the preview)", columns=4,
                                    object_fit="contain", elem_id="frames")
        with gr.Tabs():
            with gr.Tab("Action recognition"):
                gr.Markdown(service.model_status("recognition"))
                rec_btn = gr.Button("Recognise the action", variant="primary", elem_id="recognize-btn")
                rec_out = gr.Label(num_top_classes=5, label="top-5 classes", elem_id="recognition-labels")
                rec_msg = gr.Markdown(elem_id="recognition-message")
            with gr.Tab("Zero-shot labels"):
                gr.Markdown(service.model_status("video_text"))
                zs_labels = gr.Textbox(defaults["labels"], label="candidate labels (comma separated)", lines=2,
                                       elem_id="zs-labels")
                zs_templates = gr.Textbox(defaults["templates"], label="prompt templates (one per line, {} = label; "
                                          "the probabilities are averaged over them)", lines=3, max_lines=8,
                                          elem_id="zs-templates")
                zs_btn = gr.Button("Score the labels", variant="primary", elem_id="zeroshot-btn")
                zs_out = gr.Label(label="zero-shot probabilities", elem_id="zeroshot-labels")
                zs_msg = gr.Markdown(elem_id="zeroshot-message")
            with gr.Tab("Text-to-video retrieval"):
                gr.Markdown(service.model_status("video_text") + "\n\nThe gallery: every example clip "
                            "(bundled and SynthMotion), embedded once.")
                with gr.Row():
                    query = gr.Textbox(defaults["query"], label="text query", scale=4, elem_id="query")
                    top_k = gr.Slider(1, 8, value=4, step=1, label="clips to show", scale=1)
                rt_btn = gr.Button("Search the gallery", variant="primary", elem_id="retrieve-btn")
                rt_out = gr.Image(label="best matches", type="numpy", elem_id="retrieval-best")
                rt_table = gr.Markdown(elem_id="retrieval-table")
            with gr.Tab("Masked reconstruction"):
                gr.Markdown(service.model_status("reconstruction") + "\n\nTube masking hides the same patches in "
                            "every frame; the decoder predicts the hidden tubelets' pixels, normalised per tubelet "
                            "(VideoMAE's targets). The official figures put back each tubelet's true mean and std; "
                            "the last row uses statistics interpolated from the visible tubelets only.")
                note = service.reconstruction_note()
                if note:
                    gr.Markdown(note, elem_id="reconstruction-note")
                with gr.Row():
                    ratio = gr.Slider(0.5, 0.95, value=0.9, step=0.05, label="mask ratio", elem_id="mask-ratio")
                    seed = gr.Number(0, precision=0, label="mask seed")
                with gr.Row():
                    mae_btn = gr.Button("Mask and reconstruct", variant="primary", elem_id="reconstruct-btn")
                    striped_btn = gr.Button(f"Reconstruct a striped example ({len(striped)}, in turn)",
                                            elem_id="striped-btn", visible=bool(striped))
                striped_next = gr.State(0)
                mae_out = gr.Image(label="input, mask, reconstructions", type="numpy", elem_id="reconstruction")
                mae_msg = gr.Markdown(elem_id="reconstruction-message")
            keyframe_detection_tab(service, current, [current, status, frames, preview], show)
            action_timeline_tab(service, current, [current, status, frames, preview], show)

        shown = [current, status, frames, preview]
        example.change(_guard(pick_example, 4, 1), example, shown, api_name="example")
        upload.upload(_guard(uploaded, 4, 1), upload, shown, api_name="upload", preprocess=False)
        rec_btn.click(_guard(recognise, 2, 1), current, [rec_out, rec_msg], api_name="recognise")
        zs_btn.click(_guard(zero_shot, 2, 1), [current, zs_labels, zs_templates], [zs_out, zs_msg],
                     api_name="zero_shot")
        rt_btn.click(_guard(retrieve, 2, 1), [query, top_k], [rt_out, rt_table], api_name="retrieve")
        query.submit(_guard(retrieve, 2, 1), [query, top_k], [rt_out, rt_table], api_name="retrieve_on_enter")
        mae_btn.click(_guard(reconstruct, 2, 1), [current, ratio, seed], [mae_out, mae_msg], api_name="reconstruct")
        if striped:  # show the next striped example, then reconstruct it
            striped_btn.click(_guard(next_striped, 5, 1), striped_next, [*shown, striped_next],
                              api_name="striped_example").then(
                _guard(reconstruct, 2, 1), [current, ratio, seed], [mae_out, mae_msg])
        if first is not None:
            demo.load(_guard(show, 4, 1), current, shown)
    return demo


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="InternVideo kit demo (Gradio)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--profile", default=os.environ.get("INTERNVIDEO_PROFILE", "tutorial"),
                        choices=["smoke", "tutorial", "full"],
                        help="tutorial checkpoints are read from runs/checkpoints/<profile>/ (profile 'full' also "
                             "implies --full)")
    parser.add_argument("--full", action="store_true", default=_env_flag("INTERNVIDEO_DEMO_FULL"),
                        help="prefer released checkpoints already in the kit cache (env INTERNVIDEO_DEMO_FULL=1); "
                             "nothing is downloaded")
    parser.add_argument("--share", choices=["yes", "no"], default="no", help="create a public Gradio link")
    parser.add_argument("--synth-examples", type=int, default=8, help="SynthMotion example clips to render")
    parser.add_argument("--compile", action="store_true", help="on a GPU: torch.compile each model when it loads "
                        "(the first request per input shape compiles; faster after)")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="PATH_OR_NAME",
                        help="use this model for the task it serves (repeatable): a file saved by `internvideo "
                             "finetune / pretrain / train-mm` (read with the config.json beside it), a notebook's "
                             "runs/checkpoints file, an embedded name (videomae_vit_tiny_synth, "
                             "videomae_pretrain_tiny_synth, internvideo_mm_tiny_synth) or a released name already "
                             "in the cache (`internvideo zoo list`)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        service = DemoService(profile=args.profile, full=args.full or args.profile == "full",
                              synth_examples=args.synth_examples, compile=args.compile, checkpoints=args.checkpoint)
    except ValueError as err:
        parser.error(str(err))
    demo = build_demo(service)
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share == "yes",
                **launch_options(service))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
