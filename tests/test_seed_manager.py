"""``OllamaManager`` as seed 003 writes it: records, stats, runs, auto-start, the start
contract, owned tasks, the default model (seed 002) and store upkeep (prune)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_async import Client, ModelNotFoundError, RetryPolicy, ServerUnreachableError
from ollama_async._settings import OllamaConfig
from ollama_async.manage import (
    ExecutableNotFoundError,
    ModelExecutionResult,
    OllamaManager,
    OllamaModel,
    modified_time,
)
from ollama_async.testing import Emulator, Fault

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OLLAMA_ASYNC_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("OLLAMA_ASYNC_OUTPUT_DIR", str(tmp_path / "out"))
    yield


def at(url: str, **changes: object) -> OllamaConfig:
    return OllamaConfig(base_url=url).updated(**changes)


async def test_records_stats_and_runs(emu: Emulator, tmp_path: Path) -> None:
    async with OllamaManager(base_url=emu.url) as m:
        models = await m.list_models()
        assert all(isinstance(x, OllamaModel) for x in models)
        tiny = await m.get_model_by_name("tiny")
        assert tiny is not None and tiny.name == "tiny:latest" and len(tiny.id) == 12
        assert tiny.parameters == "119K" and tiny.family == "llama" and tiny.format == "gguf"
        assert await m.is_model_available("registry.ollama.ai/library/llama3.2:latest")
        assert not await m.is_model_available("llama3.2:70b")
        assert await m.get_model_by_name("llama3.2:70b") is None
        before = await m.get_model_stats()
        assert before["total_models"] == len(models) == len(before["models"])
        assert before["total_size"] == sum(x.size for x in models)
        await m.client.copy("llama3.2", "llama-copy")
        await m.client.create("pirate", from_="llama3.2", system="Arr")
        after = await m.get_model_stats()
        assert after["total_models"] == before["total_models"] + 2
        assert after["disk_size"] == before["disk_size"]  # copies share their blobs
        assert sum(after["by_family"].values()) == after["total_size"]
        result = await m.run_model("llama3.2", "Hi", {"num_predict": 5})
        assert isinstance(result, ModelExecutionResult) and result.success
        assert result.execution_time > 0 and result.tokens_used and result.metadata
        assert emu.requests[-1].json["options"] == {"num_predict": 5}
        assert (tmp_path / "out") in Path(result.metadata["output_file"]).parents
        missing = await m.run_model("nope", "Hi")
        assert not missing.success and isinstance(missing.error, ModelNotFoundError)
        assert await m.download_model("example/new-one") is True
        assert await m.is_model_available("example/new-one")
        emu.inject(Fault(status=500, body='{"error": "disk full"}'), model="example/broken")
        assert await m.download_model("example/broken") is False
        assert "disk full" in str(m.last_error)
        got = await m.ensure_model("example/new-one")
        assert got.name == "example/new-one:latest"


async def test_run_model_async_tasks_are_owned(tmp_path: Path) -> None:
    emu = Emulator(tokens_per_second=20)
    async with emu as url:
        m = OllamaManager(base_url=url)
        quick = m.run_model_async("tiny", "Hi", {"num_predict": 1})
        assert isinstance(quick, asyncio.Task) and (await quick).success
        slow = m.run_model_async("tiny", "Hi", {"num_predict": 500})
        await asyncio.sleep(0.05)
        await m.cleanup()  # the manager owns it: cancelled and awaited, nothing left behind
        assert slow.done() and slow.cancelled()
        await emu.wait_idle()


async def test_the_default_model_is_used_where_none_is_given(emu: Emulator) -> None:
    m = OllamaManager(config=at(emu.url, default_model="tiny"))
    result = await m.run_model(None, "Hi", save_output=False)
    await m.cleanup()
    assert result.success and result.model_name == "tiny"
    assert emu.requests[-1].json["model"] == "tiny"


async def test_prune_models_not_used_for_n_days(emu: Emulator) -> None:
    old = "2020-01-01T00:00:00.123456789Z"
    for name in ("tiny:latest", "qwen3:latest", "llama3.2:latest"):
        emu.store.models[name].modified_at = old
    async with OllamaManager(base_url=emu.url) as m:
        await m.client.load("qwen3")  # loaded now (in /api/ps): in use, kept
        dry = await m.prune_models(30)
        # llama3.2 is the configured default model: kept; nomic-embed-text is new: kept
        assert [x.name for x in dry] == ["tiny:latest"]
        assert await m.is_model_available("tiny")  # a dry run deletes nothing
        assert [x.name for x in await m.prune_models(30, keep=["tiny"])] == []
        gone = await m.prune_models(30, dry_run=False)
        assert [x.name for x in gone] == ["tiny:latest"]
        assert not await m.is_model_available("tiny")
        assert await m.prune_models(0) != []  # zero days: everything idle and not kept
        with pytest.raises(ValueError):
            await m.prune_models(float("nan"))
    assert modified_time("not a time") is None


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


async def test_the_first_operation_starts_the_server_and_cleanup_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = stand_in_ollama(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    manager = OllamaManager(str(exe), base_url=url, start_timeout=20)  # auto-start: the default
    assert not manager.started_server  # nothing happens in the constructor
    assert await manager.is_model_available("llama3.2")  # first operation: starts it
    assert manager.started_server
    await manager.cleanup()
    assert not manager.started_server
    async with Client(url, retry=RetryPolicy(retries=0)) as probe:
        assert not await probe.is_running()  # the child is gone


async def test_auto_start_never_touches_a_server_it_did_not_start(
    emu: Emulator, tmp_path: Path
) -> None:
    exe = stand_in_ollama(tmp_path)
    async with OllamaManager(str(exe), True, emu.url) as m:
        assert not m.started_server
    async with Client(emu.url) as c:
        assert await c.is_running()


async def test_start_keeps_its_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    quiet = OllamaManager(config=at(url, auto_start_server=False, retries=0))
    with pytest.raises(ServerUnreachableError) as info:  # no server, may not start one
        await quiet.start()
    assert "auto_start_server is off" in str(info.value)
    await quiet.cleanup()
    monkeypatch.setenv("PATH", str(tmp_path))
    m = OllamaManager(config=at(url, retries=0, ollama_binary="ollama-nowhere"))
    with pytest.raises(ExecutableNotFoundError) as missing:  # the first operation says so
        await m.list_models()
    await m.cleanup()
    assert missing.value.executable == "ollama-nowhere" and "ollama-nowhere" in str(missing.value)
    assert isinstance(missing.value, FileNotFoundError)
    assert os.environ["PATH"] == str(tmp_path)
