"""Sending through the native transport: whole JSON answers, progress, and ollama.com.

The drop-in builds its own bodies (the official shape), so it sends them with the native
transport's ``request_json`` and ``open`` and reads them with the native streams.
"""

from __future__ import annotations

import os
import ssl as _ssl
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any, TypeVar

import msgspec

from .._client import Client
from .._config import Timeouts
from .._errors import StreamError
from .._progress import ProgressStream
from .._streams import ChunkStream
from .._transport import Response
from ._answers import ProgressResponse, from_native
from ._errors import RequestError, StreamResponseError

__all__ = [
    "WEB_HOST",
    "Parts",
    "WebClient",
    "native_client",
    "no_unexpected",
    "post_json",
    "progress",
    "timeouts",
]

T = TypeVar("T")
WEB_HOST = "https://ollama.com"


async def post_json(client: Client, path: str, body: Mapping[str, Any], type: type[T]) -> T:
    """POST ``body`` and decode the whole answer into ``type`` (read up to the client's
    ``max_response_bytes``; audited by the transport)."""
    return await client.transport.request_json(
        "POST", path, dict(body), type, model=str(body.get("model", "")),
        limit=client.max_response_bytes,
    )  # fmt: skip


async def progress(
    client: Client, path: str, body: dict[str, Any], stream: bool, *, resume: bool
) -> Any:
    """Pull, push or create: the one answer (``"stream": false``), or an async iterator of
    progress parts over the native ``ProgressStream``."""
    if not stream:
        answer = await post_json(client, path, body, ProgressResponse)
        error = getattr(answer, "error", None)
        if error:
            raise StreamResponseError(error)
        return answer
    transport = client.transport
    transport.session()
    payload = msgspec.json.encode(body)

    async def opener() -> Response:
        return await transport.open("POST", path, payload, model=body["model"])

    parts = ProgressStream(
        opener,
        transport.base_url + path,
        client.max_line_bytes,
        resume=resume,
        retry=transport.retry,
        model=body["model"],
    )
    return _progress_parts(parts)


async def _progress_parts(parts: ProgressStream) -> AsyncIterator[ProgressResponse]:
    try:
        async for part in parts:
            yield from_native(part, ProgressResponse)
    except StreamError as exc:
        raise StreamResponseError(exc.error) from None
    finally:
        await parts.aclose()


class WebClient:
    """A native client for ollama.com's web search and fetch, made on first use; it needs
    a bearer token (``OLLAMA_API_KEY`` or an explicit Authorization header)."""

    def __init__(self, headers: Mapping[str, str], what: str) -> None:
        explicit = {k.lower(): v for k, v in headers.items()}
        token = explicit.get("authorization") or (
            f"Bearer {os.environ['OLLAMA_API_KEY']}" if os.environ.get("OLLAMA_API_KEY") else ""
        )
        if not token.startswith("Bearer "):
            raise RequestError(
                f"Authorization header with Bearer token is required for {what}", "headers"
            )
        host = os.environ.get("OLLAMA_WEB_HOST", WEB_HOST)  # tests point it at loopback
        self.client = Client(host, headers=headers)

    async def aclose(self) -> None:
        """Close its session."""
        await self.client.aclose()


def timeouts(timeout: Any) -> Timeouts | None:
    """The official ``timeout`` (None, seconds, or an httpx.Timeout-like) as ours."""
    if timeout is None or isinstance(timeout, Timeouts):
        return timeout
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        return Timeouts(connect=timeout, idle=timeout, total=None)
    connect, read = getattr(timeout, "connect", None), getattr(timeout, "read", None)
    if connect is None and read is None and not hasattr(timeout, "read"):
        raise RequestError("must be None, seconds or an httpx.Timeout", "timeout")
    return Timeouts(connect=connect, idle=read, total=None)


def no_unexpected(method: str, unexpected: dict[str, Any]) -> None:
    if unexpected:
        raise TypeError(f"{method}() got an unexpected keyword argument {next(iter(unexpected))!r}")


class Parts(ChunkStream[Any]):
    """The native ``ChunkStream`` (no layer per part): an ``{"error": …}`` part raises
    :class:`StreamResponseError`, a ``ResponseError`` as in the official client. ``async
    for`` gets a fresh iterator each time it starts, so a held stream left by ``break``
    still closes its connection; ``anext(parts)`` works too, as on the official client's
    async generator."""

    __slots__ = ("_next",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._next: AsyncIterator[Any] | None = None

    def _fail(self, exc: Any) -> Any:  # the engine's one exit for errors (core hook wanted)
        if isinstance(exc, StreamError) and not isinstance(exc, StreamResponseError):
            exc = StreamResponseError(exc.error)
        return super()._fail(exc)

    def __anext__(self) -> Awaitable[Any]:
        if self._next is None:
            self._next = super().__aiter__()
        return self._next.__anext__()

    def __aiter__(self) -> AsyncIterator[Any]:
        if self._next is None:
            return super().__aiter__()
        return self._rest(self._next)  # after anext(): go on from there

    async def _rest(self, parts: AsyncIterator[Any]) -> AsyncIterator[Any]:
        try:
            async for part in parts:
                yield part
        finally:
            await self.aclose()


_NATIVE_KWARGS = ("api_key", "retry", "timeouts", "max_connections", "session", "max_line_bytes")


def native_client(
    host: str | None, timeout: Any, headers: Mapping[str, str] | None, kwargs: dict[str, Any]
) -> Client:
    """The native client for the official constructor's arguments: ``timeout`` as ours,
    httpx's ``verify`` as ``ssl``; the native keyword arguments pass through."""
    verify = kwargs.pop("verify", True)
    if isinstance(verify, str):
        verify = _ssl.create_default_context(cafile=verify)
    native = {k: kwargs.pop(k) for k in _NATIVE_KWARGS if k in kwargs}
    if kwargs:
        raise TypeError(
            f"AsyncClient() got unsupported httpx arguments {sorted(kwargs)}; supported: "
            f"host, headers, timeout, follow_redirects, verify, {', '.join(_NATIVE_KWARGS)}"
        )
    given = timeouts(timeout) or native.pop("timeouts", None)
    return Client(host, headers=headers, timeouts=given, ssl=verify, **native)
