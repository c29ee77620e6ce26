"""Server-sent events for the OpenAI-compatible ``/v1`` routes: bytes in, decoded events out.

Ollama's ``/v1`` streams are ``data: {json}`` lines separated by blank lines and closed by
``data: [DONE]``. Lines are cut on the byte ``\\n`` by the same segmenter as NDJSON; no I/O here.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from ._errors import DECODE_ERRORS, LineTooLongError, OllamaError, StreamError, decode_error
from ._ndjson import DEFAULT_MAX_LINE_BYTES, _Segmenter

__all__ = ["SSEDecoder"]

T = TypeVar("T")


class _ErrorEvent(msgspec.Struct):
    error: msgspec.Raw = msgspec.Raw(b"null")


_decode_error_event = msgspec.json.Decoder(_ErrorEvent).decode


class SSEDecoder(_Segmenter, Generic[T]):
    """Incremental decoder of ``data:`` events into a msgspec type.

    ``done`` turns true at ``data: [DONE]``. An event holding ``{"error": …}`` (the OpenAI
    error shape) sets ``error`` to a :class:`StreamError`, like a bad line does with a typed
    protocol error; the events before it are returned.

    >>> import msgspec
    >>> class Delta(msgspec.Struct):
    ...     text: str
    >>> d = SSEDecoder(Delta)
    >>> d.feed(b'data: {"text": "a"}\\n\\ndata: {"te')
    [Delta(text='a')]
    >>> d.feed(b'xt": "b"}\\n\\ndata: [DONE]\\n\\n'), d.done
    ([Delta(text='b')], True)
    """

    __slots__ = ("_decode", "done", "error")

    def __init__(self, type: type[T], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(max_line_bytes)
        self._decode = msgspec.json.Decoder(type).decode
        self.done = False
        self.error: OllamaError | None = None

    def feed(self, data: bytes) -> list[T]:
        """Add one read of the body; return the events it completed."""
        try:
            segment = self._segment(data)
        except LineTooLongError as exc:
            self.error = exc
            return []
        return self._events(segment) if segment else []

    def flush(self) -> list[T]:
        """End of stream: decode a last event that had no newline."""
        return self._events(self._tail())

    def _events(self, segment: bytes) -> list[T]:
        out: list[T] = []
        for raw in segment.split(b"\n"):
            line = raw.strip()
            if not line.startswith(b"data:") or self.done:
                continue  # blank separators, comments (":"), "event:" and "id:" fields
            payload = line[5:].strip()
            if payload == b"[DONE]":
                self.done = True
                break
            if len(payload) > self.max_line_bytes:
                self.error = LineTooLongError(self.max_line_bytes)
                break
            try:
                out.append(self._decode(payload))
            except DECODE_ERRORS as exc:
                self.error = _error_event(payload) or decode_error(exc, payload)
                break
            else:
                if b'"error"' in payload and (err := _error_event(payload)) is not None:
                    out.pop()
                    self.error = err
                    break
        return out


def _error_event(payload: bytes) -> StreamError | None:
    try:
        event = _decode_error_event(payload)
    except DECODE_ERRORS:
        return None
    value = msgspec.json.decode(event.error)
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("message", value)
    return StreamError(str(value))
