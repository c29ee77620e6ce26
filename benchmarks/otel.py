"""The cost of the OpenTelemetry spans, per operation, with OpenTelemetry off and on.

Run: ``python -m benchmarks.otel [--ops 300] [--rounds 5]`` (about 20 seconds).

Three modes, measured in one run, in alternating rounds so that a busy machine slows them
alike; each figure is the median of the rounds:

- ``off``: as without ``opentelemetry-api`` installed (the module flag is false);
- ``api``: ``opentelemetry-api`` installed, no SDK configured (the global provider is the
  no-op one: what an app that has not set up OpenTelemetry pays);
- ``sdk``: the SDK recording every span to an exporter that drops it (the span work without
  the export I/O, which a BatchSpanProcessor does on its own thread).

Two figures per mode: the cost of the hook alone (``audit.record`` for a finished generate,
in µs), and a whole ``client.generate`` (the 4-token answer of the emulator on loopback, in
µs), with the ratio to ``off``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from ollama_async import Client, GenerateResponse, _otel, audit
from ollama_async.testing import Emulator

URL = "http://127.0.0.1:11434/api/generate"
FINAL = GenerateResponse(
    model="llama3.2", created_at="", response="", done=True, done_reason="stop",
    prompt_eval_count=14, eval_count=40,
)  # fmt: skip


class _Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _mode(name: str, sdk: Any) -> None:
    """Switch the hook to one mode (the module's state, as each mode would leave it)."""
    _otel._trace = None if name == "off" else trace  # type: ignore[assignment]
    _otel._tracer = sdk if name == "sdk" else trace.get_tracer("ollama_async")  # the proxy


def hook_us(n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        audit.record(URL, model="llama3.2", status=200, duration=0.5, final=FINAL)
    return (time.perf_counter() - started) / n * 1e6


async def generate_us(client: Client, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await client.generate("tiny", "hi", options={"num_predict": 4})
    return (time.perf_counter() - started) / n * 1e6


async def main(ops: int, rounds: int) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_Drop()))
    sdk = provider.get_tracer("ollama_async")
    modes = ("off", "api", "sdk")
    hook: dict[str, list[float]] = {m: [] for m in modes}
    whole: dict[str, list[float]] = {m: [] for m in modes}
    async with Emulator() as url, Client(url) as client:
        await generate_us(client, 20)  # warm the connection pool and the emulator
        for _ in range(rounds):
            for m in modes:
                _mode(m, sdk)
                hook[m].append(hook_us(ops * 20))
                whole[m].append(await generate_us(client, ops))
    _mode("api" if _otel.AVAILABLE else "off", sdk)
    base_hook = statistics.median(hook["off"])
    base_whole = statistics.median(whole["off"])
    print(f"{'mode':<5} {'hook µs':>9} {'generate µs':>12} {'ratio':>7}")
    for m in modes:
        h, w = statistics.median(hook[m]), statistics.median(whole[m])
        print(f"{m:<5} {h:>9.2f} {w:>12.1f} {w / base_whole:>7.3f}")
    print(
        f"span cost per operation (sdk - off): {statistics.median(hook['sdk']) - base_hook:.1f} µs"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=300, help="generate calls per mode and round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    args = parser.parse_args()
    asyncio.run(main(args.ops, args.rounds))
