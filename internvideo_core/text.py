"""CLIP byte-pair-encoding tokenizer, as used by InternVideo-MM (and OpenAI CLIP).

    tokens = tokenize(["a dog is chasing a ball", "an airplane"])   # LongTensor [2, 77]
    text = decode(tokens[0])                                        # "a dog is chasing a ball "

Pipeline for one string (identical ids to the official tokenizer, checked against
``fixtures/official/clip_tokenizer_vectors.json``):

1. clean: ``ftfy.fix_text`` (mojibake, odd quotes), HTML unescape (twice, for doubly escaped text),
   collapse every run of whitespace to one space, strip, lowercase;
2. split into pre-tokens with the CLIP pattern: the literal special tokens, English contractions
   (``'s 't 're 've 'm 'll 'd``), runs of letters, single digits, runs of other non-space symbols;
3. each pre-token -> its UTF-8 bytes -> printable stand-in characters (one per byte) -> greedy BPE with
   the 48 894 merges of ``assets/bpe_simple_vocab_16e6.txt.gz``; the last symbol of a word carries
   ``</w>``;
4. ids = ``[SOT] + bpe ids + [EOT]``, zero-padded to ``context_length`` (77).

The vocabulary has 49 408 entries: 256 byte symbols, the same 256 with ``</w>``, one per merge, then
``<|startoftext|>`` (49406) and ``<|endoftext|>`` (49407). EOT is the largest id, which is why the text
tower pools at ``tokens.argmax(-1)``.
"""
from __future__ import annotations

import gzip
import html
from functools import lru_cache
from importlib import resources
from typing import Iterable, Sequence

import torch

__all__ = [
    "SOT_TOKEN",
    "EOT_TOKEN",
    "SOT_ID",
    "EOT_ID",
    "VOCAB_SIZE",
    "TextTooLongError",
    "ClipTokenizer",
    "get_tokenizer",
    "tokenize",
    "encode",
    "decode",
]

SOT_TOKEN = "<|startoftext|>"
EOT_TOKEN = "<|endoftext|>"
SOT_ID = 49406
EOT_ID = 49407
VOCAB_SIZE = 49408
_NUM_MERGES = 49152 - 256 - 2  # merges used by CLIP: the first 48 894 lines after the header
_WORD_END = "</w>"
_VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
_PATTERN = (
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
)


class TextTooLongError(ValueError):
    """A text has more tokens than the context length and truncation was switched off."""


