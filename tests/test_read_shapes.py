"""The streams' read loop over every shape of read the transport can hand it.

A live model sends one line per read; a caller that falls behind gets many lines (or a cut
line) per read, and reads of 64 KiB or more are decoded in pieces. Each shape takes its own
path through ``ChunkStream`` and ``TokenStream``, so the same body is fed in every shape and
every shape must give the same chunks, text, final chunk, error and byte count.

The body comes from memory (a stand-in for the aiohttp response), so the read sizes are
exact: a socket would decide them itself. The streams over real sockets are in
``test_streams.py`` and ``test_faults.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ollama_async import ChatResponse, GenerateResponse, MalformedLineError, StreamError
from ollama_async._streams import ChunkStream, TokenStream
from ollama_async.audit import disable_audit_log, enable_audit_log
from ollama_async.testing._memory import memory_response

from .conftest import chat_line, final_line, gen_line, tokens_for

N = 5_000  # over the 4,096 pieces at which the kept text is joined into a block
SIZES = [0, 1, 7, 1000, 65_535, 65_536, 200_000, 1 << 30]  # 0: one line per read


def body(chat: bool, n: int = N, bad_at: int | None = None, end: bytes | None = None) -> bytes:
    line = chat_line if chat else (lambda t: gen_line(0, t))
    lines = [line(t) for t in tokens_for(n)]
    if bad_at is not None:
        lines.insert(bad_at, b"{not json}\n")
    return b"".join(lines) + (final_line(chat, n) if end is None else end)


def cut(data: bytes, size: int) -> list[bytes]:
    if size == 0:
        return data.splitlines(keepends=True)
    return [data[i : i + size] for i in range(0, len(data), size)]


def stream(kind: str, chat: bool, reads: list[bytes]) -> Any:
    url = "http://mem/api/chat" if chat else "http://mem/api/generate"

    async def opener() -> Any:
        return memory_response(reads, url)

    final = ChatResponse if chat else GenerateResponse
    cls = ChunkStream if kind == "stream" else TokenStream
    return cls(opener, final, 1 << 24, url)


def texts(kind: str, chat: bool, got: list[Any]) -> list[str]:
    if kind == "stream_tokens":
        return got
    return [c.message.content if chat else c.response for c in got]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("chat", [False, True], ids=["generate", "chat"])
@pytest.mark.parametrize("kind", ["stream", "stream_tokens"])
async def test_every_read_shape_gives_the_same_chunks_text_and_final(
    kind: str, chat: bool, size: int
) -> None:
    s = stream(kind, chat, cut(body(chat), size))
    got = [x async for x in s]
    expected = tokens_for(N)
    assert texts(kind, chat, got if kind == "stream_tokens" else got[:-1]) == expected
    assert s.text == "".join(expected)
    assert s.final is not None and s.final.done and s.final.eval_count == N
    assert isinstance(s.final, ChatResponse if chat else GenerateResponse)
    if kind == "stream":
        assert s.final is got[-1] and len(got) == N + 1


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["stream", "stream_tokens"])
async def test_a_bad_line_in_any_read_shape_keeps_the_records_before_it(
    kind: str, size: int
) -> None:
    bad_at = 4_321
    s = stream(kind, False, cut(body(False, bad_at=bad_at), size))
    got: list[Any] = []
    with pytest.raises(MalformedLineError) as info:
        async for x in s:
            got.append(x)
    before = tokens_for(N)[:bad_at]
    assert texts(kind, False, got) == before
    assert info.value.partial_text == "".join(before)
    assert "{not json}" in info.value.snippet


@pytest.mark.parametrize("size", [0, 1000, 200_000])
@pytest.mark.parametrize("kind", ["stream", "stream_tokens"])
async def test_an_error_line_in_any_read_shape_raises_after_the_text(kind: str, size: int) -> None:
    error = json.dumps({"error": "model runner crashed"}).encode() + b"\n"
    s = stream(kind, False, cut(body(False, n=3_000, end=error), size))
    got: list[Any] = []
    with pytest.raises(StreamError, match="crashed") as info:
        async for x in s:
            got.append(x)
    assert texts(kind, False, got) == tokens_for(3_000)
    assert info.value.partial_text == "".join(tokens_for(3_000))


@pytest.mark.parametrize("size", [0, 1000, 200_000])
async def test_the_audit_log_counts_every_byte_read(size: int, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    data = body(False)
    cut_short = data[: data.rfind(b"\n", 0, len(data) // 2) + 1]  # whole lines, no done line
    enable_audit_log(log)
    try:
        async for _ in stream("stream", False, cut(data, size)):
            pass
        with pytest.raises(Exception):  # noqa: B017 - the count is what is checked here
            async for _ in stream("stream_tokens", False, cut(cut_short, size)):
                pass
    finally:
        disable_audit_log()
    whole, short = (json.loads(line) for line in log.read_text().splitlines())
    assert whole["bytes"] == len(data) and whole["error"] is None
    assert short["bytes"] == len(cut_short) and short["error"] == "IncompleteStreamError"
