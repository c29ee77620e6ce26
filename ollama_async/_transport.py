"""The HTTP boundary: the only module that imports aiohttp.

:class:`Transport` owns (or borrows) one ``aiohttp.ClientSession``, sends requests with
retries, and hands back a :class:`Response` of ours. Everything aiohttp can raise becomes the
library's error tree here, and every operation writes its one audit record here: a failure
before the body from :meth:`Transport.open`, everything else from :meth:`Response.finish`.
So no layer above sees aiohttp, and no operation can forget its audit record.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as _ssl
import time
from collections.abc import Mapping
from typing import Any, TypeVar

import aiohttp
import anyio
import msgspec
from aiohttp.http_exceptions import HttpProcessingError

from . import audit
from ._config import RetryPolicy, Timeouts, parse_retry_after
from ._credentials import scrub_exception
from ._errors import (
    DECODE_ERRORS,
    ClientClosedError,
    ConnectionLostError,
    ConnectTimeoutError,
    IdleTimeoutError,
    IncompleteStreamError,
    OllamaError,
    ProtocolError,
    ResponseTooLargeError,
    ServerUnreachableError,
    TLSError,
    TotalTimeoutError,
    decode_error,
    error_for_status,
)
from ._headers import check_header

__all__ = ["Response", "Session", "Transport"]

T = TypeVar("T")
Session = aiohttp.ClientSession
"""The session type a caller may lend to ``Client(session=...)``."""

log = logging.getLogger("ollama_async")

READ_ERRORS = (aiohttp.ClientError, HttpProcessingError, asyncio.TimeoutError)
_ERROR_BODY_LIMIT = 64 * 1024
_DRAIN_LIMIT = 64 * 1024
_JSON = {"Content-Type": "application/json"}
_encode = msgspec.json.Encoder().encode
_sleep = anyio.sleep  # the retry loop's wait; tests replace it to count the waits


def map_transport_error(exc: BaseException, url: str, *, in_body: bool = False) -> OllamaError:
    """Translate an aiohttp/asyncio exception into the library's error tree."""
    if isinstance(exc, OllamaError):
        return exc
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeoutError(f"connecting to {url} timed out")
    if isinstance(exc, aiohttp.ServerTimeoutError):  # sock_read: the idle limit
        return IdleTimeoutError(f"no data from {url} within the idle timeout")
    if isinstance(exc, asyncio.TimeoutError):
        return TotalTimeoutError(f"request to {url} exceeded the total timeout")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return TLSError(
            f"TLS verification failed for {url}: {exc}; pass Client(ssl=...) with an "
            "SSLContext that trusts the server's certificate"
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return ServerUnreachableError(url, "host name could not be resolved")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ServerUnreachableError(url, str(exc.os_error.strerror or exc.os_error))
    if isinstance(exc, HttpProcessingError):  # the pure-Python parser's framing errors
        return ProtocolError(f"invalid HTTP framing from {url}: {exc.message}")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return IncompleteStreamError(f"the response from {url} was cut off: {exc}")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        where = "in the middle of the response" if in_body else "before answering"
        cls = IncompleteStreamError if in_body else ConnectionLostError
        return cls(f"the server at {url} closed the connection {where}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return ProtocolError(f"invalid HTTP answer from {url}: {exc.message}")
    if isinstance(exc, aiohttp.ClientError):
        return ConnectionLostError(f"request to {url} failed: {exc}")
    raise exc


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
        if self._aborted is not None:
            raise self._aborted
        content = self._resp.content
        try:
            data = content.read_nowait()  # what is buffered already: no timer, no wait
            if data or content.at_eof():
                self.nbytes += len(data)
                return data
            return await self._wait(content)
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


class Transport:
    """Sends requests to one Ollama server and returns 2xx responses; owns the retry loop."""

    def __init__(
        self,
        base_url: str,
        *,
        session: Session | None,
        headers: Mapping[str, str],
        timeouts: Timeouts,
        retry: RetryPolicy,
        ssl: bool | _ssl.SSLContext,
        max_connections: int,
        secrets: tuple[str, ...] = (),
    ) -> None:
        for name, value in headers.items():
            check_header(name, value)
        self.secrets = secrets
        """Strings scrubbed from every error this transport raises (URL credentials)."""
        self.base_url = base_url
        self.timeouts = timeouts
        self.retry = retry
        self._headers = dict(headers)
        self._session = session
        self._owns_session = session is None
        self._ssl = ssl
        self._max_connections = max_connections
        self._closed = False
        self._client_timeout = _client_timeout(timeouts)
        self._open: set[Response] = set()

    @property
    def closed(self) -> bool:
        return self._closed

    def session(self) -> Session:
        """The session, created on first use (it needs a running event loop)."""
        if self._closed:
            raise ClientClosedError("this Client is closed; create a new one")
        session = self._session
        if session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ssl=self._ssl)
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._client_timeout,
                headers=self._headers,
                auto_decompress=True,
            )
            self._session = session
        return session

    async def aclose(self) -> None:
        """End every open response with :class:`ClientClosedError`, then close the session
        if this transport created it; idempotent."""
        if self._closed:
            return
        self._closed = True
        for resp in list(self._open):
            resp.abort(ClientClosedError("the client was closed while this answer was read"))
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def request_json(
        self,
        method: str,
        path: str,
        body: Any,
        type: type[T] | None,
        *,
        model: str = "",
        limit: int,
        timeouts: Timeouts | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        """One whole exchange: send ``body`` (encoded as JSON unless bytes or None), read the
        answer up to ``limit`` bytes and decode it as ``type`` (``None``: the body is read
        and dropped, and ``None`` returned)."""
        payload = body if body is None or isinstance(body, bytes) else _encode(body)
        resp = await self.open(
            method, path, payload, model=model, timeouts=timeouts, headers=headers
        )
        result: Any = None
        try:
            data = await resp.read(limit)
            try:
                if type is not None:
                    result = msgspec.json.decode(data, type=type)
            except DECODE_ERRORS as exc:
                raise decode_error(exc, data) from None
        except BaseException as exc:  # typed errors, and cancellation: the connection goes
            resp.finish(error=exc)
            raise
        resp.finish(final=result)
        return result  # type: ignore[no-any-return]

    async def open(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        model: str = "",
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> Response:
        """Send a request and return the response once its status is 2xx.

        Connection failures and the retry policy's statuses are retried with backoff; a
        non-2xx answer raises the matching :class:`ResponseError` (``ok_statuses`` lists
        non-2xx statuses the caller handles itself, such as 404 for ``HEAD`` blob checks).
        """
        session = self.session()
        url = self.base_url + path
        policy = retry if retry is not None else self.retry
        limits = timeouts if timeouts is not None else self.timeouts
        req_headers: dict[str, str] = dict(_JSON) if body is not None else {}
        if not self._owns_session:
            req_headers.update(self._headers)
        if headers:
            for name, value in headers.items():  # names compared without case: one each
                check_header(name, value)
                for same in [k for k in req_headers if k.lower() == name.lower()]:
                    del req_headers[same]
                req_headers[name] = value
        payload = body if body is not None else data
        extra: dict[str, Any] = {}
        if timeouts is not None:
            extra["timeout"] = _client_timeout(timeouts)
        if not self._owns_session:
            extra["ssl"] = self._ssl
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                resp = await session.request(
                    method, url, data=payload, headers=req_headers, **extra
                )
            except (aiohttp.ClientError, HttpProcessingError, asyncio.TimeoutError) as exc:
                err = map_transport_error(scrub_exception(exc, *self.secrets), url)
                retryable = isinstance(
                    err, ServerUnreachableError | ConnectTimeoutError | ConnectionLostError
                ) and not isinstance(exc, aiohttp.ClientConnectorDNSError)  # TLSError: never
                if retryable and attempt < policy.retries and _replayable(payload):
                    await _sleep(policy.delay(attempt))
                    attempt += 1
                    continue
                audit.record(url, model=model, duration=time.monotonic() - started, error=err)
                raise err from exc
            status = resp.status
            log.debug("%s %s -> %d", method, path, status)
            if 200 <= status < 300 or status in ok_statuses:
                answer = Response(resp, self, url, model, started, limits.idle)
                self._open.add(answer)
                return answer
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            try:
                error_body = await resp.content.read(_ERROR_BODY_LIMIT)
            except READ_ERRORS:
                error_body = b""
            finally:
                resp.close()
            if status in policy.statuses and attempt < policy.retries and _replayable(payload):
                await _sleep(policy.delay(attempt, retry_after))
                attempt += 1
                continue
            err = error_for_status(
                status,
                error_body,
                resp.headers.get("Content-Type", ""),
                url=url,
                model=model,
                retry_after=retry_after,
            )
            audit.record(url, model=model, status=status, nbytes=len(error_body),
                         duration=time.monotonic() - started, error=err)  # fmt: skip
            raise err


def _replayable(payload: Any) -> bool:
    """Bytes (or nothing) can be sent again; a file or generator body cannot."""
    return payload is None or isinstance(payload, bytes | bytearray | memoryview)


def _client_timeout(t: Timeouts) -> aiohttp.ClientTimeout:
    """aiohttp's form of :class:`Timeouts`: the idle limit is its per-read ``sock_read``."""
    return aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.idle)
