"""Hugging Face ``transformers`` VideoMAE layout <-> the official (= kit) layout.

Hugging Face names (``VideoMAEForVideoClassification``, ``VideoMAEForPreTraining``, bare ``VideoMAEModel``):

====================================================================  ==========================================
Hugging Face                                                          official / kit
====================================================================  ==========================================
``videomae.embeddings.patch_embeddings.projection.*``                 ``[encoder.]patch_embed.proj.*``
``videomae.encoder.layer.{i}.attention.attention.{query,key,value}``  ``[encoder.]blocks.{i}.attn.qkv.weight`` (stacked)
``...attention.attention.query.bias`` / ``value.bias``                ``...attn.q_bias`` / ``attn.v_bias``
``...attention.output.dense.*``                                       ``...attn.proj.*``
``...layernorm_before.*`` / ``layernorm_after.*``                     ``...norm1.*`` / ``norm2.*``
``...intermediate.dense.*`` / ``...output.dense.*``                   ``...mlp.fc1.*`` / ``mlp.fc2.*``
``videomae.layernorm.*`` (only when ``use_mean_pooling=False``)       ``norm.*`` / ``encoder.norm.*``
``fc_norm.*``, ``classifier.*``                                       ``fc_norm.*``, ``head.*``
``decoder.decoder_layers.{i}.*``                                      ``decoder.blocks.{i}.*``
``decoder.norm.*``, ``decoder.head.*``, ``encoder_to_decoder.weight``, ``mask_token``: identical
====================================================================  ==========================================

A bare ``VideoMAEModel`` (no ``videomae.`` prefix) is mapped to the pretraining encoder names
(``encoder.*``), like the encoder of a pretraining checkpoint.

Differences to keep in mind (numerically tiny or none at 224 px / 16 frames):
- Hugging Face builds the classifier's sinusoid table for the actual grid; the official fine-tuning code
  resizes the 224 px / 16-frame table. Both agree at 224 / 16; to reproduce Hugging Face at other sizes,
  build the kit model with ``pos_ref_img_size=None`` (:func:`kit_overrides_from_hf_config` does).
- Hugging Face's ``fc_norm`` and decoder ``norm`` use LayerNorm eps 1e-5, the official ones 1e-6.
- The input layout differs: Hugging Face takes ``[B, T, C, H, W]``, the kit ``[B, C, T, H, W]``.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

import torch

__all__ = [
    "is_hf_videomae",
    "hf_to_official",
    "official_to_hf",
    "hf_config_kwargs",
    "kit_overrides_from_hf_config",
    "to_hf_model",
    "load_into_hf",
]

_BLOCK_SUFFIX = {  # Hugging Face layer suffix -> official block suffix (q/k/v weights handled apart)
    "attention.attention.query.bias": "attn.q_bias",
    "attention.attention.value.bias": "attn.v_bias",
    "attention.output.dense.weight": "attn.proj.weight",
    "attention.output.dense.bias": "attn.proj.bias",
    "layernorm_before.weight": "norm1.weight",
    "layernorm_before.bias": "norm1.bias",
    "layernorm_after.weight": "norm2.weight",
    "layernorm_after.bias": "norm2.bias",
    "intermediate.dense.weight": "mlp.fc1.weight",
    "intermediate.dense.bias": "mlp.fc1.bias",
    "output.dense.weight": "mlp.fc2.weight",
    "output.dense.bias": "mlp.fc2.bias",
}
_QKV = ("attention.attention.query.weight", "attention.attention.key.weight", "attention.attention.value.weight")
_LAYER = re.compile(r"^(videomae\.encoder\.layer|encoder\.layer|decoder\.decoder_layers)\.(\d+)\.(.+)$")


def is_hf_videomae(tensors: Mapping[str, Any]) -> bool:
    """True when the keys follow the Hugging Face VideoMAE naming."""
    return any(k.startswith(("videomae.", "embeddings.patch_embeddings.", "decoder.decoder_layers."))
               or ".attention.attention.query." in k for k in tensors)


def hf_to_official(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a Hugging Face VideoMAE state dict to the official layout.

    ``VideoMAEForVideoClassification`` -> fine-tuned classifier names; ``VideoMAEForPreTraining`` and bare
    ``VideoMAEModel`` -> pretraining names (``encoder.*`` ...). Keys it does not know keep their name (so a
    strict load names them). A missing ``key.weight`` of one layer raises ``KeyError`` naming it.
    """
    is_classifier = any(k.startswith(("classifier.", "fc_norm.")) for k in tensors)
    is_bare = not any(k.startswith("videomae.") for k in tensors)
    enc = "" if is_classifier else "encoder."
    out: dict[str, torch.Tensor] = {}
    layers: dict[tuple[str, int], dict[str, torch.Tensor]] = {}
    origin: dict[tuple[str, int], str] = {}
    for key, value in tensors.items():
        name = key
        if is_bare and key.startswith(("embeddings.", "encoder.layer.", "layernorm.")):
            name = "videomae." + key
        m = _LAYER.match(name)
        if m:
            base = f"{enc}blocks" if m.group(1).endswith("encoder.layer") else "decoder.blocks"
            layers.setdefault((base, int(m.group(2))), {})[m.group(3)] = value
            origin[(base, int(m.group(2)))] = key[: len(key) - len(m.group(3))]  # the file's own prefix
            continue
        if name.startswith("videomae.embeddings.patch_embeddings.projection."):
            out[f"{enc}patch_embed.proj." + name.rsplit(".", 1)[1]] = value
        elif name.startswith("videomae.layernorm."):
            out[f"{enc}norm." + name.rsplit(".", 1)[1]] = value
        elif name.startswith("classifier."):
            out["head." + name[len("classifier."):]] = value
        else:
            out[name] = value
    for (base, i), parts in sorted(layers.items()):
        prefix = f"{base}.{i}."
        missing = [s for s in _QKV if s not in parts]
        if missing:
            raise KeyError(f"Hugging Face VideoMAE layer {base}.{i} lacks "
                           f"{', '.join(origin[(base, i)] + m for m in missing)}")
        out[prefix + "attn.qkv.weight"] = torch.cat([parts.pop(s) for s in _QKV], dim=0)
        # VideoMAE has no key bias (some transformers versions create one). q . (k + b) = q . k + q . b adds the
        # same number to every attention logit of a query, which softmax ignores: dropping it is exact.
        parts.pop("attention.attention.key.bias", None)
        for suffix, value in parts.items():
            out[prefix + _BLOCK_SUFFIX.get(suffix, "hf_unknown." + suffix)] = value
    return out


