"""The three streams over real loopback sockets: results, faults, cancellation, no leaks.

The emulator sends exactly the pieces each test scripts (``add_response(chunks=...)``), with
non-ASCII and control characters among them, and applies the fault the test names.
"""

from __future__ import annotations

import asyncio
import json
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
from ollama_async.testing import Emulator, Fault

from .conftest import acquired, tokens_for

TOKENS = tokens_for(12)
EXPECTED = "".join(TOKENS)


async def test_stream_generate_yields_typed_chunks_and_final(client: Client, emu: Emulator) -> None:
    emu.add_response(chunks=TOKENS)
    s = client.stream("tiny", prompt="hi")
    chunks = [c async for c in s]
    assert all(isinstance(c, GenerateResponse) for c in chunks)
    assert "".join(c.response for c in chunks) == EXPECTED
    assert s.text == EXPECTED
    assert s.final is chunks[-1] and s.final.done and s.final.done_reason == "stop"
    assert s.final.eval_count == len(TOKENS) and s.final.context
    assert s.final.eval_duration
    assert s.final.tokens_per_second == pytest.approx(len(TOKENS) / s.final.eval_duration * 1e9)


async def test_stream_chat_with_context_manager(client: Client, emu: Emulator) -> None:
    emu.add_response(chunks=TOKENS)
    async with client.stream("tiny", messages=[{"role": "user", "content": "hi"}]) as s:
        chunks = [c async for c in s]
    assert all(isinstance(c, ChatResponse) for c in chunks)
    assert s.text == EXPECTED
    assert s.final is not None and s.final.eval_duration
    assert s.final.eval_seconds == pytest.approx(s.final.eval_duration / 1e9)


async def test_stream_tokens_generate_and_chat(client: Client, emu: Emulator) -> None:
    emu.add_response(endpoint="generate", chunks=TOKENS)
    emu.add_response(endpoint="chat", chunks=TOKENS)
    gen = client.stream_tokens("tiny", prompt="hi")
    assert [t async for t in gen] == TOKENS
    assert gen.final is not None and gen.final.eval_count == len(TOKENS)
    chat = client.stream_tokens("tiny", messages=[{"role": "user", "content": "hi"}])
    assert "".join([t async for t in chat]) == EXPECTED
    assert isinstance(chat.final, ChatResponse)


async def test_stream_bytes_concatenation_equals_body(client: Client, emu: Emulator) -> None:
    emu.add_response(chunks=TOKENS)
    s = client.stream_bytes("tiny", prompt="hi")
    body = b"".join([b async for b in s])
    assert body == emu.requests[-1].response_body
    assert [json.loads(x)["response"] for x in body.splitlines()][:-1] == TOKENS
    assert s.final is not None and s.final.done and s.final.eval_count == len(TOKENS)


async def test_connection_is_reused_after_a_complete_stream(client: Client, emu: Emulator) -> None:
    emu.add_response(chunks=TOKENS, reusable=True)
    for _ in range(3):
        assert [t async for t in client.stream_tokens("tiny", prompt="hi")]
    connector = client.transport.session().connector
    assert connector is not None
    assert sum(len(v) for v in connector._conns.values()) == 1  # one pooled keep-alive conn


async def test_whole_generate_and_chat(client: Client, emu: Emulator) -> None:
    emu.add_response(chunks=TOKENS, reusable=True)
    r = await client.generate("tiny", "hi")
    assert r.response == EXPECTED and r.done
    c = await client.chat("tiny", [{"role": "user", "content": "hi"}])
    assert c.message.content == EXPECTED
    assert emu.requests[0].json["stream"] is False


FAULTS = {
    "disconnect_mid_line": Fault(disconnect_mid_line=3),
    "disconnect_between": Fault(disconnect_after=3),
    "no_done": Fault(eof_after=3),
    "error_line": Fault(error_after=3, error_message="the model runner crashed"),
    "malformed": Fault(malformed_after=3),
}


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
    client: Client, emu: Emulator, mode: str, error: type[Exception], kind: str
) -> None:
    emu.add_response(chunks=TOKENS, fault=FAULTS[mode])
    got: list[object] = []
    if kind == "stream_bytes" and mode == "malformed":
        # Pass-through never parses the middle of the body: the bytes go on untouched and
        # only the end (done or error line) is checked.
        body = b"".join([b async for b in client.stream_bytes("tiny", prompt="hi")])
        assert body == emu.requests[-1].response_body and b"not json" in body
        return
    with pytest.raises(error) as info:
        async for x in getattr(client, kind)("tiny", prompt="hi"):
            got.append(x)
    if kind != "stream_bytes":
        assert info.value.partial_text == "".join(TOKENS[:3])  # type: ignore[attr-defined]
        assert len(got) == 3
    if mode == "error_line":
        assert "crashed" in str(info.value)


