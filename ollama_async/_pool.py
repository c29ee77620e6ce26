"""``Pool``: one client over several Ollama servers.

Each request goes to the least-loaded healthy host that has the model (from ``/api/tags`` and
``/api/ps``, refreshed in the background), at most ``per_host_limit`` at a time per host. A host
that fails before the first body byte is marked down and the request moves to another one; a
stream whose body has started is never replayed. Health checks through ``/api/version`` put
hosts back. The checks run in a task group that the pool's ``async with`` owns: leaving the
block cancels them and waits for them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from ._client import Client
from ._config import RetryPolicy, Timeouts
from ._errors import (
    ConnectionLostError,
    IncompleteStreamError,
    OllamaError,
    ServerError,
    ServerUnreachableError,
    StreamMisuseError,
)
from ._names import normalize_model_name
from ._refs import StreamRef
from ._scopes import leave_group
from ._types import ChatResponse, GenerateResponse

__all__ = ["HostState", "Pool"]

# Failures that happen before any byte of the answer: safe to send elsewhere.
_MOVE = (ServerUnreachableError, ConnectionLostError, ServerError)


@dataclass
class HostState:
    """What the pool knows of one host."""

    url: str
    client: Client
    limit: anyio.Semaphore
    healthy: bool = True
    models: set[str] = field(default_factory=set)
    loaded: set[str] = field(default_factory=set)
    in_flight: int = 0
    served: int = 0
    failed: int = 0


class Pool:
    """A client over several Ollama hosts, with the same generate/chat/stream calls as
    :class:`Client` (so a :class:`BatchRunner` can run on it).

    Example::

        async with Pool(["http://gpu1:11434", "http://gpu2:11434"]) as pool:
            print((await pool.generate("llama3.2", "Hi")).response)
            print(pool.stats())
    """

    def __init__(
        self,
        hosts: Sequence[str],
        *,
        per_host_limit: int = 4,
        refresh_interval: float = 10.0,
        health_interval: float = 2.0,
        timeouts: Timeouts | None = None,
        **client_kwargs: Any,
    ) -> None:
        if not hosts:
            raise ValueError("a pool needs at least one host")
        self.refresh_interval = refresh_interval
        self.health_interval = health_interval
        self.hosts = [
            HostState(
                url=h,
                client=Client(
                    h,
                    timeouts=timeouts or Timeouts(connect=2),
                    retry=RetryPolicy(0),
                    **client_kwargs,
                ),
                # A Semaphore, not a CapacityLimiter: one task may hold two streams on the
                # same host at once (a token belongs to no task).
                limit=anyio.Semaphore(per_host_limit),
            )
            for h in hosts
        ]
        self._checks: TaskGroup | None = None
        self._watch: anyio.CancelScope | None = None  # the running checks' scope
        self._stopped: anyio.Event | None = None  # set when the checks have ended
        self._owner = 0  # the id of the task that entered the block

    async def __aenter__(self) -> Pool:
        """Check every host, then keep checking them in the background until the block
        ends: the block's task group owns the checks, and leaving it cancels and awaits
        them."""
        if self._checks is not None:
            raise StreamMisuseError("this pool is already open; enter it once")
        await self.refresh()
        checks = anyio.create_task_group()
        await checks.__aenter__()
        self._checks = checks
        self._owner = anyio.get_current_task().id
        self._stopped = anyio.Event()
        try:
            self._watch = await checks.start(self._background)
        except BaseException as exc:
            self._checks = None
            await leave_group(checks, exc)
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> bool | None:
        checks, self._checks = self._checks, None
        try:
            await self._stop_checks()
            if checks is None or anyio.get_current_task().id != self._owner:
                # Left in another task than the one that entered (a pytest-asyncio yield
                # fixture does that): the checks have stopped and been awaited above; the
                # group, empty now, belongs to a task that has ended and cannot be left here.
                return None
            exc = exc_info[1]
            return await leave_group(checks, exc if isinstance(exc, BaseException) else None)
        finally:
            with anyio.CancelScope(shield=True):
                await self._close_clients()

    async def aclose(self) -> None:
        """Stop the background checks and close every host's client (from any task;
        ``async with`` does this on its own).

        Example::

            pool = Pool(["http://gpu1:11434"])
            try:
                await pool.generate("llama3.2", "Hi")
            finally:
                await pool.aclose()
        """
        await self._stop_checks()
        await self._close_clients()

    async def _stop_checks(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()  # only the checks' own scope: never the caller's block
            if self._stopped is not None:
                with anyio.CancelScope(shield=True):
                    await self._stopped.wait()

    async def _close_clients(self) -> None:
        for h in self.hosts:
            await h.client.aclose()

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per host: healthy, requests served and failed, in flight, models known."""
        return {h.url: {"healthy": h.healthy, "served": h.served, "failed": h.failed,
                        "in_flight": h.in_flight, "models": len(h.models)}
                for h in self.hosts}  # fmt: skip

    async def refresh(self) -> None:
        """Check every host now: health, the models it has and the ones it has loaded."""
        await self._check_all(full=True)

    async def _check_all(self, *, full: bool) -> None:
        async with anyio.create_task_group() as tg:
            for h in self.hosts:
                tg.start_soon(self._check, h, full)

    async def _check(self, h: HostState, full: bool) -> None:
        healthy = False
        with anyio.move_on_after(2.0):
            try:
                await h.client.version()
                if full:
                    models = (await h.client.list()).models
                    h.models = {normalize_model_name(m.name) for m in models}
                    h.loaded = {normalize_model_name(m.name) for m in (await h.client.ps()).models}
                healthy = True
            except OllamaError:
                pass
        h.healthy = healthy

    async def _background(self, *, task_status: TaskStatus[anyio.CancelScope]) -> None:
        try:
            with anyio.CancelScope() as watch:
                task_status.started(watch)
                elapsed = 0.0
                while True:
                    await anyio.sleep(self.health_interval)
                    elapsed += self.health_interval
                    full = elapsed >= self.refresh_interval
                    if full:
                        elapsed = 0.0
                    await self._check_all(full=full)
        finally:
            if self._stopped is not None:
                self._stopped.set()

    def _choose(self, model: str, tried: set[str]) -> HostState:
        name = normalize_model_name(model)
        up = [h for h in self.hosts if h.healthy and h.url not in tried]
        having = [h for h in up if name in h.models] or up
        if not having:
            raise ServerUnreachableError(
                ", ".join(h.url for h in self.hosts), "no healthy host is left in the pool"
            )
        # Least loaded first; between equals, one that has the model in memory already.
        return min(having, key=lambda h: (h.in_flight, name not in h.loaded, h.served))

    async def _whole(self, model: str, call: str, *args: Any, **kwargs: Any) -> Any:
        tried: set[str] = set()
        while True:
            h = self._choose(model, tried)
            async with h.limit:
                h.in_flight += 1
                try:
                    result = await getattr(h.client, call)(model, *args, **kwargs)
                except _MOVE:
                    # Nothing of the answer was received: mark the host down, go elsewhere.
                    h.failed += 1
                    h.healthy = False
                    tried.add(h.url)
                    continue
                finally:
                    h.in_flight -= 1
            h.served += 1
            return result

    async def generate(
        self, model: str, prompt: str | None = None, **fields: Any
    ) -> GenerateResponse:
        """:meth:`Client.generate` on the least-loaded healthy host that has the model."""
        result: GenerateResponse = await self._whole(model, "generate", prompt, **fields)
        return result

    async def chat(self, model: str, messages: Any, **fields: Any) -> ChatResponse:
        """:meth:`Client.chat` on the least-loaded healthy host that has the model."""
        result: ChatResponse = await self._whole(model, "chat", messages, **fields)
        return result

    def stream(self, model: str, prompt: str | None = None, **fields: Any) -> _PoolStream:
        """Typed chunks from the least-loaded healthy host; moves only before the body.

        Example::

            async with pool.stream("llama3.2", "Hi") as s:
                async for chunk in s:
                    print(chunk.response, end="")
        """
        return _PoolStream(self, "stream", model, prompt, fields)

    def stream_tokens(self, model: str, prompt: str | None = None, **fields: Any) -> _PoolStream:
        """Text pieces from the least-loaded healthy host; moves only before the body.

        Example::

            async for piece in pool.stream_tokens("llama3.2", "Hi"):
                print(piece, end="")
        """
        return _PoolStream(self, "stream_tokens", model, prompt, fields)


