"""The drop-in ``AsyncClient`` beside the official client: ``chat(stream=True)``, one run.

    python -m benchmarks.compat [--chunks 20000] [--reps 5] [--quick]

Both clients stream the same chat from the load server (64 KiB writes), in alternating
rounds; the ratio is paired (per round, then the median), as in ``benchmarks/run.py``,
whose ``--only compat`` runs this section too. The native ``Client.stream`` is shown for
scale: the drop-in's cost over it is what the facade adds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from typing import Any

import ollama_async
from benchmarks.run import MESSAGES, Contender, Official, Ours, load_servers

MODE = "64k"
TARGET = 8.0


class DropIn(Contender):
    name = "ollama_async AsyncClient chat (drop-in)"
    kind = "chat"

    async def setup(self, url: str, mode: str) -> None:
        await super().setup(url, mode)
        self.client = ollama_async.AsyncClient(host=url, headers=self.headers)

    async def run(self, n: int) -> int:
        count = 0
        parts = await self.client.chat(
            "llama3.2", messages=MESSAGES, stream=True, options={"num_predict": n}
        )
        async for _ in parts:
            count += 1
        return count

    async def close(self) -> None:
        await self.client.close()


async def section(url: str, n: int, reps: int) -> list[tuple[str, bool, str]]:
    """Print the table; return the verdict (drop-in ≥ 8× the official chunks/s)."""
    try:
        import ollama  # noqa: F401
    except ImportError:
        print("\n(compat section skipped: pip install -r benchmarks/requirements.txt)")
        return []
    cs: list[Contender] = [Official("chat"), DropIn(), Ours("stream", "chat")]
    times: dict[str, list[float]] = {c.name: [] for c in cs}
    cpu: dict[str, list[float]] = {c.name: [] for c in cs}
    for c in cs:
        await c.setup(url, MODE)
        await c.run(n)  # warm up
    for rep in range(reps):
        for c in cs if rep % 2 == 0 else cs[::-1]:
            gc.collect()
            t0, p0 = time.perf_counter(), time.process_time()
            got = await c.run(n)
            times[c.name].append(time.perf_counter() - t0)
            cpu[c.name].append(time.process_time() - p0)
            if got != n + 1:
                raise AssertionError(f"{c.name} saw {got} chunks, expected {n + 1}")
    for c in cs:
        await c.close()
    off, off_cpu = times["official ollama chat"], cpu["official ollama chat"]
    print(f"\n### Drop-in AsyncClient: chat(stream=True), {MODE} writes, {n} chunks, "
          f"{reps} rounds\n")  # fmt: skip
    print("| contender | chunks/s (median) | µs/chunk | CPU µs/chunk | × official (paired) "
          "| × official (CPU, paired) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    ratios: dict[str, float] = {}
    for c in cs:
        mine = times[c.name]
        ratios[c.name] = statistics.median(a / b for a, b in zip(off, mine, strict=True))
        by_cpu = statistics.median(a / b for a, b in zip(off_cpu, cpu[c.name], strict=True))
        med, med_cpu = statistics.median(mine), statistics.median(cpu[c.name])
        print(f"| {c.name} | {(n + 1) / med:,.0f} | {med / (n + 1) * 1e6:.2f} | "
              f"{med_cpu / (n + 1) * 1e6:.2f} | {ratios[c.name]:.1f} | {by_cpu:.1f} |")  # fmt: skip
    ratio = ratios[DropIn.name]
    return [(f"{MODE}: drop-in chat stream ≥ {TARGET:.0f}× official", ratio >= TARGET,
             f"{ratio:.1f}×")]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="5,000 chunks, 3 rounds (< 1 min)")
    args = ap.parse_args()
    if args.quick:
        args.chunks, args.reps = 5000, 3
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})
    with load_servers(1) as (url, _procs):
        verdicts: Any = asyncio.run(section(url, args.chunks, args.reps))
    for what, ok, value in verdicts:
        print(f"- {'PASS' if ok else 'MISS'}: {what} (measured {value})")


if __name__ == "__main__":
    main()
