"""Where the time of a streamed chunk goes, with no socket: a profile by subtraction.

    python -m benchmarks.breakdown [--chunks 20000] [--reps 15] [--read-size 65536]

A generate body as the load server makes it is cut into reads of ``--read-size`` bytes (0:
one line per read, as a live model sends) and fed from memory to each stage:

- ``decode``: ``NDJSONDecoder.feed`` over the reads (full type, then the lean one);
- ``async for floor``: an async generator yielding already-decoded items to an ``async for``
  that counts them, which is what any per-chunk async API costs on this interpreter;
- ``in-memory reads``: awaiting the in-memory ``readany`` alone (the harness's own cost);
- ``stream`` / ``stream_tokens``: the real streams over an in-memory response.

Each round runs every stage once (alternating order, ``gc.collect()`` before each), and the
remainder (the stream minus the three parts) is computed per round, then the median: it is
the streams' own per-read and per-chunk bookkeeping.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from benchmarks.load_server import _final, _line
from ollama_async._ndjson import NDJSONDecoder
from ollama_async._streams import ChunkStream, TokenStream
from ollama_async._types import GenerateResponse, _GenerateText
from ollama_async.testing._memory import MemoryContent, memory_response

WORDS = [" the", " sky", " is", " blue"]


def body(n: int) -> bytes:
    lines = [_line(False, i, WORDS[i % 4]) for i in range(n)]
    return b"".join(lines) + json.dumps(_final(False, n)).encode() + b"\n"


def cut(data: bytes, size: int) -> list[bytes]:
    if size:
        return [data[i : i + size] for i in range(0, len(data), size)]
    return [line + b"\n" for line in data.split(b"\n")[:-1]]


def stages(reads: list[bytes], n: int) -> dict[str, Callable[[], Awaitable[Any]]]:
    items = list(range(n + 1))

    async def decode_full() -> None:
        feed = NDJSONDecoder(GenerateResponse).feed
        for r in reads:
            feed(r)

    async def decode_lean() -> None:
        feed = NDJSONDecoder(_GenerateText).feed
        for r in reads:
            feed(r)

    async def reads_only() -> None:
        read = MemoryContent(reads).readany  # the body alone, without our Response
        while await read():
            pass

    async def floor() -> int:
        async def gen() -> AsyncIterator[int]:
            for x in items:
                yield x

        count = 0
        async for _ in gen():
            count += 1
        return count

    def stream_of(cls: Any) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            async def opener() -> Any:
                return memory_response(reads)

            count = 0
            async for _ in cls(opener, GenerateResponse, 1 << 24, "mem"):
                count += 1
            return count

        return run

    return {
        "decode (full type)": decode_full,
        "decode (lean type)": decode_lean,
        "async for floor": floor,
        "in-memory reads": reads_only,
        "stream": stream_of(ChunkStream),
        "stream_tokens": stream_of(TokenStream),
    }


async def measure(n: int, reps: int, size: int) -> dict[str, list[float]]:
    reads = cut(body(n), size)
    run = stages(reads, n)
    for f in run.values():
        await f()  # warm up
    times: dict[str, list[float]] = {name: [] for name in run}
    names = list(run)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            gc.collect()
            t0 = time.perf_counter()
            await run[name]()
            times[name].append((time.perf_counter() - t0) / (n + 1) * 1e6)
    return times


def section(chunks: int = 20_000, reps: int = 15, read_size: int = 65536) -> None:
    """Print the breakdown table (markdown), for ``benchmarks.run``."""
    t = asyncio.run(measure(chunks, reps, read_size))
    per_read = f"{read_size:,} B" if read_size else "one line"
    print(f"\n### Where a chunk's time goes, no socket (reads of {per_read}, {chunks:,} chunks, "
          f"median of {reps} rounds, µs per chunk)\n")  # fmt: skip
    print("| stage | µs/chunk (median) | min | share of the stream |\n|---|---:|---:|---:|")
    rows = [
        ("stream", "decode (full type)"),
        ("stream_tokens", "decode (lean type)"),
    ]
    for stream, decode in rows:
        s, d, f, r = t[stream], t[decode], t["async for floor"], t["in-memory reads"]
        rest = [a - b - c - e for a, b, c, e in zip(s, d, f, r, strict=True)]
        parts = ((decode, d), ("async for floor", f), ("in-memory reads", r), ("the rest", rest))
        for label, v in parts:
            share = statistics.median(x / y for x, y in zip(v, s, strict=True))
            print(f"| {stream}: {label} | {statistics.median(v):.3f} | {min(v):.3f} | "
                  f"{share * 100:.0f} % |")  # fmt: skip
        print(f"| **{stream} in all** | **{statistics.median(s):.3f}** | {min(s):.3f} | 100 % |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--read-size", type=int, default=65536, help="0: one line per read")
    args = ap.parse_args()
    section(args.chunks, args.reps, args.read_size)


if __name__ == "__main__":
    main()
