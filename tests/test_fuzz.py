"""Fuzzing: whatever bytes arrive, only the library's typed errors ever escape."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_async import (
    ChatResponse,
    Client,
    GenerateResponse,
    OllamaError,
    ProgressResponse,
    RetryPolicy,
    Timeouts,
)
from ollama_async._errors import error_for_status
from ollama_async._ndjson import NDJSONDecoder
from ollama_async._sse import SSEDecoder
from ollama_async.types import ChatCompletionChunk, CompletionChunk

from .faultserver import Conn, FaultServer

TYPES = [GenerateResponse, ChatResponse, ProgressResponse]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=10,
)
fields = st.sampled_from(["response", "done", "message", "eval_count", "context", "status",
                          "error", "logprobs", "total", "created_at", "thinking"])  # fmt: skip


def cut(data: bytes, points: list[int]) -> list[bytes]:
    marks = sorted({p % (len(data) + 1) for p in points})
    return [data[a:b] for a, b in zip([0, *marks], [*marks, len(data)], strict=True)]


def drain(decoder: Any, pieces: list[bytes]) -> None:
    for piece in pieces:
        decoder.feed(piece)
        if decoder.error is not None:
            assert isinstance(decoder.error, OllamaError)
            return
    decoder.flush()
    assert decoder.error is None or isinstance(decoder.error, OllamaError)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(TYPES), data=st.binary(max_size=400),
       points=st.lists(st.integers(0, 400), max_size=5))  # fmt: skip
def test_every_ndjson_decoder_on_arbitrary_bytes(
    kind: type, data: bytes, points: list[int]
) -> None:
    drain(NDJSONDecoder(kind, max_line_bytes=200), cut(data, points))


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(TYPES),
       records=st.lists(st.dictionaries(fields, json_values, max_size=5), max_size=6),
       points=st.lists(st.integers(0, 2000), max_size=6))  # fmt: skip
def test_every_ndjson_decoder_on_arbitrary_json(
    kind: type, records: list[dict[str, Any]], points: list[int]
) -> None:
    body = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    drain(NDJSONDecoder(kind), cut(body, points))


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from([ChatCompletionChunk, CompletionChunk]),
       events=st.lists(st.one_of(st.binary(max_size=60),
                                 st.dictionaries(st.text(max_size=6), json_values, max_size=4)
                                 .map(lambda d: b"data: " + json.dumps(d).encode())),
                       max_size=6),
       points=st.lists(st.integers(0, 800), max_size=6))  # fmt: skip
def test_sse_decoder_on_arbitrary_events(
    kind: type, events: list[bytes], points: list[int]
) -> None:
    body = b"\n\n".join(events) + b"\n\ndata: [DONE]\n\n"
    drain(SSEDecoder(kind, max_line_bytes=300), cut(body, points))


@settings(max_examples=200, deadline=None)
@given(status=st.integers(300, 599), body=st.binary(max_size=300),
       ctype=st.sampled_from(["application/json", "text/plain", "text/html", ""]))  # fmt: skip
def test_error_mapping_on_arbitrary_bodies(status: int, body: bytes, ctype: str) -> None:
    err = error_for_status(status, body, ctype, url="http://x", model="m")
    assert isinstance(err, OllamaError) and err.status == status and isinstance(err.error, str)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tail=st.binary(max_size=300), method=st.sampled_from(["stream", "stream_tokens",
                                                              "stream_bytes"]))  # fmt: skip
def test_streams_over_a_socket_on_arbitrary_bodies(tail: bytes, method: str) -> None:
    async def run() -> None:
        server = FaultServer()

        async def script(conn: Conn) -> None:
            conn.head()
            if tail:
                conn.chunk(tail)
            conn.end()

        server.script = script
        await server.start()
        try:
            async with Client(server.url, retry=RetryPolicy(retries=0),
                              timeouts=Timeouts(idle=2), max_line_bytes=256) as c:  # fmt: skip
                try:
                    async for _ in getattr(c, method)("m", prompt="x"):
                        pass
                except OllamaError:
                    pass
        finally:
            await server.close()

    asyncio.run(run())


def test_decoded_types_ignore_unknown_fields() -> None:
    line = b'{"response":"a","done":false,"a_future_field":{"x":[1]}}'
    assert msgspec.json.decode(line, type=GenerateResponse).response == "a"
