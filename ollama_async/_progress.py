"""Progress streams of pull, push and create; a lost pull is resumed by pulling again."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

import anyio

from ._api_types import ProgressResponse, PullProgress
from ._config import RetryPolicy
from ._errors import ConnectionLostError, IncompleteStreamError, OllamaError, StreamError
from ._ndjson import NDJSONDecoder
from ._streams import BaseStream, Opener

__all__ = ["ProgressStream"]


class ProgressStream(BaseStream[ProgressResponse, ProgressResponse]):
    """Progress of a pull, push or create: iterate it for chunks, or await it for the end.

    ``progress`` adds the chunks up across layers (bytes done and total, percent) for a
    progress bar. A pull whose connection is lost is started again, up to the client's retry
    limit: Ollama keeps the partial download, so the progress goes on from where it was.

    Example::

        stream = client.pull("llama3.2")
        async for p in stream:
            print(p.status, stream.progress.percent)
        final = await client.pull("llama3.2")  # or just wait for the end
    """

    __slots__ = ("_resumes", "_retry", "progress", "resumed")

    _missing_end = "success"

    def __init__(
        self,
        opener: Opener,
        url: str,
        max_line_bytes: int,
        *,
        resume: bool,
        retry: RetryPolicy,
        model: str = "",
    ) -> None:
        super().__init__(opener, max_line_bytes, url, model)
        self._resumes = retry.retries if resume else 0
        self._retry = retry
        self.progress = PullProgress()
        """Totals across layers, updated with every chunk."""
        self.resumed = 0
        """How many times a lost connection was resumed."""

    def __await__(self) -> Generator[Any, None, ProgressResponse]:
        return self._wait().__await__()

    async def _wait(self) -> ProgressResponse:
        async for _ in self:
            pass
        assert self.final is not None
        return self.final

    async def _iterate(self) -> AsyncGenerator[ProgressResponse, None]:
        attempt = 0
        update = self.progress.update
        while True:
            try:
                reader = await self._reader(NDJSONDecoder(ProgressResponse, self._max_line_bytes))
                while True:
                    for item in await reader.next():
                        if item.error is not None:
                            raise StreamError(item.error)
                        update(item)
                        yield item
                        if item.status == "success":
                            await self._complete(item)
                            return
            except (IncompleteStreamError, ConnectionLostError) as exc:
                if attempt >= self._resumes:
                    raise self._fail(exc) from exc.__cause__
                self._end(exc)  # this pass's connection and audit record
                self._done = False
                await anyio.sleep(self._retry.delay(attempt))
                attempt += 1
                self.resumed += 1
            except OllamaError as exc:
                raise self._fail(exc) from exc.__cause__
            finally:
                if self.final is not None or self._resp is not None:
                    self._end()
