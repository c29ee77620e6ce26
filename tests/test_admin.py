"""Model management, structured outputs, tools, retries, and the manager, on the emulator."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import sys
import tracemalloc
from pathlib import Path

import msgspec
import pytest

from ollama_async import (
    Client,
    IncompleteStreamError,
    InvalidRequestError,
    InvalidResponseError,
    RetryPolicy,
    ServerUnreachableError,
)
from ollama_async._models import file_digest
from ollama_async.manage import OllamaManager, normalize_model_name, parse_model_name, same_model
from ollama_async.testing import Emulator, Fault

from .conftest import acquired

ROOT = Path(__file__).resolve().parents[1]


def get_weather(city: str, days: int = 1) -> str:
    """Weather forecast for a city.

    Args:
        city: The city's name.
        days: How many days ahead.
    """
    return "sunny"


async def test_tools_from_plain_functions_and_typed_calls(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        reply = await c.chat(
            "llama3.2", [{"role": "user", "content": "weather in Paris?"}], tools=[get_weather]
        )
    sent = emu.requests[-1].json["tools"][0]
    assert sent["type"] == "function"
    fn = sent["function"]
    assert fn["name"] == "get_weather" and fn["description"] == "Weather forecast for a city."
    assert fn["parameters"]["required"] == ["city"]
    assert fn["parameters"]["properties"]["days"] == {
        "type": "integer",
        "description": "How many days ahead.",
    }
    assert reply.message.tool_calls is not None
    call = reply.message.tool_calls[0].function
    assert call.name == "get_weather" and call.arguments["city"] == "Paris"


async def test_format_as_a_struct_type_decodes_the_answer(emu: Emulator) -> None:
    class Answer(msgspec.Struct):
        answer: str

    class Wrong(msgspec.Struct):
        population: int

    async with Client(emu.url) as c:
        r = await c.generate("llama3.2", "json please", format=Answer)
        assert isinstance(r.parsed, Answer) and r.parsed.answer
        assert emu.requests[-1].json["format"]["required"] == ["answer"]
        chat = await c.chat("llama3.2", [{"role": "user", "content": "x"}], format=Answer)
        assert isinstance(chat.parsed, Answer)
        with pytest.raises(InvalidResponseError) as info:
            await c.generate("llama3.2", "json please", format=Wrong)
        assert "population" in str(info.value)


async def test_a_lost_pull_is_resumed_and_progress_goes_on(emu: Emulator) -> None:
    emu.inject(Fault(disconnect_after=6), model="example/resumable", times=1)
    async with Client(emu.url, retry=RetryPolicy(retries=2, backoff=0.01)) as c:
        pull = c.pull("example/resumable")
        seen = [p async for p in pull]
        assert pull.resumed == 1 and pull.final is not None
        assert pull.progress.percent == 100.0
        assert [p.status for p in seen].count("pulling manifest") == 2
        assert acquired(c) == 0
    assert len([r for r in emu.requests if r.path == "/api/pull"]) == 2


async def test_a_pull_gives_up_after_the_retry_limit(emu: Emulator) -> None:
    emu.inject(Fault(disconnect_after=2), model="example/flaky", times=None)
    async with Client(emu.url, retry=RetryPolicy(retries=1, backoff=0.01)) as c:
        with pytest.raises(IncompleteStreamError):
            await c.pull("example/flaky")
    assert len(emu.requests) == 2


async def test_streams_are_never_retried_once_the_body_started(emu: Emulator) -> None:
    emu.inject(Fault(disconnect_after=3), model="llama3.2", times=1)
    async with Client(emu.url, retry=RetryPolicy(retries=3, backoff=0.01)) as c:
        with pytest.raises(IncompleteStreamError):
            async for _ in c.stream_tokens("llama3.2", prompt="hi"):
                pass
    assert len(emu.requests) == 1


@pytest.mark.parametrize("status", [429, 502, 503])
async def test_retryable_statuses_before_the_body_are_retried(emu: Emulator, status: int) -> None:
    emu.inject(Fault(status=status, headers={"Retry-After": "0"}), times=2)
    async with Client(emu.url, retry=RetryPolicy(retries=2, backoff=0.01)) as c:
        assert [t async for t in c.stream_tokens("llama3.2", prompt="hi")]
    assert len(emu.requests) == 3


async def test_500_and_413_are_not_retried(emu: Emulator) -> None:
    from ollama_async import ResponseError

    for status in (500, 413):
        emu.reset()
        emu.inject(Fault(status=status), times=None)
        async with Client(emu.url, retry=RetryPolicy(retries=3, backoff=0.01)) as c:
            with pytest.raises(ResponseError):
                await c.generate("llama3.2", "hi")
        assert len(emu.requests) == 1


async def test_a_200_mb_blob_uploads_with_flat_memory(emu: Emulator, tmp_path: Path) -> None:
    big = tmp_path / "weights.gguf"
    big.touch()
    os.truncate(big, 200 * 1024 * 1024)  # sparse: no disk used
    tracemalloc.start()
    async with Client(emu.url) as c:
        digest = await c.upload_blob(big)
        assert await c.blob_exists(digest)
        assert await c.upload_blob(big) == digest  # already there: not sent again
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert digest == file_digest(big)
    assert emu.store.blobs[digest] == 200 * 1024 * 1024
    assert peak < 24 * 1024 * 1024  # pieces, never the file
    assert sum(r.method == "POST" for r in emu.requests) == 1


async def test_digests_and_names_are_checked_before_any_request(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        with pytest.raises(InvalidRequestError):
            await c.blob_exists("sha256:../../etc/passwd")
        with pytest.raises(InvalidRequestError):
            await c.show("bad name")
        with pytest.raises(InvalidRequestError):
            await c.create("x", from_="a", gguf="b")
    assert emu.requests == []


def test_model_name_rules() -> None:
    assert normalize_model_name("llama3") == "llama3:latest"
    assert same_model("llama3", "registry.ollama.ai/library/llama3:latest")
    assert not same_model("llama3", "llama3:8b")
    assert parse_model_name("me/mine:v2").namespace == "me"
    assert parse_model_name("host.example:5000/me/mine").host == "host.example:5000"
    for bad in ("", "a b", "../x", "a/b/c/d", "x:", "-x"):
        with pytest.raises(InvalidRequestError):
            parse_model_name(bad)


async def test_manager_names_stats_and_ensure(emu: Emulator) -> None:
    async with OllamaManager(emu.url) as m:
        assert await m.is_running()
        assert await m.is_model_available("llama3.2")
        assert await m.is_model_available("registry.ollama.ai/library/llama3.2:latest")
        assert not await m.is_model_available("llama3.2:70b")
        info = await m.get_model_by_name("tiny")
        assert info is not None and info.name == "tiny:latest"
        before = await m.get_model_stats()
        await m.client.copy("llama3.2", "llama-copy")
        await m.client.create("pirate", from_="llama3.2", system="Arr")
        after = await m.get_model_stats()
        assert after.count == before.count + 2
        # A copy and a model built FROM the same weights add (almost) nothing on disk.
        assert after.disk_size == before.disk_size
        assert after.total_size > before.total_size
        assert sum(after.by_family.values()) == after.total_size
        seen: list[str] = []
        got = await m.ensure_model("example/new-one", on_progress=lambda p: seen.append(p.status))
        assert got.name == "example/new-one:latest" and seen[-1] == "success"
        n = len(emu.requests)
        await m.ensure_model("example/new-one")  # present: nothing pulled
        assert not any(r.path == "/api/pull" for r in emu.requests[n:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stand_in_ollama(tmp_path: Path) -> Path:
    """An `ollama` executable whose `serve` starts the emulator on OLLAMA_HOST's port."""
    exe = tmp_path / "ollama"
    exe.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "assert sys.argv[1:] == ['serve'], sys.argv\n"
        "port = os.environ['OLLAMA_HOST'].rsplit(':', 1)[1]\n"
        f"os.execv({sys.executable!r}, [{sys.executable!r}, '-m', 'ollama_async.testing',"
        " '--port', port])\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


