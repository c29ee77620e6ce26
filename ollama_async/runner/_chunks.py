"""``StreamingChunk`` and the closable iterator ``ModelRunner.async_generate_stream`` returns."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .._streams import TokenStream

__all__ = ["ChunkIterator", "StreamingChunk"]


@dataclass
class StreamingChunk:
    """One piece of a streamed answer: ``content`` (the new text), its ``index`` from 0,
    ``done`` on the last one (whose ``metadata`` holds the server's counts), and
    ``timestamp`` (``time.perf_counter()`` when it came).

    >>> StreamingChunk("Hel").content
    'Hel'
    """

    content: str
    index: int = 0
    done: bool = False
    timestamp: float = 0.0
    metadata: dict[str, Any] | None = None


class ChunkIterator:
    """Yields :class:`StreamingChunk` s from a token stream; leaving early closes the stream.

    Use it in ``async with`` (or call :meth:`aclose`) when you may stop before the end.

    Example::

        async with runner.async_generate_stream("llama3.2", "Hi") as chunks:
            async for chunk in chunks:
                print(chunk.content, end="")
    """

    def __init__(self, stream: TokenStream[Any]) -> None:
        self._stream = stream
        self._it: AsyncIterator[str] | None = None
        self._index = 0
        self._finished = False

    @property
    def final(self) -> Any:
        """The server's last chunk (with its counts) once the stream has ended, else None."""
        return self._stream.final

    def __aiter__(self) -> ChunkIterator:
        return self

    async def __anext__(self) -> StreamingChunk:
        if self._finished:
            raise StopAsyncIteration
        try:
            if self._it is None:
                self._it = aiter(self._stream)
            piece = await anext(self._it)
        except StopAsyncIteration:
            self._finished = True
            final = self._stream.final
            meta = None
            if final is not None:
                meta = {"eval_count": final.eval_count,
                        "prompt_eval_count": final.prompt_eval_count,
                        "tokens_per_second": final.tokens_per_second}  # fmt: skip
            return StreamingChunk("", self._index, True, time.perf_counter(), meta)
        chunk = StreamingChunk(piece, self._index, False, time.perf_counter())
        self._index += 1
        return chunk

    async def aclose(self) -> None:
        """Close the underlying stream (and its HTTP response); idempotent."""
        self._finished = True
        it, self._it = self._it, None
        if it is not None and hasattr(it, "aclose"):
            await it.aclose()
        await self._stream.aclose()

    async def __aenter__(self) -> ChunkIterator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
