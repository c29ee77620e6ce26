"""The response of ours that the transport hands back: ``read_any``, ``read_buffered``,
``read``, ``drain`` and ``finish`` (which releases or closes and writes the audit record)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import anyio

from .. import audit
from .._credentials import scrub_exception
from .._errors import IdleTimeoutError, OllamaError, ResponseTooLargeError
from ._mapping import READ_ERRORS, map_transport_error

if TYPE_CHECKING:
    from . import Transport

__all__ = ["Response"]

_DRAIN_LIMIT = 64 * 1024


class Response:
    """One answer with a 2xx status, read by the layers above through three calls.

    ``read_any`` returns the next bytes of the body (``b""`` at its end), ``read`` the whole
    body up to a limit, and ``finish`` ends the exchange: it keeps the connection for reuse
    when the body was read to its end, drops it otherwise (so the server stops generating),
    and writes the operation's audit record. ``finish`` is idempotent.
    """

    __slots__ = ("_aborted", "_idle", "_last", "_resp", "_started", "_stop", "_timer",
                 "_transport", "_waiter", "finished", "model", "nbytes", "status",
                 "url")  # fmt: skip

    def __init__(
        self,
        resp: aiohttp.ClientResponse,
        transport: Transport,
        url: str,
        model: str,
        started: float,
        idle: float | None,
    ) -> None:
        self._resp = resp
        self._transport = transport
        self._idle = idle
        self._last = 0.0  # when the last bytes came (loop time), for the idle watchdog
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Task[Any] | None = None  # the task waiting in _wait
        self._stop: OllamaError | None = None  # why the watchdog or abort cancelled it
        self._aborted: OllamaError | None = None
        self._started = started
        self.url = url
        self.model = model
        self.status = resp.status
        self.nbytes = 0
        self.finished = False

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers (names are case-insensitive)."""
        return self._resp.headers

    async def read_any(self) -> bytes:
        """The bytes that have arrived (waiting for some); ``b""`` once the body has ended.

        The idle limit is ours, not only the socket's: a wait longer than ``Timeouts.idle``
        raises :class:`IdleTimeoutError` even when aiohttp's parser stopped its own timer.
        """
        data = self.read_buffered()  # what is buffered already: no timer, no wait
        content = self._resp.content
        if data or content.at_eof():
            return data
        try:
            return await self._wait(content)
        except OllamaError:
            raise  # the idle limit, or abort(): already ours
        except READ_ERRORS as exc:
            scrub_exception(exc, *self._transport.secrets)
            raise self._aborted or map_transport_error(exc, self.url, in_body=True) from exc

    def read_buffered(self) -> bytes:
        """The bytes that have arrived, without waiting (``b""`` when none have, or at the
        end of the body: :meth:`read_any` tells the two apart). The streams' read loop calls
        this first, so a read that needs no wait costs no coroutine."""
        if self._aborted is not None:
            raise self._aborted
        try:
            data = self._resp.content.read_nowait()
        except READ_ERRORS as exc:
            scrub_exception(exc, *self._transport.secrets)
            raise map_transport_error(exc, self.url, in_body=True) from exc
        self.nbytes += len(data)
        return data

    async def _wait(self, content: aiohttp.StreamReader) -> bytes:
        """Wait for bytes under our own idle limit. One watchdog timer per response, re-armed
        only when it fires, replaces a timer per read: a read costs a clock read, no more."""
        loop = asyncio.get_running_loop()
        task = self._waiter = asyncio.current_task()
        self._last = loop.time()  # a wait starts when nothing is buffered: the idle clock too
        if self._idle is not None and self._timer is None:
            self._timer = loop.call_at(self._last + self._idle, self._watch)
        try:
            data = await content.readany()
        except asyncio.CancelledError:
            stop, self._stop = self._stop, None
            if stop is None:
                raise  # a cancellation of the caller's, not ours
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()  # Python 3.11+: ours is handled here, not by a task group
            raise stop from None
        finally:
            self._waiter = None
        self._last = loop.time()
        self.nbytes += len(data)
        return data

    def _watch(self) -> None:
        """The idle watchdog: cancel a read that has waited ``idle`` seconds for bytes."""
        self._timer = None
        waiter, idle = self._waiter, self._idle
        if waiter is None or idle is None or self.finished:
            return  # armed again by the next wait
        loop = asyncio.get_running_loop()
        if loop.time() - self._last >= idle:
            self._stop = IdleTimeoutError(f"no data from {self.url} within {idle} s")
            waiter.cancel()
        else:
            self._timer = loop.call_at(self._last + idle, self._watch)

    async def read(self, limit: int) -> bytes | bytearray:
        """The whole body; :class:`ResponseTooLargeError` past ``limit`` bytes."""
        length = self._resp.content_length
        if length is not None and length > limit:
            raise ResponseTooLargeError(limit, self.url)
        body = bytearray()
        while data := await self.read_any():
            body += data
            if len(body) > limit:
                raise ResponseTooLargeError(limit, self.url)
        return body

    async def drain(self, grace: float) -> None:
        """After the last record: wait at most ``grace`` seconds (and 64 KiB) for the end of
        the body, so the connection can go back to the pool; a server holding the body open
        is not waited for."""
        content = self._resp.content
        if content.at_eof():
            return
        with anyio.move_on_after(grace):
            left = _DRAIN_LIMIT
            try:
                while left > 0 and (data := await content.readany()):
                    left -= len(data)
            except READ_ERRORS:
                pass

    def finish(self, *, final: Any = None, error: BaseException | None = None) -> None:
        """End the exchange: release or close the connection, write the audit record."""
        if self.finished:
            return
        self.finished = True
        self._transport._open.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        resp = self._resp
        if error is None and resp.content.at_eof() and not resp.content.exception():
            resp.release()
        else:
            resp.close()
        audit.record(self.url, model=self.model, status=self.status, final=final,
                     nbytes=self.nbytes, duration=time.monotonic() - self._started,
                     error=error)  # fmt: skip

    def abort(self, error: OllamaError) -> None:
        """Stop a read under way in another task: it raises ``error`` (used by ``aclose``)."""
        self._aborted = error
        if self._waiter is not None:
            self._stop = error
            self._waiter.cancel()
        self._resp.close()