async def test_auto_start_starts_and_stops_only_its_own_child(tmp_path: Path) -> None:
    exe = stand_in_ollama(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    manager = OllamaManager(url, auto_start_server=True, ollama_path=str(exe), start_timeout=20)
    await manager.start()
    assert manager.started_server and await manager.is_running()
    assert await manager.is_model_available("llama3.2")
    await manager.cleanup()
    assert not manager.started_server
    async with Client(url, retry=RetryPolicy(retries=0)) as probe:
        assert not await probe.is_running()  # the child is gone


async def test_auto_start_never_touches_a_server_it_did_not_start(
    emu: Emulator, tmp_path: Path
) -> None:
    exe = stand_in_ollama(tmp_path)
    async with OllamaManager(emu.url, auto_start_server=True, ollama_path=str(exe)) as m:
        assert not m.started_server
    async with Client(emu.url) as c:
        assert await c.is_running()


async def test_auto_start_without_an_executable_says_so(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    m = OllamaManager(url, auto_start_server=True, ollama_path=None)
    m.client.transport.retry = RetryPolicy(retries=0)
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = str(tmp_path)
    try:
        with pytest.raises(ServerUnreachableError) as info:
            await m.start()
    finally:
        os.environ["PATH"] = old
        await m.cleanup()
    assert "no `ollama` executable" in str(info.value)
    await asyncio.sleep(0)


async def test_hardware_fit_from_show_and_the_machine(emu: Emulator) -> None:
    from ollama_async.manage import estimate_fit

    async with Client(emu.url) as c:
        fit = await c.check_fit("tiny", context_length=512)
        show = await c.show("tiny")
    assert fit.parameters == 119488 and fit.context_length == 512
    assert fit.free_ram_bytes is not None and fit.verdict in ("fits in RAM", "fits in VRAM")
    assert "GB" in fit.summary()
    big = estimate_fit(show, free_ram=10**4, free_vram=None, read_machine=False)
    assert big.verdict == "does not fit"
    gpu = estimate_fit(show, free_ram=10**4, free_vram=10**12, read_machine=False)
    assert gpu.verdict == "fits in VRAM"
    unknown = estimate_fit(show, read_machine=False)
    assert unknown.verdict == "unknown"