async def test_huge_line_raises_line_too_long(emu: Emulator) -> None:
    emu.add_response(chunks=TOKENS, fault=Fault(huge_line_bytes=2 * 1024 * 1024, huge_line_after=3))
    async with Client(emu.url, max_line_bytes=1024 * 1024) as c:
        with pytest.raises(LineTooLongError) as info:
            async for _ in c.stream_tokens("tiny", prompt="hi"):
                pass
        assert info.value.partial_text == "".join(TOKENS[:3])
        assert acquired(c) == 0


async def test_404_names_the_model_and_500_is_a_server_error(client: Client, emu: Emulator) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        async for _ in client.stream("no-such-model", prompt="hi"):
            pass
    assert info.value.model == "no-such-model" and info.value.status == 404
    emu.add_response(status=500, error="llama runner process has terminated")
    with pytest.raises(ServerError) as err:
        await client.generate("tiny", "hi")
    assert "terminated" in str(err.value) and err.value.status == 500


async def test_idle_timeout_mid_stream_closes_the_connection(emu: Emulator) -> None:
    emu.add_response(chunks=TOKENS, fault=Fault(stall_after=3))
    async with Client(emu.url, timeouts=Timeouts(idle=0.3), retry=RetryPolicy(retries=0)) as c:
        with pytest.raises(IdleTimeoutError) as info:
            async for _ in c.stream_tokens("tiny", prompt="hi"):
                pass
        assert info.value.partial_text == "".join(TOKENS[:3])
        await emu.wait_idle()
        assert emu.requests[0].client_disconnected
        assert acquired(c) == 0


async def test_idle_timeout_before_the_first_byte(emu: Emulator) -> None:
    emu.add_response(chunks=TOKENS, fault=Fault(latency=3600))
    async with Client(emu.url, timeouts=Timeouts(idle=0.3), retry=RetryPolicy(retries=0)) as c:
        with pytest.raises(IdleTimeoutError):
            await c.generate("tiny", "hi")


def slow_answer(emu: Emulator) -> None:
    """500 pieces at 50 per second: the stream is still running when the test leaves it."""
    emu.tokens_per_second = 50
    emu.add_response(chunks=tokens_for(500))


async def test_break_closes_the_connection_while_the_stream_is_still_held(
    client: Client, emu: Emulator
) -> None:
    slow_answer(emu)
    s = client.stream_tokens("tiny", prompt="hi")  # the caller keeps this reference
    async for _ in s:
        break
    await emu.wait_idle(timeout=2)
    assert emu.requests[0].client_disconnected
    assert s.text == tokens_for(1)[0]
    assert acquired(client) == 0


async def test_leaving_async_with_early_closes(client: Client, emu: Emulator) -> None:
    slow_answer(emu)
    async with client.stream("tiny", prompt="hi") as s:
        async for _ in s:
            break
    await emu.wait_idle(timeout=2)
    assert emu.requests[0].client_disconnected


async def test_exception_in_loop_body_closes(client: Client, emu: Emulator) -> None:
    slow_answer(emu)
    with pytest.raises(KeyError):
        async for _ in client.stream("tiny", prompt="hi"):
            raise KeyError("consumer failed")
    await emu.wait_idle(timeout=2)
    assert emu.requests[0].client_disconnected


async def test_cancelling_the_consumer_task_closes_at_once(client: Client, emu: Emulator) -> None:
    emu.tokens_per_second = 20
    emu.add_response(chunks=tokens_for(500))

    async def consume() -> None:
        async for _ in client.stream_tokens("tiny", prompt="hi"):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await emu.wait_idle(timeout=1)
    assert emu.requests[0].client_disconnected


async def test_thinking_pieces_only_when_asked(emu: Emulator) -> None:
    emu.add_response(model="m", thinking="hmm", text="yes", reusable=True)
    async with Client(emu.url) as c:
        plain = [t async for t in c.stream_tokens("m", prompt="q", think=True)]
        both = [
            t async for t in c.stream_tokens("m", prompt="q", think=True, include_thinking=True)
        ]
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
    client: Client, emu: Emulator
) -> None:
    """Every stream stopped early is seen by the server as a disconnect; nothing leaks."""
    emu.tokens_per_second = 200  # the built-in model's answer, 40 tokens each
    emu.default_tokens = 40
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
    await emu.wait_idle(timeout=10)
    full = results.count("full")
    completed = [r for r in emu.requests if r.completed]
    disconnected = [r for r in emu.requests if r.client_disconnected]
    # Each request either ran to its end on the server or the server saw the client leave;
    # a few cancelled consumers may be cancelled after the server had written everything.
    assert len(completed) + len(disconnected) == len(emu.requests)
    assert full <= len(completed) <= full + 10
    assert len(disconnected) > 50
    await asyncio.sleep(0.05)
    assert acquired(client) == 0
    assert client_tasks() <= tasks_before


def client_tasks() -> int:
    """Live tasks, leaving out the loopback server's own connection handlers."""
    return sum(1 for t in asyncio.all_tasks() if "RequestHandler" not in repr(t.get_coro()))
