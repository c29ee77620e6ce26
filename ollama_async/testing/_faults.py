"""Faults the emulator can inject, per request or per model, and where they act: before the
status line (``answer_before``) and between the lines of a stream (``write_lines``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from aiohttp import web

from ._http import Abort, current


@dataclass(frozen=True)
class Fault:
    """What should go wrong with a request. Every field is optional; several combine.

    Before the answer: ``latency`` (seconds before the status line), ``close_before_status``
    (accept, then drop the connection), ``status`` with ``body``/``content_type``/``headers``
    (any error answer: 500, 502 HTML, 429 with ``Retry-After``, …).
    During a stream, after ``n`` chunks: ``stall_after`` (stop for ``stall_seconds``, or until
    the client leaves when None), ``disconnect_after`` (drop the connection between lines),
    ``disconnect_mid_line`` (send half a line, then drop), ``error_after`` (an
    ``{"error": …}`` line ends the stream), ``malformed_after`` (a line that is not JSON),
    ``eof_after`` (the body ends cleanly with no done line), ``huge_line_bytes`` (one line of
    that size, after ``huge_line_after`` lines: at the start by default),
    ``close_after_headers``.

    Per request, send the header ``X-Emulator-Fault`` with the JSON of the fields, e.g.
    ``{"disconnect_after": 3}``.

    >>> Fault(status=429, headers={"Retry-After": "1"}).to_header()
    '{"status": 429, "headers": {"Retry-After": "1"}}'
    """

    latency: float = 0.0
    close_before_status: bool = False
    status: int | None = None
    body: str | None = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    close_after_headers: bool = False
    stall_after: int | None = None
    stall_seconds: float | None = None
    disconnect_after: int | None = None
    disconnect_mid_line: int | None = None
    error_after: int | None = None
    error_message: str = "an error was encountered while running the model"
    malformed_after: int | None = None
    huge_line_bytes: int | None = None
    huge_line_after: int = 0
    eof_after: int | None = None

    def to_header(self) -> str:
        """The JSON for the ``X-Emulator-Fault`` header (only the fields that are set)."""
        default = Fault()
        return json.dumps({k: v for k, v in asdict(self).items() if v != getattr(default, k)})

    @classmethod
    def from_header(cls, value: str) -> Fault:
        """Parse an ``X-Emulator-Fault`` header; unknown keys are an error."""
        data: dict[str, Any] = json.loads(value)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)


@dataclass
class _Injected:
    fault: Fault
    model: str | None
    times: int | None


MALFORMED_LINE = b"this line is not json {\n"


def answer_before(fault: Fault) -> web.Response | None:
    """The whole error answer a fault with ``status`` gives (None: answer normally)."""
    if fault.status is None:
        return None
    return web.Response(
        status=fault.status,
        body=(fault.body or json.dumps({"error": "injected fault"})).encode(),
        headers={"Content-Type": fault.content_type, **fault.headers},
    )


async def write_lines(
    request: web.Request,
    lines: Iterable[bytes] | AsyncIterator[bytes],
    content_type: str,
    delay: float,
) -> web.StreamResponse:
    """Stream ``lines``, one HTTP chunk each, ``delay`` seconds apart, applying the request's
    mid-stream faults; the bytes written are kept in the request's record."""
    exchange = current.get()
    rec, fault = exchange.rec, exchange.fault
    resp = web.StreamResponse(headers={"Content-Type": content_type})
    await resp.prepare(request)
    if fault is not None and fault.close_after_headers:
        raise Abort
    sent = bytearray()

    async def write(data: bytes) -> None:
        sent.extend(data)
        await resp.write(data)

    n = 0
    iterator = lines if isinstance(lines, AsyncIterator) else _aiter(lines)
    try:
        async for piece in iterator:
            if fault is not None and await _ends_here(write, fault, n, piece):
                break
            await write(piece)
            n += 1
            rec.chunks_sent = n
            if delay:
                await asyncio.sleep(delay)
        else:  # a huge line due after the last line
            if fault is not None and fault.huge_line_bytes and fault.huge_line_after >= n:
                await write(_huge(fault.huge_line_bytes))
    finally:
        rec.response_body = bytes(sent)
    await resp.write_eof()
    return resp


async def _ends_here(
    write: Callable[[bytes], Awaitable[None]], fault: Fault, n: int, piece: bytes
) -> bool:
    """Apply the faults due before line ``n``; True when the body should end cleanly now."""
    if fault.huge_line_bytes and fault.huge_line_after == n:
        await write(_huge(fault.huge_line_bytes))
    if fault.stall_after == n:
        await asyncio.sleep(fault.stall_seconds if fault.stall_seconds is not None else 1e9)
    if fault.disconnect_after == n:
        raise Abort
    if fault.disconnect_mid_line == n:
        await write(piece[: len(piece) // 2])
        await asyncio.sleep(0.01)
        raise Abort
    if fault.error_after == n:
        await write(json.dumps({"error": fault.error_message}).encode() + b"\n")
        return True
    if fault.eof_after == n:
        return True
    if fault.malformed_after == n:
        await write(MALFORMED_LINE)
    return False


def _huge(size: int) -> bytes:
    return b'{"response":"' + b"x" * size + b'"}\n'


async def _aiter(items: Iterable[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item
