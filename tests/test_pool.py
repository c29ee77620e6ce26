"""The host pool over three emulators, one of them killed in the middle of a batch."""

from __future__ import annotations

import asyncio
from collections import Counter

from ollama_async import BatchRunner, OllamaError
from ollama_async._pool import Pool
from ollama_async.testing import Emulator


async def test_least_loaded_host_that_has_the_model() -> None:
    only_tiny = Emulator(models=["tiny"])
    both = Emulator(models=["tiny", "llama3.2"])
    async with only_tiny as u1, both as u2, Pool([u1, u2], health_interval=60) as pool:
        for _ in range(6):
            await pool.generate("llama3.2", "hi")
        assert pool.stats()[u2]["served"] == 6 and pool.stats()[u1]["served"] == 0
        await asyncio.gather(*(pool.generate("tiny", "hi") for _ in range(8)))
        assert pool.stats()[u1]["served"] > 0  # tiny spreads over both


async def test_health_checks_take_a_host_out_and_put_it_back() -> None:
    a, b = Emulator(), Emulator()
    async with a as ua, b as ub:
        pool = Pool([ua, ub], health_interval=0.05, refresh_interval=0.1)
        async with pool:
            port = b.port
            await b.close()
            await asyncio.sleep(0.3)
            assert pool.stats()[ub]["healthy"] is False
            assert (await pool.generate("tiny", "x")).done  # served by a
            b2 = Emulator(port=port)
            async with b2:
                await asyncio.sleep(0.3)
                assert pool.stats()[ub]["healthy"] is True


async def test_a_stream_moves_only_before_its_body() -> None:
    a, b = Emulator(), Emulator(tokens_per_second=200)
    async with a as ua, b as ub, Pool([ua, ub], health_interval=60) as pool:
        await a.close()  # a is down, but the pool does not know yet
        s = pool.stream_tokens("llama3.2", prompt="hi")
        assert [t async for t in s] and s.host == ub
        assert pool.stats()[ua]["healthy"] is False


async def test_a_thousand_item_batch_survives_a_killed_host() -> None:
    emus = [Emulator(tokens_per_second=400, default_tokens=8) for _ in range(3)]
    urls = [await e.start() for e in emus]
    try:
        async with Pool(urls, per_host_limit=8, health_interval=0.1) as pool:
            runner = BatchRunner(pool, model="llama3.2", max_concurrent=24)
            task = asyncio.create_task(runner.run([f"item {i}" for i in range(1000)]))
            while sum(len(e.requests) for e in emus) < 300:
                await asyncio.sleep(0.01)
            await emus[1].close()  # killed in the middle of the batch
            results = await task
            stats = pool.stats()
    finally:
        for e in emus:
            await e.close()
    assert len(results) == 1000 and [r.index for r in results] == list(range(1000))
    ok = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    assert all(isinstance(r.error, OllamaError) for r in failed)
    # No item ran twice to completion: each prompt completed on at most one host.
    done = Counter(rec.json["prompt"] for e in emus for rec in e.requests
                   if rec.path == "/api/generate" and rec.completed)  # fmt: skip
    assert max(done.values()) == 1
    assert len(ok) >= 990 and {r.item for r in ok} <= set(done)
    served = [stats[u]["served"] for u in urls]
    assert sum(served) == len(ok) and all(n > 0 for n in served)
    assert stats[urls[1]]["healthy"] is False
    print("\nper-host served:", dict(zip(urls, served, strict=True)), "failed items:", len(failed))
