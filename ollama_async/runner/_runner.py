"""``ModelRunner``: the seed spec's runner over an :class:`OllamaManager`; every run returns
a :class:`ModelExecutionResult`."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .._errors import InvalidRequestError, OllamaError
from .._types import ChatResponse, GenerateResponse
from ..manage._manager import OllamaManager
from ..manage._records import ModelExecutionResult
from ._chunks import ChunkIterator, StreamingChunk
from ._presets import ExecutionOptions

__all__ = ["CONTEXT_LAYOUT", "ModelRunner"]

CONTEXT_LAYOUT = (
    "Use the following documents to answer the question. If they do not contain the answer, "
    "say so.\n\n{documents}\n\nQuestion: {prompt}"
)
"""The prompt ``run_with_context`` sends; each document is ``[Document N]`` then its text."""

_Reply = tuple[str, GenerateResponse | ChatResponse | None]


class ModelRunner:
    """Runs prompts with :class:`ExecutionOptions` on the manager's server. A failed run is a
    result with ``success=False`` (its ``error`` keeps the exception), never an exception.

    ``options=None`` means the model's configured options (``[models."name"]`` in the config,
    over its preset), else the spec's defaults; ``model_name=None`` the configured default
    model.

    Example::

        manager = OllamaManager()
        runner = ModelRunner(manager)
        r = await runner.run_with_options("llama3.2", "Hi", ExecutionOptions(temperature=0.2))
        print(r.response, r.tokens_used, r.execution_time)
    """

    def __init__(self, ollama_manager: OllamaManager) -> None:
        if not isinstance(ollama_manager, OllamaManager):
            raise InvalidRequestError(
                "ollama_manager",
                f"must be an OllamaManager, not {type(ollama_manager).__name__} "
                "(ModelRunner(OllamaManager()); the manager owns the client)",
            )
        self.ollama_manager = ollama_manager

    def _options(self, model_name: str, options: ExecutionOptions | None) -> ExecutionOptions:
        if options is not None:
            if not isinstance(options, ExecutionOptions):
                raise InvalidRequestError("options", f"must be ExecutionOptions, not "
                                                     f"{type(options).__name__}")  # fmt: skip
            return options
        from ._configmanager import options_for

        return options_for(self.ollama_manager.config, model_name)

    async def _run(
        self,
        model_name: str | None,
        prompt: str,
        options: ExecutionOptions | None,
        call: Callable[[str, dict[str, Any]], Awaitable[_Reply]],
        limit: float | None = None,
    ) -> ModelExecutionResult:
        start = time.perf_counter()
        # Bad input (a name, an option, the config) raises before anything is sent.
        await self.ollama_manager._ensure_config()
        name = self.ollama_manager._model(model_name)
        opts = self._options(name, options)
        fields = opts.request_fields()
        limit = limit if limit is not None else opts.timeout
        try:
            await self.ollama_manager._prepare()
            with anyio.fail_after(limit):
                text, final = await call(name, fields)
        except InvalidRequestError:
            raise
        except Exception as exc:  # a failed run is a result, not an exception
            failed = ModelExecutionResult.failed(name, prompt, exc, time.perf_counter() - start)
            if isinstance(exc, TimeoutError) and not isinstance(exc, OllamaError):
                failed.error_message = f"TimeoutError: no answer within {limit}s"
            return failed
        result = ModelExecutionResult(name, prompt, text, time.perf_counter() - start,
                                      metadata={})  # fmt: skip
        if final is not None:
            result.tokens_used = (final.eval_count or 0) + (final.prompt_eval_count or 0)
            assert result.metadata is not None
            result.metadata.update(
                eval_count=final.eval_count,
                prompt_eval_count=final.prompt_eval_count,
                tokens_per_second=final.tokens_per_second,
                total_duration=final.total_duration,
                done_reason=final.done_reason,
            )
        return result

    async def _generate(
        self, name: str, prompt: str, fields: dict[str, Any], streamed: bool,
        on_piece: Callable[[StreamingChunk], object] | None = None,
    ) -> _Reply:  # fmt: skip
        client = self.ollama_manager.client
        if not streamed and on_piece is None:
            r = await client.generate(name, prompt, **fields)
            return r.response, r
        async with ChunkIterator(client.stream_tokens(name, prompt=prompt, **fields)) as chunks:
            parts: list[str] = []
            async for chunk in chunks:
                parts.append(chunk.content)
                if on_piece is not None:
                    on_piece(chunk)
            return "".join(parts), chunks.final

    async def run_with_options(
        self,
        model_name: str | None,
        prompt: str,
        options: ExecutionOptions | None = None,
        save_output: bool = True,
        output_dir: str | None = None,
    ) -> ModelExecutionResult:
        """Run one prompt (streamed inside when ``options.stream``); with ``save_output``
        the answer is saved under ``output_dir`` (default: the configured output folder)."""

        async def call(name: str, fields: dict[str, Any]) -> _Reply:
            streamed = self._options(name, options).stream
            return await self._generate(name, prompt, fields, streamed)

        result = await self._run(model_name, prompt, options, call)
        if save_output and result.success:
            await self.ollama_manager._save(result, output_dir)
        return result

    async def run_streaming(
        self,
        model_name: str | None,
        prompt: str,
        options: ExecutionOptions | None = None,
        chunk_callback: Callable[[StreamingChunk], None] | None = None,
    ) -> ModelExecutionResult:
        """Stream one prompt, calling ``chunk_callback`` with each :class:`StreamingChunk`
        (the last has ``done=True``); ``metadata["time_to_first_token"]`` says when the
        first text came."""
        start = time.perf_counter()
        first: list[float] = []

        def on_piece(chunk: StreamingChunk) -> None:
            if not first and chunk.content:
                first.append(chunk.timestamp - start)
            if chunk_callback is not None:
                chunk_callback(chunk)

        async def call(name: str, fields: dict[str, Any]) -> _Reply:
            return await self._generate(name, prompt, fields, True, on_piece)

        result = await self._run(model_name, prompt, options, call)
        if first and result.metadata is not None:
            result.metadata["time_to_first_token"] = first[0]
        return result

    async def run_batch(
        self,
        model_name: str | None,
        prompts: list[str],
        options: ExecutionOptions | None = None,
        max_concurrent: int = 3,
    ) -> list[ModelExecutionResult]:
        """Run many prompts, at most ``max_concurrent`` at once; results in prompt order."""
        if (
            isinstance(max_concurrent, bool)
            or not isinstance(max_concurrent, int)
            or (max_concurrent < 1)
        ):
            raise InvalidRequestError("max_concurrent", f"must be an int >= 1, not "
                                                        f"{max_concurrent!r}")  # fmt: skip
        results: list[ModelExecutionResult | None] = [None] * len(prompts)
        limiter = anyio.CapacityLimiter(max_concurrent)

        async def one(i: int, prompt: str) -> None:
            async with limiter:
                results[i] = await self.run_with_options(model_name, prompt, options,
                                                         save_output=False)  # fmt: skip

        async with anyio.create_task_group() as tg:
            for i, p in enumerate(prompts):
                tg.start_soon(one, i, p)
        return [r for r in results if r is not None]

    async def run_conversation(
        self,
        model_name: str | None,
        messages: list[dict[str, str]],
        options: ExecutionOptions | None = None,
    ) -> ModelExecutionResult:
        """Run a chat over ``messages`` (role/content dicts); ``prompt`` in the result is the
        last user message, and ``system_prompt`` leads unless a system message is given."""
        last = next((str(m.get("content", "")) for m in reversed(messages)
                     if m.get("role") == "user"), "")  # fmt: skip

        async def call(name: str, fields: dict[str, Any]) -> _Reply:
            system = fields.pop("system", None)
            msgs = [dict(m) for m in messages]
            if system is not None and not any(m.get("role") == "system" for m in msgs):
                msgs.insert(0, {"role": "system", "content": system})
            r = await self.ollama_manager.client.chat(name, msgs, **fields)
            return r.message.content, r

        return await self._run(model_name, last, options, call)

    async def run_with_context(
        self,
        model_name: str | None,
        prompt: str,
        context_docs: list[str],
        options: ExecutionOptions | None = None,
    ) -> ModelExecutionResult:
        """Answer ``prompt`` from ``context_docs``, laid out as :data:`CONTEXT_LAYOUT`."""
        documents = "\n\n".join(f"[Document {i + 1}]\n{d}" for i, d in enumerate(context_docs))
        full = CONTEXT_LAYOUT.format(documents=documents, prompt=prompt)
        result = await self.run_with_options(model_name, full, options, save_output=False)
        result.prompt = prompt
        if result.metadata is not None:
            result.metadata["context_documents"] = len(context_docs)
        return result

    async def benchmark_model(
        self,
        model_name: str | None,
        test_prompts: list[str],
        options: ExecutionOptions | None = None,
    ) -> dict[str, Any]:
        """Run each prompt (streamed, one at a time) and report ``avg_execution_time``,
        ``avg_tokens_per_second`` (the server's own counts) and ``individual_results``,
        with ``avg_time_to_first_token``, p50/p95 and the success count."""
        results = [await self.run_streaming(model_name, p, options) for p in test_prompts]
        ok = [r for r in results if r.success]
        times = sorted(r.execution_time for r in ok)
        meta = [r.metadata or {} for r in ok]
        tps = [m["tokens_per_second"] for m in meta if m.get("tokens_per_second")]
        ttft = [m["time_to_first_token"] for m in meta if "time_to_first_token" in m]
        return {
            "model_name": results[0].model_name if results else model_name,
            "total_prompts": len(results),
            "successful_runs": len(ok),
            "avg_execution_time": statistics.fmean(times) if times else None,
            "avg_tokens_per_second": statistics.fmean(tps) if tps else None,
            "avg_time_to_first_token": statistics.fmean(ttft) if ttft else None,
            "p50_execution_time": _percentile(times, 50),
            "p95_execution_time": _percentile(times, 95),
            "individual_results": [r.to_dict() for r in results],
        }

    async def create_model_comparison(
        self,
        model_names: list[str],
        test_prompt: str,
        options: ExecutionOptions | None = None,
    ) -> dict[str, Any]:
        """Run one prompt on each model (concurrently): ``results`` per model and a
        ``summary`` (fastest, slowest, successes, average time)."""
        out: dict[str, ModelExecutionResult] = {}

        async def one(name: str) -> None:
            out[name] = await self.run_with_options(name, test_prompt, options, save_output=False)

        async with anyio.create_task_group() as tg:
            for name in model_names:
                tg.start_soon(one, name)
        ordered = [out[n] for n in model_names]
        ok = [r for r in ordered if r.success]
        return {
            "test_prompt": test_prompt,
            "models": list(model_names),
            "results": {n: out[n].to_dict() for n in model_names},
            "summary": {
                "successful_models": len(ok),
                "fastest_model": min(ok, key=lambda r: r.execution_time).model_name if ok
                else None,
                "slowest_model": max(ok, key=lambda r: r.execution_time).model_name if ok
                else None,
                "avg_execution_time": statistics.fmean(r.execution_time for r in ok) if ok
                else None,
            },
        }  # fmt: skip

    # -- the spec's async methods ------------------------------------------------------

    async def async_generate(
        self, model_name: str | None, prompt: str, options: ExecutionOptions | None = None
    ) -> ModelExecutionResult:
        """One generation (nothing saved)."""
        return await self.run_with_options(model_name, prompt, options, save_output=False)

    async def async_chat(
        self,
        model_name: str | None,
        messages: list[dict[str, Any]],
        options: ExecutionOptions | None = None,
    ) -> ModelExecutionResult:
        """One chat turn over ``messages``."""
        return await self.run_conversation(model_name, messages, options)

    async def async_generate_stream(
        self, model_name: str | None, prompt: str, options: ExecutionOptions | None = None
    ) -> ChunkIterator:
        """A stream of :class:`StreamingChunk` s; use it in ``async with`` to close it early.

        Example::

            async with await runner.async_generate_stream("llama3.2", "Hi") as chunks:
                async for chunk in chunks:
                    print(chunk.content, end="")
        """
        await self.ollama_manager._ensure_config()
        name = self.ollama_manager._model(model_name)
        fields = self._options(name, options).request_fields()
        await self.ollama_manager._prepare()
        return ChunkIterator(self.ollama_manager.client.stream_tokens(name, prompt=prompt,
                                                                      **fields))  # fmt: skip

    async def async_run_batch(
        self, model_name: str | None, prompts: list[str], options: ExecutionOptions | None = None
    ) -> list[ModelExecutionResult]:
        """:meth:`run_batch` with the configured concurrency."""
        limit = self.ollama_manager.config.max_concurrent
        return await self.run_batch(model_name, prompts, options, limit)

    async def async_run_model(
        self,
        model_name: str | None,
        prompt: str,
        options: ExecutionOptions | None = None,
        timeout: int = 300,  # noqa: ASYNC109 - the seed spec's parameter
    ) -> ModelExecutionResult:
        """One generation bounded by ``timeout`` seconds (a timed-out run is a failed result)."""

        async def call(name: str, fields: dict[str, Any]) -> _Reply:
            return await self._generate(name, prompt, fields, False)

        return await self._run(model_name, prompt, options, call, limit=timeout)


def _percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
