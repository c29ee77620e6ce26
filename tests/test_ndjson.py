"""The byte-level splitter and decoder, alone (no I/O)."""

from __future__ import annotations

import json
from unittest import mock

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_async import (
    GenerateResponse,
    InvalidResponseError,
    LineTooLongError,
    MalformedLineError,
    _ndjson,
)
from ollama_async._ndjson import NDJSONDecoder


def test_many_lines_per_chunk_crlf_and_blank_lines() -> None:
    s: NDJSONDecoder[object] = NDJSONDecoder(object)
    assert s.feed(b'{"a":1}\r\n\r\n  \n{"b":2}\n{"c"') == [{"a": 1}, {"b": 2}]
    assert s.pending == 4
    assert s.feed(b":3}") == []
    assert s.flush() == [{"c": 3}]
    assert s.flush() == []
    assert s.error is None


def test_split_inside_multibyte_utf8_character() -> None:
    line = json.dumps({"response": "é☁😀"}, ensure_ascii=False).encode() + b"\n"
    for cut in range(1, len(line)):
        d = NDJSONDecoder(GenerateResponse)
        got = d.feed(line[:cut]) + d.feed(line[cut:])
        assert [c.response for c in got] == ["é☁😀"], cut


def test_u0085_inside_a_string_does_not_cut_the_line() -> None:
    # Ollama leaves NEL unescaped; str.splitlines would cut here.
    body = '{"response":"a\u0085b","done":false}\n'.encode()
    d = NDJSONDecoder(GenerateResponse)
    assert [c.response for c in d.feed(body)] == ["a\u0085b"]


def test_last_line_without_newline_is_decoded_at_flush() -> None:
    d = NDJSONDecoder(GenerateResponse)
    assert d.feed(b'{"response":"x","done":true}') == []
    (chunk,) = d.flush()
    assert chunk.done and chunk.response == "x"


def test_malformed_line_keeps_the_records_before_it() -> None:
    d = NDJSONDecoder(GenerateResponse)
    got = d.feed(b'{"response":"a"}\n{"response":"b"}\nnot json at all\n{"response":"c"}\n')
    assert [c.response for c in got] == ["a", "b"]
    assert isinstance(d.error, MalformedLineError)
    assert "not json at all" in d.error.snippet


def test_invalid_utf8_is_a_malformed_line() -> None:
    d = NDJSONDecoder(GenerateResponse)
    assert d.feed(b'{"response":"\xff\xfe"}\n') == []
    assert isinstance(d.error, MalformedLineError)
    assert "UTF-8" in str(d.error)


def test_wrong_type_names_the_field() -> None:
    d = NDJSONDecoder(GenerateResponse)
    d.feed(b'{"response":"a","eval_count":"many"}\n')
    assert isinstance(d.error, InvalidResponseError)
    assert d.error.field == "$.eval_count"


def test_unknown_fields_are_ignored() -> None:
    d = NDJSONDecoder(GenerateResponse)
    (c,) = d.feed(b'{"response":"a","brand_new_field":{"x":[1,2]},"done":false}\n')
    assert c.response == "a"


def test_line_over_the_limit_raises_without_buffering_more() -> None:
    s: NDJSONDecoder[object] = NDJSONDecoder(object, max_line_bytes=64)
    assert s.feed(b"x" * 60) == []
    assert s.feed(b"x" * 10) == []
    assert isinstance(s.error, LineTooLongError)
    assert s.pending == 0  # nothing more was kept
    s2: NDJSONDecoder[object] = NDJSONDecoder(object, max_line_bytes=64)
    s2.feed(b"y" * 65)  # a tail longer than the limit in one read
    assert isinstance(s2.error, LineTooLongError)
    d = NDJSONDecoder(GenerateResponse, max_line_bytes=64)
    got = d.feed(b'{"response":"ok"}\n{"response":"' + b"z" * 100 + b'"}\n')
    assert [c.response for c in got] == ["ok"]
    assert isinstance(d.error, LineTooLongError)


def test_max_line_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError):
        NDJSONDecoder(object, max_line_bytes=0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=4), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
    crlf=st.booleans(),
    trailing_newline=st.booleans(),
)
def test_any_document_cut_anywhere_gives_the_same_records(
    records: list[dict[str, object]], cuts: list[int], crlf: bool, trailing_newline: bool
) -> None:
    """Property: splitting at arbitrary byte offsets never changes the decoded records."""
    eol = b"\r\n" if crlf else b"\n"
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in records]
    doc = eol.join(lines) + (eol if trailing_newline and lines else b"")
    points = sorted({c % (len(doc) + 1) for c in cuts})
    pieces = [doc[a:b] for a, b in zip([0, *points], [*points, len(doc)], strict=True)]
    expected = [json.loads(line) for line in lines]
    dec: NDJSONDecoder[object] = NDJSONDecoder(object)
    got: list[object] = []
    for p in pieces:
        got += dec.feed(p)
    got += dec.flush()
    assert dec.error is None
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=4), max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
    block=st.integers(min_value=1, max_value=64),
)
def test_feed_blocks_gives_what_feed_gives(
    records: list[dict[str, object]], cuts: list[int], block: int
) -> None:
    """Property: decoding big reads piece by piece never changes the records."""
    doc = b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)
    points = sorted({c % (len(doc) + 1) for c in cuts})
    pieces = [doc[a:b] for a, b in zip([0, *points], [*points, len(doc)], strict=True)]
    dec: NDJSONDecoder[object] = NDJSONDecoder(object)
    got: list[object] = []
    with mock.patch.object(_ndjson, "BLOCK_BYTES", block):
        for p in pieces:
            for part in dec.feed_blocks(p):
                got += part
    got += dec.flush()
    assert dec.error is None
    assert got == records


def test_feed_blocks_stops_at_the_piece_with_a_bad_line() -> None:
    good = b'{"x": 1}\n'
    data = good * 20 + b"oops\n" + good * 40
    dec: NDJSONDecoder[object] = NDJSONDecoder(object)
    with mock.patch.object(_ndjson, "BLOCK_BYTES", len(good) * 8):
        parts = list(dec.feed_blocks(data))
    assert sum(len(p) for p in parts) == 20  # every record before the bad line, none after
    assert len(parts) > 1 and isinstance(dec.error, MalformedLineError)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=6))
def test_arbitrary_bytes_only_raise_typed_errors(data: bytes, cuts: list[int]) -> None:
    """Fuzz: whatever arrives, the decoder returns records or sets a typed error."""
    d = NDJSONDecoder(GenerateResponse, max_line_bytes=128)
    points = sorted({c % (len(data) + 1) for c in cuts})
    for a, b in zip([0, *points], [*points, len(data)], strict=True):
        for c in d.feed(data[a:b]):
            assert isinstance(c, GenerateResponse)
        if d.error is not None:
            break
    else:
        d.flush()
    assert d.error is None or isinstance(
        d.error, MalformedLineError | InvalidResponseError | LineTooLongError
    )


def test_decoder_matches_msgspec_on_a_real_capture() -> None:
    from .wire import load_capture

    cap = load_capture("generate-stream")
    d = NDJSONDecoder(GenerateResponse)
    chunks = d.feed(cap.body)
    expected = [msgspec.json.decode(x, type=GenerateResponse) for x in cap.body.splitlines()]
    assert chunks == expected
    assert chunks[-1].done and chunks[-1].eval_count == 40