class _PoolStream:
    """A stream over the pool, shaped like the client's streams: iterate it once, in one
    ``async for``, optionally inside ``async with``; ``aclose()`` or leaving the loop early
    closes the connection at once and frees the host's slot.

    It is opened on a host (another one if opening fails: nothing of the answer has come);
    once the body has started, its errors are the caller's (a started stream is never
    replayed). ``ref`` tags it for :func:`send_to`; ``host`` is where it ran; ``final`` the
    last chunk once it ended.
    """

    def __init__(
        self, pool: Pool, method: str, model: str, prompt: str | None, fields: dict[str, Any]
    ) -> None:
        self._pool = pool
        self._method = method
        self._model = model
        self._prompt = prompt
        self._fields = fields
        self._inner: Any = None
        self._slot: HostState | None = None  # the host whose slot this stream holds
        self._iterated = False
        self._closed = False
        self.final: Any = None
        self.host: str | None = None
        self.ref: object = StreamRef()

    async def __aenter__(self) -> _PoolStream:
        await self._open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the response now (the server stops generating) and free the host's slot;
        idempotent."""
        self._closed = True
        inner, self._inner = self._inner, None
        if inner is not None:
            await inner.aclose()
        h, self._slot = self._slot, None
        if h is not None:
            h.in_flight -= 1
            h.limit.release()

    async def _open(self) -> None:
        if self._closed:
            raise StreamMisuseError("this stream has already ended")
        if self._inner is not None:
            return
        pool = self._pool
        tried: set[str] = set()
        while True:
            h = pool._choose(self._model, tried)
            await h.limit.acquire()
            h.in_flight += 1
            self._slot = h
            method = getattr(h.client, self._method)
            if self._prompt is not None:
                self._inner = method(self._model, prompt=self._prompt, **self._fields)
            else:
                self._inner = method(self._model, **self._fields)
            try:
                await self._inner.__aenter__()  # status line and headers: nothing started
            except _MOVE:
                await self.aclose()
                self._closed = False
                h.failed += 1
                h.healthy = False
                tried.add(h.url)
                continue
            except BaseException:
                await self.aclose()
                raise
            self.host = h.url
            return

    def __aiter__(self) -> AsyncGenerator[Any, None]:
        if self._iterated:
            raise StreamMisuseError("a stream can be iterated only once")
        self._iterated = True
        return self._iterate()

    async def _iterate(self) -> AsyncGenerator[Any, None]:
        # The generator that only the loop holds closes the stream in ``finally``: leaving
        # the loop early closes the connection even if the caller keeps this object.
        try:
            await self._open()
            inner = self._inner
            try:
                async for item in inner:
                    yield item
            except IncompleteStreamError:
                if self._slot is not None:
                    self._slot.failed += 1
                raise
            self.final = inner.final
            if self._slot is not None:
                self._slot.served += 1
        finally:
            with anyio.CancelScope(shield=True):
                await self.aclose()
