"""One stream engine: typed chunks, text tokens and raw bytes differ only in what they decode,
yield and keep.

A stream is one object that is both an async iterator and an async context manager. It reads
one :class:`~ollama_async._transport.Response` through :class:`Reader`, the one read loop of
the package (the ``/v1`` event streams and the progress streams use it too). The code that
closes the response lives in the async generator that ``__aiter__`` makes and that only the
``async for`` loop holds: leaving the loop (``break``, ``return``, an exception) drops the
generator, which closes the response even while the caller still holds the stream object.
Cancelling the consuming task raises inside the pending read, which closes the response on
the spot. Either way the server sees the disconnect and stops generating.

One rule for every kind: the stream ends at its final record (``done``). Whatever follows
it (blank lines, junk, a body held open) is not read: the stream waits a short grace period
for the end of the body, so the connection can be reused, then closes it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from ._errors import (
    DECODE_ERRORS,
    IncompleteStreamError,
    OllamaError,
    StreamError,
    StreamMisuseError,
)
from ._ndjson import BLOCK_BYTES, NDJSONDecoder
from ._refs import StreamRef
from ._transport import Response
from ._types import GenerateResponse, _ChatText, _GenerateText

__all__ = ["BaseStream", "ChunkStream", "Reader", "ThinkingText", "TokenStream"]

T = TypeVar("T")
R = TypeVar("R")
F = TypeVar("F")
S = TypeVar("S", bound="BaseStream[Any, Any]")

Opener = Callable[[], Awaitable[Response]]
GRACE_SECONDS = 0.25
"""After the final record: how long to wait for the end of the body before closing."""
_COMPACT_AT = 4096
_SPLIT_AT = 2 * BLOCK_BYTES  # bigger reads are decoded piece by piece (feed_blocks)


class _ClosedEarly(Exception):
    """Audit-log marker: the caller stopped reading before the stream ended."""


class Decoder(Protocol[R]):
    """What :class:`Reader` needs of a decoder: bytes in, records out, no I/O."""

    @property
    def error(self) -> OllamaError | None: ...
    @property
    def done(self) -> bool: ...  # the final record came in a way records alone do not show
    def feed(self, data: bytes) -> list[R]: ...
    def flush(self) -> list[R]: ...

    # A decoder may also have feed_blocks(data) -> Iterator[list[R]]: big reads then go
    # there, to be decoded a piece at a time (NDJSONDecoder does).


class Reader(Generic[R]):
    """The one read loop: each :meth:`next` returns the records of the next read.

    It raises the typed errors: a transport failure, the decoder's first bad line (after
    the good records before it were returned), or the end of the body, which means the
    final record never came (callers stop reading as soon as they see it).
    """

    __slots__ = ("_blocks", "_buffered", "_decoder", "_ended", "_feed_blocks", "_missing",
                 "_read", "_split", "_url")  # fmt: skip

    def __init__(self, resp: Response, decoder: Decoder[R], missing: str) -> None:
        self._buffered = resp.read_buffered
        self._read = resp.read_any
        self._decoder = decoder
        self._url = resp.url
        self._missing = missing
        self._blocks: Iterator[list[R]] | None = None
        self._ended = False
        self._feed_blocks: Callable[[bytes], Iterator[list[R]]] | None = getattr(
            decoder, "feed_blocks", None
        )
        self._split = _SPLIT_AT if self._feed_blocks is not None else sys.maxsize

    async def next(self) -> list[R]:
        decoder = self._decoder
        while True:
            if self._blocks is not None:  # a big read, decoded a piece at a time
                items = next(self._blocks, None)
                if items is None:
                    self._blocks = None
                elif items:
                    return items
                continue
            if decoder.error is not None:
                raise decoder.error
            if self._ended:
                raise IncompleteStreamError(
                    f"the stream from {self._url} ended without {self._missing}"
                )
            data = self._buffered() or await self._read()
            if len(data) >= self._split:
                assert self._feed_blocks is not None
                self._blocks = self._feed_blocks(data)
                continue
            if data:
                items = decoder.feed(data)
            else:
                self._ended = True
                items = decoder.flush()
            if items or decoder.done:
                return items


class ThinkingText(str):
    """A piece of thinking text from :meth:`Client.stream_tokens` with ``include_thinking``.

    It is a ``str``; test ``isinstance(piece, ThinkingText)`` to tell it from answer text.
    """

    __slots__ = ()


class BaseStream(Generic[T, F]):
    """What every stream shares: opening once, closing, the text kept so far, the final
    record, misuse errors. A kind supplies ``_iterate``."""

    __slots__ = ("_blocks", "_done", "_iterated", "_max_line_bytes", "_opener", "_pieces",
                 "_ref", "_resp", "_url", "final", "model")  # fmt: skip

    _missing_end = "its final (done) chunk"

    def __init__(self, opener: Opener, max_line_bytes: int, url: str, model: str = "") -> None:
        self._opener = opener
        self._max_line_bytes = max_line_bytes
        self._url = url
        self._resp: Response | None = None
        self._iterated = False
        self._done = False
        self._pieces: list[str] = []
        self._blocks: list[str] = []
        self.model = model
        self.final: F | None = None
        """The final record (``done=True``, with the statistics) once the stream has ended."""
        self._ref: object = None

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

    def _compact(self) -> None:
        """Join the pieces kept so far into one block (callers check ``_COMPACT_AT``)."""
        self._blocks.append("".join(self._pieces))
        self._pieces.clear()

    async def _start(self) -> Response:
        resp = self._resp
        if resp is None:
            if self._done:
                raise StreamMisuseError("this stream has already ended; a stream is read once")
            resp = self._resp = await self._opener()
        return resp

    async def __aenter__(self: S) -> S:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end()

    async def aclose(self) -> None:
        """Close the HTTP response now (the server stops generating); idempotent."""
        self._end()

    def __aiter__(self) -> AsyncIterator[T]:
        if self._iterated:
            raise StreamMisuseError("a stream can be iterated only once")
        self._iterated = True
        return self._iterate()

    def _iterate(self) -> AsyncGenerator[T, None]:
        raise NotImplementedError

    async def _reader(self, decoder: Decoder[Any]) -> Reader[Any]:
        return Reader(await self._start(), decoder, self._missing_end)

    def _error_line(self, items: list[Any]) -> str | None:
        """Per read of generate/chat records: compact the kept text now and then, and take
        a last ``{"error": …}`` record off (it is raised after the records before it)."""
        if len(self._pieces) > _COMPACT_AT:
            self._compact()
        error: str | None = items[-1].error
        if error is not None:
            items.pop()
        return error

    async def _complete(self, final: Any) -> None:
        """The final record came: keep it, and give the body a moment to end."""
        self.final = final
        if self._resp is not None:
            await self._resp.drain(GRACE_SECONDS)

    def _fail(self, exc: OllamaError) -> OllamaError:
        exc.partial_text = self.text
        self._end(exc)
        return exc

    def _end(self, error: BaseException | None = None) -> None:
        self._done = True
        resp, self._resp = self._resp, None
        if resp is not None:
            if error is None and self.final is None:
                error = _ClosedEarly()
            resp.finish(final=self.final, error=error)


class ChunkStream(BaseStream[F, F]):
    """Typed chunks of a generate or chat stream.

    Example::

        async with client.stream("llama3.2", prompt="Why is the sky blue?") as s:
            async for chunk in s:
                print(chunk.response, end="")
        print(s.final.tokens_per_second, s.text)
    """

    __slots__ = ("_type",)

    def __init__(
        self, opener: Opener, type: type[F], max_line_bytes: int, url: str, model: str = ""
    ) -> None:
        super().__init__(opener, max_line_bytes, url, model)
        self._type = type

    async def _iterate(self) -> AsyncGenerator[F, None]:
        chat = not issubclass(self._type, GenerateResponse)
        pieces = self._pieces
        keep = pieces.append
        try:
            reader = await self._reader(NDJSONDecoder(self._type, self._max_line_bytes))
            while True:
                items = await reader.next()
                error = self._error_line(items)
                for item in items:
                    keep(item.message.content if chat else item.response)
                    yield item
                    if item.done:
                        await self._complete(item)
                        return
                if error is not None:
                    raise StreamError(error)
        except OllamaError as exc:
            raise self._fail(exc) from exc.__cause__
        finally:
            self._end()


class TokenStream(BaseStream[str, F]):
    """Text pieces only (``response`` or ``message.content``), decoded from lean types.

    Example::

        async for piece in client.stream_tokens("llama3.2", prompt="Hi"):
            print(piece, end="", flush=True)
    """

    __slots__ = ("_final_type", "_thinking")

    def __init__(
        self,
        opener: Opener,
        final_type: type[F],
        max_line_bytes: int,
        url: str,
        model: str = "",
        thinking: bool = False,
    ) -> None:
        super().__init__(opener, max_line_bytes, url, model)
        self._final_type = final_type
        self._thinking = thinking

    async def _iterate(self) -> AsyncGenerator[str, None]:
        chat = not issubclass(self._final_type, GenerateResponse)
        lean: type[Any] = _ChatText if chat else _GenerateText
        thinking = self._thinking
        pieces = self._pieces
        keep = pieces.append
        try:
            decoder: NDJSONDecoder[Any] = NDJSONDecoder(lean, self._max_line_bytes)
            reader = await self._reader(decoder)
            while True:
                items = await reader.next()
                error = self._error_line(items)
                for item in items:
                    part = item.message if chat else item
                    if part is not None:
                        if thinking and part.thinking:
                            yield ThinkingText(part.thinking)
                        if text := (part.content if chat else part.response):
                            keep(text)
                            yield text
                    if item.done:
                        await self._complete(_final_of(decoder, self._final_type))
                        return
                if error is not None:
                    raise StreamError(error)
        except OllamaError as exc:
            raise self._fail(exc) from exc.__cause__
        finally:
            self._end()


def _final_of(decoder: NDJSONDecoder[Any], final_type: type[Any]) -> Any:
    """The done line again, decoded whole for its statistics (the lean type skipped them).

    It is the last line of the decoder's last segment that decodes with ``done`` set; when
    junk after it hid it there, a bare final record (no statistics) stands in."""
    lines = [*reversed(bytes(decoder.last_segment).split(b"\n")), decoder.last_head]
    for line in lines:  # the segment's lines from its end, then the carried line
        if line.strip():
            try:
                final = msgspec.json.decode(line, type=final_type)
            except DECODE_ERRORS:
                continue
            if final.done:
                return final
    return msgspec.convert({"done": True}, final_type)
