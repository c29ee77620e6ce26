"""OpenTelemetry spans (GenAI semantic conventions) against the emulator, with the SDK's
in-memory exporter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from ollama_async import (
    Client,
    ModelNotFoundError,
    RetryPolicy,
    ServerUnreachableError,
    _otel,
)
from ollama_async.testing import Emulator

PROMPT = "PRIVATE prompt text 5e1d"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Spans go to an in-memory exporter (a provider of the test's own: the global one can
    be set only once per process; the global path is tested in a subprocess below)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(_otel, "_tracer", provider.get_tracer("ollama_async"))
    yield exporter
    provider.shutdown()


def only(exporter: InMemorySpanExporter) -> ReadableSpan:
    found = exporter.get_finished_spans()
    assert len(found) == 1, [s.name for s in found]
    return found[0]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def no_text(span: ReadableSpan) -> None:
    assert all(PROMPT not in str(v) for v in attrs(span).values())
    assert PROMPT not in span.name


async def test_generate_is_a_text_completion_span(
    emu: Emulator, spans: InMemorySpanExporter
) -> None:
    async with Client(emu.url) as c:
        reply = await c.generate("llama3.2", PROMPT, options={"num_predict": 5})
    span = only(spans)
    a = attrs(span)
    assert span.name == "text_completion llama3.2"
    assert span.kind is SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "text_completion"
    assert a["gen_ai.provider.name"] == a["gen_ai.system"] == "ollama"
    assert a["gen_ai.request.model"] == "llama3.2"
    assert a["gen_ai.usage.input_tokens"] == reply.prompt_eval_count
    assert a["gen_ai.usage.output_tokens"] == reply.eval_count == 5
    assert a["gen_ai.response.finish_reasons"] == (reply.done_reason,)
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == emu.port
    assert a["http.response.status_code"] == 200
    assert "error.type" not in a and span.status.status_code is StatusCode.UNSET
    assert span.end_time is not None and span.start_time is not None
    assert span.end_time > span.start_time
    no_text(span)


async def test_chat_and_a_token_stream(emu: Emulator, spans: InMemorySpanExporter) -> None:
    async with Client(emu.url) as c:
        await c.chat("qwen3", [{"role": "user", "content": PROMPT}], options={"num_predict": 3})
        s = c.stream_tokens("llama3.2", messages=[{"role": "user", "content": PROMPT}])
        async for _ in s:
            pass
    chat, streamed = spans.get_finished_spans()
    assert chat.name == "chat qwen3" and attrs(chat)["gen_ai.usage.output_tokens"] == 3
    assert streamed.name == "chat llama3.2"
    assert s.final is not None
    assert attrs(streamed)["gen_ai.usage.output_tokens"] == s.final.eval_count
    assert attrs(streamed)["gen_ai.usage.input_tokens"] == s.final.prompt_eval_count
    no_text(chat)
    no_text(streamed)


async def test_embed_counts_input_tokens(emu: Emulator, spans: InMemorySpanExporter) -> None:
    async with Client(emu.url) as c:
        reply = await c.embed("nomic-embed-text", [PROMPT, "two"])
    a = attrs(only(spans))
    assert only(spans).name == "embeddings nomic-embed-text"
    assert a["gen_ai.operation.name"] == "embeddings"
    assert a["gen_ai.usage.input_tokens"] == reply.prompt_eval_count
    assert "gen_ai.usage.output_tokens" not in a


async def test_missing_model_is_an_error_span(emu: Emulator, spans: InMemorySpanExporter) -> None:
    async with Client(emu.url) as c:
        with pytest.raises(ModelNotFoundError):
            await c.generate("missing-model", PROMPT)
    span = only(spans)
    assert span.name == "text_completion missing-model"
    assert attrs(span)["error.type"] == "ModelNotFoundError"
    assert attrs(span)["http.response.status_code"] == 404
    assert span.status.status_code is StatusCode.ERROR
    no_text(span)


async def test_unreachable_server_has_no_status(spans: InMemorySpanExporter) -> None:
    emu = Emulator()
    url = await emu.start()
    await emu.close()  # nothing listens there now
    async with Client(url, retry=RetryPolicy(retries=0)) as c:
        with pytest.raises(ServerUnreachableError):
            await c.list()
    span = only(spans)
    assert span.name == "list"
    assert attrs(span)["error.type"] == "ServerUnreachableError"
    assert "http.response.status_code" not in attrs(span)


async def test_leaving_a_stream_early_is_not_an_error(
    emu: Emulator, spans: InMemorySpanExporter
) -> None:
    async with Client(emu.url) as c:
        async for _ in c.stream("llama3.2", prompt=PROMPT):
            break
    span = only(spans)
    assert attrs(span)["ollama.closed_early"] is True
    assert "error.type" not in attrs(span) and span.status.status_code is StatusCode.UNSET


async def test_spans_nest_under_the_callers_span(
    emu: Emulator, spans: InMemorySpanExporter
) -> None:
    tracer = _otel._tracer
    with tracer.start_as_current_span("handler") as parent:
        async with Client(emu.url) as c:
            await c.pull("example/pulled")
    pull, handler = spans.get_finished_spans()
    assert pull.name == "pull example/pulled" and handler.name == "handler"
    assert pull.parent is not None
    assert pull.parent.span_id == parent.get_span_context().span_id


def run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_spans_go_to_the_global_tracer_provider() -> None:
    out = run(
        """
        import asyncio
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
        from ollama_async import Client
        from ollama_async.testing import Emulator

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)

        async def main():
            async with Emulator() as url, Client(url) as c:
                await c.generate("tiny", "hi")
        asyncio.run(main())
        print([s.name for s in exporter.get_finished_spans()])
        """
    )
    assert out.strip() == "['text_completion tiny']"


def test_without_opentelemetry_nothing_is_imported() -> None:
    out = run(
        """
        import asyncio, sys
        sys.modules["opentelemetry"] = None  # as if it were not installed
        from ollama_async import Client, _otel
        from ollama_async.testing import Emulator

        async def main():
            async with Emulator() as url, Client(url) as c:
                return (await c.generate("tiny", "hi")).done
        print(_otel.AVAILABLE, asyncio.run(main()), _otel._tracer)
        """
    )
    assert out.split() == ["False", "True", "None"]
