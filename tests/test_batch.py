"""The batch runner against the emulator over loopback."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from ollama_async import (
    Client,
    InvalidRequestError,
    ModelNotFoundError,
    RetryPolicy,
    ServerError,
    StreamMisuseError,
)
from ollama_async._batch import BatchRunner, run_batch
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
        with pytest.raises(ServerError, match="injected"):  # the item's own error, unwrapped
            await run_batch(c, items, max_concurrent=4, fail_fast=True)
        await slow.wait_idle(timeout=2)
        assert acquired(c) == 0
    assert len(slow.requests) < 40


async def test_cancelling_the_batch_closes_every_request_before_the_call_returns() -> None:
    emu = Emulator()
    emu.inject(Fault(stall_after=1), model="llama3.2", times=None)  # stalls until we leave
    streaming: set[int] = set()
    all_streaming = anyio.Event()

    def on_chunk(index: int, _chunk: Any) -> None:
        streaming.add(index)
        if len(streaming) == 8:
            all_streaming.set()

    async with emu as url, Client(url) as c:
        items = [{"prompt": f"p{i}", "stream": True} for i in range(50)]
        batch = run_batch(c, items, model="llama3.2", max_concurrent=8, on_chunk=on_chunk)
        task = asyncio.create_task(batch)
        await all_streaming.wait()  # eight requests are mid-body
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert acquired(c) == 0  # every connection closed by the time the call ended
        await emu.wait_idle(timeout=5)
    assert len(emu.requests) == 8 and all(r.client_disconnected for r in emu.requests)


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
        async with runner.as_completed([custom, custom, "x", "y", "z", custom]) as results:
            got = [r async for r in results]
        elapsed = time.monotonic() - start
    assert sorted(r.index for r in got) == list(range(6))
    assert progress == [1, 2, 3, 4, 5, 6]
    assert got and all(r.ok for r in got)
    assert elapsed >= 5 / 50  # six starts spaced 20 ms apart: at least 100 ms


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
        async with runner.as_completed([first, second]) as results:
            async for r in results:
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


# -- leaving as_completed early: break, an exception in the body, a cancellation -----------


class _Stalled:
    """Items for a 4-worker batch: item 0 answers at once, every other one stalls after its
    first chunk until the client leaves. ``running`` counts items inside their request;
    ``stalled`` is set once all four workers are streaming (items 1-3, and item 4 that the
    first worker took when item 0 was done)."""

    def __init__(self, emu: Emulator) -> None:
        emu.inject(Fault(stall_after=1), model="llama3.2", times=None)
        self.running = 0
        self.streaming = 0
        self.stalled = anyio.Event()

    def item(self, model: str) -> Callable[[Client], Awaitable[Any]]:
        async def run(client: Client) -> Any:
            self.running += 1
            try:
                async with client.stream(model, prompt="x") as stream:
                    async for _ in stream:
                        if model != "tiny":
                            self.streaming += 1
                            if self.streaming == 4:
                                self.stalled.set()
                return stream.final
            finally:
                self.running -= 1

        return run

    def items(self) -> list[Any]:
        return [self.item("tiny")] + [self.item("llama3.2") for _ in range(20)]


@pytest.mark.parametrize("how", ["break", "raise", "cancel-task", "cancel-scope"])
async def test_leaving_as_completed_early_stops_every_worker_and_connection(how: str) -> None:
    emu = Emulator()
    async with emu as url, Client(url) as c:
        s = _Stalled(emu)
        runner = BatchRunner(c, max_concurrent=4)
        ready = anyio.Event()

        async def consume() -> None:
            async with runner.as_completed(s.items()) as results:
                async for r in results:
                    assert r.index == 0 and r.ok
                    await s.stalled.wait()  # four requests are mid-body now
                    if how == "break":
                        break
                    if how == "raise":
                        raise KeyError("the loop body failed")
                    ready.set()  # and wait for the next result, which never comes

        if how == "break":
            await consume()
        elif how == "raise":
            with pytest.raises(KeyError, match="the loop body failed"):  # not an ExceptionGroup
                await consume()
        elif how == "cancel-task":
            task = asyncio.create_task(consume())
            await ready.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                await ready.wait()
                tg.cancel_scope.cancel()
        # Leaving the block waited for the workers: none is left inside a request, and
        # every connection was closed, not kept.
        assert s.running == 0 and acquired(c) == 0
        this = asyncio.current_task()
        assert this is not None and this.cancelling() == 0
        await anyio.lowlevel.checkpoint()  # the caller's next awaits are not cancelled
        assert await c.version()
        await emu.wait_idle(timeout=5)
    calls = [r for r in emu.requests if r.path == "/api/generate"]
    assert len(calls) == 5  # no item was taken after the consumer left
    assert all(r.client_disconnected for r in calls if r.json["model"] == "llama3.2")


async def test_a_plain_async_for_is_refused_at_once_and_sends_nothing() -> None:
    emu = Emulator()
    async with emu as url, Client(url) as c:
        runner = BatchRunner(c, model="tiny")
        with pytest.raises(StreamMisuseError, match=r"async with runner\.as_completed"):
            async for _ in runner.as_completed(["a", "b"]):
                pass
        results = runner.as_completed(["a"])
        async with results:
            got = [r.value.response async for r in results]
        with pytest.raises(StreamMisuseError, match="closed"):
            await results.__anext__()
        with pytest.raises(StreamMisuseError, match="only once"):
            async with results:
                pass
    assert len(got) == 1 and len(emu.requests) == 1


# -- items are checked at the call ----------------------------------------------------------


@pytest.mark.parametrize("kind", [list, tuple])
async def test_an_item_without_a_model_fails_the_call_before_anything_is_sent(kind: Any) -> None:
    emu = Emulator()
    async with emu as url, Client(url) as c:
        items = kind([{"model": "tiny", "prompt": "a"}, {"prompt": "secret-b"}, "c"])
        with pytest.raises(InvalidRequestError) as info:
            await run_batch(c, items)  # no default model
        assert info.value.field == "items[1]" and "secret" not in str(info.value)
        with pytest.raises(InvalidRequestError, match=r"items\[2\].*BatchRunner\(model="):
            BatchRunner(c).as_completed(kind([lambda c: c.version(), {"model": "x"}, "c"]))
        with pytest.raises(InvalidRequestError, match=r"items\[0\]: is a int"):
            await run_batch(c, kind([1]), model="tiny")
        with pytest.raises(InvalidRequestError, match="items: is one string"):
            await run_batch(c, "abc", model="tiny")
        with pytest.raises(InvalidRequestError, match="max_concurrent"):
            BatchRunner(c, max_concurrent=0)
    assert emu.requests == []


async def test_a_lazy_input_fails_the_call_when_a_worker_reaches_a_bad_item() -> None:
    # Documented: a generator is read once, as workers free up, so the items before the bad
    # one may have run; the call raises when the bad one is reached, and nothing after it runs.
    emu = Emulator()

    def items() -> Any:
        yield {"model": "tiny", "prompt": "a"}
        yield {"model": "tiny", "prompt": "b"}
        yield {"prompt": "c"}
        yield {"model": "tiny", "prompt": "d"}

    def broken() -> Any:
        yield "a"
        raise LookupError("the input broke")

    async with emu as url, Client(url) as c:
        with pytest.raises(InvalidRequestError) as info:
            await run_batch(c, items(), max_concurrent=1)
        assert info.value.field == "items[2]"
        assert [r.json["prompt"] for r in emu.requests] == ["a", "b"]
        with pytest.raises(LookupError, match="the input broke"):  # unwrapped
            await run_batch(c, broken(), model="tiny", max_concurrent=1)
        assert acquired(c) == 0
