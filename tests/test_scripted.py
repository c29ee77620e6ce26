"""Scripted answers (``Emulator.add_response``) over real loopback sockets, through Client."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from ollama_async import (
    Client,
    IncompleteStreamError,
    InvalidRequestError,
    ModelNotFoundError,
    RateLimitError,
    ResponseError,
    RetryPolicy,
    ServerError,
)
from ollama_async.testing import Emulator, Fault

NO_RETRY = RetryPolicy(retries=0)
USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def c(emu: Emulator) -> Any:
    async with Client(emu.url, retry=NO_RETRY) as client:
        yield client


async def test_text_streams_word_by_word_and_arrives_whole(c: Client, emu: Emulator) -> None:
    text = "The sky is blue\nbecause of Rayleigh scattering ☁"
    emu.add_response(text=text, reusable=True)
    pieces = [t async for t in c.stream_tokens("llama3.2", prompt="why?")]
    assert "".join(pieces) == text and len(pieces) == len(text.split())
    assert (await c.generate("llama3.2", "why?")).response == text
    assert (await c.chat("llama3.2", USER)).message.content == text


async def test_chunks_are_sent_exactly_one_per_line(c: Client, emu: Emulator) -> None:
    pieces = ["Hel", "lo", " wor", "ld", "\u0085", ""]
    emu.add_response(chunks=pieces)
    emu.add_response(chunks=pieces)
    s = c.stream("llama3.2", messages=USER)
    assert [x.message.content async for x in s][:-1] == pieces
    assert (await c.chat("llama3.2", USER)).message.content == "".join(pieces)


async def test_json_is_the_structured_answer(c: Client, emu: Emulator) -> None:
    answer = {"city": "Paris", "population": 2_102_650, "tags": ["capital", "Seine"]}
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    emu.add_response(model="llama3.2", json=answer, reusable=True)
    r = await c.chat("llama3.2", USER, format=schema)
    assert json.loads(r.message.content) == answer
    streamed = "".join([t async for t in c.stream_tokens("llama3.2", prompt="?", format="json")])
    assert json.loads(streamed) == answer


async def test_tool_calls_and_thinking(c: Client, emu: Emulator) -> None:
    calls = [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}},
             {"name": "get_time", "arguments": {}}]  # fmt: skip
    emu.add_response(tool_calls=calls, thinking="The user wants weather.", reusable=True)
    r = await c.chat("qwen3", USER, think=True)
    assert r.message.thinking == "The user wants weather."
    got = [(t.function.name, t.function.arguments) for t in r.message.tool_calls or []]
    assert got == [(x["name"], x["arguments"]) for x in calls]
    async with c.stream("qwen3", messages=USER) as s:
        chunks = [x async for x in s]
    streamed = [t.function.name for x in chunks for t in x.message.tool_calls or []]
    assert streamed == ["get_weather", "get_time"]
    # A tool-call answer is for chat only: generate gets the built-in model's text.
    assert (await c.generate("llama3.2", "hi")).response
    assert emu.requests[-1].path == "/api/generate"


async def test_answers_match_model_and_endpoint_in_order(c: Client, emu: Emulator) -> None:
    emu.add_response(model="llama3.2", text="first llama")
    emu.add_response(model="qwen3", text="qwen")
    emu.add_response(model="llama3.2:latest", endpoint="generate", text="second llama")
    emu.add_response(endpoint="chat", model="my/own-model", text="not in the store")
    assert (await c.generate("qwen3:latest", "q")).response == "qwen"
    assert (await c.generate("llama3.2", "q")).response == "first llama"
    assert (await c.generate("llama3.2", "q")).response == "second llama"
    assert (await c.chat("my/own-model", USER)).message.content == "not in the store"
    assert emu.unrequested_responses() == []
    # Nothing left: the built-in model answers, and an unknown model is a 404 again.
    assert (await c.generate("llama3.2", "q")).response
    with pytest.raises(ModelNotFoundError):
        await c.chat("my/own-model", USER)


async def test_error_answers_are_typed_like_ollamas(c: Client, emu: Emulator) -> None:
    emu.add_response(model="gone", status=404)
    emu.add_response(status=429, error="too many requests, slow down")
    emu.add_response(error="llama runner process has terminated")
    with pytest.raises(ModelNotFoundError) as missing:
        await c.generate("gone", "hi")
    assert missing.value.model == "gone" and "gone" in str(missing.value)
    with pytest.raises(RateLimitError) as limited:
        await c.chat("llama3.2", USER)
    assert "slow down" in str(limited.value)
    with pytest.raises(ServerError) as crashed:
        await c.generate("llama3.2", "hi")
    assert crashed.value.status == 500 and "terminated" in str(crashed.value)


async def test_v1_answers_text_tool_calls_and_errors(c: Client, emu: Emulator) -> None:
    emu.add_response(endpoint="openai.chat", text="Bonjour")
    emu.add_response(endpoint="openai.chat", tool_calls=[{"name": "f", "arguments": {"x": 1}}])
    emu.add_response(endpoint="/v1/completions", status=503, error="server busy")
    r = await c.openai.chat_completions("llama3.2", USER)
    assert r.choices[0].message.content == "Bonjour"
    r = await c.openai.chat_completions("llama3.2", USER)
    [call] = r.choices[0].message.tool_calls or []
    assert call["function"]["name"] == "f" and json.loads(call["function"]["arguments"]) == {"x": 1}
    with pytest.raises(ResponseError) as info:
        await c.openai.completions("llama3.2", "hi")
    assert info.value.status == 503 and "server busy" in str(info.value)


async def test_a_fault_rides_on_a_scripted_answer(c: Client, emu: Emulator) -> None:
    emu.add_response(chunks=["a", "b", "c", "d"], fault=Fault(disconnect_after=2))
    with pytest.raises(IncompleteStreamError) as info:
        async for _ in c.stream_tokens("llama3.2", prompt="hi"):
            pass
    assert info.value.partial_text == "ab"
    await emu.wait_idle()
    rec = emu.requests[-1]
    assert rec.chunks_sent == 2 and not rec.completed and not rec.client_disconnected


async def test_recorded_requests_show_method_path_body_and_headers(
    c: Client, emu: Emulator
) -> None:
    emu.add_response(text="ok")
    async with Client(emu.url, headers={"X-Trace": "t1"}) as traced:
        await traced.chat("llama3.2", [{"role": "user", "content": "what is 2+2?"}])
    await c.generate("tiny", "hello")
    [chat] = emu.get_requests(endpoint="chat")
    assert (chat.method, chat.path, chat.model) == ("POST", "/api/chat", "llama3.2")
    assert chat.json["messages"] == [{"role": "user", "content": "what is 2+2?"}]
    assert chat.headers["X-Trace"] == "t1"
    assert [r.path for r in emu.get_requests(model="tiny")] == ["/api/generate"]


async def test_unrequested_answers_are_named(emu: Emulator) -> None:
    emu.add_response(model="llama3.2", text="never asked for")
    emu.add_response(endpoint="pull", status=500)
    with pytest.raises(AssertionError) as info:
        emu.assert_all_responses_requested()
    message = str(info.value)
    assert "2 scripted answer(s)" in message
    assert "'never asked for' on any endpoint for model llama3.2:latest" in message
    assert "status 500 on /api/pull" in message
    emu.reset()  # the fixture's own check must not fail this test


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "a", "json": {}}, "json"),
        ({"chunks": "abc"}, "chunks"),
        ({"json": {1j}}, "json"),
        ({"tool_calls": [{"arguments": {}}]}, "tool_calls[0]"),
        ({"tool_calls": [{"name": "f", "arguments": "x=1"}]}, "tool_calls[0]"),
        ({"status": 404, "text": "no"}, "status"),
        ({"status": 700}, "status"),
        ({"status": 200, "error": "x"}, "error"),
        ({"endpoint": "chats"}, "endpoint"),
        ({"endpoint": "generate", "tool_calls": [{"name": "f"}]}, "tool_calls"),
        ({"endpoint": "embed", "text": "x"}, "endpoint"),
        ({"fault": {"status": 500}}, "fault"),
    ],
)
def test_wrong_arguments_name_the_argument(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        Emulator().add_response(**kwargs)
    assert info.value.field == field


def test_an_unknown_endpoint_suggests_the_name() -> None:
    with pytest.raises(InvalidRequestError, match="did you mean 'chat'"):
        Emulator().add_response(endpoint="chats")


def test_sync_code_uses_the_emulator_on_a_background_thread() -> None:
    emu = Emulator()
    with emu as url:
        emu.add_response(model="llama3.2", text="from a thread")
        body = json.dumps({"model": "llama3.2", "prompt": "hi", "stream": False}).encode()
        with urllib.request.urlopen(url + "/api/generate", body, timeout=5) as resp:
            assert json.loads(resp.read())["response"] == "from a thread"

        async def call() -> str:  # a loop of the test's own, as asyncio.run would make
            async with Client(url) as client:
                return (await client.generate("tiny", "hi")).response

        assert asyncio.run(call())
    assert [r.path for r in emu.requests] == ["/api/generate", "/api/generate"]
    with pytest.raises(urllib.error.URLError):  # closed with the block
        urllib.request.urlopen(url + "/api/version", timeout=1)
