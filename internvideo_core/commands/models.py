r"""``internvideo models``: the architectures the kit can build (``--model`` names), with their size.

    internvideo models                    # every architecture: family, parameters, input, classes
    internvideo models --family videomae --flops   # + GFLOPs of one forward pass of one clip (slower)

Parameters are counted on the ``meta`` device (nothing is allocated, so the ViT-g rows are instant); input is
``frames x size x size`` of the default config; FLOPs (``--flops``) are counted by
``torch.utils.flop_counter`` on one clip, multiply-add = 2 FLOPs (classifiers: the forward pass; autoencoders:
one pretraining forward with 90 % tube masking; dual encoders: the video tower only), attention included (the
math path). The papers' "FLOPs" are multiply-adds, the number in brackets: ViT-B, 16 x 224 x 224: 180 G.
Released weights for these architectures: ``internvideo zoo list``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["describe_architecture"]


def _input(cfg: Any) -> tuple[int, int]:
    size = getattr(cfg, "img_size", None) or getattr(cfg, "input_resolution", None) or 224
    return int(getattr(cfg, "num_frames", 16)), int(size)


def _build(name: str, device: str):
    import torch

    from internvideo_core.registry import build_config, get_model_entry

    cfg = build_config(name)
    with torch.device(device):
        return get_model_entry(name).builder(cfg), cfg


def describe_architecture(name: str, flops: bool = False) -> dict[str, Any]:
    """``{"name", "family", "params", "input": (frames, size), "num_classes", "gflops"}`` of the architecture
    ``name`` with its default config (``gflops``: one clip's forward pass when ``flops``, else ``None``)."""
    import torch

    from internvideo_core.registry import build_config, get_model_entry

    entry = get_model_entry(name)
    try:
        model, cfg = _build(name, "meta")
    except Exception:  # noqa: BLE001 - a builder that needs real tensors (e.g. numpy tables): count on the CPU
        model, cfg = _build(name, "cpu")
    params = sum(p.numel() for p in model.parameters())
    frames, size = _input(cfg)
    gflops = None
    if flops:
        from torch.utils.flop_counter import FlopCounterMode

        model, cfg = _build(name, "cpu") if next(model.parameters()).is_meta else (model, cfg)
        model.eval()
        x = torch.zeros(1, 3, frames, size, size)
        from torch.nn.attention import SDPBackend, sdpa_kernel

        counter = FlopCounterMode(display=False)
        with counter, sdpa_kernel(SDPBackend.MATH):  # the math path: attention as counted matmuls  # (not under no_grad: the counter's module hooks need autograd)
            if hasattr(model, "encode_video"):
                model.encode_video(x)
            elif hasattr(model, "forward_encoder"):  # autoencoder: one pretraining step's forward, tube mask 90 %
                from internvideo_core.masking import tube_mask

                model(x, tube_mask(1, cfg.grid, getattr(cfg, "mask_ratio", 0.9),
                                   generator=torch.Generator().manual_seed(0)))
            else:
                model(x)
        gflops = counter.get_total_flops() / 1e9
    return {"name": name, "family": entry.family or "", "params": params, "input": (frames, size),
            "num_classes": getattr(build_config(name), "num_classes", None) if hasattr(model, "head") else None,
            "gflops": gflops}


def _human(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n / 1e3:.1f} K"


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.registry import list_models

    names = [n for n in list_models(args.family) if not args.filter or args.filter in n]
    if not names:
        raise ValueError(f"no architecture matches family {args.family!r} / filter {args.filter!r}; "
                         "see `internvideo models`")
    rows = [["name", "family", "params", "input (T x H x W)", "classes"] + (["GFLOPs (GMACs)"] if args.flops else [])]
    for n in names:
        d = describe_architecture(n, flops=args.flops)
        t, s = d["input"]
        rows.append([n, d["family"], _human(d["params"]), f"{t} x {s} x {s}",
                     str(d["num_classes"]) if d["num_classes"] else "-"]
                    + ([f"{d['gflops']:.1f} ({d['gflops'] / 2:.1f})"] if args.flops else []))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    print("\n".join(lines))
    print("\nBuild one with --model NAME (--model-args KEY=VALUE to change it); released weights: "
          "`internvideo zoo list`.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the architectures (--model names) with parameters and input size",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", default=None, help="only this family (videomae, internvideo_mm, ...)")
    p.add_argument("--filter", default=None, help="only names containing this text")
    p.add_argument("--flops", action="store_true", help="also count GFLOPs of one clip (builds each model on the CPU)")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from internvideo_core.commands._training import run_main

    sys.exit(run_main(register, "models"))
