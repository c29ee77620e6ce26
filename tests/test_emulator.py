"""The emulator: faithful answers, a consistent store, faults, and request records."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ollama_async import (
    BadRequestError,
    Client,
    IdleTimeoutError,
    IncompleteStreamError,
    MalformedLineError,
    ModelNotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    StreamError,
    Timeouts,
)
from ollama_async.testing import Emulator, Fault

from .conftest import acquired
from .wire import load_capture


@pytest.fixture
async def ec(emu: Emulator) -> AsyncIterator[Client]:
    async with Client(emu.url, retry=RetryPolicy(retries=0), timeouts=Timeouts(idle=2)) as c:
        yield c
        await asyncio.sleep(0)
        assert acquired(c) == 0


async def test_generation_is_deterministic_and_honours_num_predict(ec: Client) -> None:
    a = await ec.generate("llama3.2", "why?", options={"seed": 3, "num_predict": 7})
    b = await ec.generate("llama3.2", "why?", options={"seed": 3, "num_predict": 7})
    c = await ec.generate("llama3.2", "why?", options={"seed": 4, "num_predict": 7})
    assert a.response == b.response != c.response
    assert a.eval_count == 7 and a.done_reason == "length"
    s = ec.stream("llama3.2", prompt="why?", options={"seed": 3, "num_predict": 7})
    assert [x async for x in s] and s.text == a.response
    assert s.final is not None and s.final.context and s.final.tokens_per_second


async def test_one_line_per_http_chunk_like_ollama(emu: Emulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(emu.url + "/api/generate", json={"model": "tiny", "prompt": "x"}) as r,
    ):
        assert r.headers["Content-Type"] == "application/x-ndjson"
        assert r.headers["Transfer-Encoding"] == "chunked"
        chunks = [c async for c, _ in r.content.iter_chunks()]
    assert all(c.count(b"\n") == 1 for c in chunks if c)
    assert json.loads(chunks[-1])["done"] is True


@pytest.mark.parametrize(
    "name",
    [
        "generate-unknown-model",
        "generate-bad-json",
        "generate-no-body",
        "generate-wrong-type",
        "generate-raw-with-system",
        "generate-top-logprobs-out-of-range",
        "generate-think-unsupported",
        "generate-suffix",
        "chat-tools",
        "embed",
        "embeddings-legacy",
        "copy-missing",
        "delete-missing",
        "unknown-route",
        "wrong-method",
        "pull-offline",
        "pull-offline-nostream",
        "v1-unknown-model",
        "version",
        "root",
    ],
)
async def test_same_status_type_and_error_shape_as_the_real_server(
    emu: Emulator, name: str
) -> None:
    cap = load_capture(name)
    body = cap.request_json
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.request(cap.method, emu.url + cap.path, data=data) as r,
    ):
        got = await r.read()
        ctype = r.headers.get("Content-Type", "")
    assert r.status == cap.status
    assert ctype.split(";")[0] == cap.content_type.split(";")[0]
    if "json" in ctype and cap.status >= 400:
        want, have = json.loads(cap.body), json.loads(got)
        assert set(want) == set(have)
        if isinstance(want["error"], str):
            assert have["error"] == want["error"]
        else:
            assert have["error"]["message"] == want["error"]["message"]
    elif cap.content_type.startswith("text/plain") and name != "root":
        assert got == cap.body
    elif "ndjson" in ctype:
        want_lines = [json.loads(x) for x in cap.body.splitlines()]
        have_lines = [json.loads(x) for x in got.splitlines()]
        assert [set(x) for x in have_lines] == [set(x) for x in want_lines]


async def test_store_is_consistent_across_endpoints(ec: Client) -> None:
    names = {m.name for m in (await ec.list()).models}
    assert {"llama3.2:latest", "tiny:latest", "nomic-embed-text:latest"} <= names
    await ec.copy("llama3.2", "my-copy")
    assert "my-copy:latest" in {m.name for m in (await ec.list()).models}
    assert (await ec.show("my-copy")).details is not None
    await ec.delete("my-copy")
    with pytest.raises(ModelNotFoundError):
        await ec.show("my-copy")
    final = await ec.create("pirate", from_="llama3.2", system="Arr.", parameters={"seed": 1})
    assert final.status == "success"
    shown = await ec.show("pirate")
    assert shown.system == "Arr." and "FROM" in (shown.modelfile or "")
    assert (await ec.ps()).models == []
    await ec.load("llama3.2")
    assert [m.name for m in (await ec.ps()).models] == ["llama3.2:latest"]
    await ec.unload("llama3.2")
    assert (await ec.ps()).models == []


async def test_pull_is_a_realistic_multilayer_progress_stream(ec: Client) -> None:
    pull = ec.pull("example/fresh-model:7b")
    seen = [c async for c in pull]
    digests = {c.digest for c in seen if c.digest}
    assert len(digests) == 5 and seen[0].status == "pulling manifest"
    per_layer: dict[str, int] = {}
    for c in seen:
        if c.digest:
            assert (c.completed or 0) >= per_layer.get(c.digest, 0)  # never goes backwards
            per_layer[c.digest] = c.completed or 0
    assert pull.progress.percent == 100.0 and pull.progress.completed == pull.progress.total
    assert "example/fresh-model:7b" in {m.name for m in (await ec.list()).models}


async def test_blob_upload_and_create_from_gguf(ec: Client, tmp_path: object) -> None:
    from pathlib import Path

    f = Path(str(tmp_path)) / "m.gguf"
    f.write_bytes(b"GGUF" + bytes(range(256)) * 64)
    final = await ec.create("from-file", gguf=f)
    assert final.status == "success"
    digest = (await ec.list()).models
    assert any(m.name == "from-file:latest" for m in digest)
    from ollama_async._models import file_digest

    assert await ec.blob_exists(file_digest(f))


async def test_embeddings_are_deterministic_unit_vectors(ec: Client) -> None:
    r = await ec.embed("nomic-embed-text", ["a", "b"], dimensions=32)
    assert len(r.embeddings) == 2 and len(r.embeddings[0]) == 32
    assert abs(sum(x * x for x in r.embeddings[0]) - 1) < 1e-9
    again = await ec.embed("nomic-embed-text", "a", dimensions=32)
    assert again.embeddings[0] == r.embeddings[0]
    legacy = await ec.embeddings("nomic-embed-text", "a")
    assert len(legacy.embedding) == 768


async def test_thinking_and_tools(ec: Client) -> None:
    s = ec.stream_tokens("qwen3", prompt="q", think=True, include_thinking=True)
    pieces = [p async for p in s]
    from ollama_async import ThinkingText

    assert any(isinstance(p, ThinkingText) for p in pieces)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]  # fmt: skip
    reply = await ec.chat("llama3.2", [{"role": "user", "content": "weather?"}], tools=tools)
    assert reply.message.tool_calls is not None
    call = reply.message.tool_calls[0].function
    assert call.name == "get_weather" and call.arguments == {"city": "Paris"}


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(disconnect_after=3), IncompleteStreamError),
        (Fault(disconnect_mid_line=3), IncompleteStreamError),
        (Fault(error_after=3), StreamError),
        (Fault(malformed_after=3), MalformedLineError),
        (Fault(stall_after=3), IdleTimeoutError),
    ],
)
async def test_mid_stream_faults(emu: Emulator, fault: Fault, error: type[Exception]) -> None:
    emu.inject(fault, model="llama3.2")
    async with Client(emu.url, timeouts=Timeouts(idle=0.3), retry=RetryPolicy(retries=0)) as c:
        s = c.stream_tokens("llama3.2", prompt="hi")
        with pytest.raises(error) as info:
            async for _ in s:
                pass
        assert len(info.value.partial_text) > 0  # type: ignore[attr-defined]
        # The next request on the same client works.
        assert (await c.generate("llama3.2", "hi")).done
        assert acquired(c) == 0


async def test_status_faults_and_retry_after(emu: Emulator) -> None:
    emu.inject(Fault(status=429, headers={"Retry-After": "0"}), times=2)
    async with Client(emu.url, retry=RetryPolicy(retries=2, backoff=0.01)) as c:
        assert (await c.generate("tiny", "hi")).done  # two 429s, then success
    assert len(emu.requests) == 3
    emu.inject(Fault(status=503), times=None)
    async with Client(emu.url, retry=RetryPolicy(retries=1, backoff=0.01)) as c:
        with pytest.raises(ServerError):
            await c.generate("tiny", "hi")
    emu.reset()
    header = Fault(status=429, headers={"Retry-After": "7"}).to_header()
    async with Client(
        emu.url, retry=RetryPolicy(retries=0), headers={"X-Emulator-Fault": header}
    ) as c:
        with pytest.raises(RateLimitError) as info:
            await c.generate("tiny", "hi")
    assert info.value.retry_after == 7.0


async def test_records_disconnects_and_in_flight(emu: Emulator) -> None:
    slow = Emulator(tokens_per_second=50)
    async with slow as url, Client(url) as c:
        async for _ in c.stream_tokens("llama3.2", prompt="hi", options={"num_predict": 500}):
            break
        await slow.wait_idle(timeout=2)
        rec = slow.requests[-1]
        assert rec.client_disconnected and not rec.completed
        assert rec.ended is not None and rec.ended - rec.started < 1.5

        async def one() -> None:
            await c.generate("llama3.2", "hi", options={"num_predict": 5})

        await asyncio.gather(*(one() for _ in range(6)))
        assert slow.max_in_flight >= 2 and slow.in_flight == 0
        assert all(r.completed for r in slow.requests[1:])
        assert slow.requests[-1].json["options"] == {"num_predict": 5}


async def test_bad_requests_map_to_typed_errors(ec: Client) -> None:
    with pytest.raises(BadRequestError):
        await ec.generate("tiny", "hi", think=True)
    with pytest.raises(ModelNotFoundError):
        await ec.generate("nope", "hi")


async def test_runs_as_a_process() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ollama_async.testing", "--port", str(port),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert f":{port}" in line.decode()
        async with Client(f"http://127.0.0.1:{port}") as c:
            assert await c.version()
    finally:
        proc.terminate()
        await proc.wait()


async def test_pytest_plugin_fixture(ollama_emulator: Emulator) -> None:
    async with Client(ollama_emulator.url) as c:
        assert (await c.generate("llama3.2", "hi")).done
