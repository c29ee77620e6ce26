"""Every capture from a real Ollama server, replayed byte for byte over a loopback socket.

A replay server answers each request with the next queued capture's status, content type and
body (NDJSON and SSE bodies one line per HTTP chunk, as Ollama flushes them). Each test calls
the client method a user would, and checks the decoded result or the typed error.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ollama_async import (
    BadRequestError,
    Client,
    InvalidRequestError,
    ModelNotFoundError,
    NotFoundError,
    ResponseError,
    RetryPolicy,
    ServerError,
    StreamError,
)

from .conftest import acquired
from .wire import Capture, capture_names, load_capture


class Replay:
    def __init__(self) -> None:
        self.queue: list[Capture] = []
        self.seen: list[tuple[str, str, bytes]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    def serve(self, *names: str) -> None:
        self.queue.extend(load_capture(n) for n in names)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append((request.method, request.path, body))
        cap = self.queue.pop(0)
        assert request.method == cap.method, (request.method, cap.name)
        ctype = cap.content_type
        if "ndjson" in ctype or "event-stream" in ctype:
            resp = web.StreamResponse(status=cap.status, headers={"Content-Type": ctype})
            await resp.prepare(request)
            for line in cap.body.splitlines(keepends=True):
                await resp.write(line)
            await resp.write_eof()
            return resp
        headers = {"Content-Type": ctype} if ctype else {}
        return web.Response(status=cap.status, body=cap.body, headers=headers)


@pytest.fixture
async def replay() -> AsyncIterator[Replay]:
    r = Replay()
    await r.start()
    yield r
    assert not r.queue, f"captures not requested: {[c.name for c in r.queue]}"
    await r.close()


@pytest.fixture
async def rc(replay: Replay) -> AsyncIterator[Client]:
    async with Client(replay.url, retry=RetryPolicy(retries=0)) as c:
        yield c
        assert acquired(c) == 0


def sent(replay: Replay, i: int = -1) -> Any:
    return json.loads(replay.seen[i][2])


# -- generate and chat -------------------------------------------------------------------


async def test_generate_stream(replay: Replay, rc: Client) -> None:
    replay.serve("generate-stream")
    s = rc.stream("tiny", prompt="the sky is", options={"num_predict": 40, "seed": 1})
    chunks = [c async for c in s]
    assert len(chunks) == 21 and s.final is not None
    assert s.final.eval_count == 40 and s.final.done_reason == "length"
    assert "\ufffd" in s.text and "\x1a" in s.text  # passed through unharmed
    assert sent(replay) == {
        "model": "tiny",
        "stream": True,
        "prompt": "the sky is",
        "options": {"num_predict": 40, "seed": 1},
    }


async def test_generate_stream_tokens_and_bytes(replay: Replay, rc: Client) -> None:
    replay.serve("generate-stream", "generate-stream")
    tokens = [t async for t in rc.stream_tokens("tiny", prompt="the sky is")]
    assert "".join(tokens) == "".join(
        json.loads(line)["response"] for line in load_capture("generate-stream").body.splitlines()
    )
    body = b"".join([b async for b in rc.stream_bytes("tiny", prompt="the sky is")])
    assert body == load_capture("generate-stream").body


async def test_chat_stream_and_whole(replay: Replay, rc: Client) -> None:
    replay.serve("chat-stream", "chat-nostream")
    s = rc.stream_tokens("tiny", messages=[{"role": "user", "content": "hello"}])
    assert len([t async for t in s]) > 0 and s.final is not None and s.final.done
    r = await rc.chat("tiny", [{"role": "user", "content": "hello"}], options={"num_predict": 10})
    assert r.done and r.message.role == "assistant" and r.eval_count


@pytest.mark.parametrize(
    "name", ["generate-nostream", "generate-format-json", "generate-format-schema"]
)
async def test_generate_whole(replay: Replay, rc: Client, name: str) -> None:
    replay.serve(name)
    req = load_capture(name).request_json
    fields = {k: v for k, v in req.items() if k not in ("model", "prompt", "stream")}
    r = await rc.generate("tiny", req["prompt"], **fields)
    assert r.done and r.response and r.total_seconds is not None
    assert sent(replay) == req


async def test_generate_raw_and_logprobs(replay: Replay, rc: Client) -> None:
    replay.serve("generate-raw", "generate-logprobs")
    s = rc.stream("tiny", prompt="the sky", raw=True, options={"num_predict": 8})
    assert [c async for c in s] and s.final is not None
    lp = rc.stream("tiny", prompt="the", logprobs=True, top_logprobs=2)
    chunks = [c async for c in lp]
    entries = [e for c in chunks for e in (c.logprobs or [])]
    assert entries and entries[0].top_logprobs and len(entries[0].top_logprobs) == 2
    assert isinstance(entries[0].logprob, float) and entries[0].bytes is not None


async def test_load_and_unload(replay: Replay, rc: Client) -> None:
    replay.serve("generate-load", "generate-unload", "chat-load")
    assert (await rc.load("tiny")).done_reason == "load"
    assert sent(replay) == {"model": "tiny", "stream": False}
    assert (await rc.unload("tiny")).done_reason == "unload"
    assert sent(replay)["keep_alive"] == 0
    assert (await rc.chat("tiny", [])).done_reason == "load"
    assert sent(replay)["messages"] == []


@pytest.mark.parametrize(
    ("name", "call", "error", "text"),
    [
        ("generate-unknown-model", lambda c: c.generate("no-such-model", "hi"),
         ModelNotFoundError, "no-such-model"),
        ("generate-raw-with-system", lambda c: c.generate("tiny", "x", raw=True, system="s"),
         BadRequestError, "raw mode does not support"),
        ("generate-suffix", lambda c: c.generate("tiny", "def f(", suffix="return x"),
         BadRequestError, "insert"),
        ("generate-think-unsupported", lambda c: c.generate("tiny", "the", think=True),
         BadRequestError, "thinking"),
        ("chat-tools", lambda c: c.chat("tiny", [{"role": "user", "content": "weather?"}],
         tools=load_capture("chat-tools").request_json["tools"]), BadRequestError, "tools"),
        ("embed", lambda c: c.embed("tiny", ["hello", "world"]), ServerError, "embeddings"),
        ("embeddings-legacy", lambda c: c.embeddings("tiny", "hello"), ServerError, "embeddings"),
        ("copy-missing", lambda c: c.copy("no-such-model", "x"), ModelNotFoundError, "not found"),
        ("delete-missing", lambda c: c.delete("no-such-model"), ModelNotFoundError, "not found"),
        ("v1-unknown-model", lambda c: c.openai.chat_completions(
            "no-such-model", [{"role": "user", "content": "hello"}]), ModelNotFoundError,
         "no-such-model"),
        ("v1-embeddings", lambda c: c.openai.embeddings("tiny", "hello"), ServerError,
         "embeddings"),
    ],
)  # fmt: skip
async def test_error_captures_raise_typed_errors(
    replay: Replay,
    rc: Client,
    name: str,
    call: Callable[[Client], Awaitable[object]],
    error: type[ResponseError],
    text: str,
) -> None:
    replay.serve(name)
    with pytest.raises(error) as info:
        await call(rc)
    assert info.value.status == load_capture(name).status
    assert text in str(info.value)


async def test_stream_404_raises_before_iterating_body(replay: Replay, rc: Client) -> None:
    replay.serve("generate-unknown-model")
    with pytest.raises(ModelNotFoundError) as info:
        async with rc.stream("no-such-model", prompt="hi"):
            pass
    assert info.value.model == "no-such-model"


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("generate-bad-json", 400, BadRequestError),
        ("generate-no-body", 400, BadRequestError),
        ("generate-wrong-type", 500, ServerError),
        ("generate-top-logprobs-out-of-range", 400, BadRequestError),
        ("pull-offline-nostream", 500, ServerError),
        ("unknown-route", 404, NotFoundError),
        ("wrong-method", 405, ResponseError),
    ],
)
async def test_raw_requests_map_to_typed_errors(
    replay: Replay, rc: Client, name: str, status: int, error: type[ResponseError]
) -> None:
    """Requests the client itself would refuse to send, sent raw through the transport."""
    cap = load_capture(name)
    replay.serve(name)
    body = cap.request_json
    payload = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(error) as info:
        await rc.transport.open(cap.method, cap.path, payload)
    assert info.value.status == status
    assert not isinstance(info.value, ModelNotFoundError)
    if name == "unknown-route":
        assert info.value.error == "404 page not found"


async def test_client_refuses_what_the_server_would_reject_or_ignore() -> None:
    async with Client("http://127.0.0.1:9") as c:
        with pytest.raises(InvalidRequestError):
            c.stream("tiny", prompt="the", logprobs=True, top_logprobs=50)
        with pytest.raises(InvalidRequestError) as info:
            c.stream("tiny", prompt="the", options={"num_predict": "many"})
        assert info.value.field == "options.num_predict"
        with pytest.raises(InvalidRequestError) as info:
            c.stream("tiny", prompt="the", options={"num_predict": 2, "not_an_option": 3})
        assert "not_an_option" in info.value.field


async def test_unknown_option_capture_still_decodes() -> None:
    import msgspec

    from ollama_async import GenerateResponse

    r = msgspec.json.decode(load_capture("generate-unknown-option").body, type=GenerateResponse)
    assert r.done


# -- model management ------------------------------------------------------------------


async def test_list_ps_show_version(replay: Replay, rc: Client) -> None:
    replay.serve("tags", "ps", "show", "show-verbose", "show-created", "version", "version")
    tags = await rc.list()
    assert [m.name for m in tags.models] == ["127.0.0.1:11436/library/tiny:latest", "tiny:latest"]
    assert tags.models[0].details is not None and tags.models[0].details.family == "llama"
    ps = await rc.ps()
    assert ps.models[0].size_vram == 0 and ps.models[0].context_length == 512
    show = await rc.show("tiny")
    assert show.model_info is not None and show.model_info["llama.block_count"] == 2
    verbose = await rc.show("tiny", verbose=True)
    assert sent(replay) == {"model": "tiny", "verbose": True}
    assert verbose.tensors
    created = await rc.show("tiny-sys")
    assert created.system == "You are terse."
    assert await rc.version() == "0.13.99-src"
    assert await rc.is_running()


async def test_copy_and_delete(replay: Replay, rc: Client) -> None:
    replay.serve("copy", "delete", "delete-created", "delete-pulled")
    await rc.copy("tiny", "tiny-copy")
    assert sent(replay) == {"source": "tiny", "destination": "tiny-copy"}
    await rc.delete("tiny-copy")
    assert replay.seen[-1][0] == "DELETE" and sent(replay) == {"model": "tiny-copy"}
    await rc.delete("tiny-sys")
    await rc.delete("127.0.0.1:11436/library/tiny")


async def test_pull_progress(replay: Replay, rc: Client) -> None:
    replay.serve("pull-progress")
    pull = rc.pull("127.0.0.1:11436/library/tiny", insecure=True)
    chunks = [c async for c in pull]
    assert chunks[0].status == "pulling manifest"
    assert pull.final is not None and pull.final.status == "success"
    assert pull.progress.total == 486528 + 152 and pull.progress.percent == 100.0
    assert sent(replay) == {"model": "127.0.0.1:11436/library/tiny", "insecure": True}


async def test_pull_error_line_is_a_stream_error(replay: Replay, rc: Client) -> None:
    replay.serve("pull-offline")
    with pytest.raises(StreamError) as info:
        await rc.pull("127.0.0.1:1/library/nothing", insecure=True)
    assert "connection refused" in str(info.value)


async def test_create_from_existing(replay: Replay, rc: Client) -> None:
    replay.serve("create-from")
    final = await rc.create(
        "tiny-sys",
        from_="tiny",
        system="You are terse.",
        parameters={"temperature": 0.1, "stop": ["\n"]},
    )
    assert final.status == "success"
    assert sent(replay) == load_capture("create-from").request_json


async def test_blob_head_and_upload_errors(replay: Replay, rc: Client, tmp_path: Path) -> None:
    replay.serve("blob-head-missing")
    assert await rc.blob_exists("sha256:" + "0" * 64) is False
    f = tmp_path / "blob.bin"
    f.write_bytes(b"not the bytes")
    replay.serve("blob-head-missing", "blob-post-wrong-digest")
    with pytest.raises(BadRequestError) as info:
        await rc.upload_blob(f)
    assert "digest mismatch" in str(info.value)
    assert replay.seen[-1][2] == b"not the bytes"  # streamed from disk as it is


async def test_root_and_head_root(replay: Replay, rc: Client) -> None:
    replay.serve("root", "head-root")
    resp = await rc.transport.open("GET", "/")
    assert await resp.read(1024) == b"Ollama is running"
    resp.finish()
    head = await rc.transport.open("HEAD", "/")
    head.finish()
    assert head.status == 200


# -- /v1 -------------------------------------------------------------------------------


async def test_v1_streams_and_whole(replay: Replay, rc: Client) -> None:
    replay.serve("v1-chat-stream-usage", "v1-chat-stream", "v1-completions-stream", "v1-chat")
    msgs = [{"role": "user", "content": "hello"}]
    s = rc.openai.stream(
        "tiny", messages=msgs, max_tokens=5, stream_options={"include_usage": True}
    )
    events = [e async for e in s]
    assert len(events) == 5 and s.final is not None and s.final.usage.total_tokens == 63
    toks = rc.openai.stream_tokens("tiny", messages=msgs, max_tokens=10)
    assert "".join([t async for t in toks]) == toks.text and toks.text
    raw = b"".join([b async for b in rc.openai.stream_bytes("tiny", prompt="the sky")])
    assert raw == load_capture("v1-completions-stream").body
    whole = await rc.openai.chat_completions("tiny", msgs, max_tokens=5)
    assert whole.choices[0].finish_reason == "length" and whole.usage is not None


async def test_v1_models(replay: Replay, rc: Client) -> None:
    replay.serve("v1-models")
    models = await rc.openai.models()
    assert [m.id for m in models.data] == ["127.0.0.1:11436/library/tiny:latest", "tiny:latest"]


def test_every_capture_is_exercised() -> None:
    """A new capture added to tests/captures must get a test here."""
    text = Path(__file__).read_text()
    names = capture_names()
    assert names, "tests/captures holds no capture"
    missing = [n for n in names if f'"{n}"' not in text]
    assert not missing, missing
