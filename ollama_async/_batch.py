"""The batch runner: many requests, at most ``max_concurrent`` in flight, results in order.

A fixed pool of ``max_concurrent`` workers pulls items from the input as slots free up, so
10,000 items never become 10,000 tasks or pending requests. The workers live in an anyio
task group that :meth:`BatchRunner.as_completed`'s ``async with`` block owns; results reach
the caller through a memory object stream, so nothing ever yields to the caller from inside
a task group and leaving the block (``break``, an exception, a cancellation) cancels every
in-flight request on the spot: their streams close their connections at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._client import Client
from ._completed import AsCompleted, BatchResult
from ._errors import InvalidRequestError
from ._fanin import Done, Failed, send_to
from ._pool import Pool

__all__ = ["AsCompleted", "BatchResult", "BatchRunner", "Done", "Failed", "run_batch", "send_to"]

if TYPE_CHECKING:
    from typing import TypeAlias

Item: TypeAlias = "str | Mapping[str, Any] | Callable[[Any], Awaitable[Any]]"
ProgressCallback = Callable[["BatchResult[Any]", int], object]
ChunkCallback = Callable[[int, Any], object]


class BatchRunner:
    """Runs many prompts or requests against one client with bounded concurrency.

    Items: a prompt ``str`` (generated with ``model``), a ``dict`` of :meth:`Client.generate`
    / :meth:`Client.chat` arguments (``prompt=`` or ``messages=``; ``"stream": True`` streams
    it, passing each chunk to ``on_chunk(index, chunk)`` live), or an ``async`` callable
    taking the client (any work at all). An item that names no model when the runner has no
    ``model`` fails the whole call with :class:`InvalidRequestError` naming its index: for a
    list or tuple before anything is sent, for a lazy iterable when a worker reaches it.

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
            raise InvalidRequestError("max_concurrent", "must be at least 1")
        if rate_limit is not None and rate_limit <= 0:
            raise InvalidRequestError("rate_limit", "must be positive (request starts per second)")
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
        async with self.as_completed(items) as completed:
            async for result in completed:
                results[result.index] = result
        return [results[i] for i in range(len(results))]

    def as_completed(self, items: Iterable[Item]) -> AsCompleted:
        """Results as they finish (not in input order), read inside an ``async with`` block
        that owns the workers: leaving it in any way (``break``, an exception, a
        cancellation) cancels the requests still running and closes their connections.

        Items in a list or tuple are checked here, before anything is sent. A plain
        ``async for`` without the ``async with`` raises :class:`StreamMisuseError` at once.

        Example::

            async with runner.as_completed(prompts) as results:
                async for r in results:
                    print(r.index, r.ok)
                    break  # safe: the other workers are cancelled as the block ends
        """
        return AsCompleted(self, items)

    async def _one(self, index: int, item: Item) -> Any:
        client = self.client
        if isinstance(item, str):
            assert self.model is not None  # check_item
            return await client.generate(self.model, item)
        if callable(item):
            return await item(client)
        args = dict(item)
        model: Any = args.pop("model", None) or self.model  # checked: _check_item
        if args.pop("stream", False):
            stream: Any = client.stream(model, **args)
            on_chunk = self.on_chunk
            async with stream:
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
