"""The HTTP boundary: the only package that imports aiohttp.

:class:`Transport` owns (or borrows) one ``aiohttp.ClientSession``, sends requests with
retries, and hands back a :class:`Response` of ours. Everything aiohttp can raise becomes the
library's error tree here, and every operation writes its one audit record here: a failure
before the body from :meth:`Transport.open`, everything else from :meth:`Response.finish`.
So no layer above sees aiohttp, and no operation can forget its audit record.
"""

from __future__ import annotations

import logging
import ssl as _ssl
import time
from collections.abc import Mapping
from typing import Any, TypeVar

import aiohttp
import anyio
import msgspec

from .. import audit
from .._config import RetryPolicy, Timeouts, parse_retry_after
from .._credentials import scrub_exception
from .._errors import (
    DECODE_ERRORS,
    ClientClosedError,
    ConnectionLostError,
    ConnectTimeoutError,
    ServerUnreachableError,
    decode_error,
    error_for_status,
)
from .._headers import check_header, set_header
from ._mapping import READ_ERRORS, client_timeout, map_transport_error
from ._response import Response

__all__ = ["READ_ERRORS", "Response", "Session", "Transport", "map_transport_error"]

T = TypeVar("T")
Session = aiohttp.ClientSession
"""The session type a caller may lend to ``Client(session=...)``."""

log = logging.getLogger("ollama_async")

_ERROR_BODY_LIMIT = 64 * 1024
_JSON = {"Content-Type": "application/json"}
_encode = msgspec.json.Encoder().encode
_sleep = anyio.sleep  # the retry loop's wait; tests replace it to count the waits


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
        self._client_timeout = client_timeout(timeouts)
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
            for name, value in headers.items():
                check_header(name, value)
                set_header(req_headers, name, value)
        payload = body if body is not None else data
        extra: dict[str, Any] = {}
        if timeouts is not None:
            extra["timeout"] = client_timeout(timeouts)
        if not self._owns_session:
            extra["ssl"] = self._ssl
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                resp = await session.request(
                    method, url, data=payload, headers=req_headers, **extra
                )
            except READ_ERRORS as exc:
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
