"""Embeddings of the dual encoder: the recipe's cached tokenizer, video embeddings and text embeddings.

:func:`encode_videos` maps uint8 clips ``[N, 3, F, S, S]`` to ``[N, E]`` (``linspace`` frames),
:func:`encode_texts` maps ``N`` strings to ``[N, E]`` (both unnormalised), through the shared
:class:`WordCachedTokenizer` of :func:`text_tokenizer`.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from internvideo_core.recipes.mm_synth.config import MMSynthRecipe
from internvideo_core.recipes.mm_synth.data import CaptionClips, clips_to_input, frame_indices

__all__ = ["WordCachedTokenizer", "text_tokenizer", "encode_videos", "encode_texts"]


class WordCachedTokenizer:
    """``texts -> LongTensor [N, context_length]``, equal to :func:`internvideo_core.text.tokenize` for texts made of
    lower-case words separated by single spaces (every SynthMotion caption, prompt and question), but each *word* is
    BPE-encoded once and cached, so tokenizing thousands of captions per second costs dictionary look-ups.
    Other texts (punctuation, upper case, extra spaces) go through ``tokenize`` itself."""

    def __init__(self, context_length: int) -> None:
        self.context_length = context_length
        self._words: dict[str, list[int]] = {}

    def _word(self, word: str) -> list[int]:
        ids = self._words.get(word)
        if ids is None:
            from internvideo_core.text import encode

            ids = self._words[word] = encode(word)
        return ids

    def __call__(self, texts: str | Sequence[str]) -> torch.Tensor:
        from internvideo_core.text import EOT_ID, SOT_ID, tokenize

        texts = [texts] if isinstance(texts, str) else list(texts)
        out = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            words = text.split(" ")
            if not all(w.isalpha() and w.islower() and w.isascii() for w in words):
                out[row] = tokenize([text], context_length=self.context_length)[0]
                continue
            ids = [SOT_ID] + [i for w in words for i in self._word(w)] + [EOT_ID]
            if len(ids) > self.context_length:
                ids = ids[: self.context_length]
                ids[-1] = EOT_ID
            out[row, : len(ids)] = torch.tensor(ids)
        return out


_TOKENIZERS: dict[int, WordCachedTokenizer] = {}


def text_tokenizer(recipe: MMSynthRecipe) -> Callable[[Sequence[str]], torch.Tensor]:
    """``texts -> LongTensor [N, context_length]`` for the recipe's text tower (a shared
    :class:`WordCachedTokenizer`)."""
    if recipe.context_length not in _TOKENIZERS:
        _TOKENIZERS[recipe.context_length] = WordCachedTokenizer(recipe.context_length)
    return _TOKENIZERS[recipe.context_length]


@torch.no_grad()
def encode_videos(model: nn.Module, clips: CaptionClips | torch.Tensor, recipe: MMSynthRecipe,
                  batch_size: int = 128, reverse: bool = False) -> torch.Tensor:
    """Video embeddings ``[N, E]`` (unnormalised) of uint8 clips ``[N, 3, F, S, S]`` with linspace frames."""
    videos = clips.videos if isinstance(clips, CaptionClips) else clips
    idx = frame_indices(videos.shape[2], recipe.num_frames)
    if reverse:
        idx = idx.flip(0)
    model.eval()
    out = [model.encode_video(clips_to_input(videos[i:i + batch_size], idx)) for i in range(0, len(videos), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, recipe.embed_dim)


@torch.no_grad()
def encode_texts(model: nn.Module, texts: Sequence[str], recipe: MMSynthRecipe, batch_size: int = 512) -> torch.Tensor:
    """Text embeddings ``[N, E]`` (unnormalised)."""
    tok = text_tokenizer(recipe)
    model.eval()
    out = [model.encode_text(tok(texts[i:i + batch_size])) for i in range(0, len(texts), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, recipe.embed_dim)
