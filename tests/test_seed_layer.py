"""The seed spec's layer: ExecutionOptions presets, ModelRunner, OutputManager, ConfigManager."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ollama_async import Client, ConfigError
from ollama_async.runner._outputs import OutputManager, safe_name
from ollama_async.runner._presets import PRESETS, ExecutionOptions
from ollama_async.runner._runner import CONTEXT_LAYOUT, ModelExecutionResult, ModelRunner
from ollama_async.runner._settings import ConfigManager, default_config_path
from ollama_async.testing import Emulator, Fault


@pytest.fixture
async def runner() -> AsyncIterator[tuple[ModelRunner, Emulator]]:
    emu = Emulator(tokens_per_second=500)
    async with emu as url, Client(url) as client:
        yield ModelRunner(client), emu


def test_presets_map_to_request_fields() -> None:
    assert set(PRESETS) == {"fast", "creative", "balanced", "precise", "long_form"}
    fields = ExecutionOptions.long_form().request_fields()
    assert fields["options"]["num_predict"] == 4096 and fields["options"]["num_ctx"] == 16384
    assert ExecutionOptions.creative().temperature > ExecutionOptions.precise().temperature
    opts = ExecutionOptions(max_tokens=5, system_prompt="terse", format="json")
    assert opts.request_fields() == {"options": {"num_predict": 5}, "system": "terse",
                                     "format": "json"}  # fmt: skip
    with pytest.raises(ValueError):
        ExecutionOptions.preset("turbo")


async def test_run_with_options_and_failures_are_results(
    runner: tuple[ModelRunner, Emulator],
) -> None:
    r, emu = runner
    ok = await r.run_with_options("llama3.2", "hi", ExecutionOptions(max_tokens=6, temperature=0.2))
    assert ok.success and ok.response and ok.metadata["eval_count"] == 6
    assert ok.tokens_used == 6 + ok.metadata["prompt_eval_count"] and ok.execution_time > 0
    assert emu.requests[-1].json["options"] == {"temperature": 0.2, "num_predict": 6}
    bad = await r.run_with_options("no-such-model", "hi")
    assert not bad.success and "ModelNotFoundError" in (bad.error_message or "")
    slow = Emulator(tokens_per_second=5)
    async with slow as url, Client(url) as c:
        timed = await ModelRunner(c).run_with_options(
            "llama3.2", "hi", ExecutionOptions(max_tokens=50, timeout=0.2)
        )
    assert not timed.success and "timed out" in (timed.error_message or "")


async def test_streaming_conversation_and_context(runner: tuple[ModelRunner, Emulator]) -> None:
    r, emu = runner
    pieces: list[str] = []
    s = await r.run_streaming("llama3.2", "hi", pieces.append, ExecutionOptions(max_tokens=4))
    assert "".join(pieces) == s.response and s.metadata["time_to_first_token"] > 0
    conv = await r.run_conversation(
        "llama3.2",
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
         {"role": "user", "content": "c"}],
        ExecutionOptions(system_prompt="be brief"),
    )  # fmt: skip
    assert conv.success and conv.prompt == "c"
    assert emu.requests[-1].json["messages"][0] == {"role": "system", "content": "be brief"}
    ctx = await r.run_with_context("llama3.2", "What colour?", ["The sky is blue.", "Grass."])
    sent = emu.requests[-1].json["prompt"]
    assert sent == CONTEXT_LAYOUT.format(
        documents="[Document 1]\nThe sky is blue.\n\n[Document 2]\nGrass.", prompt="What colour?"
    )
    assert ctx.prompt == "What colour?" and ctx.metadata["context_documents"] == 2


async def test_batch_benchmark_comparison_and_task(runner: tuple[ModelRunner, Emulator]) -> None:
    r, emu = runner
    results = await r.run_batch("llama3.2", [f"p{i}" for i in range(10)], max_concurrent=3)
    assert [x.prompt for x in results] == [f"p{i}" for i in range(10)]
    assert all(isinstance(x, ModelExecutionResult) and x.success for x in results)
    assert emu.max_in_flight <= 3
    report = await r.benchmark_model(
        "llama3.2", ["a", "b", "c", "d"], ExecutionOptions(max_tokens=5)
    )
    assert report["successes"] == 4 and report["average_tokens_per_second"] == pytest.approx(500)
    assert report["p50_execution_time"] <= report["p95_execution_time"]
    assert report["average_time_to_first_token"] > 0
    comparison = await r.create_model_comparison(["llama3.2", "tiny", "missing"], "hi")
    assert comparison["fastest"] in ("llama3.2", "tiny")
    assert comparison["results"]["missing"]["success"] is False
    task = r.run_model_async("llama3.2", "hi")
    assert isinstance(task, asyncio.Task) and (await task).success
    assert r.async_run_batch == r.run_batch


@pytest.mark.parametrize(
    "model", ["../../etc", "/", ":", "..", "a/../../b", "C:\\Windows\\x", "\x00evil", "." * 300]
)
async def test_names_from_models_never_escape_the_output_folder(tmp_path: Path, model: str) -> None:
    base = tmp_path / "out"
    outputs = OutputManager(base)
    path = await outputs.save_output(model, "p", "r")
    assert base.resolve() in path.resolve().parents
    assert all(
        p.resolve().is_relative_to(base.resolve()) for p in tmp_path.rglob("*") if p.is_file()
    )
    assert safe_name(model) not in ("", ".", "..")


async def test_outputs_save_list_stats_and_cleanup(tmp_path: Path) -> None:
    outputs = OutputManager(tmp_path)
    await outputs.save_output("llama3.2:latest", "q", "answer", fmt="json", metadata={"k": 1})
    await outputs.save_output("tiny", "q", "plain")
    await outputs.save_execution_result(ModelExecutionResult("tiny", "q", "a"))
    await outputs.save_model_config("tiny", {"temperature": 0.1})
    await outputs.save_benchmark_report({"model": "tiny", "runs": 1})
    await outputs.save_comparison({"prompt": "q"})
    listed = await outputs.list_saved_outputs(model="tiny")
    assert {e["kind"] for e in listed} == {"outputs", "results", "configs", "benchmarks"}
    saved = json.loads(
        (await outputs.list_saved_outputs(model="llama3.2:latest"))[0]["path"].read_text()
    )
    assert saved["response"] == "answer" and saved["metadata"] == {"k": 1}
    stats = await outputs.get_output_stats()
    assert stats["count"] == 6 and stats["by_kind"]["outputs"] == 2 and stats["total_bytes"] > 0
    old = listed[0]["path"]
    os.utime(old, (time.time() - 10 * 86400,) * 2)
    assert await outputs.cleanup_old_outputs(days_old=7) == 1
    assert not old.exists()
    assert not [p for p in tmp_path.rglob(".*.tmp")]  # no temporary files left behind


async def test_batch_results_are_written_as_items_complete(runner: tuple[ModelRunner, Emulator],
                                                           tmp_path: Path) -> None:  # fmt: skip
    r, emu = runner
    outputs = OutputManager(tmp_path)
    emu.inject(Fault(latency=0.3), model="tiny")
    from ollama_async import BatchRunner

    items = [{"model": "tiny", "prompt": "slow"}, {"model": "llama3.2", "prompt": "fast"}]
    completed = BatchRunner(r.client, max_concurrent=2).as_completed(items)
    async with outputs.batch_writer("run1") as write, completed as results:
        async for result in results:
            await write({"index": result.index, "ok": result.ok})
            lines = (tmp_path / "batches" / "all" / "run1.jsonl").read_text().splitlines()
            assert len(lines) >= 1  # on disk before the batch ends
    lines = (tmp_path / "batches" / "all" / "run1.jsonl").read_text().splitlines()
    assert [json.loads(x)["index"] for x in lines] == [1, 0]


def test_config_round_trip_env_and_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    config = ConfigManager(path)
    config.update("defaults.model", "qwen3")
    config.update("server.api_key", "sk-123")
    config.set_model_config("llama3.2:latest", {"preset": "precise", "max_tokens": 99})
    config.set_preset("mine", {"temperature": 0.5})
    config.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds a key
    again = ConfigManager(path)
    assert again.config["defaults"]["model"] == "qwen3"
    m = again.get_model_config("llama3.2:latest")
    assert m.temperature == ExecutionOptions.precise().temperature and m.max_tokens == 99
    assert again.get_preset("mine").temperature == 0.5
    monkeypatch.setenv("OLLAMA_HOST", "http://elsewhere:1")
    with_env = ConfigManager(path)
    assert with_env.config["server"]["host"] == "http://elsewhere:1"
    with_env.save()
    assert "elsewhere" not in path.read_text()  # overrides are not written back
    exported = with_env.export_config(tmp_path / "export.toml")
    assert "sk-123" not in exported.read_text()
    with_env.reset()
    assert with_env.config == ConfigManager.get_default_config()
    assert with_env.validate_config()["valid"]


def test_config_refuses_unknown_keys_and_wrong_types(tmp_path: Path) -> None:
    config = ConfigManager(tmp_path / "c.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nhots = "x"\n')
    with pytest.raises(ConfigError) as info:
        config.import_config(bad)
    assert info.value.key == "server.hots" and "host" in str(info.value)
    bad.write_text('[defaults]\nmax_concurrent = "four"\n')
    with pytest.raises(ConfigError) as info:
        config.import_config(bad)
    assert info.value.key == "defaults.max_concurrent"
    with pytest.raises(ConfigError):
        config.update("server.retries", True)
    config.config["defaults"]["preset"] = "nope"
    report = config.validate_config()
    assert not report["valid"] and any("preset" in e for e in report["errors"])


def test_default_config_path_is_per_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_ASYNC_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/xdg")
    assert default_config_path() == Path("/xdg/ollama_async/config.toml")
    monkeypatch.setenv("OLLAMA_ASYNC_CONFIG", "/elsewhere/c.toml")
    assert default_config_path() == Path("/elsewhere/c.toml")
