"""The audit log: one record per operation, counts only, off by default."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_async import Client, ModelNotFoundError, RetryPolicy, ServerUnreachableError
from ollama_async.audit import disable_audit_log, enable_audit_log, is_enabled
from ollama_async.testing import Emulator

KEY = "sk-audit-secret"
PROMPT = "PRIVATE prompt text 93c1"


@pytest.fixture(autouse=True)
def audit_off() -> Iterator[None]:
    yield
    disable_audit_log()


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_off_by_default(emu: Emulator) -> None:
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Collect()
    logging.getLogger("ollama_async.audit").addHandler(handler)
    try:
        assert not is_enabled()
        async with Client(emu.url) as c:
            await c.generate("llama3.2", "hi")
    finally:
        logging.getLogger("ollama_async.audit").removeHandler(handler)
    assert seen == []


async def test_one_record_per_operation_and_never_text(emu: Emulator, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    enable_audit_log(log)
    async with Client(emu.url, api_key=KEY, retry=RetryPolicy(retries=0)) as c:
        await c.generate("llama3.2", PROMPT, options={"num_predict": 5})
        s = c.stream_tokens("llama3.2", prompt=PROMPT, options={"num_predict": 7})
        reply = "".join([t async for t in s])
        async for _ in c.stream("llama3.2", prompt=PROMPT, options={"num_predict": 50}):
            break
        await c.list()
        await c.pull("example/audited")
        with pytest.raises(ModelNotFoundError):
            await c.generate("missing", PROMPT)
    async with Client("http://127.0.0.1:9", retry=RetryPolicy(retries=0)) as dead:
        with pytest.raises(ServerUnreachableError):
            await dead.version()
    rows = records(log)
    assert [r["endpoint"] for r in rows] == ["/api/generate", "/api/generate", "/api/generate",
                                             "/api/tags", "/api/pull", "/api/generate",
                                             "/api/version"]  # fmt: skip
    whole, streamed, left, tags, pull, missing, dead_row = rows
    assert whole["eval_tokens"] == 5 and whole["status"] == 200 and whole["error"] is None
    assert streamed["eval_tokens"] == 7 and streamed["bytes"] > 0
    assert streamed["model"] == "llama3.2" and streamed["host"].startswith("127.0.0.1:")
    assert left["error"] == "_ClosedEarly"
    assert tags["status"] == 200 and pull["error"] is None
    assert missing["status"] == 404 and missing["error"] == "ModelNotFoundError"
    assert dead_row["status"] is None and dead_row["error"] == "ServerUnreachableError"
    assert all(isinstance(r["duration_ms"], float) for r in rows)
    text = log.read_text()
    assert PROMPT not in text and KEY not in text and reply not in text
    assert "Authorization" not in text


async def test_a_handler_of_your_own_and_turning_it_off(emu: Emulator) -> None:
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    enable_audit_log(handler=Collect())
    async with Client(emu.url) as c:
        await c.version()
        disable_audit_log()
        await c.version()
    assert len(seen) == 1 and seen[0].audit["endpoint"] == "/api/version"  # type: ignore[attr-defined]
