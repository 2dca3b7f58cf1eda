r"""``internvideo export-hf``: write a VideoMAE model in the Hugging Face ``transformers`` layout.

    internvideo export-hf runs/finetune/model.safetensors --out hf/my_videomae   # a model the kit trained
    internvideo export-hf videomae_vit_base_k400 --out hf/videomae_base_k400      # a released checkpoint

The folder gets ``config.json`` (``VideoMAEConfig``, ``id2label`` from the class names when known),
``model.safetensors`` (the weights renamed by :func:`internvideo_core.convert.hf_videomae.official_to_hf`) and
``preprocessor_config.json`` (``VideoMAEImageProcessor``: the model's crop size, ImageNet mean / std), so that
``VideoMAEForVideoClassification.from_pretrained(folder)`` (or ``VideoMAEForPreTraining`` for an autoencoder)
loads it strictly. ``transformers`` is not needed to export.

Known differences (see :mod:`internvideo_core.convert.hf_videomae`): Hugging Face's ``fc_norm`` uses LayerNorm eps
1e-5 where the official models use 1e-6 (outputs differ by ~1e-5), Hugging Face builds the sinusoid table for
the model's own grid (a classifier whose table is resized from another grid is refused unless ``--allow-table-
change``), and its input is ``[B, T, C, H, W]`` where the kit's is ``[B, C, T, H, W]``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["export_hf"]


def _preprocessor_config(img_size: int) -> dict[str, Any]:
    from internvideo_core.data.input_spec import IMAGENET_MEAN, IMAGENET_STD

    return {"image_processor_type": "VideoMAEImageProcessor", "do_resize": True, "size": {"shortest_edge": img_size},
            "resample": 2, "do_center_crop": True, "crop_size": {"height": img_size, "width": img_size},
            "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": list(IMAGENET_MEAN),
            "image_std": list(IMAGENET_STD)}


def export_hf(model: Any, out_dir: str | Path, class_names: list[str] | None = None,
              allow_table_change: bool = False) -> Path:
    """Write ``model`` (a kit VideoMAE classifier or autoencoder) to ``out_dir`` in the transformers layout.

    Raises:
        ValueError: not a VideoMAE model; class names that do not match the head; a classifier whose sinusoid
            table is resized from another grid (transformers would compute other outputs) without
            ``allow_table_change``.
    """
    from safetensors.torch import save_file

    from internvideo_core.checkpoint import to_official_state_dict
    from internvideo_core.convert.hf_videomae import hf_config_kwargs, official_to_hf

    cfg = model.config
    if not hasattr(cfg, "tubelet_size") or hasattr(model, "encode_text"):
        raise ValueError(f"export-hf writes VideoMAE models; got {type(model).__name__}")
    pretraining = hasattr(cfg, "decoder_embed_dim")
    ref = getattr(cfg, "pos_ref_grid", None)
    if not pretraining and ref is not None and tuple(ref) != tuple(cfg.grid) and not allow_table_change:
        raise ValueError(f"this classifier resizes the {tuple(ref)} sinusoid table to its grid {tuple(cfg.grid)} (the "
                         "official rule); transformers builds the table for the grid itself, so the exported model "
                         "would compute other outputs. Pass --allow-table-change to export anyway.")
    hf_cfg = {"model_type": "videomae", **hf_config_kwargs(cfg),
              "architectures": ["VideoMAEForPreTraining" if pretraining else "VideoMAEForVideoClassification"],
              "torch_dtype": "float32"}
    if not pretraining:
        n = int(cfg.num_classes)
        if class_names is not None and len(class_names) != n:
            raise ValueError(f"{len(class_names)} class names for a {n}-class head")
        names = list(class_names) if class_names else [f"LABEL_{i}" for i in range(n)]
        hf_cfg["id2label"] = {str(i): name for i, name in enumerate(names)}
        hf_cfg["label2id"] = {name: i for i, name in enumerate(names)}
    tensors = {k: v.detach().contiguous().cpu() for k, v in official_to_hf(to_official_state_dict(model)).items()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(hf_cfg, indent=2) + "\n", encoding="utf-8")
    (out / "preprocessor_config.json").write_text(json.dumps(_preprocessor_config(int(cfg.img_size)), indent=2) + "\n",
                                                  encoding="utf-8")
    return out


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.commands._training import model_overrides
    from internvideo_core.model_config import model_kwargs, read_model_config
    from internvideo_core.pretrained import load_pretrained
    from internvideo_core.registry import create_model, list_pretrained

    source = args.checkpoint
    if not Path(source).exists() and source in list_pretrained():
        model, _, names = load_pretrained(source, **model_overrides(args.model_args))
        names = names or None
    else:
        if not Path(source).exists():
            raise FileNotFoundError(f"{source}: no such file, and not a released checkpoint name (`internvideo zoo list`)")
        saved = read_model_config(source)
        arch = args.model or (saved or {}).get("architecture")
        if arch is None:
            raise ValueError(f"{source} has no config.json beside it: give --model ARCH (and --model-args) to say "
                             "what it is")
        overrides = {**(model_kwargs(saved) if saved and saved.get("architecture") == arch else {}),
                     **model_overrides(args.model_args)}
        model = create_model(arch, checkpoint_path=source, **overrides)
        names = (saved or {}).get("class_names") or None
    out = export_hf(model.eval(), args.out, names, args.allow_table_change)
    kind = "VideoMAEForPreTraining" if hasattr(model.config, "decoder_embed_dim") else "VideoMAEForVideoClassification"
    print(f"wrote {out}/config.json, model.safetensors, preprocessor_config.json; load with "
          f"transformers.{kind}.from_pretrained({str(out)!r}) (input [B, T, C, H, W])")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-hf", help="write a VideoMAE model in the Hugging Face transformers layout",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a weights file the kit wrote (config.json beside it) or a released name")
    p.add_argument("--out", required=True, help="output folder (config.json, model.safetensors, "
                                                "preprocessor_config.json)")
    p.add_argument("--model", default=None, help="architecture, for a weights file without config.json beside it")
    p.add_argument("--model-args", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--allow-table-change", action="store_true",
                   help="export a classifier whose sinusoid table is resized from another grid (outputs will differ)")
    p.set_defaults(func=_run)
