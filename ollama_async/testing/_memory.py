"""An in-memory stand-in for the part of an aiohttp response the streams read.

The body is handed over in the reads given, exactly: a socket would choose the read sizes
itself. Used by the read-shape tests and by ``benchmarks/breakdown.py``.
"""

from __future__ import annotations


class MemoryContent:
    """``readany()`` returns the next read, then ``b""`` for ever (the end of the body)."""

    def __init__(self, reads: list[bytes]) -> None:
        self._reads = iter([*reads, b""])

    async def readany(self) -> bytes:
        return next(self._reads, b"")

    def at_eof(self) -> bool:
        return True


class MemoryResponse:
    """Just what the streams use of an ``aiohttp.ClientResponse``."""

    status = 200

    def __init__(self, reads: list[bytes]) -> None:
        self.content = MemoryContent(reads)

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass
