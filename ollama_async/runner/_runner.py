"""``ModelRunner``: the seed spec's high-level runner, every call returning a result record."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .._batch import BatchRunner
from .._client import Client
from ._presets import ExecutionOptions

__all__ = ["CONTEXT_LAYOUT", "ModelExecutionResult", "ModelRunner"]

CONTEXT_LAYOUT = (
    "Use the following documents to answer the question. If they do not contain the answer, "
    "say so.\n\n{documents}\n\nQuestion: {prompt}"
)
"""The prompt ``run_with_context`` sends; each document is ``[Document N]`` then its text."""


@dataclass
class ModelExecutionResult:
    """The outcome of one run: the answer or the error, timing and token use."""

    model_name: str
    prompt: str
    response: str = ""
    execution_time: float = 0.0
    tokens_used: int = 0
    success: bool = True
    error_message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


class ModelRunner:
    """Runs prompts with :class:`ExecutionOptions`, never raising for a failed run: each call
    returns a :class:`ModelExecutionResult` with ``success`` and ``error_message``.

    Example::

        async with Client() as client:
            runner = ModelRunner(client)
            r = await runner.run_with_options("llama3.2", "Hi", ExecutionOptions.precise())
            print(r.response, r.tokens_used, r.execution_time)
    """

    def __init__(self, client: Client, default_options: ExecutionOptions | None = None) -> None:
        self.client = client
        self.default_options = default_options or ExecutionOptions.balanced()

    async def _run(
        self,
        model: str,
        prompt: str,
        options: ExecutionOptions | None,
        call: Callable[[dict[str, Any]], Any],
    ) -> ModelExecutionResult:
        opts = options or self.default_options
        start = time.perf_counter()
        result = ModelExecutionResult(model_name=model, prompt=prompt)
        try:
            fields = opts.request_fields()
            reply = await asyncio.wait_for(call(fields), opts.timeout)
        except asyncio.TimeoutError:
            result.success = False
            result.error_message = f"timed out after {opts.timeout}s"
        except Exception as exc:  # a failed run is a result, not an exception
            result.success = False
            result.error_message = f"{type(exc).__name__}: {exc}"
        else:
            text, final = reply
            result.response = text
            if final is not None:
                result.tokens_used = (final.eval_count or 0) + (final.prompt_eval_count or 0)
                result.metadata.update(
                    eval_count=final.eval_count,
                    prompt_eval_count=final.prompt_eval_count,
                    tokens_per_second=final.tokens_per_second,
                    total_duration=final.total_duration,
                    done_reason=final.done_reason,
                )
        result.execution_time = time.perf_counter() - start
        return result

    async def run_with_options(
        self, model: str, prompt: str, options: ExecutionOptions | None = None
    ) -> ModelExecutionResult:
        """Run one prompt (streamed internally when ``options.stream``)."""
        streamed = (options or self.default_options).stream

        async def call(fields: dict[str, Any]) -> Any:
            if streamed:
                s = self.client.stream_tokens(model, prompt=prompt, **fields)
                async for _ in s:
                    pass
                return s.text, s.final
            r = await self.client.generate(model, prompt, **fields)
            return r.response, r

        return await self._run(model, prompt, options, call)

    async def run_streaming(
        self,
        model: str,
        prompt: str,
        chunk_callback: Callable[[str], object],
        options: ExecutionOptions | None = None,
    ) -> ModelExecutionResult:
        """Stream one prompt, calling ``chunk_callback(text)`` for each piece as it comes;
        ``metadata["time_to_first_token"]`` records when the first one came."""
        first: list[float] = []
        start = time.perf_counter()

        async def call(fields: dict[str, Any]) -> Any:
            s = self.client.stream_tokens(model, prompt=prompt, **fields)
            async for piece in s:
                if not first:
                    first.append(time.perf_counter() - start)
                chunk_callback(piece)
            return s.text, s.final

        result = await self._run(model, prompt, options, call)
        if first:
            result.metadata["time_to_first_token"] = first[0]
        return result

    async def run_conversation(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        options: ExecutionOptions | None = None,
    ) -> ModelExecutionResult:
        """Run a chat; ``prompt`` in the result is the last user message."""
        last = next((str(m.get("content", "")) for m in reversed(messages)
                     if m.get("role") == "user"), "")  # fmt: skip

        async def call(fields: dict[str, Any]) -> Any:
            system = fields.pop("system", None)
            msgs = [dict(m) for m in messages]
            if system is not None and not any(m.get("role") == "system" for m in msgs):
                msgs.insert(0, {"role": "system", "content": system})
            r = await self.client.chat(model, msgs, **fields)
            return r.message.content, r

        return await self._run(model, last, options, call)

    async def run_with_context(
        self,
        model: str,
        prompt: str,
        context_docs: Sequence[str],
        options: ExecutionOptions | None = None,
    ) -> ModelExecutionResult:
        """Answer ``prompt`` from ``context_docs``, laid out as :data:`CONTEXT_LAYOUT`."""
        documents = "\n\n".join(f"[Document {i + 1}]\n{d}" for i, d in enumerate(context_docs))
        full = CONTEXT_LAYOUT.format(documents=documents, prompt=prompt)
        result = await self.run_with_options(model, full, options)
        result.prompt = prompt
        result.metadata["context_documents"] = len(context_docs)
        return result

    async def run_batch(
        self,
        model: str,
        prompts: Sequence[str],
        max_concurrent: int = 4,
        options: ExecutionOptions | None = None,
    ) -> list[ModelExecutionResult]:
        """Run many prompts with at most ``max_concurrent`` at once; results in order."""

        def job(p: str) -> Callable[[Client], Any]:
            async def run(_: Client) -> ModelExecutionResult:
                return await self.run_with_options(model, p, options)

            return run

        batch = await BatchRunner(self.client, max_concurrent=max_concurrent).run(
            [job(p) for p in prompts]
        )
        return [r.unwrap() for r in batch]

    async def benchmark_model(
        self, model: str, prompts: Sequence[str], options: ExecutionOptions | None = None
    ) -> dict[str, Any]:
        """Run each prompt (streamed) and report timing: average execution time, average
        tokens/s from the server's own counts, time to first token, p50/p95."""
        results = [await self.run_streaming(model, p, lambda _t: None, options) for p in prompts]
        ok = [r for r in results if r.success]
        times = sorted(r.execution_time for r in ok)
        tps = [r.metadata["tokens_per_second"] for r in ok if r.metadata.get("tokens_per_second")]
        ttft = [
            r.metadata["time_to_first_token"] for r in ok if "time_to_first_token" in r.metadata
        ]
        return {
            "model": model,
            "runs": len(results),
            "successes": len(ok),
            "average_execution_time": statistics.fmean(times) if times else None,
            "average_tokens_per_second": statistics.fmean(tps) if tps else None,
            "average_time_to_first_token": statistics.fmean(ttft) if ttft else None,
            "p50_execution_time": _percentile(times, 50),
            "p95_execution_time": _percentile(times, 95),
            "results": [r.to_dict() for r in results],
        }

    async def create_model_comparison(
        self, models: Sequence[str], prompt: str, options: ExecutionOptions | None = None
    ) -> dict[str, Any]:
        """Run one prompt on several models; the fastest and the result of each."""
        results = await asyncio.gather(*(self.run_with_options(m, prompt, options) for m in models))
        ok = [r for r in results if r.success]
        return {
            "prompt": prompt,
            "models": list(models),
            "fastest": min(ok, key=lambda r: r.execution_time).model_name if ok else None,
            "results": {r.model_name: r.to_dict() for r in results},
        }

    def run_model_async(
        self, model: str, prompt: str, options: ExecutionOptions | None = None
    ) -> asyncio.Task[ModelExecutionResult]:
        """Start a run as an ``asyncio.Task`` and return it at once."""
        return asyncio.get_running_loop().create_task(self.run_with_options(model, prompt, options))

    # The seed spec's async_* names.
    async_run_with_options = run_with_options
    async_run_streaming = run_streaming
    async_run_conversation = run_conversation
    async_run_with_context = run_with_context
    async_run_batch = run_batch
    async_benchmark_model = benchmark_model


def _percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
