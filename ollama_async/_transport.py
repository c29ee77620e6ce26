"""The HTTP side: one owned or borrowed ``aiohttp.ClientSession``, sending, retries, error mapping.

Everything aiohttp can raise is turned into the library's error tree here, so the layers above
only ever see :class:`OllamaError` subclasses.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as _ssl
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from . import audit
from ._config import RetryPolicy, Timeouts, parse_retry_after
from ._errors import (
    ClientClosedError,
    ConnectionLostError,
    ConnectTimeoutError,
    IdleTimeoutError,
    IncompleteStreamError,
    InvalidRequestError,
    OllamaError,
    ProtocolError,
    ServerUnreachableError,
    TLSError,
    TotalTimeoutError,
    error_for_status,
)

__all__ = ["Transport", "map_transport_error"]

log = logging.getLogger("ollama_async")

_ERROR_BODY_LIMIT = 64 * 1024
_JSON = {"Content-Type": "application/json"}


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


_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def check_header(name: str, value: str) -> None:
    """Refuse header names and values that could split or smuggle a request.

    A name must be an HTTP token (RFC 9110: no space, colon or control character); a value
    must not hold CR, LF or NUL.
    """
    if any(c in value for c in "\r\n\0"):
        raise InvalidRequestError(f"headers[{name!r}]", "the value contains CR, LF or NUL")
    if not name or not set(name) <= _TOKEN_CHARS:
        raise InvalidRequestError(
            f"headers[{name!r}]", "the name must be an HTTP token (no space, colon or control)"
        )


class Transport:
    """Sends requests to one Ollama server and returns 2xx responses; owns the retry loop."""

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None,
        headers: Mapping[str, str],
        timeouts: Timeouts,
        retry: RetryPolicy,
        ssl: bool | _ssl.SSLContext,
        max_connections: int,
    ) -> None:
        for name, value in headers.items():
            check_header(name, value)
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

    @property
    def closed(self) -> bool:
        return self._closed

    def session(self) -> aiohttp.ClientSession:
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
        """Close the session if this transport created it; idempotent."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def request(
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
    ) -> aiohttp.ClientResponse:
        """Send a request and return the response once its status is 2xx.

        Connection failures and the retry policy's statuses are retried with backoff; a
        non-2xx answer raises the matching :class:`ResponseError` (``ok_statuses`` lists
        non-2xx statuses the caller handles itself, such as 404 for ``HEAD`` blob checks).
        """
        session = self.session()
        url = self.base_url + path
        policy = retry if retry is not None else self.retry
        timeout = client_timeout(timeouts) if timeouts is not None else None
        req_headers: dict[str, str] = dict(_JSON) if body is not None else {}
        if self._owns_session is False:
            req_headers.update(self._headers)
        if headers:
            for name, value in headers.items():
                check_header(name, value)
            req_headers.update(headers)
        payload = body if body is not None else data
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = timeout
        if not self._owns_session:
            extra["ssl"] = self._ssl
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                resp = await session.request(
                    method,
                    url,
                    data=payload,
                    headers=req_headers,
                    **extra,
                )
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                err = map_transport_error(exc, url)
                retryable = isinstance(
                    err, ServerUnreachableError | ConnectTimeoutError | ConnectionLostError
                ) and not isinstance(exc, aiohttp.ClientConnectorDNSError)  # TLSError: never
                if retryable and attempt < policy.retries and _replayable(payload):
                    await asyncio.sleep(policy.delay(attempt))
                    attempt += 1
                    continue
                audit.record(url, model=model, duration=time.monotonic() - started, error=err)
                raise err from exc
            status = resp.status
            log.debug("%s %s -> %d", method, path, status)
            if 200 <= status < 300 or status in ok_statuses:
                return resp
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            try:
                error_body = await resp.content.read(_ERROR_BODY_LIMIT)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                error_body = b""
            finally:
                resp.close()
            if status in policy.statuses and attempt < policy.retries and _replayable(payload):
                await asyncio.sleep(policy.delay(attempt, retry_after))
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


def client_timeout(t: Timeouts) -> aiohttp.ClientTimeout:
    """aiohttp's form of :class:`Timeouts`: the idle limit is its per-read ``sock_read``."""
    return aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.idle)
