"""Progress streams of pull, push and create; a lost pull is resumed by pulling again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from types import TracebackType
from typing import Any

import aiohttp

from . import audit
from ._api_types import ProgressResponse, PullProgress
from ._config import RetryPolicy
from ._errors import ConnectionLostError, IncompleteStreamError, OllamaError, StreamError
from ._ndjson import NDJSONDecoder
from ._transport import map_transport_error

__all__ = ["ProgressStream"]

_READ_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


class ProgressStream:
    """Progress of a pull, push or create: iterate it for chunks, or await it for the end.

    ``progress`` adds the chunks up across layers (bytes done and total, percent) for a
    progress bar. A pull whose connection is lost is started again, up to the client's retry
    limit: Ollama keeps the partial download, so the progress goes on from where it was.

    Example::

        async for p in client.pull("llama3.2"):
            print(p.status, client_progress.percent)
        final = await client.pull("llama3.2")  # or just wait for the end
    """

    __slots__ = (
        "_iterated",
        "_max_line_bytes",
        "_model",
        "_opener",
        "_resp",
        "_resumes",
        "_retry",
        "_url",
        "final",
        "progress",
        "resumed",
    )

    def __init__(
        self,
        opener: Callable[[], Awaitable[aiohttp.ClientResponse]],
        url: str,
        max_line_bytes: int,
        *,
        resume: bool,
        retry: RetryPolicy,
        model: str = "",
    ) -> None:
        self._model = model
        self._opener = opener
        self._url = url
        self._max_line_bytes = max_line_bytes
        self._resumes = retry.retries if resume else 0
        self._retry = retry
        self._resp: aiohttp.ClientResponse | None = None
        self._iterated = False
        self.progress = PullProgress()
        """Totals across layers, updated with every chunk."""
        self.final: ProgressResponse | None = None
        """The last chunk (``status == "success"``) once the operation has finished."""
        self.resumed = 0
        """How many times a lost connection was resumed."""

    def __aiter__(self) -> AsyncIterator[ProgressResponse]:
        if self._iterated:
            raise RuntimeError("a progress stream can be iterated only once")
        self._iterated = True
        return self._iterate()

    def __await__(self) -> Generator[Any, None, ProgressResponse]:
        return self._wait().__await__()

    async def _wait(self) -> ProgressResponse:
        async for _ in self:
            pass
        assert self.final is not None
        return self.final

    async def __aenter__(self) -> ProgressStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop now and close the connection (the server stops the operation)."""
        resp, self._resp = self._resp, None
        if resp is not None:
            resp.close()

    async def _iterate(self) -> AsyncGenerator[ProgressResponse, None]:
        attempt = 0
        while True:
            try:
                async for chunk in self._one_pass():
                    yield chunk
                return
            except (IncompleteStreamError, ConnectionLostError) as exc:
                if attempt >= self._resumes:
                    raise exc
                await asyncio.sleep(self._retry.delay(attempt))
                attempt += 1
                self.resumed += 1

    async def _one_pass(self) -> AsyncGenerator[ProgressResponse, None]:
        started = time.monotonic()
        resp = self._resp = await self._opener()
        nbytes = 0
        error: BaseException | None = None
        try:
            decoder = NDJSONDecoder(ProgressResponse, self._max_line_bytes)
            read = resp.content.readany
            update = self.progress.update
            while True:
                try:
                    data = await read()
                except _READ_ERRORS as exc:
                    raise map_transport_error(exc, self._url, in_body=True) from exc
                nbytes += len(data)
                items = decoder.feed(data) if data else decoder.flush()
                for item in items:
                    if item.error is not None:
                        raise StreamError(item.error)
                    update(item)
                    if item.status == "success":
                        self.final = item
                    yield item
                if decoder.error is not None:
                    raise decoder.error
                if not data:
                    if self.final is None:
                        raise IncompleteStreamError(
                            f"the progress stream from {self._url} ended before success"
                        )
                    return
        except OllamaError as exc:
            error = exc
            raise
        finally:
            audit.record(self._url, model=self._model, status=resp.status, nbytes=nbytes,
                         duration=time.monotonic() - started, error=error)  # fmt: skip
            self._resp = None
            if self.final is not None and resp.content.at_eof():
                resp.release()
            else:
                resp.close()
