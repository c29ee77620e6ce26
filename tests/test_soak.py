"""Cancellation soak: many streams cancelled at random points among normal ones.

CI runs 600 streams; ``pytest -m slow`` runs the full 10,000 (about a minute).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_async import Client, OllamaError, RetryPolicy

from .conftest import acquired
from .faultserver import Conn, FaultServer, line


def rss_mb() -> float:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def script(conn: Conn) -> None:
    """Ten tokens, some written in two halves, with a yield between writes."""
    conn.head()
    for i in range(10):
        data = line(f"t{i} ")
        if i % 3 == 0:
            conn.chunk(data[:15])
            await asyncio.sleep(0)
            conn.chunk(data[15:])
        else:
            conn.chunk(data)
        await asyncio.sleep(0)
    conn.chunk(line("", done=True))
    conn.end()


async def soak(streams: int) -> dict[str, float]:
    server = FaultServer(keep_records=False)  # measure the client, not the test's records
    server.script = script
    await server.start()
    rng = random.Random(2026)
    outcome = {"done": 0, "typed_error": 0, "cancelled": 0, "broke": 0}
    async with Client(server.url, retry=RetryPolicy(retries=0), max_connections=64) as c:

        async def one(plan: str, stop_after: int) -> None:
            s = c.stream_tokens("m", prompt="x")
            got = 0
            try:
                async for _ in s:
                    got += 1
                    if plan == "break" and got == stop_after:
                        outcome["broke"] += 1
                        return
                assert s.final is not None and s.final.done
                outcome["done"] += 1
            except OllamaError:
                outcome["typed_error"] += 1

        # Warm up, then take the baselines.
        await asyncio.gather(*(one("normal", 0) for _ in range(50)))
        outcome.update(done=0, typed_error=0, cancelled=0, broke=0)
        gc.collect()
        tasks0, fds0, rss0 = len(asyncio.all_tasks()), open_fds(), rss_mb()
        batch = 200
        for start in range(0, streams, batch):
            tasks = []
            for _ in range(min(batch, streams - start)):
                plan = rng.choice(["normal", "cancel", "break"])
                tasks.append(asyncio.create_task(one(plan, rng.randint(1, 10))))
                if plan == "cancel":
                    victim = tasks[-1]
                    # Before headers, between chunks or inside one: a random moment.
                    asyncio.get_running_loop().call_later(rng.uniform(0, 0.004), victim.cancel)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            outcome["cancelled"] += sum(isinstance(r, asyncio.CancelledError) for r in results)
            assert not [r for r in results if isinstance(r, BaseException)
                        and not isinstance(r, asyncio.CancelledError)]  # fmt: skip
        await asyncio.sleep(0.05)
        gc.collect()
        leaked_conns = acquired(c)
    await server.close()
    await asyncio.sleep(0.05)
    gc.collect()
    return {
        "streams": streams,
        **outcome,
        "leaked_connections": leaked_conns,
        "leaked_tasks": len(asyncio.all_tasks()) - tasks0,
        "leaked_fds": open_fds() - fds0,
        "rss_start_mb": rss0,
        "rss_end_mb": rss_mb(),
    }


def check(figures: dict[str, float]) -> None:
    print("\nsoak:", figures)
    accounted = figures["done"] + figures["typed_error"] + figures["cancelled"] + figures["broke"]
    assert accounted == figures["streams"]  # every stream ended one of the known ways
    assert figures["cancelled"] > 0 and figures["broke"] > 0 and figures["done"] > 0
    assert figures["leaked_connections"] == 0
    assert figures["leaked_tasks"] <= 0
    assert figures["leaked_fds"] <= 2
    assert figures["rss_end_mb"] - figures["rss_start_mb"] < 10


@pytest.fixture(autouse=True)
def quiet_server_writes() -> Iterator[None]:
    """The scripted server keeps writing to clients that left; asyncio logs each such write."""
    log = logging.getLogger("asyncio")
    level = log.level
    log.setLevel(logging.ERROR)
    yield
    log.setLevel(level)


async def test_cancellation_soak_short() -> None:
    check(await soak(600))


@pytest.mark.slow
async def test_cancellation_soak_10000() -> None:
    check(await soak(10_000))
