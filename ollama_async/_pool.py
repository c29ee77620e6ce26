"""``Pool``: one client over several Ollama servers.

Each request goes to the least-loaded healthy host that has the model (from ``/api/tags`` and
``/api/ps``, refreshed in the background), at most ``per_host_limit`` at a time per host. A host
that fails before the first body byte is marked down and the request moves to another one; a
stream whose body has started is never replayed. Health checks through ``/api/version`` put
hosts back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ._client import Client
from ._config import RetryPolicy, Timeouts
from ._errors import (
    ConnectionLostError,
    IncompleteStreamError,
    OllamaError,
    ServerError,
    ServerUnreachableError,
)
from ._names import normalize_model_name
from ._types import ChatResponse, GenerateResponse

__all__ = ["HostState", "Pool"]

# Failures that happen before any byte of the answer: safe to send elsewhere.
_MOVE = (ServerUnreachableError, ConnectionLostError, ServerError)


@dataclass
class HostState:
    """What the pool knows of one host."""

    url: str
    client: Client
    limit: asyncio.Semaphore
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
                limit=asyncio.Semaphore(per_host_limit),
            )
            for h in hosts
        ]
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Pool:
        await self.refresh()
        self._task = asyncio.create_task(self._background())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the background checks and close every host's client."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for h in self.hosts:
            await h.client.aclose()

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per host: healthy, requests served and failed, in flight, models known."""
        return {h.url: {"healthy": h.healthy, "served": h.served, "failed": h.failed,
                        "in_flight": h.in_flight, "models": len(h.models)}
                for h in self.hosts}  # fmt: skip

    async def refresh(self) -> None:
        """Check every host now: health, the models it has and the ones it has loaded."""
        await asyncio.gather(*(self._check(h, full=True) for h in self.hosts))

    async def _check(self, h: HostState, *, full: bool) -> None:
        try:
            await asyncio.wait_for(h.client.version(), 2.0)
            if full:
                h.models = {normalize_model_name(m.name) for m in (await h.client.list()).models}
                h.loaded = {normalize_model_name(m.name) for m in (await h.client.ps()).models}
            h.healthy = True
        except (OllamaError, asyncio.TimeoutError):
            h.healthy = False

    async def _background(self) -> None:
        elapsed = 0.0
        while True:
            await asyncio.sleep(self.health_interval)
            elapsed += self.health_interval
            full = elapsed >= self.refresh_interval
            if full:
                elapsed = 0.0
            await asyncio.gather(*(self._check(h, full=full) for h in self.hosts))

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
        """Typed chunks from the least-loaded healthy host; moves only before the body."""
        return _PoolStream(self, "stream", model, prompt, fields)

    def stream_tokens(self, model: str, prompt: str | None = None, **fields: Any) -> _PoolStream:
        """Text pieces from the least-loaded healthy host; moves only before the body."""
        return _PoolStream(self, "stream_tokens", model, prompt, fields)


class _PoolStream:
    """A stream over the pool: opened on a host (another one if opening fails); once the body
    has started, its errors are the caller's (a started stream is never replayed)."""

    def __init__(
        self, pool: Pool, method: str, model: str, prompt: str | None, fields: dict[str, Any]
    ) -> None:
        self._pool = pool
        self._method = method
        self._model = model
        self._prompt = prompt
        self._fields = fields
        self.final: Any = None
        self.host: str | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        pool = self._pool
        tried: set[str] = set()
        while True:
            h = pool._choose(self._model, tried)
            async with h.limit:
                h.in_flight += 1
                try:
                    method = getattr(h.client, self._method)
                    if self._prompt is not None:
                        stream = method(self._model, prompt=self._prompt, **self._fields)
                    else:
                        stream = method(self._model, **self._fields)
                    try:
                        await stream.__aenter__()  # status line and headers: nothing started
                    except _MOVE:
                        h.failed += 1
                        h.healthy = False
                        tried.add(h.url)
                        continue
                    self.host = h.url
                    try:
                        async for item in stream:
                            yield item
                    except IncompleteStreamError:
                        h.failed += 1
                        raise
                    finally:
                        await stream.aclose()
                    self.final = stream.final
                    h.served += 1
                    return
                finally:
                    h.in_flight -= 1
