"""Shared fixtures: the loopback emulator, a client on it, and Ollama-shaped lines.

Every test that needs a server uses ``ollama_async.testing.Emulator`` (scripted per test with
``add_response`` and faults); ``faultserver.py`` is kept for byte-level corruption only. The
aioresponses fix for aiohttp 3.14 ships in the pytest plugin (``patch_aioresponses``).
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ollama_async import Client, RetryPolicy, Timeouts
from ollama_async.testing import Emulator

from .faultserver import FaultServer


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
async def emu() -> AsyncIterator[Emulator]:
    """A started emulator (as fast as it goes), on the test's own loop. A test that scripted an
    answer and never requested it errors at teardown."""
    e = Emulator()
    await e.start()
    yield e
    await e.close()
    e.assert_all_responses_requested()


def acquired(client: Client) -> int:
    """Connections the client's pool holds as in use (must be 0 between requests)."""
    session = client.transport._session
    if session is None or session.closed:
        return 0
    connector = session.connector
    assert connector is not None
    return len(connector._acquired)


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[Client]:
    """A client on the emulator; after the test, no connection may be left acquired."""
    async with Client(
        emu.url, timeouts=Timeouts(connect=2, idle=2), retry=RetryPolicy(retries=0)
    ) as c:
        yield c
        await asyncio.sleep(0)  # let closed generators finalise
        assert acquired(c) == 0, "a connection was left acquired"
    gc.collect()


@pytest.fixture
async def fs() -> AsyncIterator[FaultServer]:
    """A started raw-socket server whose bytes each test scripts (``fs.script``)."""
    s = FaultServer()
    await s.start()
    yield s
    await s.close()
