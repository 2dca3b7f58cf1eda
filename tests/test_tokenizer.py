"""CLIP BPE tokenizer: ids equal to the official tokenizer's (fixtures/official/clip_tokenizer_vectors.json)."""
from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from internvideo_core import tokenize as public_tokenize
from internvideo_core.text import (EOT_ID, SOT_ID, VOCAB_SIZE, TextTooLongError, decode, encode,
                                   get_tokenizer, tokenize)


@pytest.fixture(scope="module")
def vectors(official_dir):
    return json.loads((official_dir / "clip_tokenizer_vectors.json").read_text(encoding="utf-8"))


def test_special_ids(vectors):
    assert (vectors["sot"], vectors["eot"]) == (SOT_ID, EOT_ID)
    tok = get_tokenizer()
    assert len(tok.encoder) == VOCAB_SIZE
    assert tok.encoder["<|startoftext|>"] == SOT_ID and tok.encoder["<|endoftext|>"] == EOT_ID


def test_public_name():
    assert public_tokenize is tokenize


def test_ids_match_official(vectors):
    mismatches = [c["text"] for c in vectors["cases"] if [SOT_ID, *encode(c["text"]), EOT_ID] != c["ids"]]
    assert not mismatches


def test_truncated_rows_match_official(vectors):
    texts = [c["text"] for c in vectors["cases"]]
    rows = tokenize(texts)
    assert rows.shape == (len(texts), 77) and rows.dtype == torch.long
    for row, case in zip(rows.tolist(), vectors["cases"]):
        expected = case["ids_truncated_77"]
        assert row == expected + [0] * (77 - len(expected)), case["text"]


def test_decoded_matches_official(vectors):
    for case in vectors["cases"]:
        assert decode(encode(case["text"]), strip=False) == case["decoded"], case["text"]


def test_decode_rows_strips_sot_eot_and_padding(vectors):
    for case in vectors["cases"]:
        if len(case["ids"]) <= 77:
            assert decode(tokenize(case["text"])[0]) == case["decoded"], case["text"]


def test_truncation():
    long_text = "the quick brown fox " * 40
    row = tokenize(long_text)[0]
    assert row[0] == SOT_ID and row[-1] == EOT_ID and (row != 0).all()
    assert row.argmax() == 76
    assert row[:76].tolist() == [SOT_ID, *encode(long_text)[:75]]
    short = tokenize(long_text, context_length=10)
    assert short.shape == (1, 10) and short[0, -1] == EOT_ID


def test_no_truncation_raises_with_message():
    with pytest.raises(TextTooLongError, match="context length 77"):
        tokenize(["fine", "the quick brown fox " * 40], truncate=False)
    assert tokenize("fits", truncate=False).shape == (1, 77)


def test_shapes_and_types():
    assert tokenize("one").shape == (1, 77)
    assert tokenize(["one", "two", "three"], context_length=16).shape == (3, 16)
    assert tokenize([]).shape == (0, 77)
    with pytest.raises(TypeError):
        tokenize(["ok", 3])  # type: ignore[list-item]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_unicode_never_crashes(text):
    row = tokenize(text)[0]
    assert row.shape == (77,)
    assert row[0] == SOT_ID
    assert row[row.argmax()] == EOT_ID
    assert int(row.max()) == EOT_ID and int(row.min()) >= 0
    n = len(encode(text)) + 2
    if n <= 77:
        assert row[n - 1] == EOT_ID and not row[n:].any()
    else:
        assert row[-1] == EOT_ID
