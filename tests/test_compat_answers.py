"""The drop-in's answers, errors, streams and types behave as the official client's do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import ollama_async
import ollama_async.compat as ours
from ollama_async import (
    AsyncClient,
    InvalidRequestError,
    ModelNotFoundError,
    RequestError,
    ResponseError,
    StreamError,
    Timeouts,
)
from ollama_async.testing import Emulator, Fault

try:
    import ollama as official
except ImportError:  # pragma: no cover
    official = None

ASK = [{"role": "user", "content": "Why is the sky blue?"}]
TYPES = ["ChatResponse", "GenerateResponse", "EmbedResponse", "EmbeddingsResponse",
         "ListResponse", "ProcessResponse", "ShowResponse", "StatusResponse",
         "ProgressResponse", "WebSearchResponse", "WebFetchResponse", "Message", "Options",
         "Tool"]  # fmt: skip


@pytest.mark.skipif(official is None, reason="the official ollama package is not installed")
@pytest.mark.parametrize("name", TYPES)
def test_every_official_field_exists(name: str) -> None:
    theirs, mine = getattr(official, name), getattr(ours, name)
    assert set(theirs.model_fields) <= set(mine.__struct_fields__)
    for nested in ("Model", "ToolCall", "Function"):
        if hasattr(theirs, nested):
            assert set(getattr(theirs, nested).model_fields) <= set(
                getattr(mine, nested).__struct_fields__
            )


def present(answer: Any) -> set[str]:
    """The fields the official client reports as present (``in``)."""
    return {f for f in type(answer).model_fields if f in answer}


@pytest.mark.skipif(official is None, reason="the official ollama package is not installed")
async def test_answers_hold_the_same_fields_and_values(emu: Emulator) -> None:
    mine, theirs = AsyncClient(emu.url), official.AsyncClient(emu.url)
    try:
        for kw in ({"messages": ASK}, {"messages": ASK, "stream": True}):
            a, b = await mine.chat("llama3.2", **kw), await theirs.chat("llama3.2", **kw)
            if kw.get("stream"):
                a, b = [p async for p in a], [p async for p in b]
                assert [set(p) for p in a] == [present(p) for p in b]
                a, b = a[0], b[0]
            assert set(a) == present(b) and set(a["message"]) == present(b["message"])
            assert a["message"]["content"] == b["message"]["content"] == a.message.content
        g, h = await mine.generate("llama3.2", "hi"), await theirs.generate("llama3.2", "hi")
        assert set(g) == present(h) and g["response"] == h["response"]
        show, their_show = await mine.show("llama3.2"), await theirs.show("llama3.2")
        assert show.modelinfo == their_show.modelinfo and show["modelinfo"]
        assert show.details is not None and their_show.details is not None
        assert dict(show.details) == their_show.details.model_dump(exclude_none=True)
        listed, their_list = await mine.list(), await theirs.list()
        assert [m.model for m in listed.models] == [m.model for m in their_list.models]
        assert listed.models[0].modified_at == their_list.models[0].modified_at
        assert (await mine.copy("tiny", "t2")).status == (await theirs.copy("tiny", "t3")).status
        assert (await mine.delete("t2"))["status"] == (await theirs.delete("t3"))["status"]
    finally:
        await mine.close()
        await theirs._client.aclose()


async def test_dict_style_access_on_a_whole_answer_and_a_stream(emu: Emulator) -> None:
    async with AsyncClient(emu.url) as c:
        r = await c.chat("llama3.2", messages=ASK)
        assert r["message"]["content"] == r.message.content != ""
        assert r.get("done") is True and r.get("nope", 5) == 5 and "message" in r
        assert "thinking" not in r["message"] and dict(r)["model"] == "llama3.2"
        with pytest.raises(KeyError):
            r["logprobs"]
        parts = [p async for p in await c.generate("llama3.2", "hi", stream=True)]
        assert "".join(p["response"] for p in parts) and parts[-1]["done"] is True


async def test_leaving_a_stream_early_closes_the_connection_at_once() -> None:
    emu = Emulator(tokens_per_second=50, default_tokens=500)
    async with emu as url, AsyncClient(url) as c:
        async for _part in await c.chat("llama3.2", messages=ASK, stream=True):
            break
        held = await c.generate("llama3.2", "hi", stream=True)  # still referenced below
        first = await anext(held)
        async for _part in held:
            break
        await asyncio.wait_for(emu.wait_idle(), 2.0)
        assert first["response"] and held is not None
        assert [r.client_disconnected for r in emu.requests] == [True, True]
        assert all(r.chunks_sent < 50 for r in emu.requests)


async def test_response_errors_carry_status_code_and_stay_typed(emu: Emulator) -> None:
    async with AsyncClient(emu.url) as c:
        with pytest.raises(ResponseError) as info:
            await c.chat("missing", messages=ASK)
        assert info.value.status_code == 404 and "not found" in info.value.error
        assert isinstance(info.value, ModelNotFoundError)
        emu.inject(Fault(error_after=2))
        with pytest.raises(ResponseError) as mid:
            async for _ in await c.generate("llama3.2", "hi", stream=True):
                pass
        assert mid.value.status_code == -1 and isinstance(mid.value, StreamError)
        assert mid.value.partial_text


async def test_request_errors_are_raised_before_sending(emu: Emulator) -> None:
    async with AsyncClient(emu.url) as c:
        for call in (
            c.chat("", messages=ASK),
            c.generate("llama3.2", "x", images=["not an image"]),
            c.chat("llama3.2", messages=[{"content": "no role"}]),
            c.chat("llama3.2", messages=ASK, options={"temprature": 1}),
            c.chat("llama3.2", messages=ASK, think="very"),
        ):
            with pytest.raises(RequestError) as info:
                await call
            assert isinstance(info.value, InvalidRequestError | ValueError) and info.value.error
        with pytest.raises(TypeError):
            await c.chat("llama3.2", messages=ASK, bogus=1)
    assert emu.requests == []


async def test_connection_refused_is_a_connection_error() -> None:
    async with AsyncClient("http://127.0.0.1:9", retry=ollama_async.RetryPolicy(retries=0)) as c:
        with pytest.raises(ConnectionError):
            await c.generate("llama3.2", "hi")


def test_official_constructors() -> None:
    call = ours.Message.ToolCall(function=ours.Message.ToolCall.Function(name="f", arguments={}))
    m = ours.Message(role="assistant", content="x", tool_calls=[call])
    assert m["tool_calls"][0]["function"]["name"] == "f" and isinstance(m, ollama_async.Message)
    assert ours.Options(temperature=0.1, mirostat=1)["mirostat"] == 1
    prop = ours.Tool.Function.Parameters.Property(type="string", description="d")
    tool = ours.Tool(function=ours.Tool.Function(name="t", parameters=ours.Tool.Function.Parameters(
        properties={"p": prop}, required=["p"])))  # fmt: skip
    assert tool["type"] == "function" and tool.function is not None
    assert ours.Image(value=b"x") == ours.Image(value=b"x") and "x" not in repr(ours.Image(b"x"))


def test_constructor_arguments() -> None:
    assert AsyncClient("http://h:1", timeout=5).client.transport.timeouts == Timeouts(5, 5, None)
    assert AsyncClient(timeout=None).client.transport.timeouts == Timeouts()
    with pytest.raises(TypeError, match="transport"):
        AsyncClient(transport=object())
    try:
        import httpx
    except ImportError:  # pragma: no cover - comes with the official client
        return
    given = AsyncClient(timeout=httpx.Timeout(30.0, connect=2.0)).client.transport.timeouts
    assert given == Timeouts(connect=2.0, idle=30.0, total=None)


@pytest.fixture
async def web_host(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[Any]]:
    seen: list[Any] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.path, await request.json(), request.headers.get("Authorization")))
        if request.path.endswith("web_search"):
            return web.json_response({"results": [{"title": "Ollama", "url": "u"}]})
        return web.json_response({"title": "T", "content": "C", "links": ["l"]})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    monkeypatch.setenv("OLLAMA_WEB_HOST", f"http://127.0.0.1:{port}")
    yield seen
    await runner.cleanup()


async def test_web_search_and_fetch_need_a_bearer_token(
    web_host: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    async with AsyncClient() as c:
        with pytest.raises(ValueError, match="Bearer token is required for web search"):
            await c.web_search("q")
    monkeypatch.setenv("OLLAMA_API_KEY", "k")
    async with AsyncClient() as c:
        found = await c.web_search("what is ollama?", max_results=2)
        page = await c.web_fetch("https://example.com")
    assert found["results"][0]["title"] == "Ollama" and page.links == ["l"]
    assert web_host == [
        ("/api/web_search", {"query": "what is ollama?", "max_results": 2}, "Bearer k"),
        ("/api/web_fetch", {"url": "https://example.com"}, "Bearer k"),
    ]
