"""The fault matrix: one test per row, over real loopback sockets with scripted bytes.

Each row asserts the exact typed error (or the complete result), that no connection is left
acquired, and that the next request on the same client works.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ollama_async import (
    Client,
    ConnectionLostError,
    IdleTimeoutError,
    IncompleteStreamError,
    LineTooLongError,
    MalformedLineError,
    NotFoundError,
    RateLimitError,
    ResponseError,
    RetryPolicy,
    ServerError,
    ServerUnreachableError,
    StreamError,
    Timeouts,
    TotalTimeoutError,
)

from .conftest import acquired
from .faultserver import Conn, FaultServer, line, normal

FAST = RetryPolicy(retries=0)


@pytest.fixture
async def client(fs: FaultServer) -> AsyncIterator[Client]:
    async with Client(fs.url, retry=FAST, timeouts=Timeouts(connect=2, idle=0.5)) as c:
        yield c
        await asyncio.sleep(0)
        assert acquired(c) == 0, "a connection was left acquired"
        fs.script = normal
        assert [t async for t in c.stream_tokens("m", prompt="x")] == ["a", "b", "c"]
        assert (await c.generate("m", "x")).done  # the next request works
        assert acquired(c) == 0


async def consume(c: Client) -> list[str]:
    return [t async for t in c.stream_tokens("m", prompt="x")]


async def test_refused_connection() -> None:
    async with Client("http://127.0.0.1:9", retry=FAST) as c:
        with pytest.raises(ServerUnreachableError) as info:
            await consume(c)
    assert "127.0.0.1:9" in str(info.value) and "ollama serve" in str(info.value)


async def test_unresolvable_host_fails_fast_without_retries() -> None:
    async with Client("http://no-such-host.invalid:11434", retry=RetryPolicy(retries=3)) as c:
        with pytest.raises(ServerUnreachableError) as info:
            await asyncio.wait_for(consume(c), 10)
    assert "could not be resolved" in str(info.value)


async def test_close_before_the_status_line(fs: FaultServer, client: Client) -> None:
    async def script(conn: Conn) -> None:
        conn.abort()

    fs.script = script
    with pytest.raises(ConnectionLostError) as info:
        await consume(client)
    assert not isinstance(info.value, IncompleteStreamError)


async def test_close_before_the_status_line_is_retried(fs: FaultServer) -> None:
    async def script(conn: Conn) -> None:
        if len(fs.requests) < 3:
            conn.abort()
        else:
            await normal(conn)

    fs.script = script
    async with Client(fs.url, retry=RetryPolicy(retries=2, backoff=0.01)) as c:
        assert await consume(c) == ["a", "b", "c"]
    assert len(fs.requests) == 3


async def test_close_after_headers(fs: FaultServer, client: Client) -> None:
    async def script(conn: Conn) -> None:
        conn.head()
        await conn.writer.drain()
        conn.abort()

    fs.script = script
    with pytest.raises(IncompleteStreamError):
        await consume(client)


async def test_close_inside_a_json_line(fs: FaultServer, client: Client) -> None:
    async def script(conn: Conn) -> None:
        conn.head()
        conn.chunk(line("a") + line("b")[:20])
        await conn.writer.drain()
        conn.abort()

    fs.script = script
    with pytest.raises(IncompleteStreamError) as info:
        await consume(client)
    assert info.value.partial_text == "a"


async def test_close_between_lines_before_done(fs: FaultServer, client: Client) -> None:
    async def script(conn: Conn) -> None:
        conn.head()
        conn.chunk(line("a"))
        conn.chunk(line("b"))
        conn.end()  # a clean end of body, but no done chunk

    fs.script = script
    with pytest.raises(IncompleteStreamError) as info:
        await consume(client)
    assert info.value.partial_text == "ab"


async def test_stall_before_the_first_byte(fs: FaultServer, client: Client) -> None:
    closed: list[bool] = []

    async def script(conn: Conn) -> None:
        closed.append(await conn.client_closed(timeout=3))

    fs.script = script
    with pytest.raises(IdleTimeoutError):
        await consume(client)
    while not closed:
        await asyncio.sleep(0.01)
    assert closed == [True]  # the client closed the connection


async def test_stall_mid_stream(fs: FaultServer, client: Client) -> None:
    closed: list[bool] = []

    async def script(conn: Conn) -> None:
        conn.head()
        conn.chunk(line("a"))
        await conn.writer.drain()
        closed.append(await conn.client_closed(timeout=3))

    fs.script = script
    with pytest.raises(IdleTimeoutError) as info:
        await consume(client)
    assert info.value.partial_text == "a"
    while not closed:
        await asyncio.sleep(0.01)
    assert closed == [True]


async def test_total_timeout(fs: FaultServer) -> None:
    async def script(conn: Conn) -> None:
        conn.head()
        for _ in range(100):  # a chunk every 50 ms: never idle, but never done either
            conn.chunk(line("a"))
            await conn.writer.drain()
            await asyncio.sleep(0.05)

    fs.script = script
    async with Client(fs.url, retry=FAST, timeouts=Timeouts(idle=1, total=0.3)) as c:
        with pytest.raises(TotalTimeoutError) as info:
            await consume(c)
        assert info.value.partial_text.startswith("a")
        assert acquired(c) == 0


async def test_error_line_mid_stream(fs: FaultServer, client: Client) -> None:
    async def script(conn: Conn) -> None:
        conn.head()
        conn.chunk(line("a"))
        conn.chunk(b'{"error":"llama runner process has terminated"}\n')
        conn.end()

    fs.script = script
    with pytest.raises(StreamError) as info:
        await consume(client)
    assert info.value.partial_text == "a" and "terminated" in str(info.value)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"<html>not json</html>\n", MalformedLineError),
        (b'{"response":"\xff\xfe bad utf-8","done":false}\n', MalformedLineError),
        (b'{"response":"' + b"x" * 5000 + b'","done":false}\n', LineTooLongError),
    ],
    ids=["non-json-line", "invalid-utf8-in-string", "line-over-limit"],
)
async def test_bad_lines(fs: FaultServer, payload: bytes, error: type[Exception]) -> None:
    async def script(conn: Conn) -> None:
        conn.head()
        conn.chunk(line("a"))
        conn.chunk(payload)
        conn.chunk(line("", done=True))
        conn.end()

    fs.script = script
    async with Client(fs.url, retry=FAST, max_line_bytes=4096) as c:
        with pytest.raises(error) as info:
            await consume(c)
        assert info.value.partial_text == "a"  # type: ignore[attr-defined]
        assert acquired(c) == 0
        fs.script = normal
        assert await consume(c) == ["a", "b", "c"]


async def test_html_502_from_a_proxy_shows_a_snippet(fs: FaultServer, client: Client) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

    async def script(conn: Conn) -> None:
        conn.whole("502 Bad Gateway", page, ctype="text/html")

    fs.script = script
    with pytest.raises(ServerError) as info:
        await consume(client)
    assert info.value.status == 502 and "502 Bad Gateway" in info.value.error


async def test_text_plain_404(fs: FaultServer, client: Client) -> None:
    async def script(conn: Conn) -> None:
        conn.whole("404 Not Found", b"404 page not found", ctype="text/plain")

    fs.script = script
    with pytest.raises(NotFoundError) as info:
        await consume(client)
    assert info.value.error == "404 page not found"


async def test_redirect_to_another_host_drops_credentials(fs: FaultServer) -> None:
    other = FaultServer()
    await other.start()
    try:

        async def redirect(conn: Conn) -> None:
            conn.whole("307 Temporary Redirect", b"", Location=other.url + conn.path)

        fs.script = redirect
        async with Client(fs.url, retry=FAST, api_key="sk-secret") as c:
            assert await consume(c) == ["a", "b", "c"]
        assert fs.requests[0].headers["authorization"] == "Bearer sk-secret"
        assert "authorization" not in other.requests[0].headers
        assert other.requests[0].body == fs.requests[0].body  # 307 keeps the body
    finally:
        await other.close()


@pytest.mark.parametrize("retry_after", [None, "1"])
@pytest.mark.parametrize(("status", "retried"), [(413, False), (429, True), (500, False),
                                                 (502, True), (503, True)])  # fmt: skip
async def test_statuses_retried_only_before_the_body(
    fs: FaultServer, monkeypatch: pytest.MonkeyPatch, status: int, retried: bool,
    retry_after: str | None,
) -> None:  # fmt: skip
    waits: list[float] = []

    async def fake_sleep(s: float) -> None:
        waits.append(s)

    monkeypatch.setattr("ollama_async._transport._sleep", fake_sleep)
    extra = {"Retry_After": retry_after} if retry_after else {}

    async def script(conn: Conn) -> None:
        if len(fs.requests) == 1:
            conn.whole(f"{status} X", b'{"error":"busy"}', **extra)
        else:
            await normal(conn)

    fs.script = script
    async with Client(fs.url, retry=RetryPolicy(retries=2, backoff=0.2)) as c:
        if retried:
            assert await consume(c) == ["a", "b", "c"]
            assert len(fs.requests) == 2
            assert waits == [1.0] if retry_after else (len(waits) == 1 and 0 <= waits[0] <= 0.2)
        else:
            with pytest.raises(ResponseError) as info:
                await consume(c)
            assert info.value.status == status and len(fs.requests) == 1 and not waits
        assert acquired(c) == 0


async def test_429_without_retries_carries_retry_after(fs: FaultServer, client: Client) -> None:
    async def script(conn: Conn) -> None:
        conn.whole("429 Too Many Requests", b'{"error":"slow down"}', Retry_After="7")

    fs.script = script
    with pytest.raises(RateLimitError) as info:
        await consume(client)
    assert info.value.retry_after == 7.0


async def test_a_5xx_after_the_body_started_is_never_retried(fs: FaultServer) -> None:
    async def script(conn: Conn) -> None:
        conn.head()
        conn.chunk(line("a"))
        await conn.writer.drain()
        conn.abort()

    fs.script = script
    async with Client(fs.url, retry=RetryPolicy(retries=3, backoff=0.01)) as c:
        with pytest.raises(IncompleteStreamError):
            await consume(c)
    assert len(fs.requests) == 1


async def test_gzip_encoded_response(fs: FaultServer, client: Client) -> None:
    async def script(conn: Conn) -> None:
        body = gzip.compress(line("a") + line("b") + line("", done=True))
        conn.head(Content_Encoding="gzip")
        conn.chunk(body[:10])
        conn.chunk(body[10:])
        conn.end()

    fs.script = script
    s = client.stream_tokens("m", prompt="x")
    assert [t async for t in s] == ["a", "b"]
    assert s.final is not None and s.final.eval_count == 3


@pytest.mark.parametrize("kind", ["stream", "stream_tokens", "stream_bytes"])
async def test_a_done_line_without_its_newline_ends_the_stream(
    fs: FaultServer, client: Client, kind: str
) -> None:
    body = line("a") + line("b") + line("", done=True).rstrip(b"\n")
    cuts = [0, 7, len(line("a")) + 3, len(body) - 5, len(body)]  # lines cut across chunks

    async def script(conn: Conn) -> None:
        conn.head()
        for start, end in itertools.pairwise(cuts):
            conn.chunk(body[start:end])
            await conn.writer.drain()
        conn.end()

    fs.script = script
    s = getattr(client, kind)("m", prompt="x")
    got = [x async for x in s]
    assert s.final is not None and s.final.done
    if kind == "stream_bytes":
        assert b"".join(got) == body
    else:
        assert s.text == "ab"
        assert len(got) == (3 if kind == "stream" else 2)


@pytest.mark.skipif(
    os.environ.get("AIOHTTP_NO_EXTENSIONS") == "1", reason="this run is the pure-Python one"
)
async def test_the_fault_matrix_holds_with_aiohttp_pure_python_parser() -> None:
    """Every row above again, with aiohttp's pure-Python HTTP parser (it is chosen when
    aiohttp is imported, so the rows run in a child process)."""
    env = {**os.environ, "AIOHTTP_NO_EXTENSIONS": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider",
        "-k", "not pure_python_parser",
        cwd=Path(__file__).parents[1], env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-4000:]
    assert "[100%]" in report and "F" not in report.split("[100%]")[0].replace("FAILED", "")
