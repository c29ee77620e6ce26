"""send_to (seed 001): streams forwarded as (ref, chunk) messages, against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from ollama_async import Client, Done, Failed, InvalidRequestError, Pool, send_to
from ollama_async._refs import StreamRef
from ollama_async.testing import Emulator, Fault

from .conftest import acquired


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(tokens_per_second=200)
    async with emulator:
        yield emulator


def by_ref(messages: list[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for ref, message in messages:
        grouped.setdefault(ref, []).append(message)
    return grouped


async def test_send_to_with_two_arguments_tags_messages_with_the_streams_ref(
    emu: Emulator,
) -> None:
    queue: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
    async with Client(emu.url) as c:
        streams = [c.stream_tokens("llama3.2", prompt=str(i), options={"num_predict": 3 + i})
                   for i in range(3)]  # fmt: skip
        bad = c.stream_tokens("nope", prompt="x")
        refs = [s.ref for s in streams]
        assert all(isinstance(r, StreamRef) for r in refs) and len(set(refs)) == 3
        assert streams[0].ref is refs[0]  # made once, then kept
        async with anyio.create_task_group() as tg:
            for s in [*streams, bad]:
                tg.start_soon(send_to, s, queue)  # seed 001: send_to(stream, target)
        grouped = by_ref([queue.get_nowait() for _ in range(queue.qsize())])
        assert acquired(c) == 0
    assert set(grouped) == {*refs, bad.ref}
    for i, ref in enumerate(refs):
        *pieces, last = grouped[ref]
        assert len(pieces) == 3 + i and all(isinstance(p, str) for p in pieces)
        assert isinstance(last, Done) and last.final.eval_count == 3 + i
    [failed] = grouped[bad.ref]
    assert isinstance(failed, Failed) and type(failed.error).__name__ == "ModelNotFoundError"


async def test_a_ref_can_be_given_and_the_three_argument_form_still_works(emu: Emulator) -> None:
    send, receive = anyio.create_memory_object_stream[tuple[Any, Any]](100)
    async with Client(emu.url) as c, send, receive:
        s = c.stream_tokens("llama3.2", prompt="x", options={"num_predict": 2})
        s.ref = "job-1"  # a ref of the caller's own
        await send_to(s, send)
        await send_to(c.stream("llama3.2", "y", options={"num_predict": 1}), send, 7)

        async def plain() -> AsyncIterator[int]:  # any async iterable, with no ref of its own
            yield 1

        await send_to(plain(), send)
        got = [receive.receive_nowait() for _ in range(receive.statistics().current_buffer_used)]
    grouped = by_ref(got)
    assert all(isinstance(p, str) for p in grouped["job-1"][:2])
    assert len(grouped["job-1"]) == 3 and isinstance(grouped["job-1"][-1], Done)
    assert grouped[7][0].response and isinstance(grouped[7][-1], Done)
    [made] = [r for r in grouped if isinstance(r, StreamRef)]
    assert grouped[made] == [1, Done(None)]


async def test_a_pool_stream_has_a_ref_too(emu: Emulator) -> None:
    queue: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
    async with Pool([emu.url], health_interval=60) as pool:
        s = pool.stream_tokens("llama3.2", prompt="x", options={"num_predict": 2})
        assert isinstance(s.ref, StreamRef)
        await send_to(s, queue)
    messages = [queue.get_nowait() for _ in range(queue.qsize())]
    assert [ref for ref, _ in messages] == [s.ref] * 3 and isinstance(messages[-1][1], Done)


async def test_a_wrong_target_is_refused_before_anything_is_sent(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        with pytest.raises(InvalidRequestError, match="target: is a list"):
            await send_to(c.stream_tokens("llama3.2", prompt="x"), [])
    assert emu.requests == []


async def test_a_closed_target_or_a_cancellation_closes_the_stream_at_once(emu: Emulator) -> None:
    emu.inject(Fault(stall_after=2), model="llama3.2", times=None)  # stalls until we leave
    async with Client(emu.url) as c:
        send, receive = anyio.create_memory_object_stream[tuple[Any, Any]](0)

        async def take_one_and_leave() -> None:
            async with receive:
                await receive.receive()  # the body has started

        async with send, anyio.create_task_group() as tg:
            tg.start_soon(take_one_and_leave)
            with pytest.raises(anyio.BrokenResourceError):  # the target's error is ours
                await send_to(c.stream_tokens("llama3.2", prompt="x"), send)
            assert acquired(c) == 0  # closed on the way out, not left to the collector

        queue: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
        async with anyio.create_task_group() as tg:
            tg.start_soon(send_to, c.stream_tokens("llama3.2", prompt="y"), queue)
            await queue.get()
            tg.cancel_scope.cancel()
        rest = [queue.get_nowait()[1] for _ in range(queue.qsize())]
        assert acquired(c) == 0 and not [m for m in rest if isinstance(m, (Done, Failed))]
        await emu.wait_idle(timeout=5)
    assert [r.client_disconnected for r in emu.requests] == [True, True]


async def test_every_stream_kind_has_a_ref_for_send_to(emu: Emulator) -> None:
    queue: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
    async with Client(emu.url) as c:
        events = c.openai.stream("llama3.2", "Hi", max_tokens=2)  # /v1 server-sent events
        progress = c.pull("tiny")  # a progress stream
        assert isinstance(events.ref, StreamRef) and isinstance(progress.ref, StreamRef)
        await send_to(events, queue)
        await send_to(progress, queue)
        grouped = by_ref([queue.get_nowait() for _ in range(queue.qsize())])
        assert acquired(c) == 0
    assert set(grouped) == {events.ref, progress.ref}
    assert all(isinstance(m[-1], Done) for m in grouped.values())
    assert all(len(m) > 1 for m in grouped.values())
