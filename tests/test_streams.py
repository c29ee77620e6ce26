"""The three streams over real loopback sockets: results, faults, cancellation, no leaks."""

from __future__ import annotations

import asyncio
import random

import pytest

from ollama_async import (
    ChatResponse,
    Client,
    GenerateResponse,
    IdleTimeoutError,
    IncompleteStreamError,
    LineTooLongError,
    MalformedLineError,
    ModelNotFoundError,
    RetryPolicy,
    ServerError,
    StreamError,
    ThinkingText,
    Timeouts,
)

from .conftest import StreamServer, acquired, final_line, gen_line, tokens_for

EXPECTED = "".join(tokens_for(12))


async def test_stream_generate_yields_typed_chunks_and_final(client: Client) -> None:
    s = client.stream("tiny", prompt="hi")
    chunks = [c async for c in s]
    assert all(isinstance(c, GenerateResponse) for c in chunks)
    assert "".join(c.response for c in chunks) == EXPECTED
    assert s.text == EXPECTED
    assert s.final is chunks[-1] and s.final.done and s.final.done_reason == "stop"
    assert s.final.eval_count == 12 and s.final.context == [1, 2, 3]
    assert s.final.tokens_per_second == pytest.approx(12 / 0.006982)


async def test_stream_chat_with_context_manager(client: Client) -> None:
    async with client.stream("tiny", messages=[{"role": "user", "content": "hi"}]) as s:
        chunks = [c async for c in s]
    assert all(isinstance(c, ChatResponse) for c in chunks)
    assert s.text == EXPECTED
    assert s.final is not None and s.final.eval_seconds == pytest.approx(0.006982)


async def test_stream_tokens_generate_and_chat(client: Client) -> None:
    gen = client.stream_tokens("tiny", prompt="hi")
    assert [t async for t in gen] == tokens_for(12)
    assert gen.final is not None and gen.final.eval_count == 12
    chat = client.stream_tokens("tiny", messages=[{"role": "user", "content": "hi"}])
    assert "".join([t async for t in chat]) == EXPECTED
    assert isinstance(chat.final, ChatResponse)


async def test_stream_bytes_concatenation_equals_body(client: Client, server: StreamServer) -> None:
    s = client.stream_bytes("tiny", prompt="hi")
    body = b"".join([b async for b in s])
    sent = b"".join(gen_line(0, t) for t in tokens_for(12)) + final_line(False, 12)
    assert body == sent
    assert s.final is not None and s.final.done and s.final.eval_count == 12


async def test_connection_is_reused_after_a_complete_stream(client: Client) -> None:
    for _ in range(3):
        assert [t async for t in client.stream_tokens("tiny", prompt="hi")]
    connector = client.transport.session().connector
    assert connector is not None
    assert sum(len(v) for v in connector._conns.values()) == 1  # one pooled keep-alive conn


async def test_whole_generate_and_chat(client: Client, server: StreamServer) -> None:
    r = await client.generate("tiny", "hi")
    assert r.response == EXPECTED and r.done
    c = await client.chat("tiny", [{"role": "user", "content": "hi"}])
    assert c.message.content == EXPECTED
    assert server.records[0].body["stream"] is False


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("disconnect_mid_line", IncompleteStreamError),
        ("disconnect_between", IncompleteStreamError),
        ("no_done", IncompleteStreamError),
        ("error_line", StreamError),
        ("malformed", MalformedLineError),
    ],
)
@pytest.mark.parametrize("kind", ["stream", "stream_tokens", "stream_bytes"])
async def test_faults_raise_typed_errors_and_keep_partial_text(
    client: Client, server: StreamServer, mode: str, error: type[Exception], kind: str
) -> None:
    server.mode = mode
    got: list[object] = []
    if kind == "stream_bytes" and mode == "malformed":
        # Pass-through never parses the middle of the body: the bytes go on untouched and
        # only the end (done or error line) is checked.
        body = b"".join([b async for b in client.stream_bytes("tiny", prompt="hi")])
        assert b"this is not json\n" in body
        return
    with pytest.raises(error) as info:
        async for x in getattr(client, kind)("tiny", prompt="hi"):
            got.append(x)
    if kind != "stream_bytes":
        assert info.value.partial_text == "".join(tokens_for(3))  # type: ignore[attr-defined]
        assert len(got) == 3
    if mode == "error_line":
        assert "crashed" in str(info.value)


async def test_huge_line_raises_line_too_long(server: StreamServer) -> None:
    server.mode = "huge_line"
    async with Client(server.url, max_line_bytes=1024 * 1024) as c:
        with pytest.raises(LineTooLongError) as info:
            async for _ in c.stream_tokens("tiny", prompt="hi"):
                pass
        assert info.value.partial_text == "".join(tokens_for(3))
        assert acquired(c) == 0


async def test_404_names_the_model_and_500_is_a_server_error(
    client: Client, server: StreamServer
) -> None:
    server.mode = "404"
    with pytest.raises(ModelNotFoundError) as info:
        async for _ in client.stream("no-such-model", prompt="hi"):
            pass
    assert info.value.model == "no-such-model" and info.value.status == 404
    server.mode = "500"
    with pytest.raises(ServerError) as err:
        await client.generate("tiny", "hi")
    assert "terminated" in str(err.value) and err.value.status == 500