def official_to_hf(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an official-layout state dict (classifier or pretraining model) to the Hugging Face layout."""
    inverse = {v: k for k, v in _BLOCK_SUFFIX.items()}
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        m = re.match(r"^(encoder\.blocks|blocks|decoder\.blocks)\.(\d+)\.(.+)$", key)
        if m:
            hf_base = "decoder.decoder_layers" if m.group(1) == "decoder.blocks" else "videomae.encoder.layer"
            prefix, suffix = f"{hf_base}.{m.group(2)}.", m.group(3)
            if suffix == "attn.qkv.weight":
                for part, s in zip(value.chunk(3, dim=0), _QKV):
                    out[prefix + s] = part
            elif suffix in inverse:
                out[prefix + inverse[suffix]] = value
            else:
                raise KeyError(f"{key}: no Hugging Face VideoMAE equivalent (layer scale gamma is not supported "
                               f"by transformers' VideoMAE)")
            continue
        name = key[len("encoder."):] if key.startswith("encoder.") else key
        if name.startswith("patch_embed.proj."):
            out["videomae.embeddings.patch_embeddings.projection." + name.rsplit(".", 1)[1]] = value
        elif name.startswith("norm."):
            out["videomae.layernorm." + name.rsplit(".", 1)[1]] = value
        elif name.startswith("head."):
            out["classifier." + name[len("head."):]] = value
        else:
            out[name] = value
    return out


def hf_config_kwargs(config: Any) -> dict[str, Any]:
    """``transformers.VideoMAEConfig`` keyword arguments for a kit config (classifier or autoencoder)."""
    kw: dict[str, Any] = dict(
        image_size=config.img_size, patch_size=config.patch_size, num_channels=config.in_chans,
        num_frames=config.num_frames, tubelet_size=config.tubelet_size, hidden_size=config.embed_dim,
        num_hidden_layers=config.depth, num_attention_heads=config.num_heads,
        intermediate_size=int(config.embed_dim * config.mlp_ratio), hidden_act="gelu",
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=config.layer_norm_eps,
        qv_bias=config.qkv_bias,
    )
    if hasattr(config, "decoder_embed_dim"):
        kw.update(
            use_mean_pooling=False, norm_pix_loss=config.norm_pix_loss,
            decoder_hidden_size=config.decoder_embed_dim, decoder_num_hidden_layers=config.decoder_depth,
            decoder_num_attention_heads=config.decoder_num_heads,
            decoder_intermediate_size=int(config.decoder_embed_dim * config.mlp_ratio),
        )
    else:
        kw.update(use_mean_pooling=config.use_mean_pooling, num_labels=config.num_classes)
    return kw


def kit_overrides_from_hf_config(hf_config: Any, *, pretraining: bool = False) -> dict[str, Any]:
    """Kit ``create_model`` overrides reproducing a ``transformers.VideoMAEConfig`` (object or dict).

    Classifier overrides include ``pos_ref_img_size=None`` (Hugging Face's own-grid sinusoid table).
    """
    get = hf_config.get if isinstance(hf_config, Mapping) else (lambda k, d=None: getattr(hf_config, k, d))
    hidden = get("hidden_size")
    kw: dict[str, Any] = dict(
        img_size=get("image_size"), patch_size=get("patch_size"), in_chans=get("num_channels", 3),
        num_frames=get("num_frames"), tubelet_size=get("tubelet_size"), embed_dim=hidden,
        depth=get("num_hidden_layers"), num_heads=get("num_attention_heads"),
        mlp_ratio=get("intermediate_size") / hidden, layer_norm_eps=get("layer_norm_eps", 1e-12),
        qkv_bias=bool(get("qv_bias", True)),
    )
    if get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"hidden_act {get('hidden_act')!r} is not supported (VideoMAE uses gelu)")
    if pretraining:
        dec = get("decoder_hidden_size")
        if get("decoder_intermediate_size") != int(dec * kw["mlp_ratio"]):
            raise ValueError("the kit's autoencoder shares mlp_ratio between encoder and decoder; this config "
                             f"has intermediate {get('intermediate_size')} / {hidden} and decoder "
                             f"{get('decoder_intermediate_size')} / {dec}")
        kw.update(decoder_embed_dim=dec, decoder_depth=get("decoder_num_hidden_layers"),
                  decoder_num_heads=get("decoder_num_attention_heads"), norm_pix_loss=bool(get("norm_pix_loss", True)))
    else:
        id2label = get("id2label") or {}
        kw.update(use_mean_pooling=bool(get("use_mean_pooling", True)),
                  num_classes=int(get("num_labels", len(id2label) or 2)), pos_ref_img_size=None)
    return kw


def load_into_hf(hf_model: torch.nn.Module, official_state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
    """Load an official-layout state dict into a ``transformers`` VideoMAE model, strictly.

    transformers versions differ on whether the key projection has a bias (5.17 has one, 5.24 not); where the
    model has ``...attention.attention.key.bias`` it is set to zero, the official value (see
    :func:`hf_to_official`). Any other missing or unexpected key raises.
    """
    state = official_to_hf(official_state)
    for name, param in hf_model.state_dict().items():
        if name.endswith("attention.attention.key.bias") and name not in state:
            state[name] = torch.zeros_like(param)
    hf_model.load_state_dict(state, strict=True)
    return hf_model


def to_hf_model(model: torch.nn.Module):
    """A ``transformers`` ``VideoMAEForVideoClassification`` / ``VideoMAEForPreTraining`` with the kit model's
    weights (imports ``transformers`` lazily; it is an optional dependency)."""
    import warnings

    import transformers

    from internvideo_core.checkpoint import to_official_state_dict

    ref = getattr(model.config, "pos_ref_grid", None)
    if ref is not None and tuple(ref) != tuple(model.config.grid):
        warnings.warn(f"this classifier resizes the {ref} sinusoid table to its grid {model.config.grid} (official "
                      "rule); transformers builds the table for the grid itself, so outputs will differ. Build "
                      "the kit model with pos_ref_img_size=None for an exact match.", stacklevel=2)
    kw = hf_config_kwargs(model.config)
    cls = (transformers.VideoMAEForPreTraining if hasattr(model.config, "decoder_embed_dim")
           else transformers.VideoMAEForVideoClassification)
    hf = cls(transformers.VideoMAEConfig(**kw)).eval()
    return load_into_hf(hf, to_official_state_dict(model))
