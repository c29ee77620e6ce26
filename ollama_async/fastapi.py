"""FastAPI helpers: one client per app, and streaming responses that behave like HTTP.

Needs the extra: ``pip install 'ollama_async[fastapi]'``.

- **Errors before the first byte are HTTP errors.** A response opens the Ollama stream and
  waits for its first chunk before it sends a status, so a missing model answers ``404``
  (naming the model), an unreachable Ollama ``502``, a timeout ``504``, Ollama's own refusals
  their status. They are raised as :class:`OllamaHTTPException` (a FastAPI
  ``HTTPException``), which the app's exception handlers see like any other.
- **Errors after it are part of the body,** never a silent cut: server-sent events end with
  ``event: error``, NDJSON with an ``{"error": …}`` line.
- **Server-sent events keep the connection alive** with ``: ping`` comment lines while the
  model loads or is silent between tokens, and never run a generation twice: a browser's
  ``EventSource`` that reconnects sends ``Last-Event-ID`` and gets ``204 No Content``, which
  tells it to stop.
- **A client that leaves closes the Ollama stream at once**, so Ollama stops generating. The
  responses listen for ``http.disconnect`` themselves (whatever ASGI spec version the server
  speaks), so a client that leaves while the model is silent is noticed at once too.

Example::

    from fastapi import Depends, FastAPI
    from ollama_async import Client, OllamaError
    from ollama_async.fastapi import (
        get_client, lifespan, ndjson_response, ollama_exception_handler,
    )

    app = FastAPI(lifespan=lifespan())
    app.add_exception_handler(OllamaError, ollama_exception_handler)  # for non-stream calls

    @app.get("/generate")
    async def generate(prompt: str, client: Client = Depends(get_client)):
        return ndjson_response(client.stream_bytes("llama3.2", prompt=prompt))
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import msgspec

try:
    from fastapi import FastAPI, Request
    from starlette.responses import Response, StreamingResponse
    from starlette.types import Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "ollama_async.fastapi needs FastAPI: pip install 'ollama_async[fastapi]'"
    ) from exc

from ._client import Client
from ._errors import OllamaError, StreamError
from ._fastapi_errors import (
    OllamaHTTPException,
    error_record,
    http_exception,
    ollama_exception_handler,
    public_message,
    status_for,
)

__all__ = [
    "OllamaHTTPException",
    "get_client",
    "http_exception",
    "lifespan",
    "ndjson_response",
    "ollama_exception_handler",
    "public_message",
    "sse_response",
    "status_for",
]

_encode = msgspec.json.Encoder().encode
_ITEM, _FAILED, _END = 0, 1, 2


def lifespan(
    host: str | None = None, **client_kwargs: Any
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan that opens one :class:`Client` for the app and closes it at exit.

    Example::

        app = FastAPI(lifespan=lifespan("http://127.0.0.1:11434"))
    """

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Client(host, **client_kwargs) as client:
            app.state.ollama_client = client
            yield

    return _lifespan


def get_client(request: Request) -> Client:
    """A FastAPI dependency: the app's client (opened by :func:`lifespan`).

    Example::

        async def handler(client: Client = Depends(get_client)): ...
    """
    client: Client = request.app.state.ollama_client
    return client


