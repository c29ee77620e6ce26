"""Model management, structured outputs, tools and retries, on the emulator (the manager:
test_seed_manager.py)."""

from __future__ import annotations

import os
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
)
from ollama_async._models import file_digest
from ollama_async.manage import normalize_model_name, parse_model_name, same_model
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
