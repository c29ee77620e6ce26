"""The results of :meth:`BatchRunner.as_completed` and the workers that make them.

The workers live in an anyio task group that the ``async with`` block of
:class:`AsCompleted` owns; results reach the caller through a memory object stream, so
nothing ever yields to the caller from inside a task group, and leaving the block
(``break``, an exception, a cancellation) cancels every in-flight request on the spot.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._errors import InvalidRequestError, StreamMisuseError
from ._scopes import leave_group

if TYPE_CHECKING:
    from ._batch import BatchRunner, Item

__all__ = ["AsCompleted", "BatchResult", "check_item"]

T = TypeVar("T")


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


@dataclass(frozen=True)
class _Abort:
    """Sent by a worker when the call itself must fail (a bad item in a lazy input, or the
    input raised): the consumer raises ``error`` instead of a result."""

    error: Exception


def check_item(index: int, item: Any, model: str | None) -> None:
    """Refuse an item that could never be sent; the message names its index, never its text."""
    where = f"items[{index}]"
    if isinstance(item, str):
        if model is None:
            raise InvalidRequestError(where, "a prompt string needs BatchRunner(model=...)")
    elif isinstance(item, Mapping):
        if not (item.get("model") or model):
            raise InvalidRequestError(
                where, "has no 'model' and the runner has no default: give BatchRunner(model=...)"
            )
    elif not callable(item):
        raise InvalidRequestError(
            where,
            f"is a {type(item).__name__}; an item is a prompt str, a dict of generate/chat "
            "arguments or an async callable taking the client",
        )


class _RateLimiter:
    """Spaces request starts at least ``1/rate`` seconds apart."""

    def __init__(self, rate: float) -> None:
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


async def _worker(
    runner: BatchRunner,
    source: Iterator[tuple[int, Item]],
    send: MemoryObjectSendStream[BatchResult[Any] | _Abort],
    limiter: _RateLimiter | None,
    checked: bool,
) -> None:
    async with send:
        while True:
            try:  # a shared iterator: each item is taken once
                index, item = next(source)
                if not checked:
                    check_item(index, item, runner.model)
            except StopIteration:
                return
            except Exception as exc:  # a bad item or a failing input fails the call
                await _deliver(send, _Abort(exc))
                return
            if limiter is not None:
                await limiter.wait()
            start = time.monotonic()
            result: BatchResult[Any] = BatchResult(index, item)
            try:
                result.value = await runner._one(index, item)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:  # each item's own failure is its result
                result.error = exc
            result.elapsed = time.monotonic() - start
            if not await _deliver(send, result):
                return


async def _deliver(
    send: MemoryObjectSendStream[BatchResult[Any] | _Abort], message: BatchResult[Any] | _Abort
) -> bool:
    """Hand a message to the consumer; False when the consumer has left."""
    try:
        try:
            send.send_nowait(message)  # no checkpoint: the request was one
        except anyio.WouldBlock:
            await send.send(message)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        # The consumer left (early exit or fail_fast) while this item was finishing: its
        # wait was already over, so the cancellation had not reached it yet.
        return False
    return True


class AsCompleted:
    """The results of :meth:`BatchRunner.as_completed`: an async context manager that owns
    the workers, and inside it an async iterator of :class:`BatchResult` as they finish.

    Enter it once; iterate it inside the block. The block's end cancels whatever still runs.

    Example::

        async with runner.as_completed(items) as results:
            async for r in results:
                print(r.index, r.elapsed)
    """

    def __init__(self, runner: BatchRunner, items: Iterable[Item]) -> None:
        if isinstance(items, (str, bytes)):
            raise InvalidRequestError("items", "is one string; pass a list of prompts")
        self._checked = isinstance(items, (list, tuple))
        if self._checked:
            for index, item in enumerate(items):
                check_item(index, item, runner.model)
        self._runner = runner
        self._items = items
        self._state = "new"  # new -> open -> closed
        self._tg: TaskGroup | None = None
        self._workers: anyio.CancelScope | None = None
        self._receive: MemoryObjectReceiveStream[BatchResult[Any] | _Abort] | None = None
        self._done = 0

    async def __aenter__(self) -> AsCompleted:
        if self._state != "new":
            raise StreamMisuseError("as_completed() results can be entered only once")
        self._state = "open"
        runner = self._runner
        send, self._receive = anyio.create_memory_object_stream[BatchResult[Any] | _Abort](
            runner.max_concurrent
        )
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            self._workers = await tg.start(self._supervise, send)
        except BaseException as exc:
            send.close()  # the supervisor may never have run to take it over
            await self._exit(exc)
            raise
        return self

    async def _supervise(
        self,
        send: MemoryObjectSendStream[BatchResult[Any] | _Abort],
        *,
        task_status: TaskStatus[anyio.CancelScope],
    ) -> None:
        # The workers get a group of their own so fail_fast can cancel them without
        # cancelling the caller's block, which runs inside the outer group's scope.
        runner = self._runner
        source = iter(enumerate(self._items))
        limiter = _RateLimiter(runner.rate_limit) if runner.rate_limit else None
        async with send, anyio.create_task_group() as workers:
            for _ in range(runner.max_concurrent):
                workers.start_soon(_worker, runner, source, send.clone(), limiter, self._checked)
            task_status.started(workers.cancel_scope)

    async def __aexit__(self, *exc_info: object) -> bool | None:
        exc = exc_info[1]
        return await self._exit(exc if isinstance(exc, BaseException) else None)

    async def _exit(self, exc: BaseException | None) -> bool | None:
        self._state = "closed"
        tg, self._tg = self._tg, None
        if self._receive is not None:
            self._receive.close()
        return None if tg is None else await leave_group(tg, exc)

    def __aiter__(self) -> AsCompleted:
        if self._state == "new":
            raise StreamMisuseError(
                "iterate as_completed() inside its block: "
                "async with runner.as_completed(items) as results: async for r in results: ..."
            )
        return self

    async def __anext__(self) -> BatchResult[Any]:
        receive = self._receive
        if self._state != "open" or receive is None:
            raise StreamMisuseError("these as_completed() results were closed with their block")
        try:
            # anyio's receive() passes through the event loop even when a result is
            # waiting (a checkpoint); take what is there first.
            try:
                message = receive.receive_nowait()
            except anyio.WouldBlock:
                message = await receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
        if isinstance(message, _Abort):
            self._stop()
            raise message.error
        self._done += 1
        runner = self._runner
        if runner.on_progress is not None:
            runner.on_progress(message, self._done)
        if runner.fail_fast and message.error is not None:
            self._stop()
            raise message.error
        return message

    def _stop(self) -> None:
        """Cancel the workers now (fail_fast, a bad item); later reads end the iteration."""
        if self._workers is not None:
            self._workers.cancel()
        if self._receive is not None:
            self._receive.close()
