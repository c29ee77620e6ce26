"""One rule for every stream: it ends at its final record, and whatever follows is ignored.
Also the bounds: deep nesting, whole answers over the size limit, broken chunked framing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_async import (
    ChatResponse,
    Client,
    GenerateResponse,
    MalformedLineError,
    OllamaError,
    ResponseError,
    ResponseTooLargeError,
    RetryPolicy,
)
from ollama_async._passthrough import ByteStream
from ollama_async._streams import ChunkStream, TokenStream
from ollama_async.testing._memory import memory_response

from .conftest import acquired
from .faultserver import Conn, FaultServer

LINES = [
    b'{"model":"m","response":"Hel","done":false}\n',
    b'{"model":"m","response":"lo","done":false}\n',
]
DONE = b'{"model":"m","response":"","done":true,"done_reason":"stop","eval_count":2}\n'
KINDS = {"stream": ChunkStream, "stream_tokens": TokenStream, "stream_bytes": ByteStream}


async def run(kind: str, reads: list[bytes]) -> tuple[Any, str]:
    async def opener() -> Any:
        return memory_response(reads)

    s = KINDS[kind](opener, GenerateResponse, 1 << 20, "http://mem/api/generate")
    async for _ in s:
        pass
    return s.final, s.text


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = zip([0, *points], [*points, len(data)], strict=True)
    return [p for p in (data[a:b] for a, b in bounds) if p]


ODD_TRAILERS = [b"\n", b"\r\n\r\n", b"   \n", b"junk\n", b"{not json", b'{"x":1}\n', DONE,
                b'{"error":"late"}\n', b"\xff\xfe\n"]  # fmt: skip
TRAILERS = st.one_of(st.sampled_from(ODD_TRAILERS), st.binary(max_size=200))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(KINDS)), trailer=TRAILERS, cuts=st.lists(st.integers(0, 500)))
def test_what_follows_the_final_record_is_ignored_by_every_stream(
    kind: str, trailer: bytes, cuts: list[int]
) -> None:
    body = b"".join(LINES) + DONE + trailer
    final, text = asyncio.run(run(kind, split(body, cuts)))
    assert final is not None and final.done and final.eval_count == 2
    assert text == "Hello" or kind == "stream_bytes"


def nested_tool_call(depth: int) -> bytes:
    """A chat chunk whose tool call arguments (any JSON) nest ``depth`` levels deep."""
    deep = b'{"a":' * depth + b"1" + b"}" * depth
    head = b'{"message":{"role":"assistant","content":"","tool_calls":[{"function":'
    return head + b'{"name":"f","arguments":{"x":' + deep + b'}}}]},"done":false}'


@settings(max_examples=20, deadline=None)
@given(depth=st.integers(2_000, 20_000), kind=st.sampled_from(sorted(KINDS)))
def test_deep_nesting_never_escapes_as_a_recursion_error(depth: int, kind: str) -> None:
    chat = [b'{"message":{"role":"assistant","content":"Hi"},"done":false}\n',
            nested_tool_call(depth) + b"\n",
            b'{"message":{"role":"assistant","content":""},"done":true}\n']  # fmt: skip

    async def opener() -> Any:
        return memory_response(chat, "http://mem/api/chat")

    async def go() -> None:
        s = KINDS[kind](opener, ChatResponse, 1 << 20, "http://mem/api/chat")
        async for _ in s:
            pass

    try:
        asyncio.run(go())
    except MalformedLineError as exc:  # a RecursionError would fail the test
        assert "nested too deeply" in str(exc)
        assert exc.partial_text == "Hi"
    else:  # only a decoder that skips the arguments may get past the line
        assert kind != "stream", "the typed chunk holds the arguments: it must refuse"


async def test_deep_nesting_in_whole_answers_and_error_bodies(fs: FaultServer) -> None:
    answer = nested_tool_call(5_000)

    async def script(conn: Conn) -> None:
        if conn.path == "/api/chat":
            conn.whole("200 OK", answer)
        else:
            conn.whole("400 Bad Request", b'{"error":' + b"[" * 5000 + b"]" * 5000 + b"}")

    fs.script = script
    async with Client(fs.url, retry=RetryPolicy(retries=0)) as c:
        with pytest.raises(MalformedLineError):
            await c.chat("m", [{"role": "user", "content": "hi"}])
        with pytest.raises(ResponseError) as info:
            await c.show("m")
        assert info.value.status == 400


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_whole_answer_over_the_limit_is_refused(fs: FaultServer, chunked: bool) -> None:
    big = json.dumps({"model": "m", "response": "x" * 5000, "done": True}).encode()

    async def script(conn: Conn) -> None:
        if chunked:
            conn.head(ctype="application/json")
            for i in range(0, len(big), 1000):
                conn.chunk(big[i : i + 1000])
            conn.end()
        else:
            conn.whole("200 OK", big)

    fs.script = script
    async with Client(fs.url, retry=RetryPolicy(retries=0), max_response_bytes=4096) as c:
        with pytest.raises(ResponseTooLargeError) as info:
            await c.generate("m", "hi")
        assert info.value.limit == 4096
        assert acquired(c) == 0
    async with Client(fs.url, retry=RetryPolicy(retries=0), max_response_bytes=len(big)) as c:
        assert (await c.generate("m", "hi")).response == "x" * 5000


FRAMINGS = {
    "non-hex size": b"zz\r\nabc\r\n",
    "negative size": b"-5\r\nabc\r\n",
    "oversized size": b"ffffffffffffffffffff\r\nabc\r\n",
    "missing CRLF": b"5\r\nabcdefgh",
    "size then nothing": b"40\r\n" + b"x" * 10,
}

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from ollama_async import (Client, IdleTimeoutError, IncompleteStreamError, OllamaError,
                              ProtocolError, RetryPolicy, Timeouts)

    async def main(url, kind):
        async with Client(url, retry=RetryPolicy(retries=0), timeouts=Timeouts(idle=1)) as c:
            try:
                s = getattr(c, kind)("m", prompt="x")
                async for _ in s:
                    pass
            except (ProtocolError, IncompleteStreamError, IdleTimeoutError) as exc:
                print("typed", type(exc).__name__)
                return
            except OllamaError as exc:
                print("other", type(exc).__name__)
                return
            print("no error")

    asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 20))
    """
)


