"""The seed spec's runner layer: ExecutionOptions presets, ModelRunner, OutputManager."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ollama_async import Client, InvalidRequestError, ModelNotFoundError
from ollama_async.runner import (
    PRESETS,
    ExecutionOptions,
    ModelExecutionResult,
    ModelRunner,
    OllamaConfig,
    OllamaManager,
    OutputManager,
    StreamingChunk,
    preset,
)
from ollama_async.runner._outputs import safe_name
from ollama_async.runner._runner import CONTEXT_LAYOUT
from ollama_async.testing import Emulator, Fault


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[tuple[ModelRunner, Emulator]]:
    emu = Emulator(tokens_per_second=500)
    async with emu as url:
        config = OllamaConfig(base_url=url, output_dir=str(tmp_path / "out"))
        manager = OllamaManager(config=config)
        yield ModelRunner(manager), emu
        await manager.cleanup()


def test_defaults_and_presets_are_the_seeds() -> None:
    assert set(PRESETS) == {"fast", "creative", "balanced", "precise", "long_form"}
    creative = preset("creative")
    assert (creative.temperature, creative.max_tokens) == (0.9, 1024)
    assert preset("balanced") == ExecutionOptions()
    fields = preset("long_form").request_fields()
    assert fields["options"]["num_predict"] == 4096 and fields["options"]["num_ctx"] == 16384
    assert preset("precise").temperature < ExecutionOptions().temperature < creative.temperature
    opts = ExecutionOptions(max_tokens=5, system_prompt="terse", format="json")
    assert opts.request_fields() == {
        "options": {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "repeat_penalty": 1.1,
                    "num_predict": 5}, "system": "terse", "format": "json"}  # fmt: skip
    mine = preset("fast")
    mine.temperature = 0.0  # not frozen, and a copy: the shared preset is unchanged
    assert preset("fast").temperature != 0.0
    with pytest.raises(InvalidRequestError):
        preset("turbo")


async def test_run_with_options_and_failures_are_results(
    runner: tuple[ModelRunner, Emulator], tmp_path: Path
) -> None:
    r, emu = runner
    ok = await r.run_with_options("llama3.2", "hi", ExecutionOptions(max_tokens=6, temperature=0.2))
    assert ok.success and ok.response and ok.metadata and ok.metadata["eval_count"] == 6
    assert ok.tokens_used == 6 + ok.metadata["prompt_eval_count"] and ok.execution_time > 0
    assert emu.requests[-1].json["options"]["temperature"] == 0.2
    saved = json.loads(Path(ok.metadata["output_file"]).read_text())
    assert saved["response"] == ok.response and (tmp_path / "out") in Path(
        ok.metadata["output_file"]).parents  # fmt: skip
    bad = await r.run_with_options("no-such-model", "hi", save_output=False)
    assert not bad.success and "ModelNotFoundError" in (bad.error_message or "")
    assert isinstance(bad.error, ModelNotFoundError) and bad.error.model == "no-such-model"
    assert bad.to_dict()["error_type"] == "ModelNotFoundError"
    slow = Emulator(tokens_per_second=5)
    async with slow as url:
        m = OllamaManager(config=OllamaConfig(base_url=url))
        timed = await ModelRunner(m).async_run_model(
            "llama3.2", "hi", ExecutionOptions(max_tokens=50), timeout=1
        )
        await m.cleanup()
    assert not timed.success and "within 1s" in (timed.error_message or "")
    assert isinstance(timed.error, TimeoutError)


async def test_streaming_conversation_and_context(runner: tuple[ModelRunner, Emulator]) -> None:
    r, emu = runner
    chunks: list[StreamingChunk] = []
    s = await r.run_streaming("llama3.2", "hi", ExecutionOptions(max_tokens=4), chunks.append)
    assert "".join(c.content for c in chunks) == s.response and chunks[-1].done
    assert [c.index for c in chunks[:-1]] == list(range(4))
    assert s.metadata and s.metadata["time_to_first_token"] > 0
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
    assert ctx.prompt == "What colour?" and ctx.metadata and ctx.metadata["context_documents"] == 2
    async with await r.async_generate_stream("llama3.2", "hi") as stream:
        async for first in stream:
            assert first.content
            break  # leaving early closes the stream
    await emu.wait_idle()


async def test_batch_benchmark_comparison_and_task(runner: tuple[ModelRunner, Emulator]) -> None:
    r, emu = runner
    results = await r.run_batch("llama3.2", [f"p{i}" for i in range(10)], max_concurrent=3)
    assert [x.prompt for x in results] == [f"p{i}" for i in range(10)]
    assert all(isinstance(x, ModelExecutionResult) and x.success for x in results)
    assert emu.max_in_flight <= 3
    # The seed's third positional argument is options, not max_concurrent.
    positional = await r.run_batch("llama3.2", ["x"], ExecutionOptions(max_tokens=3), 1)
    assert emu.requests[-1].json["options"]["num_predict"] == 3 and positional[0].success
    with pytest.raises(InvalidRequestError):
        await r.run_batch("llama3.2", ["x"], None, 0)
    report = await r.benchmark_model(
        "llama3.2", ["a", "b", "c", "d"], ExecutionOptions(max_tokens=5)
    )
    assert report["successful_runs"] == 4 and report["avg_tokens_per_second"] == pytest.approx(500)
    assert report["avg_execution_time"] > 0 and len(report["individual_results"]) == 4
    assert report["p50_execution_time"] <= report["p95_execution_time"]
    assert report["avg_time_to_first_token"] > 0
    comparison = await r.create_model_comparison(["llama3.2", "tiny", "missing"], "hi")
    assert comparison["summary"]["fastest_model"] in ("llama3.2", "tiny")
    assert comparison["summary"]["successful_models"] == 2
    assert comparison["results"]["missing"]["success"] is False
    assert list(comparison["results"]) == ["llama3.2", "tiny", "missing"]


@pytest.mark.parametrize(
    "model", ["../../etc", "/", ":", "..", "a/../../b", "C:\\Windows\\x", "\x00evil", "." * 300]
)
async def test_names_from_models_never_escape_the_output_folder(tmp_path: Path, model: str) -> None:
    base = tmp_path / "out"
    outputs = OutputManager(str(base))
    path = await outputs.save_model_output(model, "p", "r", 0.1)
    assert base.resolve() in path.resolve().parents
    assert all(
        p.resolve().is_relative_to(base.resolve()) for p in tmp_path.rglob("*") if p.is_file()
    )
    assert safe_name(model) not in ("", ".", "..")


async def test_outputs_save_list_stats_and_cleanup(tmp_path: Path) -> None:
    outputs = OutputManager(str(tmp_path))
    await outputs.save_model_output("llama3.2:latest", "q", "answer", 1.5, metadata={"k": 1})
    await outputs.save_model_output("tiny", "q", "plain", 0.2)
    await outputs.save_execution_result(ModelExecutionResult("tiny", "q", "a", 0.3))
    await outputs.save_model_config("tiny", {"temperature": 0.1}, "cool")
    assert await outputs.load_model_config("tiny", "cool") == {"temperature": 0.1}
    assert await outputs.load_model_config("tiny") is None
    await outputs.save_benchmark_report({"avg_execution_time": 1}, "tiny")
    await outputs.save_model_comparison({"test_prompt": "q"})
    await outputs.save_batch_results([ModelExecutionResult("tiny", "q", "a", 0.3)], "b1")
    kinds = {t: len(await outputs.list_saved_outputs(None, t))
             for t in ("outputs", "configs", "results", "reports")}  # fmt: skip
    assert kinds == {"outputs": 2, "configs": 1, "results": 2, "reports": 2}
    listed = await outputs.list_saved_outputs("tiny", "all")
    assert {e["kind"] for e in listed} == {"outputs", "results", "configs", "reports"}
    saved = json.loads((await outputs.list_saved_outputs("llama3.2:latest"))[0]["path"].read_text())
    assert saved["response"] == "answer" and saved["metadata"] == {"k": 1, "execution_time": 1.5}
    with pytest.raises(InvalidRequestError):
        await outputs.list_saved_outputs(None, "benchmarks")
    stats = await outputs.get_output_stats()
    assert stats["count"] == 7 and stats["by_kind"]["outputs"] == 2 and stats["total_bytes"] > 0
    old = (await outputs.list_saved_outputs("tiny"))[0]["path"]
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    newer = (await outputs.list_saved_outputs("llama3.2:latest"))[0]["path"]
    os.utime(newer, (time.time() - 20 * 86400,) * 2)
    assert await outputs.cleanup_old_outputs() == 1  # the seed's default: 30 days
    assert not old.exists() and newer.exists()
    assert not [p for p in tmp_path.rglob(".*.tmp")]  # no temporary files left behind


async def test_batch_results_are_written_as_items_complete(runner: tuple[ModelRunner, Emulator],
                                                           tmp_path: Path) -> None:  # fmt: skip
    r, emu = runner
    outputs = OutputManager(str(tmp_path))
    emu.inject(Fault(latency=0.3), model="tiny")
    from ollama_async import BatchRunner

    items = [{"model": "tiny", "prompt": "slow"}, {"model": "llama3.2", "prompt": "fast"}]
    client = r.ollama_manager.client
    completed = BatchRunner(client, max_concurrent=2).as_completed(items)
    async with outputs.batch_writer("run1") as write, completed as results:
        async for result in results:
            await write({"index": result.index, "ok": result.ok})
            lines = (tmp_path / "results" / "batches" / "run1.jsonl").read_text().splitlines()
            assert len(lines) >= 1  # on disk before the batch ends
    lines = (tmp_path / "results" / "batches" / "run1.jsonl").read_text().splitlines()
    assert [json.loads(x)["index"] for x in lines] == [1, 0]


async def test_bad_input_raises_before_anything_is_sent(
    runner: tuple[ModelRunner, Emulator],
) -> None:
    r, emu = runner
    before = len(emu.requests)
    with pytest.raises(InvalidRequestError):
        await r.run_with_options("llama3.2", "hi", ExecutionOptions(top_k="many"))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        await r.run_with_options("llama3.2", "hi", {"temperature": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        await r.async_generate("", "hi")
    with pytest.raises(InvalidRequestError):
        await r.ollama_manager.run_model("llama3.2", "hi", {"temprature": 1})
    assert not [q for q in emu.requests[before:] if q.path in ("/api/generate", "/api/chat")]
    async with Client(emu.url) as client:
        with pytest.raises(InvalidRequestError) as info:
            ModelRunner(client)  # type: ignore[arg-type]
    assert info.value.field == "ollama_manager" and "Client" in str(info.value)


async def test_load_model_config_never_reads_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text('{"secret": 1}')
    base = tmp_path / "out"
    outputs = OutputManager(str(base))
    (base / "configs" / "tiny").mkdir(parents=True)
    (base / "configs" / "tiny" / "config.json").symlink_to(outside)
    assert await outputs.load_model_config("tiny") is None
    (base / "configs" / "qwen3").symlink_to(tmp_path)  # a folder link
    (tmp_path / "config.json").write_text('{"secret": 2}')
    assert await outputs.load_model_config("qwen3") is None
    await outputs.save_model_config("llama3.2", {"temperature": 0.3})
    assert await outputs.load_model_config("llama3.2") == {"temperature": 0.3}
