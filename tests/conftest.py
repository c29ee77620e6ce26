"""Shared fixtures: a real aiohttp.web server on loopback that streams Ollama-shaped chunks.

The server's behaviour is set per test through ``server.mode`` (and a few knobs); it records
every request and whether the client went away before the stream ended.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aioresponses.core
import pytest
from aiohttp import ClientResponse, web

from ollama_async import Client, RetryPolicy, Timeouts
from ollama_async.testing import Emulator


class _NoWriter:
    output_size = 0


class _CompatResponse(ClientResponse):
    """aiohttp 3.14 made ``stream_writer`` required; aioresponses 0.7.9 does not pass it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _NoWriter())
        super().__init__(*args, **kwargs)


if "stream_writer" in ClientResponse.__init__.__code__.co_varnames:
    aioresponses.core.ClientResponse = _CompatResponse  # type: ignore[misc]


def gen_line(i: int, text: str, model: str = "tiny") -> bytes:
    return (
        json.dumps(
            {
                "model": model,
                "created_at": "2026-11-22T15:27:54.065608323Z",
                "response": text,
                "done": False,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )


def chat_line(text: str, model: str = "tiny") -> bytes:
    return (
        json.dumps(
            {
                "model": model,
                "created_at": "2026-11-22T15:27:54.065608323Z",
                "message": {"role": "assistant", "content": text},
                "done": False,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )


def final_line(chat: bool, n: int, model: str = "tiny") -> bytes:
    body: dict[str, Any] = {
        "model": model,
        "created_at": "2026-11-22T15:27:54.072857799Z",
        "done": True,
        "done_reason": "stop",
        "total_duration": 11185957,
        "load_duration": 1424401,
        "prompt_eval_count": 14,
        "prompt_eval_duration": 355000,
        "eval_count": n,
        "eval_duration": 6982000,
    }
    if chat:
        body["message"] = {"role": "assistant", "content": ""}
    else:
        body["response"] = ""
        body["context"] = [1, 2, 3]
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def tokens_for(n: int) -> list[str]:
    words = ["The", " sky", " is", " blue", " \u0085because", " of", " Rayleigh", " ☁", "\n"]
    return [words[i % len(words)] for i in range(n)]


@dataclass
class Record:
    path: str
    body: Any
    headers: dict[str, str]
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    disconnected: bool = False
    completed: bool = False


class StreamServer:
    """A loopback server with controllable faults (see ``mode``)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.tokens = 12
        self.delay = 0.0  # seconds between chunks
        self.stall_after = 3  # chunks before a stall / cut
        self.records: list[Record] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.disconnect_event = asyncio.Event()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/generate", self._handle)
        app.router.add_post("/api/chat", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def disconnected(self) -> list[Record]:
        return [r for r in self.records if r.disconnected]

    async def wait_ended(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` requests have ended (completed or disconnected)."""
        deadline = time.monotonic() + timeout
        while sum(r.ended is not None for r in self.records) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only {sum(r.ended is not None for r in self.records)} of {count} ended"
                )
            await asyncio.sleep(0.01)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        rec = Record(request.path, body, dict(request.headers))
        self.records.append(rec)
        try:
            return await self._respond(request, rec, body or {})
        except (asyncio.CancelledError, ConnectionResetError):
            rec.disconnected = True
            self.disconnect_event.set()
            raise
        finally:
            rec.ended = time.monotonic()

    async def _respond(self, request: web.Request, rec: Record, body: dict[str, Any]) -> Any:
        mode = self.mode
        chat = request.path == "/api/chat"
        if mode == "404":
            model = body.get("model", "")
            return web.json_response({"error": f"model '{model}' not found"}, status=404)
        if mode == "500":
            return web.json_response({"error": "llama runner process has terminated"}, status=500)
        if mode == "stall_before_headers":
            await asyncio.sleep(3600)
        if body.get("stream") is False:
            text = "".join(tokens_for(self.tokens))
            final = json.loads(final_line(chat, self.tokens))
            if chat:
                final["message"]["content"] = text
            else:
                final["response"] = text
            rec.completed = True
            return web.json_response(final)
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        make = chat_line if chat else (lambda t: gen_line(0, t))
        for i, tok in enumerate(tokens_for(self.tokens)):
            if i == self.stall_after:
                if mode == "stall":
                    await asyncio.sleep(3600)
                if mode == "disconnect_between":
                    assert request.transport is not None
                    request.transport.close()
                    return resp
                if mode == "disconnect_mid_line":
                    line = make(tok)
                    await resp.write(line[: len(line) // 2])
                    assert request.transport is not None
                    request.transport.close()
                    return resp
                if mode == "error_line":
                    await resp.write(b'{"error":"the model runner crashed"}\n')
                    await resp.write_eof()
                    rec.completed = True
                    return resp
                if mode == "malformed":
                    await resp.write(b"this is not json\n")
                if mode == "huge_line":
                    await resp.write(b'{"response":"' + b"x" * (2 * 1024 * 1024) + b'"}\n')
                if mode == "no_done":
                    await resp.write_eof()
                    rec.completed = True
                    return resp
            await resp.write(make(tok))
            if self.delay:
                await asyncio.sleep(self.delay)
        await resp.write(final_line(chat, self.tokens))
        await resp.write_eof()
        rec.completed = True
        return resp


@pytest.fixture(autouse=True)
def no_acquired_connection_at_close(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """After every test: no client was closed while holding an acquired connection (a stream
    that was left without closing its response would show up here)."""
    from ollama_async._transport import Transport

    leaks: list[int] = []
    original = Transport.aclose

    async def checked_aclose(self: Transport) -> None:
        session = self._session
        if session is not None and not session.closed and session.connector is not None:
            # Answers still being read are ended by aclose itself (ClientClosedError).
            held = len(session.connector._acquired) - len(self._open)
            if held > 0:
                leaks.append(held)
        await original(self)

    monkeypatch.setattr(Transport, "aclose", checked_aclose)
    yield
    assert not leaks, f"clients closed while holding {leaks} acquired connection(s)"


@pytest.fixture
async def server() -> AsyncIterator[StreamServer]:
    srv = StreamServer()
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A started emulator (as fast as it goes)."""
    e = Emulator()
    await e.start()
    yield e
    await e.close()


def acquired(client: Client) -> int:
    """Connections the client's pool holds as in use (must be 0 between requests)."""
    session = client.transport._session
    if session is None or session.closed:
        return 0
    connector = session.connector
    assert connector is not None
    return len(connector._acquired)


@pytest.fixture
async def client(server: StreamServer) -> AsyncIterator[Client]:
    """A client on the loopback server; after the test, no connection may be left acquired."""
    async with Client(
        server.url, timeouts=Timeouts(connect=2, idle=2), retry=RetryPolicy(retries=0)
    ) as c:
        yield c
        await asyncio.sleep(0)  # let closed generators finalise
        assert acquired(c) == 0, "a connection was left acquired"
    gc.collect()
