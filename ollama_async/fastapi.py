"""FastAPI helpers: one client per app, and streaming responses that close upstream on leave.

Needs the extra: ``pip install 'ollama_async[fastapi]'``.

When the HTTP client of your app goes away mid-stream, Starlette stops the response; the
body iterators here then close the Ollama stream at once, so Ollama stops generating.

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

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

try:
    from fastapi import FastAPI, Request
    from starlette.responses import StreamingResponse
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


def ndjson_response(stream: Any, *, status_code: int = 200) -> StreamingResponse:
    """Relay a :meth:`Client.stream_bytes` stream untouched as ``application/x-ndjson``.

    Example::

        return ndjson_response(client.stream_bytes("llama3.2", prompt=prompt))
    """
    return StreamingResponse(
        _bytes(stream), status_code=status_code, media_type="application/x-ndjson"
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
    return StreamingResponse(
        _events(stream),
        status_code=status_code,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
