"""The batch runner: many requests, at most ``max_concurrent`` in flight, results in order.

A fixed pool of ``max_concurrent`` workers in one anyio task group pulls items from the input
as slots free up, so 10,000 items never become 10,000 tasks or pending requests. Cancelling
the caller cancels the task group, which cancels every in-flight request; their streams close
their connections on the spot.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ._client import Client
from ._pool import Pool

__all__ = ["BatchResult", "BatchRunner", "Done", "Failed", "run_batch", "send_to"]

T = TypeVar("T")
if TYPE_CHECKING:
    from typing import TypeAlias

Item: TypeAlias = "str | Mapping[str, Any] | Callable[[Any], Awaitable[Any]]"
ProgressCallback = Callable[["BatchResult[Any]", int], object]
ChunkCallback = Callable[[int, Any], object]


@dataclass
class BatchResult(Generic[T]):
    """The outcome of one item: ``value`` or ``error``, with its input position and timing."""

    index: int
    item: Any
    value: T | None = None
    error: BaseException | None = None
    elapsed: float = 0.0
    """Seconds from the start of this item's request to its end."""

    @property
    def ok(self) -> bool:
        """True when the item succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """The value, or raise the item's error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class _RateLimiter:
    """Spaces request starts at least ``1/rate`` seconds apart."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate_limit must be positive")
        self.interval = 1.0 / rate
        self.next = 0.0
        self.lock = anyio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.interval
        if start > now:
            await anyio.sleep(start - now)


class BatchRunner:
    """Runs many prompts or requests against one client with bounded concurrency.

    Items: a prompt ``str`` (generated with ``model``), a ``dict`` of :meth:`Client.generate`
    / :meth:`Client.chat` arguments (``prompt=`` or ``messages=``; ``"stream": True`` streams
    it, passing each chunk to ``on_chunk(index, chunk)`` live), or an ``async`` callable
    taking the client (any work at all).

    One failure never sinks the batch: each result holds its value or its error, unless
    ``fail_fast=True`` (then the first error cancels the rest and is raised).

    Example::

        runner = BatchRunner(client, model="llama3.2", max_concurrent=8)
        for r in await runner.run(["Why is the sky blue?", "Name three rivers."]):
            print(r.index, r.value.response if r.ok else r.error)
    """

    def __init__(
        self,
        client: Client | Pool,
        *,
        model: str | None = None,
        max_concurrent: int = 8,
        fail_fast: bool = False,
        rate_limit: float | None = None,
        on_progress: ProgressCallback | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.client = client
        self.model = model
        self.max_concurrent = max_concurrent
        self.fail_fast = fail_fast
        self.rate_limit = rate_limit
        self.on_progress = on_progress
        self.on_chunk = on_chunk

    async def run(self, items: Iterable[Item]) -> list[BatchResult[Any]]:
        """Run every item; results come back in input order, one per item.

        Example::

            results = await BatchRunner(client, model="llama3.2").run(prompts)
        """
        results: dict[int, BatchResult[Any]] = {}
        async for result in self.as_completed(items):
            results[result.index] = result
        return [results[i] for i in range(len(results))]

    async def as_completed(self, items: Iterable[Item]) -> AsyncIterator[BatchResult[Any]]:
        """Yield results as they finish (not in input order).

        To leave the loop early, wrap it in ``contextlib.aclosing`` so the workers are
        cancelled (and their connections closed) right there, in the same task.

        Example::

            async with contextlib.aclosing(runner.as_completed(prompts)) as results:
                async for r in results:
                    print(r.index, r.ok)
        """
        send, receive = anyio.create_memory_object_stream[BatchResult[Any]](self.max_concurrent)
        source = iter(enumerate(items))
        limiter = _RateLimiter(self.rate_limit) if self.rate_limit else None
        done = 0
        error: BaseException | None = None
        async with anyio.create_task_group() as tg:
            async with send:
                for _ in range(self.max_concurrent):
                    tg.start_soon(self._worker, source, send.clone(), limiter)
            async with receive:
                while True:
                    # anyio's receive() passes through the event loop even when a result
                    # is waiting (a checkpoint); take what is there first.
                    try:
                        try:
                            result = receive.receive_nowait()
                        except anyio.WouldBlock:
                            result = await receive.receive()
                    except anyio.EndOfStream:
                        break
                    done += 1
                    if self.on_progress is not None:
                        self.on_progress(result, done)
                    if self.fail_fast and result.error is not None:
                        error = result.error
                        tg.cancel_scope.cancel()
                        break
                    try:
                        yield result
                    except GeneratorExit:  # the consumer left: stop every worker, here
                        tg.cancel_scope.cancel()
                        error = None
                        break
        if error is not None:
            raise error

    async def _worker(
        self,
        source: Iterator[tuple[int, Item]],
        send: MemoryObjectSendStream[BatchResult[Any]],
        limiter: _RateLimiter | None,
    ) -> None:
        async with send:
            for index, item in source:  # shared iterator: each item is taken once
                if limiter is not None:
                    await limiter.wait()
                start = time.monotonic()
                result: BatchResult[Any] = BatchResult(index, item)
                try:
                    result.value = await self._one(index, item)
                except anyio.get_cancelled_exc_class():
                    raise
                except Exception as exc:  # each item's own failure is its result
                    result.error = exc
                result.elapsed = time.monotonic() - start
                try:
                    try:
                        send.send_nowait(result)  # no checkpoint: the request was one
                    except anyio.WouldBlock:
                        await send.send(result)
                except anyio.BrokenResourceError:
                    # The consumer left (early exit or fail_fast) while this item was
                    # finishing: its wait was already over, so the cancellation had not
                    # reached it yet. Nobody wants the result; stop taking items.
                    return

    async def _one(self, index: int, item: Item) -> Any:
        client = self.client
        if isinstance(item, str):
            if self.model is None:
                raise ValueError("a prompt string needs BatchRunner(model=...)")
            return await client.generate(self.model, item)
        if callable(item):
            return await item(client)
        args = dict(item)
        model = args.pop("model", self.model)
        if args.pop("stream", False):
            stream: Any = client.stream(model, **args)
            on_chunk = self.on_chunk
            async for chunk in stream:
                if on_chunk is not None:
                    on_chunk(index, chunk)
            return stream.final
        if "messages" in args:
            return await client.chat(model, args.pop("messages"), **args)
        return await client.generate(model, args.pop("prompt", None), **args)


async def run_batch(
    client: Client | Pool,
    items: Iterable[Item],
    *,
    model: str | None = None,
    max_concurrent: int = 8,
    fail_fast: bool = False,
    rate_limit: float | None = None,
    on_progress: ProgressCallback | None = None,
    on_chunk: ChunkCallback | None = None,
) -> list[BatchResult[Any]]:
    """Run a batch with :class:`BatchRunner`; results in input order.

    Example::

        results = await run_batch(client, prompts, model="llama3.2", max_concurrent=16)
    """
    runner = BatchRunner(
        client,
        model=model,
        max_concurrent=max_concurrent,
        fail_fast=fail_fast,
        rate_limit=rate_limit,
        on_progress=on_progress,
        on_chunk=on_chunk,
    )
    return await runner.run(items)


@dataclass(frozen=True)
class Done:
    """The last message of a forwarded stream: it ended well; ``final`` has the statistics."""

    final: Any


@dataclass(frozen=True)
class Failed:
    """The last message of a forwarded stream: it raised ``error``."""

    error: BaseException


async def send_to(stream: Any, sink: Any, ref: Any) -> None:
    """Forward a stream into a queue as ``(ref, chunk)`` messages, then ``(ref, Done(final))``
    or ``(ref, Failed(error))``, so one consumer can fan in many streams and tell them apart.

    ``sink`` is an ``asyncio.Queue`` or an anyio memory object send stream.

    Example::

        queue: asyncio.Queue = asyncio.Queue()
        for ref, prompt in enumerate(prompts):
            tg.start_soon(send_to, client.stream_tokens("llama3.2", prompt=prompt), queue, ref)
        ref, message = await queue.get()
    """
    put = sink.put if hasattr(sink, "put") else sink.send
    try:
        async for chunk in stream:
            await put((ref, chunk))
    except anyio.get_cancelled_exc_class():
        raise
    except Exception as exc:
        await put((ref, Failed(exc)))
        return
    await put((ref, Done(getattr(stream, "final", None))))
