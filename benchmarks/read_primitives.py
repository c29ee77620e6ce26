"""Which aiohttp reading primitive to build the streams on, measured (no parsing at all).

Run: ``python -m benchmarks.read_primitives [--chunks 20000] [--reps 5] [--uvloop]``

Each candidate consumes the same NDJSON body from the load server: ``iter_any()``, a loop
of ``readany()`` (what ollama_async uses), ``iter_chunked(65536)``, ``iter_chunks()`` and a
loop of ``readline()`` (one call per line).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp

from .run import load_servers

Reader = Callable[[aiohttp.ClientResponse], Awaitable[None]]


async def iter_any(r: aiohttp.ClientResponse) -> None:
    async for _ in r.content.iter_any():
        pass


async def readany(r: aiohttp.ClientResponse) -> None:
    read = r.content.readany
    while await read():
        pass


async def iter_chunked(r: aiohttp.ClientResponse) -> None:
    async for _ in r.content.iter_chunked(65536):
        pass


async def iter_chunks(r: aiohttp.ClientResponse) -> None:
    async for _ in r.content.iter_chunks():
        pass


async def readline(r: aiohttp.ClientResponse) -> None:
    read = r.content.readline
    while await read():
        pass


READERS: dict[str, Reader] = {
    "iter_any()": iter_any,
    "readany() loop": readany,
    "iter_chunked(64 KiB)": iter_chunked,
    "iter_chunks()": iter_chunks,
    "readline() loop": readline,
}


async def measure(url: str, n: int, reps: int) -> None:
    body = {"model": "llama3.2", "prompt": "x", "options": {"num_predict": n}}
    async with aiohttp.ClientSession() as s:
        for mode in ("per-token", "64k"):
            times: dict[str, list[float]] = {k: [] for k in READERS}
            for rep in range(reps + 1):
                for name, reader in READERS.items():
                    t0 = time.perf_counter()
                    async with s.post(url + "/api/generate", json=body,
                                      headers={"X-Bench-Mode": mode}) as r:  # fmt: skip
                        await reader(r)
                    if rep:  # the first round warms up
                        times[name].append(time.perf_counter() - t0)
            print(f"\n{mode} ({n} chunks, median of {reps}):")
            base = statistics.median(times["iter_any()"])
            for name, ts in times.items():
                med = statistics.median(ts)
                print(
                    f"  {name:22} {med / (n + 1) * 1e6:6.3f} µs/chunk  {med / base:5.2f}× iter_any"
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--uvloop", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})
    if args.uvloop:
        import uvloop

        uvloop.install()
    with load_servers(1) as (url, _procs):
        asyncio.run(measure(url, args.chunks, args.reps))


if __name__ == "__main__":
    main()
