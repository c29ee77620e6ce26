"""The three streams: typed chunks, text tokens, raw bytes.

A stream is one object that is both an async iterator and an async context manager. The
code that closes the HTTP response lives in the async generator that ``__aiter__`` makes and
that only the ``async for`` loop holds: leaving the loop (``break``, ``return``, an
exception) drops the generator, which closes the response even while the caller still holds
the stream object. Cancelling the consuming task raises inside the pending read, which closes
the response on the spot. Either way the server sees the disconnect and stops generating.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import aiohttp
import msgspec

from . import audit
from ._errors import IncompleteStreamError, OllamaError, StreamError
from ._ndjson import BLOCK_BYTES, DECODE_ERRORS, NDJSONDecoder, decode_error
from ._refs import StreamRef
from ._transport import map_transport_error
from ._types import GenerateResponse, _ChatText, _Final, _GenerateText

__all__ = ["ByteStream", "ChunkStream", "ThinkingText", "TokenStream"]

T = TypeVar("T")
F = TypeVar("F", bound=_Final)
S = TypeVar("S", bound="_Stream[Any, Any]")

Opener = Callable[[], Awaitable[aiohttp.ClientResponse]]
_READ_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)
_COMPACT_AT = 4096
_SPLIT_AT = 2 * BLOCK_BYTES  # bigger reads are decoded piece by piece (feed_blocks)


class _ClosedEarly(Exception):
    """Audit-log marker: the caller stopped reading before the stream ended."""


class ThinkingText(str):
    """A piece of thinking text from :meth:`Client.stream_tokens` with ``thinking=True``.

    It is a ``str``; test ``isinstance(piece, ThinkingText)`` to tell it from answer text.
    """

    __slots__ = ()


class _Stream(Generic[T, F]):
    """Shared machinery: opening, closing, the text kept so far, the final chunk."""

    __slots__ = (
        "_audited",
        "_blocks",
        "_done",
        "_final_type",
        "_iterated",
        "_max_line_bytes",
        "_model",
        "_nbytes",
        "_opener",
        "_pieces",
        "_ref",
        "_resp",
        "_started",
        "_status",
        "_url",
        "final",
    )

    def __init__(self, opener: Opener, final_type: type[F], max_line_bytes: int, url: str) -> None:
        self._opener = opener
        self._final_type: type[F] = final_type
        self._max_line_bytes = max_line_bytes
        self._url = url
        self._resp: aiohttp.ClientResponse | None = None
        self._iterated = False
        self._done = False
        self._pieces: list[str] = []
        self._blocks: list[str] = []
        self._model = ""
        self._nbytes = 0
        self._started = 0.0
        self._status: int | None = None
        self._audited = False
        self._ref: object = None
        self.final: F | None = None
        """The last chunk (``done=True``) with the statistics, once the stream has ended."""

    @property
    def ref(self) -> object:
        """This stream's unique reference (seed 001): made on first use unless one was set;
        :func:`send_to` tags every message with it."""
        if self._ref is None:
            self._ref = StreamRef()
        return self._ref

    @ref.setter
    def ref(self, value: object) -> None:
        self._ref = value

    @property
    def text(self) -> str:
        """All the text received so far (the whole answer once the stream has ended)."""
        if len(self._blocks) > 1 or self._pieces:
            self._blocks[:] = ["".join(self._blocks) + "".join(self._pieces)]
            self._pieces.clear()
        return self._blocks[0] if self._blocks else ""

    def _keep(self, texts: list[str]) -> None:
        self._pieces += texts
        if len(self._pieces) > _COMPACT_AT:
            self._compact()

    def _compact(self) -> None:
        """Join the pieces kept so far into one block (callers check ``_COMPACT_AT``)."""
        self._blocks.append("".join(self._pieces))
        self._pieces.clear()

    async def _start(self) -> aiohttp.ClientResponse:
        if self._resp is None:
            if self._done:
                raise RuntimeError("this stream has already ended")
            self._started = time.monotonic()
            self._resp = await self._opener()
            self._status = self._resp.status
        return self._resp

    async def __aenter__(self: S) -> S:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    async def aclose(self) -> None:
        """Close the HTTP response now (the server stops generating); idempotent."""
        self._close()

    def _audit(self, error: BaseException | None) -> None:
        if self._audited or self._status is None:  # failures before the body: the transport
            return
        self._audited = True
        if error is None and self.final is None:
            error = _ClosedEarly()
        audit.record(self._url, model=self._model, status=self._status, final=self.final,
                     nbytes=self._nbytes, duration=time.monotonic() - self._started,
                     error=error)  # fmt: skip

    def _close(self) -> None:
        self._audit(None)
        self._done = True
        resp, self._resp = self._resp, None
        if resp is not None:
            if self.final is not None and resp.content.at_eof():
                resp.release()  # read to the end: the connection goes back to the pool
            else:
                resp.close()  # abandoned mid-body: drop the connection

    def __aiter__(self) -> AsyncIterator[T]:
        if self._iterated:
            raise RuntimeError("a stream can be iterated only once")
        self._iterated = True
        return self._iterate()

    def _iterate(self) -> AsyncGenerator[T, None]:
        raise NotImplementedError

    def _fail(self, exc: OllamaError) -> OllamaError:
        exc.partial_text = self.text
        self._audit(exc)
        return exc

    _missing_end = "its final (done) chunk"

    async def _batches(
        self, resp: aiohttp.ClientResponse, decoder: Any
    ) -> AsyncGenerator[tuple[bytes, list[Any]], None]:
        """Each read of the body with the records it completed; raises the typed errors:
        a transport failure, the decoder's first bad line, or the end of the body (which
        means no done record came: the caller returns as soon as it sees one)."""
        read = resp.content.readany
        feed = decoder.feed
        while True:
            try:
                data = await read()
            except _READ_ERRORS as exc:
                raise self._read_error(exc) from exc
            self._nbytes += len(data)
            items = feed(data) if data else decoder.flush()
            if data or items:
                yield data, items
            if decoder.error is not None or not data:
                raise self._broken(decoder)

    def _read_error(self, exc: BaseException) -> OllamaError:
        return map_transport_error(exc, self._url, in_body=True)

    def _broken(self, decoder: Any) -> OllamaError:
        """Why a stream stopped short: the decoder's first bad line, or the end of the body
        before the final record."""
        if decoder.error is not None:
            return decoder.error  # type: ignore[no-any-return]
        return IncompleteStreamError(
            f"the stream from {self._url} ended without {self._missing_end}"
        )

    async def _finish(self, resp: aiohttp.ClientResponse) -> None:
        """After the done chunk: read the chunked terminator so the connection can be reused."""
        try:
            while await resp.content.readany():
                pass
        except _READ_ERRORS:
            pass


class ChunkStream(_Stream[F, F]):
    """Typed chunks of a generate or chat stream.

    Example::

        async with client.stream("llama3.2", prompt="Why is the sky blue?") as s:
            async for chunk in s:
                print(chunk.response, end="")
        print(s.final.tokens_per_second, s.text)
    """

    __slots__ = ()

    async def _iterate(self) -> AsyncGenerator[F, None]:
        nbytes = 0
        try:
            resp = await self._start()
            decoder: NDJSONDecoder[Any] = NDJSONDecoder(self._final_type, self._max_line_bytes)
            chat = self._final_type is not GenerateResponse
            pieces = self._pieces
            keep = pieces.append
            read = resp.content.readany
            feed = decoder.feed
            decode_lines = decoder._decode_lines  # feed's short path, inlined below
            carry = decoder._buf  # the unfinished line held (the same bytearray throughout)
            limit = self._max_line_bytes
            blocks: Iterator[list[Any]] | None = None
            items: list[Any] | None
            n = 0
            # The read loop of _batches, inlined: one async step less per read, and the
            # common read (one line, as a live model sends) takes no detour. The text is
            # kept in the yield loop: a list comprehension costs a call per read. A big read
            # (the caller fell behind) is decoded a piece at a time, so its records stay in
            # the CPU cache.
            while True:
                if blocks is None:
                    try:
                        data = await read()
                    except _READ_ERRORS as exc:
                        raise self._read_error(exc) from exc
                    n = len(data)
                    nbytes += n
                    if n >= _SPLIT_AT:
                        blocks = decoder.feed_blocks(data)
                        continue
                    if 0 < n <= limit and not carry and data[-1] == 10:
                        try:  # decoder.feed's short path, without the call
                            items = decode_lines(data)
                        except DECODE_ERRORS:
                            items = feed(data)  # again, line by line: the good records, the error
                    else:
                        items = feed(data) if n else decoder.flush()
                else:
                    items = next(blocks, None)
                    if items is None:
                        blocks = None
                        continue
                if items:
                    if len(pieces) > _COMPACT_AT:
                        self._compact()
                    last = items[-1]
                    if last.error is not None:
                        items.pop()
                    if chat:
                        for item in items:
                            keep(item.message.content)
                            yield item
                    else:
                        for item in items:
                            keep(item.response)
                            yield item
                    if last.error is not None:
                        raise StreamError(last.error)
                    if last.done:
                        self.final = last
                        await self._finish(resp)
                        return
                if decoder.error is not None or not n:
                    raise self._broken(decoder)
        except OllamaError as exc:
            self._nbytes = nbytes
            raise self._fail(exc) from exc.__cause__
        finally:
            self._nbytes = nbytes
            self._close()


class TokenStream(_Stream[str, F]):
    """Text pieces only (``response`` or ``message.content``), decoded from lean types.

    Example::

        async for piece in client.stream_tokens("llama3.2", prompt="Hi"):
            print(piece, end="", flush=True)
    """

    __slots__ = ("_lean", "_thinking")

    def __init__(
        self,
        opener: Opener,
        final_type: type[F],
        max_line_bytes: int,
        url: str,
        thinking: bool = False,
    ) -> None:
        super().__init__(opener, final_type, max_line_bytes, url)
        self._thinking = thinking
        self._lean: type[Any] = _GenerateText if final_type is GenerateResponse else _ChatText

    async def _iterate(self) -> AsyncGenerator[str, None]:
        nbytes = 0
        try:
            resp = await self._start()
            decoder: NDJSONDecoder[Any] = NDJSONDecoder(self._lean, self._max_line_bytes)
            chat = self._lean is _ChatText
            thinking = self._thinking
            pieces = self._pieces
            keep = pieces.append
            read = resp.content.readany
            feed = decoder.feed
            decode_lines = decoder._decode_lines  # feed's short path, inlined below
            carry = decoder._buf  # the unfinished line held (the same bytearray throughout)
            limit = self._max_line_bytes
            blocks: Iterator[list[Any]] | None = None
            items: list[Any] | None
            n = 0
            segment = b""  # the read decoded on the short path, for the done line's statistics
            while True:  # the read loop of _batches, inlined (see ChunkStream)
                if blocks is None:
                    try:
                        data = await read()
                    except _READ_ERRORS as exc:
                        raise self._read_error(exc) from exc
                    n = len(data)
                    nbytes += n
                    if n >= _SPLIT_AT:
                        segment = b""
                        blocks = decoder.feed_blocks(data)
                        continue
                    if 0 < n <= limit and not carry and data[-1] == 10:
                        segment = data
                        try:  # decoder.feed's short path, without the call
                            items = decode_lines(data)
                        except DECODE_ERRORS:
                            items = feed(data)  # again, line by line: the good records, the error
                    else:
                        segment = b""
                        items = feed(data) if n else decoder.flush()
                else:
                    items = next(blocks, None)
                    if items is None:
                        blocks = None
                        continue
                if items:
                    if len(pieces) > _COMPACT_AT:
                        self._compact()
                    last = items[-1]
                    if last.error is not None:
                        items.pop()
                    if thinking:
                        for text in _with_thinking(items, chat):
                            if type(text) is str:  # answer text, not ThinkingText
                                keep(text)
                            yield text
                    elif chat:
                        for item in items:
                            if (m := item.message) and (text := m.content):
                                keep(text)
                                yield text
                    else:
                        for item in items:
                            if text := item.response:
                                keep(text)
                                yield text
                    if last.error is not None:
                        raise StreamError(last.error)
                    if last.done:
                        self.final = self._decode_final(segment or decoder.last_segment)
                        await self._finish(resp)
                        return
                if decoder.error is not None or not n:
                    raise self._broken(decoder)
        except OllamaError as exc:
            self._nbytes = nbytes
            raise self._fail(exc) from exc.__cause__
        finally:
            self._nbytes = nbytes
            self._close()

    def _decode_final(self, segment: bytes | memoryview) -> F:
        """Decode the done line again with the full type, for the statistics."""
        line = bytes(segment).rstrip().rpartition(b"\n")[2]
        try:
            final: F = msgspec.json.decode(line, type=self._final_type)
        except DECODE_ERRORS as exc:
            raise decode_error(exc, line) from None
        return final


class ByteStream(_Stream[bytes, F]):
    """The response body exactly as received, for pass-through (their join is the body).

    At the end the last line is checked: an ``{"error": …}`` line raises
    :class:`StreamError`, a body with no done chunk :class:`IncompleteStreamError`, and
    ``final`` holds the decoded done chunk.

    Example::

        async for data in client.stream_bytes("llama3.2", prompt="Hi"):
            await writer.write(data)
    """

    __slots__ = ()

    async def _iterate(self) -> AsyncGenerator[bytes, None]:
        try:
            resp = await self._start()
            read = resp.content.readany
            tail: list[bytes] = []
            tail_size = 0
            ended_line = True
            limit = self._max_line_bytes
            while True:
                try:
                    data = await read()
                except _READ_ERRORS as exc:
                    raise self._read_error(exc) from exc
                if not data:
                    break
                # Keep the reads that hold the last line, for the check at the end.
                if ended_line or data.rfind(b"\n", 0, len(data) - 1) >= 0:
                    tail = [data]
                    tail_size = len(data)
                elif tail_size <= limit:
                    tail.append(data)
                    tail_size += len(data)
                ended_line = data.endswith(b"\n")
                self._nbytes += len(data)
                yield data
            self._check_end(tail)
        except OllamaError as exc:
            raise self._fail(exc) from exc.__cause__
        finally:
            self._close()

    def _check_end(self, tail: list[bytes]) -> None:
        line = _last_line(tail)
        if not line:
            raise IncompleteStreamError(f"the stream from {self._url} ended without any chunk")
        try:
            final = msgspec.json.decode(line, type=self._final_type)
        except DECODE_ERRORS as exc:
            raise decode_error(exc, line) from None
        if final.error is not None:
            raise StreamError(final.error)
        if not final.done:
            raise IncompleteStreamError(
                f"the stream from {self._url} ended without its final (done) chunk"
            )
        self.final = final


def _last_line(reads: list[bytes]) -> bytes:
    """The last non-blank line of the joined reads, copying only that line where it lies
    in the last read (the common case: no join, no strip of a 64 KiB read)."""
    data = reads[-1] if reads else b""
    end = len(data)
    while end and data[end - 1] in b" \t\r\n":
        end -= 1
    start = data.rfind(b"\n", 0, end) + 1
    if start or len(reads) == 1:
        return data[start:end].strip()
    return b"".join(reads).rstrip().rpartition(b"\n")[2].strip()


def _with_thinking(items: list[Any], chat: bool) -> list[str]:
    out: list[str] = []
    for i in items:
        part = i.message if chat else i
        if part is None:
            continue
        if part.thinking:
            out.append(ThinkingText(part.thinking))
        text = part.content if chat else part.response
        if text:
            out.append(text)
    return out
