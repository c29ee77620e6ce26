"""FastAPI helpers under a real uvicorn on loopback, in front of the emulator."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from ollama_async.testing import Emulator  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sse_blocks(text: str) -> list[dict[str, str]]:
    """Server-sent events as the browser reads them: one dict of fields per block (a comment
    line is kept under ``":"``)."""
    blocks = []
    for raw in text.split("\n\n"):
        if not raw:
            continue
        block: dict[str, str] = {}
        for line in raw.split("\n"):
            name, _, value = line.partition(":")
            block[name or ":"] = value.removeprefix(" ")
        blocks.append(block)
    return blocks


def with_spec_version(app: Any, version: str) -> Any:
    """The app as a server speaking ASGI spec ``version`` would run it. From 2.4 on, Starlette
    stops listening for ``http.disconnect`` and relies on a failing send instead."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "asgi": {**scope.get("asgi", {}), "spec_version": version}}
        await app(scope, receive, send)

    return wrapped


@pytest.fixture
async def gateway(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, Emulator]]:
    """The example app under uvicorn, its Ollama being a slow emulator. Parametrized
    indirectly with an ASGI spec version to pretend ("native": uvicorn's own)."""
    emu = Emulator(tokens_per_second=20)
    url = await emu.start()
    monkeypatch.setenv("OLLAMA_HOST", url)
    from examples.fastapi_app import app

    spec = getattr(request, "param", "native")
    try:
        async with serving(app if spec == "native" else with_spec_version(app, spec)) as gw:
            yield gw, emu
    finally:
        await emu.close()


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """``app`` under uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_ndjson_passes_the_bytes_through(gateway: tuple[str, Emulator]) -> None:
    url, emu = gateway
    async with (
        aiohttp.ClientSession() as s,
        s.get(url + "/generate", params={"prompt": "hi", "model": "tiny"}) as r,
    ):
        assert r.headers["Content-Type"].startswith("application/x-ndjson")
        body = await r.read()
    lines = [json.loads(x) for x in body.splitlines()]
    assert lines[-1]["done"] is True and len(lines) == 25
    assert emu.requests[-1].completed


async def test_sse_events_end_with_done(gateway: tuple[str, Emulator]) -> None:
    url, _ = gateway
    async with (
        aiohttp.ClientSession() as s,
        s.get(url + "/sse", params={"prompt": "hi", "model": "tiny"}) as r,
    ):
        assert r.headers["Content-Type"].startswith("text/event-stream")
        text = (await r.read()).decode()
    blocks = sse_blocks(text)
    assert blocks[0] == {"retry": "60000", "id": "0"}  # sent before any data
    data = [b for b in blocks[1:] if "data" in b]
    assert data[-1] == {"data": "[DONE]"}
    assert [b["id"] for b in data[:-1]] == [str(i) for i in range(1, len(data))]
    assert all(isinstance(json.loads(b["data"]), str) for b in data[:-1])


@pytest.mark.parametrize("gateway", ["native", "2.4"], indirect=True)
@pytest.mark.parametrize("path", ["/generate", "/sse"])
async def test_client_disconnect_cancels_the_upstream_request_within_1s(
    gateway: tuple[str, Emulator], path: str
) -> None:
    url, emu = gateway
    async with aiohttp.ClientSession() as s:
        r = await s.get(url + path, params={"prompt": "hi", "model": "llama3.2"})
        await r.content.readany()  # the stream has started
        left_at = time.monotonic()
        r.close()  # the app's client goes away mid-stream
    deadline = left_at + 1.0
    while time.monotonic() < deadline and emu.in_flight:
        await asyncio.sleep(0.01)
    rec = emu.requests[-1]
    assert rec.client_disconnected and not rec.completed
    assert rec.ended is not None and rec.ended - left_at < 1.0


@pytest.mark.parametrize("path", ["/generate", "/sse", "/reply"])
async def test_example_answers_a_missing_model_with_404(
    gateway: tuple[str, Emulator], path: str
) -> None:
    url, emu = gateway
    async with (
        aiohttp.ClientSession() as s,
        s.get(url + path, params={"prompt": "hi", "model": "absent"}) as r,
    ):
        assert r.status == 404
        assert "absent" in (await r.json())["detail"]
    assert emu.requests[-1].model == "absent"


def test_import_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if FastAPI were not installed
    monkeypatch.delitem(sys.modules, "ollama_async.fastapi", raising=False)
    with pytest.raises(ImportError, match=r"ollama_async\[fastapi\]"):
        importlib.import_module("ollama_async.fastapi")


@pytest.mark.parametrize("gateway", ["native", "2.4"], indirect=True)
@pytest.mark.parametrize("path", ["/generate", "/sse"])
async def test_disconnect_while_the_model_is_silent_still_cancels_upstream(
    gateway: tuple[str, Emulator], path: str
) -> None:
    """Nothing is being sent when the client leaves (the model stalls after 2 chunks), so a
    failed send cannot reveal the disconnect: the response must listen for it."""
    from ollama_async.testing import Fault

    url, emu = gateway
    emu.inject(Fault(stall_after=2))  # then silent until the upstream client leaves
    async with aiohttp.ClientSession() as s:
        r = await s.get(url + path, params={"prompt": "hi", "model": "llama3.2"})
        await r.content.readany()
        await asyncio.sleep(0.3)  # the stall has begun
        left_at = time.monotonic()
        r.close()
    while time.monotonic() < left_at + 1.0 and emu.in_flight:
        await asyncio.sleep(0.01)
    rec = emu.requests[-1]
    assert rec.client_disconnected and not rec.completed
    assert rec.ended is not None and rec.ended - left_at < 1.0