@pytest.mark.parametrize("parser", ["C", "pure-Python"])
@pytest.mark.parametrize("framing", sorted(FRAMINGS))
async def test_broken_chunked_framing_is_a_typed_error_within_the_idle_limit(
    fs: FaultServer, parser: str, framing: str
) -> None:
    async def script(conn: Conn) -> None:
        conn.head()
        conn.chunk(LINES[0])
        conn.send(FRAMINGS[framing])
        await conn.client_closed(timeout=10)

    fs.script = script
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    if parser == "pure-Python":
        env["AIOHTTP_NO_EXTENSIONS"] = "1"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, fs.url, "stream_tokens",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    name = out.decode().strip()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert name.startswith("typed "), name


def test_the_typed_errors_named_above_are_ollama_errors() -> None:
    import ollama_async

    for name in ("ProtocolError", "IncompleteStreamError", "IdleTimeoutError"):
        assert issubclass(getattr(ollama_async, name), OllamaError)


async def test_chat_streams_follow_the_same_rule() -> None:
    chat = [b'{"message":{"role":"assistant","content":"Hi"},"done":false}\n',
            b'{"message":{"role":"assistant","content":""},"done":true,"eval_count":1}\n'
            b"\n{garbage\n"]  # fmt: skip

    async def opener() -> Any:
        return memory_response(chat, "http://mem/api/chat")

    for cls in KINDS.values():
        s = cls(opener, ChatResponse, 1 << 20, "http://mem/api/chat")
        async for _ in s:
            pass
        assert s.final is not None and s.final.done
