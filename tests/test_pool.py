"""The host pool over three emulators, one of them killed in the middle of a batch."""

from __future__ import annotations

import ast
import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from ollama_async import BatchRunner, OllamaError, StreamMisuseError
from ollama_async._pool import Pool
from ollama_async.testing import Emulator, Fault

from .conftest import acquired

PACKAGE = Path(__file__).resolve().parents[1] / "ollama_async"


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a state the background checks reach on their own schedule."""
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(0.01)


def health_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name().endswith("Pool._background")]


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
            await until(lambda: pool.stats()[ub]["healthy"] is False)
            assert (await pool.generate("tiny", "x")).done  # served by a
            b2 = Emulator(port=port)
            async with b2:
                await until(lambda: pool.stats()[ub]["healthy"] is True)


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


# -- the health checks belong to the pool's block ------------------------------------------


@pytest.mark.parametrize("how", ["end", "raise", "cancel"])
async def test_leaving_the_pool_cancels_and_awaits_its_health_checks(how: str) -> None:
    emu = Emulator()
    async with emu as url:
        inside = anyio.Event()

        async def use() -> None:
            async with Pool([url], health_interval=0.01) as pool:
                assert len(health_tasks()) == 1
                await until(lambda: sum(r.path == "/api/version" for r in emu.requests) > 2)
                inside.set()
                if how == "raise":
                    raise KeyError("the block failed")
                if how == "cancel":
                    await anyio.sleep_forever()
            assert pool.hosts[0].client.closed

        if how == "end":
            await use()
        elif how == "raise":
            with pytest.raises(KeyError, match="the block failed"):  # not an ExceptionGroup
                await use()
        else:
            task = asyncio.create_task(use())
            await inside.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert health_tasks() == []  # cancelled and awaited, not left to the loop
        checks = len(emu.requests)
        await anyio.lowlevel.checkpoint()
        assert len(emu.requests) == checks


@pytest.fixture
async def pool_in_a_fixture() -> AsyncIterator[tuple[Pool, Emulator]]:
    # pytest-asyncio runs a yield fixture's setup and teardown in two different tasks.
    emu = Emulator()
    async with emu as url, Pool([url], health_interval=0.01) as pool:
        yield pool, emu
    assert health_tasks() == []


async def test_a_pool_can_be_left_in_another_task_than_it_was_entered_in(
    pool_in_a_fixture: tuple[Pool, Emulator],
) -> None:
    pool, emu = pool_in_a_fixture
    assert len(health_tasks()) == 1
    assert (await pool.generate("tiny", "x")).done and emu.requests[-1].path == "/api/generate"


async def test_aclose_inside_the_block_stops_the_checks_not_the_block() -> None:
    emu = Emulator()
    async with emu as url, Pool([url], health_interval=0.01) as pool:
        await pool.aclose()
        assert health_tasks() == []
        await anyio.lowlevel.checkpoint()  # the block itself is not cancelled
        left_normally = True
    assert left_normally and pool.hosts[0].client.closed


def test_the_concurrency_modules_import_no_asyncio() -> None:
    # Structured concurrency lives here: anyio task groups, limiters and scopes only.
    for name in ("_batch.py", "_completed.py", "_pool.py", "_fanin.py", "ray.py"):
        tree = ast.parse((PACKAGE / name).read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[0] == "asyncio"}, name


# -- pool streams behave like the client's streams -----------------------------------------


async def test_a_pool_stream_closes_at_once_when_left_early() -> None:
    emu = Emulator()
    emu.inject(Fault(stall_after=2), model="llama3.2", times=None)  # stalls until we leave
    async with emu as url, Pool([url], health_interval=60, per_host_limit=2) as pool:
        host = pool.hosts[0]
        async with pool.stream_tokens("llama3.2", prompt="a") as s:
            async for _ in s:
                break
        assert acquired(host.client) == 0 and host.in_flight == 0 and host.limit.value == 2

        s = pool.stream_tokens("llama3.2", prompt="b")
        pieces = aiter(s)
        assert await anext(pieces)
        await s.aclose()  # from outside the loop, mid-body
        assert acquired(host.client) == 0 and host.in_flight == 0 and host.limit.value == 2
        with pytest.raises(StreamMisuseError):
            async for _ in s:
                pass
        await pieces.aclose()

        s = pool.stream_tokens("llama3.2", prompt="c")
        async for _ in s:  # no async with: the loop's generator closes it
            break
        await emu.wait_idle(timeout=5)
        assert host.in_flight == 0 and host.limit.value == 2
        await s.aclose()
    assert [r.client_disconnected for r in emu.requests if r.path == "/api/generate"] == [True] * 3


async def test_a_pool_stream_is_read_once_and_two_can_share_a_task_and_a_host() -> None:
    emu = Emulator()
    async with emu as url, Pool([url], health_interval=60, per_host_limit=2) as pool:
        one = pool.stream("llama3.2", "a", options={"num_predict": 3})
        two = pool.stream("llama3.2", "b", options={"num_predict": 3})
        async with one, two:  # one task holds both of the host's slots
            got = [(a.response, b.response) async for a, b in _zip(one, two)]
        assert len(got) == 4 and one.final.done and two.final.done and one.host == url
        with pytest.raises(StreamMisuseError, match="once"):
            aiter(one)
        with pytest.raises(StreamMisuseError, match="ended"):
            await one.__aenter__()
        assert pool.hosts[0].limit.value == 2 and pool.stats()[url]["served"] == 2


async def _zip(a: object, b: object) -> object:
    ia, ib = aiter(a), aiter(b)  # type: ignore[call-overload]
    async for x in ia:
        yield x, await anext(ib)
    async for _ in ib:
        pass


async def test_a_started_pool_stream_is_never_replayed() -> None:
    a, b = Emulator(), Emulator()
    async with a as ua, b as ub, Pool([ua, ub], health_interval=60) as pool:
        a.inject(Fault(disconnect_after=2), times=None)
        b.inject(Fault(disconnect_after=2), times=None)
        with pytest.raises(OllamaError):
            async for _ in pool.stream_tokens("llama3.2", prompt="x"):
                pass
        sent = [r for e in (a, b) for r in e.requests if r.path == "/api/generate"]
        assert len(sent) == 1  # the body had started: its error is the caller's
        assert all(h.in_flight == 0 for h in pool.hosts)
