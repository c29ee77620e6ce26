"""aiohttp's exceptions, mapped once onto the library's error tree (part of the transport)."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

from .._config import Timeouts
from .._errors import (
    ConnectionLostError,
    ConnectTimeoutError,
    IdleTimeoutError,
    IncompleteStreamError,
    OllamaError,
    ProtocolError,
    ServerUnreachableError,
    TLSError,
    TotalTimeoutError,
)

__all__ = ["READ_ERRORS", "client_timeout", "map_transport_error"]

READ_ERRORS = (aiohttp.ClientError, HttpProcessingError, asyncio.TimeoutError)
"""What reading an aiohttp response can raise."""


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


def client_timeout(t: Timeouts) -> aiohttp.ClientTimeout:
    """aiohttp's form of :class:`Timeouts`: the idle limit is its per-read ``sock_read``."""
    return aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.idle)