class _UpstreamResponse(StreamingResponse):
    """Relays an Ollama stream: the status once the first chunk (or failure) is in, the body,
    then a closing record; closes the Ollama stream however it ends.

    The stream is read by a task of its own and handed over through a channel, so the relay
    can wait for it with a deadline (the ping interval) without cancelling a read. A third
    task listens for ``http.disconnect``: whichever ends first cancels the others.
    """

    def __init__(
        self,
        stream: Any,
        *,
        sse: bool,
        ping: float | None,
        retry_ms: int | None,
        status_code: int,
        media_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(stream, status_code=status_code, headers=headers, media_type=media_type)
        self._upstream = stream
        self._sse = sse
        self._ping = ping if sse and ping else None  # None: wait as long as it takes
        self._retry_ms = retry_ms
        self._events = 0
        self._raw = False  # the last item was bytes, passed through as they came
        self._line_open = False  # the bytes sent so far end inside a line

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._sse and any(k == b"last-event-id" for k, _ in scope.get("headers", ())):
            # An EventSource reconnecting: the generation already ran once; 204 stops it.
            await _aclose(self._upstream)
            await Response(status_code=204)(scope, receive, send)
            return
        failure: BaseException | None = None
        items, inbox = anyio.create_memory_object_stream[tuple[int, Any]](0)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._read, items)
                tg.start_soon(_watch, receive, tg.cancel_scope)
                with contextlib.suppress(OSError):  # the client left: the watcher says so too
                    failure = await self._relay(inbox, send)
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await _aclose(self._upstream)
        if failure is not None:
            raise failure  # no status sent yet: the app's exception handlers answer
        if self.background is not None:
            await self.background()

    async def _read(self, items: Any) -> None:
        # Broken: the relay stopped listening (the client left); the cancel is on its way.
        with contextlib.suppress(anyio.BrokenResourceError):
            await self._forward(items)

    async def _forward(self, items: Any) -> None:
        async with items:
            try:
                async for item in self._upstream:
                    await items.send((_ITEM, item))
            except Exception as exc:
                await items.send((_FAILED, exc))
            else:
                await items.send((_END, None))

    async def _relay(self, inbox: Any, send: Send) -> BaseException | None:
        """Send the status, body and end; or return the failure to raise before any byte."""
        started = False
        async with inbox:
            while True:
                with anyio.move_on_after(self._ping) as silence:
                    kind, value = await inbox.receive()
                if not started:
                    if not silence.cancelled_caught and kind == _FAILED:
                        return _before_status(value)
                    await send(
                        {"type": "http.response.start", "status": self.status_code,
                         "headers": self.raw_headers}
                    )  # fmt: skip
                    started = True
                    if self._sse:
                        await _body(send, self._opening())
                if silence.cancelled_caught:
                    await _body(send, b": ping\n\n")
                elif kind == _ITEM:
                    await _body(send, self._record(value))
                else:
                    await _body(send, self._closing(value if kind == _FAILED else None))
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return None

    def _opening(self) -> bytes:
        # id 0 at once: from now on a reconnecting browser sends Last-Event-ID (see __call__).
        retry = f"retry: {self._retry_ms}\n" if self._retry_ms is not None else ""
        return f"{retry}id: 0\n\n".encode()

    def _record(self, item: Any) -> bytes:
        if self._sse:
            self._events += 1
            return b"id: %d\ndata: %s\n\n" % (self._events, _encode(item))
        self._raw = isinstance(item, bytes | bytearray | memoryview)
        data = bytes(item) if self._raw else _encode(item) + b"\n"
        self._line_open = not data.endswith(b"\n")
        return data

    def _closing(self, error: BaseException | None) -> bytes:
        if self._sse:
            if error is None:
                return b"data: [DONE]\n\n"
            return b"event: error\ndata: %s\n\n" % _encode(error_record(error))
        if error is None or (isinstance(error, StreamError) and self._raw):
            return b""  # Ollama's own {"error": …} line has gone through already
        return (b"\n" if self._line_open else b"") + _encode(error_record(error)) + b"\n"


def _before_status(error: BaseException) -> BaseException:
    return OllamaHTTPException(error) if isinstance(error, OllamaError) else error


async def _body(send: Send, data: bytes) -> None:
    if data:
        await send({"type": "http.response.body", "body": data, "more_body": True})


async def _watch(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _aclose(stream: Any) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def ndjson_response(stream: Any, *, status_code: int = 200) -> StreamingResponse:
    """Relay a :meth:`Client.stream_bytes` stream untouched as ``application/x-ndjson``.

    The status waits for Ollama's first chunk: a failure before it raises
    :class:`OllamaHTTPException`; a failure after it ends the body with an
    ``{"error": "…", "type": "…"}`` line (a cut mid-line gets its newline first), unless
    Ollama sent its own ``{"error": …}`` line, which is relayed as it came. Typed chunks (not
    bytes) are sent one JSON object a line.

    Example::

        return ndjson_response(client.stream_bytes("llama3.2", prompt=prompt))
    """
    return _UpstreamResponse(
        stream,
        sse=False,
        ping=None,
        retry_ms=None,
        status_code=status_code,
        media_type="application/x-ndjson",
    )


def sse_response(
    stream: Any, *, status_code: int = 200, ping: float | None = 15.0, retry_ms: int | None = 60_000
) -> StreamingResponse:
    """Serve a typed or token stream as server-sent events: ``data: <json>`` per item (tokens
    as JSON strings, chunks as objects), then ``data: [DONE]``, or ``event: error`` with
    ``{"error": "…", "type": "…"}`` when the stream fails.

    The status waits for Ollama's first chunk, or ``ping`` seconds if that comes first (a
    model loading): then ``200`` goes out and ``: ping`` comments keep the connection alive
    through every silence of ``ping`` seconds; a failure after that is an ``event: error``.
    ``retry_ms`` is sent as ``retry:`` (how long a browser waits before reconnecting) and
    every event carries an ``id:``, so a reconnect brings ``Last-Event-ID`` and is answered
    ``204``: the generation never runs twice. ``ping=None`` turns pings off.

    Example::

        return sse_response(client.stream_tokens("llama3.2", prompt=prompt))
    """
    return _UpstreamResponse(
        stream,
        sse=True,
        ping=ping,
        retry_ms=retry_ms,
        status_code=status_code,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
