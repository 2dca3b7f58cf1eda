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


def test_context_length_edges_and_error_messages():
    with pytest.raises(ValueError, match="at least 2"):
        tokenize("a dog", context_length=1)
    assert tokenize("a dog", context_length=2).tolist() == [[SOT_ID, EOT_ID]]
    assert tokenize("dog", context_length=3, truncate=False).tolist() == [[SOT_ID, encode("dog")[0], EOT_ID]]
    with pytest.raises(TypeError, match="text 1 is int, expected str"):
        tokenize(["ok", 3])  # type: ignore[list-item]
    long_text = "word " * 30
    with pytest.raises(TextTooLongError, match=r"text 0 \('word word") as info:
        tokenize(long_text, context_length=20, truncate=False)
    preview = repr(long_text[:57] + "...")
    assert preview in str(info.value) and "32 tokens" in str(info.value)
    short = "a b c d e f"
    with pytest.raises(TextTooLongError) as info:
        tokenize(short, context_length=4, truncate=False)
    assert repr(short) in str(info.value)


def test_cleaning_collapses_whitespace_lowercases_and_unescapes():
    assert encode("  A\tDOG \n\n is   RUNNING ") == encode("a dog is running")
    assert encode("tom &amp; jerry") == encode("tom & jerry")
    assert encode("x &lt; y") == encode("x < y")
    assert encode("<|startoftext|>dog<|endoftext|>") == [SOT_ID, *encode("dog"), EOT_ID]
    assert encode("don't") == encode("don") + encode("'t")


def test_decode_edges():
    ids = [SOT_ID, *encode("a dog"), EOT_ID, 0, 0]
    assert decode(torch.tensor(ids)) == "a dog "
    assert decode(ids[1:]) == "a dog "  # no leading SOT: nothing else is dropped
    assert decode([*encode("a"), EOT_ID, *encode("b"), EOT_ID, 0]) == "a <|endoftext|>b "  # cut at the last EOT
    assert decode(ids, strip=False).startswith("<|startoftext|>a dog <|endoftext|>")
    assert decode([]) == ""
    with pytest.raises(ValueError, match="1-D"):
        decode(torch.zeros(2, 3, dtype=torch.long))
    # a lone UTF-8 continuation byte decodes to U+FFFD
    from internvideo_core.text import get_tokenizer
    tok = get_tokenizer()
    byte_0x80 = tok.encoder[tok._symbols[0x80]]
    assert decode([byte_0x80], strip=False) == "\ufffd"


def test_tokenizer_reads_a_given_merges_file_and_refuses_a_bad_one(tmp_path):
    import gzip
    from importlib import resources

    from internvideo_core.text import ClipTokenizer

    raw = resources.files("internvideo_core").joinpath("assets", "bpe_simple_vocab_16e6.txt.gz").read_bytes()
    good = tmp_path / "merges.txt.gz"
    good.write_bytes(raw)
    tok = ClipTokenizer(str(good))
    assert tok.encode("a dog is running") == encode("a dog is running")
    assert len(tok.encoder) == VOCAB_SIZE and tok.decoder[SOT_ID] == "<|startoftext|>"
    lines = gzip.decompress(raw).decode("utf-8").split("\n")
    short = tmp_path / "short.txt.gz"
    short.write_bytes(gzip.compress("\n".join(lines[:1000]).encode("utf-8")))
    with pytest.raises(RuntimeError, match="expected 49408"):
        ClipTokenizer(str(short))
    with pytest.raises(RuntimeError, match="missing.gz"):
        ClipTokenizer(str(tmp_path / "missing.gz"))
    not_gz = tmp_path / "plain.txt"
    not_gz.write_text("not gzip")
    with pytest.raises(RuntimeError, match="cannot read the CLIP BPE merges"):
        ClipTokenizer(str(not_gz))


def test_byte_symbol_table_is_the_gpt2_clip_scheme():
    from internvideo_core.text import _byte_symbols

    table = _byte_symbols()
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    assert len(table) == 256 and list(table)[:len(printable)] == printable
    assert all(table[b] == chr(b) for b in printable)
    others = [b for b in range(256) if b not in printable]
    assert [table[b] for b in others] == [chr(256 + k) for k in range(len(others))]
    assert table[0] == chr(256) and table[32] == "Ġ" and table[173] == chr(256 + 67) and table[255] == "ÿ"
    assert len(set(table.values())) == 256


def test_a_fresh_default_tokenizer_reads_the_packaged_merges(tmp_path):
    from internvideo_core.text import ClipTokenizer

    tok = ClipTokenizer()  # not the cached one: builds the tables again from the packaged asset
    ids = tok.encode("a dog is running}~ ®")
    assert ids == encode("a dog is running}~ ®") and tok.decode(ids) == "a dog is running }~ ® "
    missing = tmp_path / "missing.gz"
    with pytest.raises(RuntimeError) as err:
        ClipTokenizer(str(missing))
    assert str(err.value).startswith(f"cannot read the CLIP BPE merges from {missing} (")


def test_a_sixty_character_text_is_quoted_whole():
    text = "ab " * 19 + "abc"  # exactly 60 characters
    assert len(text) == 60
    with pytest.raises(TextTooLongError) as err:
        tokenize(text, context_length=4, truncate=False)
    assert repr(text) in str(err.value)
    longer = text + "d"  # 61 characters: cut to 57 and "..."
    with pytest.raises(TextTooLongError) as err:
        tokenize(longer, context_length=4, truncate=False)
    assert repr(longer[:57] + "...") in str(err.value)


def test_lone_surrogates_are_replaced_before_encoding():
    assert encode("dog \ud800") == encode("dog \ufffd")  # ftfy turns a lone surrogate into U+FFFD


def test_a_merges_file_of_the_right_length_with_a_repeated_merge_is_refused(tmp_path):
    """A repeated line keeps ``<|startoftext|>`` at id 49406 but collapses two vocabulary entries into one:
    ids from such a file would be shifted, so the size check alone must refuse it."""
    import gzip
    from importlib import resources

    from internvideo_core.text import ClipTokenizer

    raw = resources.files("internvideo_core").joinpath("assets", "bpe_simple_vocab_16e6.txt.gz").read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").split("\n")
    lines[2] = lines[1]  # the second merge replaced by a copy of the first: same number of lines
    dup = tmp_path / "dup.txt.gz"
    dup.write_bytes(gzip.compress("\n".join(lines).encode("utf-8")))
    with pytest.raises(RuntimeError, match="gives 49407 tokens, expected 49408"):
        ClipTokenizer(str(dup))


def test_contractions_match_case_insensitively_like_the_official_pattern():
    """The official pattern is compiled with ``IGNORECASE``: ``'ſ`` (long s, which folds to s) is the
    contraction ``'s``, one pre-token, so the apostrophe is not a word of its own (``'</w>``, id 262)."""
    from internvideo_core.text import ClipTokenizer

    tok = ClipTokenizer()  # a fresh one: the pattern is compiled when a tokenizer is built
    assert tok.encode("it'ſ") == encode("it'ſ") == [585, 6, 129, 379]
    assert tok.encode("it") == [585] and tok.encode("'") == [262]
