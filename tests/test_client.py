"""Client set-up and the request bodies it sends (aioresponses), and input checks."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from aioresponses import CallbackResult, aioresponses

from ollama_async import (
    Client,
    ClientClosedError,
    InvalidRequestError,
    Message,
    RetryPolicy,
    ServerUnreachableError,
)
from ollama_async._config import parse_host
from ollama_async.testing import Emulator

DONE = {"model": "m", "created_at": "", "response": "ok", "done": True}


@pytest.mark.parametrize(
    ("value", "url"),
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("1.2.3.4", "http://1.2.3.4:11434"),
        (":56789", "http://127.0.0.1:56789"),
        ("example.com", "http://example.com:11434"),
        ("example.com:56789", "http://example.com:56789"),
        ("http://example.com", "http://example.com:80"),
        ("https://example.com", "https://example.com:443"),
        ("https://example.com:56789", "https://example.com:56789"),
        ("example.com:56789/path/", "http://example.com:56789/path"),
        ("https://example.com:56789/path/", "https://example.com:56789/path"),
        ("[::1]", "http://[::1]:11434"),
        ("[::1]:56789", "http://[::1]:56789"),
        ("http://[::1]", "http://[::1]:80"),
        ("https://[::1]:56789/path", "https://[::1]:56789/path"),
        ("[0001:002:003:0004::1]:56789", "http://[0001:002:003:0004::1]:56789"),
    ],
)
def test_parse_host_matches_the_official_rules(value: str | None, url: str) -> None:
    assert parse_host(value) == url


def test_base_url_from_argument_env_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert Client().base_url == "http://127.0.0.1:11434"
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:9999")
    assert Client().base_url == "http://0.0.0.0:9999"
    assert Client("http://h:1/").base_url == "http://h:1"
    assert Client("h2").base_url == "http://h2:11434"


async def test_api_key_header_from_env_and_never_in_repr(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-secret-123")
    async with Client(emu.url) as c:
        assert "sk-secret" not in repr(c)
        await c.generate("tiny", "hi")
        async with Client(emu.url, api_key="other-key") as c2:
            await c2.generate("tiny", "hi")
    monkeypatch.delenv("OLLAMA_API_KEY")
    async with Client(emu.url) as c3:
        await c3.generate("tiny", "hi")
    sent = emu.get_requests(endpoint="generate")
    assert sent[0].headers["Authorization"] == "Bearer sk-secret-123"
    assert sent[1].headers["Authorization"] == "Bearer other-key"
    assert "Authorization" not in sent[2].headers


async def test_header_with_newline_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as info:
        Client("http://h", headers={"X-Bad": "a\r\nInjected: 1"})
    assert "X-Bad" in info.value.field


async def test_request_bodies_leave_unset_fields_out() -> None:
    bodies: list[dict[str, Any]] = []

    def cb(url: Any, **kwargs: Any) -> CallbackResult:
        bodies.append(json.loads(kwargs["data"]))
        return CallbackResult(status=200, body=json.dumps(DONE))

    async with Client("http://ollama.test") as c:
        with aioresponses() as m:
            m.post("http://ollama.test/api/generate", callback=cb, repeat=True)
            m.post("http://ollama.test/api/chat", callback=cb, repeat=True)
            await c.generate("m", "hi")
            await c.generate(
                "m",
                "hi",
                system="be brief",
                options={"temperature": 0.2, "num_predict": 5},
                format="json",
                keep_alive="5m",
                think="high",
                images=[b"\x89PNG"],
                top_logprobs=3,
                logprobs=True,
            )
            await c.chat("m", [Message(role="user", content="q"), {"role": "user", "content": "r"}])
    assert bodies[0] == {"model": "m", "stream": False, "prompt": "hi"}
    assert bodies[1] == {
        "model": "m",
        "stream": False,
        "prompt": "hi",
        "system": "be brief",
        "options": {"temperature": 0.2, "num_predict": 5},
        "format": "json",
        "keep_alive": "5m",
        "think": "high",
        "images": [base64.b64encode(b"\x89PNG").decode()],
        "top_logprobs": 3,
        "logprobs": True,
    }
    assert bodies[2] == {
        "model": "m",
        "stream": False,
        "messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "r"}],
    }


async def test_format_from_a_struct_type_sends_its_schema() -> None:
    class Answer(msgspec.Struct):
        city: str
        population: int

    bodies: list[dict[str, Any]] = []
    reply = {**DONE, "response": '{"city": "Lyon", "population": 522250}'}

    def cb(url: Any, **kwargs: Any) -> CallbackResult:
        bodies.append(json.loads(kwargs["data"]))
        return CallbackResult(status=200, body=json.dumps(reply))

    async with Client("http://ollama.test") as c:
        with aioresponses() as m:
            m.post("http://ollama.test/api/generate", callback=cb)
            r = await c.generate("m", "hi", format=Answer)
    schema = bodies[0]["format"]
    assert schema["type"] == "object" and "$ref" not in schema  # the object at the top
    assert schema["required"] == ["city", "population"]
    assert r.parsed == Answer(city="Lyon", population=522250)


async def test_image_paths_are_read_and_encoded(tmp_path: Path) -> None:
    img = tmp_path / "cat.png"
    img.write_bytes(b"\x89PNG\r\n")
    bodies: list[dict[str, Any]] = []

    def cb(url: Any, **kwargs: Any) -> CallbackResult:
        bodies.append(json.loads(kwargs["data"]))
        return CallbackResult(status=200, body=json.dumps(DONE))

    async with Client("http://ollama.test") as c:
        with aioresponses() as m:
            m.post("http://ollama.test/api/generate", callback=cb, repeat=True)
            await c.generate("m", "what is this?", images=[img, str(img)])
    expected = base64.b64encode(b"\x89PNG\r\n").decode()
    assert bodies[0]["images"] == [expected, expected]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": ""}, "model"),
        ({"model": "llama 3"}, "model"),
        ({"model": "llama\n3"}, "model"),
        ({"model": "m", "think": "extreme"}, "think"),
        ({"model": "m", "top_logprobs": 21}, "top_logprobs"),
        ({"model": "m", "format": "yaml"}, "format"),
        ({"model": "m", "images": [123]}, "images[0]"),
        ({"model": "m", "images": ["/no/such/file.png"]}, "images[0]"),
        ({"model": "m", "optoins": {}}, "optoins"),
        ({"model": "m", "tools": []}, "tools"),
    ],
)
async def test_bad_input_is_refused_before_sending(kwargs: dict[str, Any], field: str) -> None:
    async with Client("http://ollama.test") as c:
        with aioresponses() as m:  # any request would fail loudly: none is registered
            with pytest.raises(InvalidRequestError) as info:
                await c.generate(prompt="hi", **kwargs)
            with pytest.raises(InvalidRequestError):
                c.stream(prompt="hi", **kwargs)
            assert not m.requests
    assert info.value.field == field
    if field == "optoins":
        assert "options" in str(info.value)


async def test_closed_client_raises_a_clear_error_and_aclose_is_idempotent() -> None:
    c = Client("http://127.0.0.1:9")
    await c.aclose()
    await c.aclose()
    assert c.closed
    with pytest.raises(ClientClosedError):
        await c.generate("m", "hi")
    with pytest.raises(ClientClosedError):
        c.stream_tokens("m", prompt="hi")


async def test_borrowed_session_is_never_closed(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with Client(emu.url, session=session) as c:
            assert await c.generate("tiny", "hi")
        assert not session.closed
        async with Client(emu.url, session=session, headers={"X-Trace": "1"}) as c2:
            assert [t async for t in c2.stream_tokens("tiny", prompt="hi")]
        assert emu.requests[-1].headers["X-Trace"] == "1"
        assert not session.closed


async def test_unreachable_server_names_the_url_and_suggests_ollama_serve() -> None:
    async with Client("http://127.0.0.1:9", retry=RetryPolicy(retries=0)) as c:
        with pytest.raises(ServerUnreachableError) as info:
            await c.generate("m", "hi")
    assert "127.0.0.1:9" in str(info.value) and "ollama serve" in str(info.value)


async def test_connection_failures_are_retried_then_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    monkeypatch.setattr("ollama_async._transport._sleep", fake_sleep)
    async with Client("http://127.0.0.1:9", retry=RetryPolicy(retries=2, backoff=0.1)) as c:
        with pytest.raises(ServerUnreachableError):
            await c.generate("m", "hi")
    assert len(sleeps) == 2 and all(0 <= s <= 0.2 for s in sleeps)
