"""The one stream engine, across every stream kind: leaving, closing the client, the end of
the stream, what follows the final record, and the audit record of every operation."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from ollama_async import (
    Client,
    ClientClosedError,
    RetryPolicy,
    StreamMisuseError,
    Timeouts,
)
from ollama_async.audit import disable_audit_log, enable_audit_log

from .conftest import acquired
from .faultserver import Conn, FaultServer

KINDS = ["stream", "stream_tokens", "stream_bytes", "v1.stream", "v1.stream_tokens",
         "v1.stream_bytes", "pull"]  # fmt: skip


def ndjson(text: str, done: bool = False) -> bytes:
    body: dict[str, Any] = {"model": "m", "created_at": "2026-11-22T15:27:54Z",
                            "response": text, "done": done}  # fmt: skip
    if done:
        body.update(done_reason="stop", eval_count=2)
    return json.dumps(body).encode() + b"\n"


def sse(text: str) -> bytes:
    event = {"id": "c", "object": "text_completion", "created": 1, "model": "m",
             "choices": [{"index": 0, "text": text, "finish_reason": None}]}  # fmt: skip
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def progress(status: str) -> bytes:
    return json.dumps({"status": status}).encode() + b"\n"


RECORDS: dict[str, tuple[list[bytes], bytes, str]] = {
    # kind family: (records before the end, the final record, content type)
    "native": ([ndjson("a"), ndjson("b")], ndjson("", done=True), "application/x-ndjson"),
    "v1": ([sse("a"), sse("b")], b"data: [DONE]\n\n", "text/event-stream"),
    "pull": ([progress("pulling manifest"), progress("verifying")], progress("success"),
             "application/x-ndjson"),
}  # fmt: skip


def family(kind: str) -> str:
    return "v1" if kind.startswith("v1.") else "pull" if kind == "pull" else "native"


def open_stream(c: Client, kind: str) -> Any:
    if kind == "pull":
        return c.pull("m")
    if kind.startswith("v1."):
        return getattr(c.openai, kind[3:])("m", prompt="x")
    return getattr(c, kind)("m", prompt="x")


def script(
    kind: str, *, end: bool, hold: bool, closed: list[bool]
) -> Callable[[Conn], Awaitable[None]]:
    """Send the records (and the final one when ``end``), then hold the body open (no
    chunked terminator) or end it, and note whether the client closed its side."""
    lines, final, ctype = RECORDS[family(kind)]

    async def run(conn: Conn) -> None:
        conn.head(ctype=ctype)
        for line in [*lines, *([final] if end else [])]:
            conn.chunk(line)
        if hold:
            closed.append(await conn.client_closed(timeout=5))
        else:
            conn.end()

    return run


def client_of(fs: FaultServer, idle: float = 30) -> Client:
    return Client(fs.url, retry=RetryPolicy(retries=0), timeouts=Timeouts(connect=2, idle=idle))


@pytest.mark.parametrize("kind", KINDS)
async def test_break_closes_the_connection_at_once(fs: FaultServer, kind: str) -> None:
    closed: list[bool] = []
    fs.script = script(kind, end=False, hold=True, closed=closed)
    async with client_of(fs) as c:
        s = open_stream(c, kind)
        async for _ in s:
            break
        with anyio.fail_after(5):
            while not closed:
                await anyio.sleep(0.01)
        assert closed == [True]
        await anyio.lowlevel.checkpoint()  # the caller's next await is not cancelled
        assert acquired(c) == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_closing_the_client_ends_a_read_in_another_task(fs: FaultServer, kind: str) -> None:
    closed: list[bool] = []
    fs.script = script(kind, end=False, hold=True, closed=closed)
    errors: list[BaseException] = []
    got_one = anyio.Event()
    c = client_of(fs)

    async def reader() -> None:
        try:
            async for _ in open_stream(c, kind):
                got_one.set()
        except ClientClosedError as exc:
            errors.append(exc)

    with anyio.fail_after(5):  # without the fix the reader waits for the 30 s idle limit
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await got_one.wait()
            await c.aclose()
    assert len(errors) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_the_stream_ends_at_its_final_record_even_if_the_body_stays_open(
    fs: FaultServer, kind: str
) -> None:
    closed: list[bool] = []
    fs.script = script(kind, end=True, hold=True, closed=closed)
    async with client_of(fs) as c:
        s = open_stream(c, kind)
        with anyio.fail_after(5):  # the idle limit is 30 s: waiting for the body would fail
            async for _ in s:
                pass
        assert s.final is not None
        with anyio.fail_after(5):
            while not closed:
                await anyio.sleep(0.01)
        assert closed == [True]  # not reusable: dropped after the grace period


@pytest.mark.parametrize("kind", KINDS)
async def test_a_complete_stream_gives_its_connection_back(fs: FaultServer, kind: str) -> None:
    fs.script = script(kind, end=True, hold=False, closed=[])
    async with client_of(fs) as c:
        for _ in range(3):
            s = open_stream(c, kind)
            async for _ in s:
                pass
            assert s.final is not None
        assert fs.connections == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_is_read_once(fs: FaultServer, kind: str) -> None:
    fs.script = script(kind, end=True, hold=False, closed=[])
    async with client_of(fs) as c:
        s = open_stream(c, kind)
        async for _ in s:
            pass
        with pytest.raises(StreamMisuseError):
            async for _ in s:
                pass
        with pytest.raises(StreamMisuseError):
            async with s:
                pass


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.audit)  # type: ignore[attr-defined]


async def test_every_operation_writes_one_audit_record(emu: Any, tmp_path: Any) -> None:
    handler = _Records()
    enable_audit_log(handler=handler)
    blob = tmp_path / "w.bin"
    blob.write_bytes(b"weights")
    try:
        async with Client(emu.url) as c:
            calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("/api/version", c.version),
                ("/api/tags", c.list),
                ("/api/ps", c.ps),
                ("/api/show", lambda: c.show("tiny")),
                ("/api/generate", lambda: c.generate("tiny", "hi")),
                ("/api/chat", lambda: c.chat("tiny", [{"role": "user", "content": "hi"}])),
                ("/api/generate", lambda: _drain(c.stream("tiny", prompt="hi"))),
                ("/api/generate", lambda: _drain(c.stream_tokens("tiny", prompt="hi"))),
                ("/api/chat", lambda: _drain(c.stream_bytes("tiny", messages=[]))),
                ("/api/embed", lambda: c.embed("nomic-embed-text", "a")),
                ("/api/embeddings", lambda: c.embeddings("nomic-embed-text", "a")),
                ("/api/pull", lambda: _drain(c.pull("tiny"))),
                ("/api/copy", lambda: c.copy("tiny", "tiny-copy")),
                ("/api/delete", lambda: c.delete("tiny-copy")),
                ("/v1/chat/completions",
                 lambda: c.openai.chat_completions("tiny", [{"role": "user", "content": "hi"}])),
                ("/v1/completions", lambda: c.openai.completions("tiny", "hi")),
                ("/v1/completions", lambda: _drain(c.openai.stream("tiny", prompt="hi"))),
                ("/v1/chat/completions", lambda: _drain(c.openai.stream_bytes(
                    "tiny", messages=[{"role": "user", "content": "hi"}]))),
                ("/v1/models", c.openai.models),
                ("/v1/embeddings", lambda: c.openai.embeddings("nomic-embed-text", "a")),
                ("/api/blobs/", lambda: c.blob_exists("sha256:" + "0" * 64)),
                ("/api/blobs/", lambda: c.upload_blob(blob)),  # HEAD then POST: two records
            ]  # fmt: skip
            for endpoint, call in calls:
                before = len(handler.records)
                await call()
                new = handler.records[before:]
                assert new and all(r["endpoint"].startswith(endpoint) for r in new), endpoint
                assert len(new) == (2 if call is calls[-1][1] else 1), endpoint
                assert all(r["error"] is None for r in new), (endpoint, new)
            before = len(handler.records)
            with pytest.raises(Exception):  # noqa: B017 - any typed error will do
                await c.generate("no-such-model", "hi")
            (failed,) = handler.records[before:]
            assert failed["error"] == "ModelNotFoundError" and failed["status"] == 404
    finally:
        disable_audit_log()


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass
