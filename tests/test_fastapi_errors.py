"""FastAPI helpers when Ollama fails: HTTP errors before the first byte, error records after
it, keep-alive pings, no rerun on reconnect. A real uvicorn on loopback, the emulator behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

pytest.importorskip("fastapi")

from fastapi import FastAPI
from starlette.responses import JSONResponse, StreamingResponse

from examples.fastapi_app import OllamaClient, create_app
from ollama_async import RetryPolicy, Timeouts
from ollama_async.fastapi import OllamaHTTPException, sse_response
from ollama_async.testing import Emulator, Fault

from .test_fastapi import free_port, serving, sse_blocks

PATHS = ["/generate", "/sse", "/reply"]


def make_app(host: str, *, ping: float | None = 15.0, **client_kwargs: Any) -> FastAPI:
    """The example gateway before ``host``, failing fast (no retries)."""
    return create_app(host, ping=ping, retry=RetryPolicy(retries=0), **client_kwargs)


@pytest.fixture
async def upstream() -> AsyncIterator[Emulator]:
    e = Emulator()
    await e.start()
    try:
        yield e
    finally:
        await e.close()


async def get(url: str, **params: str) -> tuple[int, dict[str, str], bytes]:
    headers = {k.replace("_", "-"): v for k, v in params.items() if k[0].isupper()}
    query = {k: v for k, v in params.items() if not k[0].isupper()}
    async with aiohttp.ClientSession() as s, s.get(url, params=query, headers=headers) as r:
        return r.status, dict(r.headers), await r.read()


@pytest.mark.parametrize("path", PATHS)
async def test_missing_model_is_a_404_naming_it(upstream: Emulator, path: str) -> None:
    async with serving(make_app(upstream.url)) as gw:
        status, headers, body = await get(gw + path, model="no-such-model", prompt="hi")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert "no-such-model" in json.loads(body)["detail"]


@pytest.mark.parametrize("path", PATHS)
async def test_unreachable_ollama_is_a_502_without_its_address(path: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with serving(make_app(dead)) as gw:
        status, _, body = await get(gw + path, model="tiny", prompt="hi")
    assert status == 502
    assert json.loads(body) == {"detail": "Ollama is unreachable"}


@pytest.mark.parametrize("path", PATHS)
async def test_ollama_too_slow_to_answer_is_a_504(upstream: Emulator, path: str) -> None:
    upstream.inject(Fault(latency=2.0))
    async with serving(make_app(upstream.url, timeouts=Timeouts(idle=0.2))) as gw:
        status, _, body = await get(gw + path, model="tiny", prompt="hi")
    assert status == 504
    assert json.loads(body) == {"detail": "Ollama did not answer in time"}


async def test_a_rate_limit_keeps_its_status_and_retry_after(upstream: Emulator) -> None:
    busy = json.dumps({"error": "server busy, please try again"})
    upstream.inject(Fault(status=429, body=busy, headers={"Retry-After": "3"}))
    async with serving(make_app(upstream.url)) as gw:
        status, headers, body = await get(gw + "/sse", model="tiny", prompt="hi")
    assert (status, headers["Retry-After"]) == (429, "3")
    assert json.loads(body) == {"detail": "server busy, please try again"}


async def test_the_apps_own_handler_sees_the_error(upstream: Emulator) -> None:
    app = make_app(upstream.url)
    seen: list[OllamaHTTPException] = []

    @app.exception_handler(OllamaHTTPException)
    async def reshape(request: Any, exc: OllamaHTTPException) -> JSONResponse:
        seen.append(exc)
        return JSONResponse({"problem": exc.detail}, status_code=exc.status_code)

    async with serving(app) as gw:
        status, _, body = await get(gw + "/generate", model="no-such-model", prompt="hi")
    assert status == 404 and "no-such-model" in json.loads(body)["problem"]
    assert type(seen[0].error).__name__ == "ModelNotFoundError"


async def test_an_error_mid_stream_is_an_sse_error_event(upstream: Emulator) -> None:
    upstream.inject(Fault(error_after=3, error_message="CUDA error: out of memory"))
    async with serving(make_app(upstream.url)) as gw:
        status, _, body = await get(gw + "/sse", model="tiny", prompt="hi")
    assert status == 200
    blocks = sse_blocks(body.decode())
    assert len([b for b in blocks if "id" in b and "data" in b]) == 3
    assert blocks[-1]["event"] == "error"
    error = json.loads(blocks[-1]["data"])
    assert error == {"error": "CUDA error: out of memory", "type": "StreamError"}
    assert not any(b.get("data") == "[DONE]" for b in blocks)


async def test_a_cut_mid_line_ends_ndjson_with_an_error_line(upstream: Emulator) -> None:
    upstream.inject(Fault(disconnect_mid_line=3))
    async with serving(make_app(upstream.url)) as gw:
        status, _, body = await get(gw + "/generate", model="tiny", prompt="hi")
    assert status == 200
    lines = body.decode().splitlines()
    assert len(lines) == 5  # three whole chunks, the half line, the error
    assert [json.loads(x)["done"] for x in lines[:3]] == [False] * 3
    assert json.loads(lines[-1]) == {
        "error": "the connection to Ollama was lost",
        "type": "IncompleteStreamError",
    }


async def test_ollamas_own_error_line_is_relayed_once(upstream: Emulator) -> None:
    upstream.inject(Fault(error_after=2, error_message="model crashed"))
    async with serving(make_app(upstream.url)) as gw:
        _, _, body = await get(gw + "/generate", model="tiny", prompt="hi")
    lines = [json.loads(x) for x in body.splitlines()]
    assert len(lines) == 3 and lines[-1] == {"error": "model crashed"}


async def test_pings_while_the_model_loads_and_between_tokens(upstream: Emulator) -> None:
    upstream.inject(Fault(latency=0.5, stall_after=3, stall_seconds=0.5))
    async with serving(make_app(upstream.url, ping=0.05)) as gw:
        status, _, body = await get(gw + "/sse", model="tiny", prompt="hi")
    assert status == 200
    kinds = [
        "ping" if ":" in b else "data" if "data" in b else "open" for b in sse_blocks(body.decode())
    ]
    assert kinds[0] == "open"
    first_data = kinds.index("data")
    assert "ping" in kinds[1:first_data]  # while Ollama had not answered
    assert "ping" in kinds[first_data + 3 :]  # during the stall after three tokens
    assert kinds[-1] == "data"
    assert all(b[":"] == "ping" for b in sse_blocks(body.decode()) if ":" in b)


async def test_a_failure_after_the_first_ping_is_an_error_event(upstream: Emulator) -> None:
    upstream.inject(Fault(latency=0.5, status=404, body='{"error": "model \\"x\\" not found"}'))
    async with serving(make_app(upstream.url, ping=0.05)) as gw:
        status, _, body = await get(gw + "/sse", model="tiny", prompt="hi")
    assert status == 200  # the pings went out: the status had to go first
    last = sse_blocks(body.decode())[-1]
    assert last["event"] == "error"
    assert json.loads(last["data"])["type"] == "ModelNotFoundError"


async def test_a_reconnect_gets_204_and_never_reruns_the_generation(upstream: Emulator) -> None:
    async with serving(make_app(upstream.url)) as gw:
        status, _, body = await get(gw + "/sse", model="tiny", prompt="hi", Last_Event_ID="7")
    assert (status, body) == (204, b"")
    assert upstream.requests == []


@pytest.mark.parametrize("path", ["/generate", "/sse"])
async def test_leaving_before_the_status_closes_upstream(upstream: Emulator, path: str) -> None:
    """The client gives up while Ollama has not answered (a model loading): nothing has been
    sent yet, and the Ollama request must end all the same."""
    upstream.inject(Fault(latency=30.0))
    async with serving(make_app(upstream.url, ping=None)) as gw:
        waiting = asyncio.create_task(get(gw + path, model="tiny", prompt="hi"))
        while not upstream.in_flight:
            await asyncio.sleep(0.01)
        waiting.cancel()  # the app's client leaves
        left_at = time.monotonic()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        while upstream.in_flight and time.monotonic() < left_at + 1.0:
            await asyncio.sleep(0.01)
    rec = upstream.requests[-1]
    assert rec.client_disconnected and not rec.completed
    assert rec.ended is not None and rec.ended - left_at < 1.0


async def test_an_app_failure_mid_stream_is_an_anonymous_error_event(
    upstream: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(upstream.url)

    @app.get("/shout")
    async def shout(client: OllamaClient) -> StreamingResponse:
        async def upper() -> AsyncIterator[str]:
            async for piece in client.stream_tokens("tiny", prompt="hi"):
                yield piece.upper()
                raise KeyError("secret-internal-detail")

        return sse_response(upper())

    async with serving(app) as gw:
        status, _, body = await get(gw + "/shout")
    assert status == 200
    last = sse_blocks(body.decode())[-1]
    assert last["event"] == "error" and "secret" not in last["data"]
    assert json.loads(last["data"]) == {"error": "internal error", "type": "InternalError"}
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
