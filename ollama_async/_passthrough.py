"""``ByteStream``: the body exactly as received, for pass-through, on the one stream engine."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, TypeVar

import msgspec

from ._errors import (
    DECODE_ERRORS,
    IdleTimeoutError,
    IncompleteStreamError,
    OllamaError,
    StreamError,
    decode_error,
)
from ._streams import BaseStream, Opener

__all__ = ["ByteStream"]

F = TypeVar("F")
_TAIL_BYTES = 64 * 1024


class _PassThrough:
    """The decoder of :class:`ByteStream`: each read passes unchanged; the last line of each
    read is checked for the final (or error) line, and at the end the kept tail of the body
    is searched for it, so what follows the final line never turns success into an error."""

    __slots__ = ("_carry", "_decode", "_end", "_kept", "_kept_size", "done", "error", "final",
                 "limit")  # fmt: skip

    def __init__(self, final_type: type[Any], limit: int) -> None:
        self._decode = msgspec.json.Decoder(final_type).decode
        self._end = msgspec.json.Decoder(_End).decode
        self._carry = b""
        self._kept: list[bytes] = []  # the last reads, about _TAIL_BYTES of them
        self._kept_size = 0
        self.limit = limit
        self.error: OllamaError | None = None
        self.final: Any = None
        self.done = False

    def feed(self, data: bytes) -> list[bytes]:
        # The end-of-body search sees the last ~64 KiB: holding up to max_line_bytes of reads
        # (16 MiB) kept big reads alive and cost a third of the pass-through's throughput.
        kept = self._kept
        if len(data) >= _TAIL_BYTES:
            kept[:] = [data]
            self._kept_size = len(data)
        else:
            kept.append(data)
            self._kept_size += len(data)
            while self._kept_size > _TAIL_BYTES and len(kept) > 1:
                self._kept_size -= len(kept.pop(0))
        end = len(data)
        while end and data[end - 1] in b" \t\r\n":  # no copy of a 64 KiB read
            end -= 1
        start = data.rfind(b"\n", 0, end) + 1
        line = data[start:end] if start else self._carry + data[:end]
        cut = data.rfind(b"\n") + 1
        self._carry = data[cut:] if cut else (self._carry + data)[-self.limit :]
        # Every record has a "done" key: only a line that may be the end is decoded.
        if b'"done":true' in line or b'"done": true' in line or b'"error"' in line:
            try:
                record = self._end(line)
            except DECODE_ERRORS:
                return [data]
            if record.done:
                self._set_final(line)
            elif record.error is not None:
                self.scan()  # a final line before the error line still wins
        return [data]

    def flush(self) -> list[bytes]:
        """End of body: search the kept tail of the body for the final line."""
        self.scan()
        return []

    def scan(self) -> None:
        """Search the kept tail backwards for the final line: it wins over anything after
        it (blank lines, junk, error lines); a plain record before any final line means the
        stream is incomplete, and an error line after it is the stream's error."""
        if self.done or self.error is not None:
            return
        error: StreamError | None = None
        for raw in reversed(b"".join(self._kept).split(b"\n")):
            line = raw.strip()
            if not line:
                continue
            try:
                end = self._end(line)
            except DECODE_ERRORS:
                continue
            if end.done:
                self._set_final(line)
                return
            if end.error is not None:
                error = error or StreamError(end.error)
            elif end.done is False:
                break
        self.error = error

    def _set_final(self, line: bytes) -> None:
        try:
            self.final = self._decode(line)
            self.done = True
        except DECODE_ERRORS as exc:
            self.error = decode_error(exc, line)


class _End(msgspec.Struct, gc=False):
    done: bool | None = None  # a line without "done" is not a record of this stream
    error: str | None = None


class ByteStream(BaseStream[bytes, F]):
    """The response body exactly as received, for pass-through (their join is the body, up
    to the end of the final line's read).

    An ``{"error": …}`` line raises :class:`StreamError`, a body with no done chunk
    :class:`IncompleteStreamError`, and ``final`` holds the decoded done chunk.

    Example::

        async for data in client.stream_bytes("llama3.2", prompt="Hi"):
            await writer.write(data)
    """

    __slots__ = ("_final_type",)

    def __init__(
        self, opener: Opener, final_type: type[F], max_line_bytes: int, url: str, model: str = ""
    ) -> None:
        super().__init__(opener, max_line_bytes, url, model)
        self._final_type = final_type

    async def _iterate(self) -> AsyncGenerator[bytes, None]:
        try:
            decoder = _PassThrough(self._final_type, self._max_line_bytes)
            reader = await self._reader(decoder)
            while True:
                for data in await reader.next():
                    if data:
                        yield data
                if decoder.final is not None:
                    await self._complete(decoder.final)
                    return
        except (IncompleteStreamError, IdleTimeoutError) as exc:
            decoder.scan()  # the final line may have come with junk after it
            if decoder.final is None:
                raise self._fail(exc) from exc.__cause__
            self.final = decoder.final
        except OllamaError as exc:
            raise self._fail(exc) from exc.__cause__
        finally:
            self._end()
