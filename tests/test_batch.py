"""The batch runner and send_to, against the emulator over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from ollama_async import Client, ModelNotFoundError, RetryPolicy
from ollama_async._batch import BatchRunner, Done, Failed, run_batch, send_to
from ollama_async.testing import Emulator, Fault

from .conftest import acquired


@pytest.fixture
async def slow() -> AsyncIterator[Emulator]:
    emu = Emulator(tokens_per_second=200)
    await emu.start()
    yield emu
    await emu.close()


async def test_results_in_input_order_with_per_item_errors(slow: Emulator) -> None:
    items: list[Any] = [
        {"prompt": f"p{i}", "options": {"num_predict": 1 + (7 * i) % 9}} for i in range(20)
    ]
    items[5] = {"model": "no-such-model", "prompt": "x"}
    async with Client(slow.url, retry=RetryPolicy(retries=0)) as c:
        results = await run_batch(c, items, model="llama3.2", max_concurrent=4)
        assert acquired(c) == 0
    assert [r.index for r in results] == list(range(20))
    assert isinstance(results[5].error, ModelNotFoundError)
    assert all(r.ok for i, r in enumerate(results) if i != 5)
    assert results[3].value.eval_count == 1 + 21 % 9
    with pytest.raises(ModelNotFoundError):
        results[5].unwrap()


async def test_the_concurrency_bound_holds(slow: Emulator) -> None:
    async with Client(slow.url) as c:
        await run_batch(c, [f"p{i}" for i in range(30)], model="llama3.2", max_concurrent=5)
    assert slow.max_in_flight == 5
    assert len(slow.requests) == 30


async def test_fail_fast_cancels_the_rest(slow: Emulator) -> None:
    slow.inject(Fault(status=500), model="tiny", times=None)
    items = [{"model": "tiny" if i == 2 else "llama3.2", "prompt": "x"} for i in range(40)]
    async with Client(slow.url, retry=RetryPolicy(retries=0)) as c:
        with pytest.raises(Exception, match="injected"):
            await run_batch(c, items, max_concurrent=4, fail_fast=True)
        await slow.wait_idle(timeout=2)
        assert acquired(c) == 0
    assert len(slow.requests) < 40


async def test_cancelling_the_batch_closes_every_request_within_100ms() -> None:
    emu = Emulator(tokens_per_second=20)
    async with emu as url, Client(url) as c:
        items = [{"prompt": f"p{i}", "stream": True} for i in range(50)]
        task = asyncio.create_task(run_batch(c, items, model="llama3.2", max_concurrent=8))
        while emu.in_flight < 8:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await emu.wait_idle(timeout=1)
        ended = [r.ended for r in emu.requests if r.client_disconnected]
        assert len(ended) == 8
        assert all(e is not None and e - cancelled_at < 0.1 for e in ended)
        assert acquired(c) == 0


async def test_streaming_items_are_consumed_live(slow: Emulator) -> None:
    seen: list[tuple[int, str]] = []
    items = [{"prompt": "a", "stream": True, "options": {"num_predict": 3}}] * 3
    async with Client(slow.url) as c:
        results = await run_batch(
            c,
            items,
            model="llama3.2",
            on_chunk=lambda i, ch: seen.append((i, ch.response)),
        )
    assert {i for i, _ in seen} == {0, 1, 2}
    assert all(r.value is not None and r.value.done for r in results)


async def test_as_completed_progress_rate_limit_and_callables(slow: Emulator) -> None:
    progress: list[int] = []

    async def custom(client: Client) -> str:
        return await client.version()

    async with Client(slow.url) as c:
        runner = BatchRunner(
            c, model="llama3.2", max_concurrent=3, rate_limit=50,
            on_progress=lambda r, done: progress.append(done),
        )  # fmt: skip
        start = time.monotonic()
        got = [r async for r in runner.as_completed([custom, custom, "x", "y", "z", custom])]
        elapsed = time.monotonic() - start
    assert sorted(r.index for r in got) == list(range(6))
    assert progress == [1, 2, 3, 4, 5, 6]
    assert got and all(r.ok for r in got)
    assert elapsed >= 5 / 50  # six starts spaced 20 ms apart: at least 100 ms


async def test_leaving_as_completed_early_with_aclosing_cancels(slow: Emulator) -> None:
    async with Client(slow.url) as c:
        runner = BatchRunner(c, model="llama3.2", max_concurrent=4)
        async with contextlib.aclosing(runner.as_completed([f"p{i}" for i in range(40)])) as it:
            async for _ in it:
                break
        await slow.wait_idle(timeout=1)
        assert acquired(c) == 0
    assert len(slow.requests) < 40


async def test_leaving_early_while_another_item_is_finishing_raises_nothing() -> None:
    # The race CI caught: the consumer leaves just as another worker's item completes.
    # That worker resumes before the cancellation reaches it (its wait is already over)
    # and must not raise because nobody is listening any more.
    gate = anyio.Event()

    async def first(_client: Any) -> str:
        return "first"

    async def second(_client: Any) -> str:
        await gate.wait()
        return "second"

    async with Client("http://127.0.0.1:9") as c:  # never contacted: the items are callables
        runner = BatchRunner(c, max_concurrent=2)
        async with contextlib.aclosing(runner.as_completed([first, second])) as it:
            async for r in it:
                assert r.value == "first"
                gate.set()  # the second item's wait is now over, before we leave
                break


async def test_fail_fast_while_another_item_is_finishing_raises_the_first_error() -> None:
    gate = anyio.Event()

    async def failing(_client: Any) -> str:
        raise ValueError("item 0 failed")

    async def finishing(_client: Any) -> str:
        await gate.wait()
        return "too late"

    def on_progress(_result: Any, _done: int) -> None:
        gate.set()  # runs in the consumer after receiving the failure, before cancelling

    async with Client("http://127.0.0.1:9") as c:
        runner = BatchRunner(c, max_concurrent=2, fail_fast=True, on_progress=on_progress)
        with pytest.raises(ValueError, match="item 0 failed"):
            await runner.run([failing, finishing])


async def test_ten_thousand_items_pull_lazily_and_memory_stays_flat() -> None:
    emu = Emulator(default_tokens=2)
    created = 0

    def items() -> Any:
        nonlocal created
        for i in range(10_000):
            created += 1
            yield {"prompt": str(i), "options": {"num_predict": 1}}

    peak_tasks = 0

    def on_progress(result: Any, done: int) -> None:
        nonlocal peak_tasks
        peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))
        # Items are taken from the input only as workers free up.
        # (16 in flight, and up to 16 finished results waiting in the runner's buffer.)
        assert created <= done + 2 * 16 + 1

    async with emu as url, Client(url) as c:
        await run_batch(c, [{"prompt": "warm"}] * 32, model="tiny", max_concurrent=16)
        gc.collect()
        tracemalloc.start()
        results = await run_batch(c, items(), model="tiny", max_concurrent=16,
                                  on_progress=on_progress)  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert len(results) == 10_000 and all(r.ok for r in results)
    # Workers + the runner + the emulator's own connection handlers; never one per item.
    assert peak_tasks < 80
    assert peak < 64 * 1024 * 1024  # the results themselves, not 10,000 pending requests


async def test_send_to_fans_in_many_streams(slow: Emulator) -> None:
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    async with Client(slow.url) as c:
        async with anyio.create_task_group() as tg:
            for ref in range(3):
                stream = c.stream_tokens("llama3.2", prompt=str(ref), options={"num_predict": 4})
                tg.start_soon(send_to, stream, queue, ref)
            tg.start_soon(send_to, c.stream_tokens("nope", prompt="x"), queue, "bad")
        messages = [queue.get_nowait() for _ in range(queue.qsize())]
    by_ref: dict[Any, list[Any]] = {}
    for ref, msg in messages:
        by_ref.setdefault(ref, []).append(msg)
    for ref in range(3):
        assert [m for m in by_ref[ref] if isinstance(m, str)] and isinstance(by_ref[ref][-1], Done)
        assert by_ref[ref][-1].final.eval_count == 4
    assert isinstance(by_ref["bad"][-1], Failed)

    send, receive = anyio.create_memory_object_stream[tuple[int, Any]](100)
    async with Client(slow.url) as c, send, receive:
        await send_to(c.stream_tokens("llama3.2", prompt="x", options={"num_predict": 2}), send, 7)
        got = [receive.receive_nowait() for _ in range(3)]
    assert got[0][0] == 7 and isinstance(got[-1][1], Done)