def _byte_symbols() -> dict[int, str]:
    """Map every byte 0..255 to a printable unicode character (GPT-2 / CLIP scheme).

    Printable Latin-1 bytes (``!``..``~``, ``¡``..``¬``, ``®``..``ÿ``) stand for themselves; the others
    (control characters, space, ...) are assigned ``chr(256 + k)`` in increasing byte order. The insertion
    order of the returned dict (printable bytes first) is the order of the first 256 vocabulary entries.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _clean(text: str) -> str:
    """ftfy fix, HTML unescape (twice), whitespace collapsed to single spaces, stripped, lowercased."""
    import ftfy
    import regex

    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    text = regex.sub(r"\s+", " ", text).strip()
    return text.lower()


class ClipTokenizer:
    """The CLIP BPE tokenizer. Build once (reading the merges takes ~0.3 s); use :func:`get_tokenizer`.

    Args:
        vocab_path: the gzipped merges file; default: the copy shipped in ``internvideo_core/assets``.
    """

    def __init__(self, vocab_path: str | None = None) -> None:
        import regex

        self._symbols = _byte_symbols()
        self._bytes_of = {s: b for b, s in self._symbols.items()}
        merges = self._read_merges(vocab_path)
        base = list(self._symbols.values())
        vocab = base + [s + _WORD_END for s in base] + ["".join(m) for m in merges] + [SOT_TOKEN, EOT_TOKEN]
        self.encoder: dict[str, int] = {tok: i for i, tok in enumerate(vocab)}
        self.decoder: dict[int, str] = {i: tok for tok, i in self.encoder.items()}
        self._rank = {m: i for i, m in enumerate(merges)}
        self._pattern = regex.compile(_PATTERN, regex.IGNORECASE)
        self._cache: dict[str, list[str]] = {SOT_TOKEN: [SOT_TOKEN], EOT_TOKEN: [EOT_TOKEN]}
        if len(self.encoder) != VOCAB_SIZE or self.encoder[SOT_TOKEN] != SOT_ID:
            raise RuntimeError(f"the BPE file gives {len(self.encoder)} tokens, expected {VOCAB_SIZE}: "
                               f"it is not CLIP's {_VOCAB_FILE}")

    @staticmethod
    def _read_merges(vocab_path: str | None) -> list[tuple[str, str]]:
        try:
            if vocab_path is None:
                raw = resources.files("internvideo_core").joinpath("assets", _VOCAB_FILE).read_bytes()
            else:
                with open(vocab_path, "rb") as fh:
                    raw = fh.read()
            lines = gzip.decompress(raw).decode("utf-8").split("\n")
        except (OSError, gzip.BadGzipFile) as exc:
            where = vocab_path or f"internvideo_core/assets/{_VOCAB_FILE}"
            raise RuntimeError(f"cannot read the CLIP BPE merges from {where} ({exc}); reinstall the kit "
                               f"(`pip install -e .`) so the assets folder is present") from exc
        return [tuple(line.split()) for line in lines[1:1 + _NUM_MERGES]]  # type: ignore[misc]

    def _bpe(self, word: str) -> list[str]:
        """Greedy BPE of one pre-token (already mapped to byte symbols): lowest-rank pair merged first."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        parts = list(word[:-1]) + [word[-1] + _WORD_END]
        while len(parts) > 1:
            pairs = set(zip(parts, parts[1:]))
            first, second = min(pairs, key=lambda p: self._rank.get(p, _NUM_MERGES))
            if (first, second) not in self._rank:
                break
            merged: list[str] = []
            i = 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        if len(self._cache) < 100_000:
            self._cache[word] = parts
        return parts

    def encode(self, text: str) -> list[int]:
        """BPE ids of ``text`` without SOT/EOT (the official ``SimpleTokenizer.encode``)."""
        ids: list[int] = []
        for piece in self._pattern.findall(_clean(text)):
            if piece in (SOT_TOKEN, EOT_TOKEN):
                ids.append(self.encoder[piece])
                continue
            symbols = "".join(self._symbols[b] for b in piece.encode("utf-8", errors="replace"))
            ids.extend(self.encoder[p] for p in self._bpe(symbols))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of raw ids: symbols joined, ``</w>`` -> space, bytes decoded as UTF-8 (bad bytes -> U+FFFD)."""
        symbols = "".join(self.decoder[int(i)] for i in ids)
        data = bytes(self._bytes_of[ch] for ch in symbols)
        return data.decode("utf-8", errors="replace").replace(_WORD_END, " ")


@lru_cache(maxsize=1)
def get_tokenizer() -> ClipTokenizer:
    """The shared tokenizer (built on first use)."""
    return ClipTokenizer()


def encode(text: str) -> list[int]:
    """BPE ids of one text, without SOT/EOT."""
    return get_tokenizer().encode(text)


def tokenize(texts: str | Sequence[str], context_length: int = 77, truncate: bool = True) -> torch.LongTensor:
    """Tokenize text(s) for the CLIP / InternVideo-MM text tower.

    Args:
        texts: one string or a list of strings.
        context_length: row length (77 for every released model).
        truncate: cut overlong texts to ``context_length`` ids, the last one replaced by EOT (so the text
            tower still finds EOT at ``argmax``). ``False`` raises :class:`TextTooLongError` instead.

    Returns:
        LongTensor ``[N, context_length]``: ``[SOT, bpe..., EOT, 0, 0, ...]`` per text.
    """
    if isinstance(texts, str):
        texts = [texts]
    if context_length < 2:
        raise ValueError(f"context_length must be at least 2 (SOT + EOT), got {context_length}")
    tok = get_tokenizer()
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"tokenize: text {row} is {type(text).__name__}, expected str")
        ids = [SOT_ID, *tok.encode(text), EOT_ID]
        if len(ids) > context_length:
            if not truncate:
                preview = text if len(text) <= 60 else text[:57] + "..."
                raise TextTooLongError(
                    f"text {row} ({preview!r}) has {len(ids)} tokens including SOT/EOT, more than the context "
                    f"length {context_length}; shorten it or call tokenize(..., truncate=True)")
            ids = ids[:context_length]
            ids[-1] = EOT_ID
        out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out  # type: ignore[return-value]


def decode(ids: Sequence[int] | torch.Tensor, *, strip: bool = True) -> str:
    """Text of a token sequence.

    Args:
        ids: a 1-D tensor or list of ids (e.g. one row of :func:`tokenize`).
        strip: drop the leading SOT and everything from the last EOT on (the EOT and the zero padding),
            as :func:`tokenize` adds them. ``False`` decodes every id exactly like the official
            ``SimpleTokenizer.decode`` (use it on :func:`encode` output).
    """
    if isinstance(ids, torch.Tensor):
        if ids.dim() != 1:
            raise ValueError(f"decode expects one sequence (1-D), got shape {tuple(ids.shape)}; decode rows one by one")
        ids = ids.tolist()
    ids = [int(i) for i in ids]
    if strip:
        if ids and ids[0] == SOT_ID:
            ids = ids[1:]
        if EOT_ID in ids:
            ids = ids[: len(ids) - 1 - ids[::-1].index(EOT_ID)]
    return get_tokenizer().decode(ids)