async def test_idle_timeout_mid_stream_closes_the_connection(server: StreamServer) -> None:
    server.mode = "stall"
    async with Client(server.url, timeouts=Timeouts(idle=0.3), retry=RetryPolicy(retries=0)) as c:
        with pytest.raises(IdleTimeoutError) as info:
            async for _ in c.stream_tokens("tiny", prompt="hi"):
                pass
        assert info.value.partial_text == "".join(tokens_for(3))
        await server.wait_ended(1)
        assert server.records[0].disconnected
        assert acquired(c) == 0


async def test_idle_timeout_before_the_first_byte(server: StreamServer) -> None:
    server.mode = "stall_before_headers"
    async with Client(server.url, timeouts=Timeouts(idle=0.3), retry=RetryPolicy(retries=0)) as c:
        with pytest.raises(IdleTimeoutError):
            await c.generate("tiny", "hi")


async def test_break_closes_the_connection_while_the_stream_is_still_held(
    client: Client, server: StreamServer
) -> None:
    server.delay = 0.02
    server.tokens = 500
    s = client.stream_tokens("tiny", prompt="hi")  # the caller keeps this reference
    async for _ in s:
        break
    await server.wait_ended(1, timeout=2)
    assert server.records[0].disconnected
    assert s.text == "The"
    assert acquired(client) == 0


async def test_leaving_async_with_early_closes(client: Client, server: StreamServer) -> None:
    server.delay = 0.02
    server.tokens = 500
    async with client.stream("tiny", prompt="hi") as s:
        async for _ in s:
            break
    await server.wait_ended(1, timeout=2)
    assert server.records[0].disconnected


async def test_exception_in_loop_body_closes(client: Client, server: StreamServer) -> None:
    server.delay = 0.02
    server.tokens = 500
    with pytest.raises(KeyError):
        async for _ in client.stream("tiny", prompt="hi"):
            raise KeyError("consumer failed")
    await server.wait_ended(1, timeout=2)
    assert server.records[0].disconnected


async def test_cancelling_the_consumer_task_closes_at_once(
    client: Client, server: StreamServer
) -> None:
    server.delay = 0.05
    server.tokens = 500

    async def consume() -> None:
        async for _ in client.stream_tokens("tiny", prompt="hi"):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await server.wait_ended(1, timeout=1)
    assert server.records[0].disconnected


async def test_thinking_pieces_only_when_asked(server: StreamServer) -> None:
    # A stream whose chunks carry thinking text: handled by patching the token source.
    import json

    from aiohttp import web

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        for chunk in ({"thinking": "hmm", "response": ""}, {"response": "yes"}):
            await resp.write(json.dumps(chunk).encode() + b"\n")
        await resp.write(b'{"response":"","done":true}\n')
        return resp

    app = web.Application()
    app.router.add_post("/api/generate", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Client(f"http://127.0.0.1:{port}") as c:
            plain = [t async for t in c.stream_tokens("m", prompt="q", think=True)]
            both = [
                t async for t in c.stream_tokens("m", prompt="q", think=True, include_thinking=True)
            ]
    finally:
        await runner.cleanup()
    assert plain == ["yes"]
    assert both == ["hmm", "yes"] and isinstance(both[0], ThinkingText)
    assert not isinstance(both[1], ThinkingText)


async def test_a_stream_is_iterated_once(client: Client) -> None:
    s = client.stream_tokens("tiny", prompt="hi")
    assert [t async for t in s]
    with pytest.raises(RuntimeError):
        async for _ in s:
            pass


async def test_200_streams_cancelled_at_random_points_leave_nothing(
    client: Client, server: StreamServer
) -> None:
    """Every stream stopped early is seen by the server as a disconnect; nothing leaks."""
    server.delay = 0.005
    server.tokens = 40
    rng = random.Random(7)
    tasks_before = client_tasks()

    async def consume(stop_after: int | None) -> str:
        got = 0
        async for _ in client.stream_tokens("tiny", prompt="hi"):
            got += 1
            if got == stop_after:
                return "broke"
        return "full"

    plans = [rng.choice([None, rng.randint(1, 39)]) for _ in range(200)]
    tasks = [asyncio.create_task(consume(p)) for p in plans]
    # Cancel half of them at random points: before sending, before headers, mid-stream.
    for i in rng.sample(range(200), 100):
        await asyncio.sleep(rng.uniform(0, 0.004))
        tasks[i].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(r in ("full", "broke") or isinstance(r, asyncio.CancelledError) for r in results)
    await server.wait_ended(len(server.records), timeout=10)
    full = results.count("full")
    completed = [r for r in server.records if r.completed]
    disconnected = [r for r in server.records if r.disconnected]
    # Each request either ran to its end on the server or the server saw the client leave;
    # a few cancelled consumers may be cancelled after the server had written everything.
    assert len(completed) + len(disconnected) == len(server.records)
    assert full <= len(completed) <= full + 10
    assert len(disconnected) > 50
    await asyncio.sleep(0.05)
    assert acquired(client) == 0
    assert client_tasks() <= tasks_before


def client_tasks() -> int:
    """Live tasks, leaving out the loopback server's own connection handlers."""
    return sum(1 for t in asyncio.all_tasks() if "RequestHandler" not in repr(t.get_coro()))
