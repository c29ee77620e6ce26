"""The server-sent-events decoder of the /v1 routes, alone."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_async import LineTooLongError, MalformedLineError, StreamError
from ollama_async._sse import SSEDecoder

from .wire import load_capture


class Delta(msgspec.Struct):
    content: str = ""


class Choice(msgspec.Struct):
    delta: Delta = msgspec.field(default_factory=Delta)


class Event(msgspec.Struct):
    choices: list[Choice] = msgspec.field(default_factory=list)


def test_real_capture_decodes_to_done() -> None:
    cap = load_capture("v1-chat-stream-usage")
    d = SSEDecoder(Event)
    events = d.feed(cap.body) + d.flush()
    assert d.done and d.error is None
    assert len(events) == 5
    assert events[-1].choices == []  # the usage event
    assert events[0].choices[0].delta.content == "\ufffd"


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    body = load_capture("v1-chat-stream").body
    points = sorted({c % (len(body) + 1) for c in cuts})
    d = SSEDecoder(Event)
    got: list[Event] = []
    for a, b in zip([0, *points], [*points, len(body)], strict=True):
        got += d.feed(body[a:b])
    got += d.flush()
    whole = SSEDecoder(Event)
    assert got == whole.feed(body) + whole.flush()
    assert d.done


def test_comments_event_fields_and_crlf_are_skipped() -> None:
    d = SSEDecoder(Event)
    body = (
        b': keep-alive\r\nevent: message\r\nid: 1\r\ndata: {"choices": []}\r\n\r\ndata: [DONE]\r\n'
    )
    assert d.feed(body) == [Event()]
    assert d.done


def test_error_event_in_openai_shape_is_a_stream_error() -> None:
    d = SSEDecoder(Event)
    got = d.feed(b'data: {"choices": []}\n\ndata: {"error": {"message": "boom", "type": "x"}}\n\n')
    assert got == [Event()]
    assert isinstance(d.error, StreamError) and "boom" in str(d.error)


def test_bad_json_and_long_lines_are_typed_errors() -> None:
    d = SSEDecoder(Event)
    assert d.feed(b"data: {nope\n\n") == []
    assert isinstance(d.error, MalformedLineError)
    small = SSEDecoder(Event, max_line_bytes=16)
    small.feed(b"data: " + b"x" * 40)
    assert isinstance(small.error, LineTooLongError)
