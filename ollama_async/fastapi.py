"""FastAPI helpers: one client per app, and streaming responses that close upstream on leave.

Needs the extra: ``pip install 'ollama_async[fastapi]'``.

When the HTTP client of your app goes away mid-stream, the response closes the Ollama stream
at once, so Ollama stops generating. The responses listen for ``http.disconnect`` themselves
(whatever ASGI spec version the server speaks), so a client that leaves while the model is
silent (loading, reading a long prompt, between two slow tokens) is noticed at once too, not
at the next token.

Example::

    from fastapi import Depends, FastAPI
    from ollama_async import Client
    from ollama_async.fastapi import get_client, lifespan, ndjson_response

    app = FastAPI(lifespan=lifespan())

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

try:
    from fastapi import FastAPI, Request
    from starlette.responses import StreamingResponse
    from starlette.types import Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "ollama_async.fastapi needs FastAPI: pip install 'ollama_async[fastapi]'"
    ) from exc

import msgspec

from ._client import Client

__all__ = ["get_client", "lifespan", "ndjson_response", "sse_response"]

_encode = msgspec.json.Encoder().encode


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


async def _bytes(stream: Any) -> AsyncIterator[bytes]:
    try:
        async for data in stream:
            yield data
    finally:
        await stream.aclose()  # the app's client left, or the stream ended: close upstream


class _UpstreamResponse(StreamingResponse):
    """A StreamingResponse that closes its Ollama stream when it ends, however it ends.

    Starlette (for ASGI spec >= 2.4) notices a departed client only when a send fails, and then
    abandons the body iterator without closing it. Here the body runs beside a listener for
    ``http.disconnect``; whichever finishes first cancels the other, and the Ollama stream and
    the body iterator are closed before ``__call__`` returns.
    """

    def __init__(self, stream: Any, content: AsyncIterator[bytes], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._upstream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as tg:

                async def body() -> None:
                    # OSError: the client left and the server said so on a send.
                    with contextlib.suppress(OSError):
                        await self.stream_response(send)
                    tg.cancel_scope.cancel()

                tg.start_soon(body)
                while (await receive())["type"] != "http.disconnect":
                    pass
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._upstream.aclose()
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
        if self.background is not None:
            await self.background()


def ndjson_response(stream: Any, *, status_code: int = 200) -> StreamingResponse:
    """Relay a :meth:`Client.stream_bytes` stream untouched as ``application/x-ndjson``.

    Example::

        return ndjson_response(client.stream_bytes("llama3.2", prompt=prompt))
    """
    return _UpstreamResponse(
        stream, _bytes(stream), status_code=status_code, media_type="application/x-ndjson"
    )


async def _events(stream: Any) -> AsyncIterator[bytes]:
    try:
        async for item in stream:
            payload = _encode(item)
            yield b"data: " + payload + b"\n\n"
        yield b"data: [DONE]\n\n"
    finally:
        await stream.aclose()


def sse_response(stream: Any, *, status_code: int = 200) -> StreamingResponse:
    """Serve a typed or token stream as server-sent events (``data: <json>``, then
    ``data: [DONE]``). Tokens become JSON strings, chunks JSON objects.

    Example::

        return sse_response(client.stream_tokens("llama3.2", prompt=prompt))
    """
    return _UpstreamResponse(
        stream,
        _events(stream),
        status_code=status_code,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
