"""An in-memory body behind a real :class:`~ollama_async._transport.Response`.

The body is handed over in the reads given, exactly: a socket would choose the read sizes
itself. Only the aiohttp side is replaced, so the streams, the read loop, ``finish`` and the
audit record run as they do over a socket. Used by the read-shape tests and by
``benchmarks/breakdown.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._transport import Response


class MemoryContent:
    """The part of aiohttp's ``StreamReader`` that :class:`Response` uses: every read is
    already buffered, then ``b""`` for ever (the end of the body)."""

    def __init__(self, reads: list[bytes]) -> None:
        self._reads: Iterator[bytes] = iter(reads)
        self._left = len(reads)

    def read_nowait(self) -> bytes:
        if self._left:
            self._left -= 1
            return next(self._reads)
        return b""

    async def readany(self) -> bytes:
        return self.read_nowait()

    def at_eof(self) -> bool:
        return not self._left

    def exception(self) -> BaseException | None:
        return None


class _MemoryAnswer:
    """What :class:`Response` uses of an ``aiohttp.ClientResponse``."""

    status = 200
    headers: dict[str, str] = {}  # noqa: RUF012 - read only
    content_length = None

    def __init__(self, reads: list[bytes]) -> None:
        self.content = MemoryContent(reads)

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


class _NoTransport:
    _open: set[Any] = set()  # noqa: RUF012 - finish discards from it


def memory_response(reads: list[bytes], url: str = "http://mem/api/generate") -> Response:
    """A :class:`Response` whose body is ``reads``, one per ``read_any``."""
    return Response(_MemoryAnswer(reads), _NoTransport(), url, "", 0.0, None)  # type: ignore[arg-type]
