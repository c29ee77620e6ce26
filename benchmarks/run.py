"""Side-by-side benchmark: ollama_async against the official client and the transport ceilings.

    python -m benchmarks.run [--chunks 20000] [--reps 9] [--quick] [--only stream,ttft,...]

A pre-encoded load server (benchmarks/load_server.py) runs in its own process pinned to one
core; this process is pinned to the other. Each contender is run ``--reps`` times per server
mode, interleaved in rounds (A B C, then C B A, …) with a ``gc.collect()`` before each run;
the table shows median and min. Ratios are paired: each round's ratio, then the median over
the rounds, so the machine's drift in speed (up to 2x over seconds here) cancels out.
Sections: ``stream`` (µs per chunk, ratios), ``micro`` (split + decode alone, from
benchmarks/micro_ndjson.py), ``breakdown`` (where a chunk's time goes, from
benchmarks/breakdown.py), ``ttft`` (time to first token), ``rss`` (peak RSS growth over a
1,000,000-chunk stream, each contender in a fresh process), ``concurrent`` (1,000 streams at
once: aggregate chunks/s and CPU µs per chunk), ``batch`` (10,000 non-streaming requests at
several concurrencies).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

import ollama_async

# The event loop every section runs on: asyncio's, or uvloop's with --uvloop (uvloop.run,
# not the policy-based uvloop.install, which Python 3.12+ deprecates).
run_loop: Callable[[Coroutine[Any, Any, Any]], Any] = asyncio.run

PROMPT = "Why is the sky blue?"
MESSAGES = [{"role": "user", "content": PROMPT}]
RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def load_servers(count: int = 1, cpu: int | None = 1) -> Any:
    """Start ``count`` load-server processes sharing one port; yields the base URL."""
    port = free_port()
    procs = []
    for _ in range(count):
        cmd = [sys.executable, "-m", "benchmarks.load_server", "--port", str(port)]
        if cpu is not None and (os.cpu_count() or 1) > 1:
            cmd += ["--cpu", str(cpu)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=Path(__file__).parents[1])
        assert p.stdout is not None
        p.stdout.readline()
        procs.append(p)
    try:
        yield f"http://127.0.0.1:{port}", procs
    finally:
        for p in procs:
            p.terminate()
            p.wait()
            if p.stdout:
                p.stdout.close()


def server_cpu_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    """User+system CPU seconds the load servers have used so far (from /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in procs:
        try:
            fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


# -- contenders ----------------------------------------------------------------------------


class Contender:
    name = ""
    kind = "generate"

    async def setup(self, url: str, mode: str) -> None:
        self.url = url
        self.mode = mode
        self.headers = {"X-Bench-Mode": mode}

    async def run(self, n: int) -> int:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class Official(Contender):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = f"official ollama {kind}"

    async def setup(self, url: str, mode: str) -> None:
        await super().setup(url, mode)
        import ollama

        self.client = ollama.AsyncClient(host=url, headers=self.headers)

    async def run(self, n: int) -> int:
        count = 0
        if self.kind == "chat":
            stream = await self.client.chat(
                "llama3.2", messages=MESSAGES, stream=True, options={"num_predict": n}
            )
        else:
            stream = await self.client.generate(
                "llama3.2", PROMPT, stream=True, options={"num_predict": n}
            )
        async for _ in stream:
            count += 1
        return count

    async def close(self) -> None:
        await self.client._client.aclose()


class RawIterAny(Contender):
    name = "aiohttp iter_any (ceiling)"

    async def setup(self, url: str, mode: str) -> None:
        await super().setup(url, mode)
        self.session = aiohttp.ClientSession()

    async def run(self, n: int) -> int:
        body = {"model": "llama3.2", "prompt": PROMPT, "options": {"num_predict": n}}
        async with self.session.post(
            self.url + "/api/generate", json=body, headers=self.headers
        ) as r:
            async for _ in r.content.iter_any():
                pass
        return n + 1

    async def close(self) -> None:
        await self.session.close()


class RawSocket(Contender):
    name = "raw asyncio socket (machine)"

    async def run(self, n: int) -> int:
        host, port = self.url.rsplit("/", 1)[-1].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        body = json.dumps({"model": "llama3.2", "prompt": PROMPT, "options": {"num_predict": n}})
        writer.write(
            f"POST /api/generate HTTP/1.1\r\nHost: {host}\r\nX-Bench-Mode: {self.mode}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
        )
        tail = b""
        while True:
            data = await reader.read(65536)
            if not data:
                break
            tail = (tail + data)[-16:]
            if tail.endswith(b"0\r\n\r\n"):
                break
        writer.close()
        await writer.wait_closed()
        return n + 1


class Ours(Contender):
    def __init__(self, method: str, kind: str) -> None:
        self.method = method
        self.kind = kind
        self.name = f"ollama_async {method} {kind}"

    async def setup(self, url: str, mode: str) -> None:
        await super().setup(url, mode)
        self.client = ollama_async.Client(url, headers=self.headers)
        await self.client.__aenter__()

    async def run(self, n: int) -> int:
        method = getattr(self.client, self.method)
        options = {"num_predict": n}
        if self.kind == "chat":
            s = method("llama3.2", messages=MESSAGES, options=options)
        else:
            s = method("llama3.2", prompt=PROMPT, options=options)
        count = 0
        async for _ in s:
            count += 1
        if self.method == "stream_bytes":
            assert s.final is not None and s.final.eval_count == n
            return n + 1
        if self.method == "stream_tokens":
            return count + 1  # the final chunk has no text
        return count

    async def close(self) -> None:
        await self.client.aclose()


def contenders() -> list[Contender]:
    """In running order: each verdict's two sides run next to each other (bytes beside
    iter_any, stream and stream_tokens beside the official client), so a paired ratio
    compares runs a few milliseconds apart. The table prints them in a fixed order."""
    try:
        import ollama  # noqa: F401

        official: list[Contender] = [Official("generate"), Official("chat")]
    except ImportError:
        official = []
        print("(the official `ollama` package is not installed: pip install -r "
              "benchmarks/requirements.txt)")  # fmt: skip
    return [
        RawSocket(),
        Ours("stream_bytes", "generate"),
        RawIterAny(),
        Ours("stream", "generate"),
        *official[:1],
        Ours("stream_tokens", "generate"),
        *official[1:],
        *(Ours(method, "chat") for method in ("stream", "stream_tokens", "stream_bytes")),
    ]


TABLE_ORDER = ["raw asyncio socket (machine)", "aiohttp iter_any (ceiling)",
               "official ollama generate", "official ollama chat"] + [
    f"ollama_async {m} {k}" for k in ("generate", "chat")
    for m in ("stream", "stream_tokens", "stream_bytes")
]  # fmt: skip


# -- sections ------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    mode: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def us(self, n: int, which: Callable[[list[float]], float] = statistics.median) -> float:
        return which(self.seconds) / n * 1e6


async def section_stream(url: str, n: int, reps: int) -> dict[str, dict[str, Row]]:
    table: dict[str, dict[str, Row]] = {}
    for mode in ("per-token", "64k"):
        cs = contenders()
        for c in cs:
            await c.setup(url, mode)
            await c.run(n)  # warm up: connections, the server's encoded-body cache
        rows = {c.name: Row(c.name, mode) for c in cs}
        for rep in range(reps):
            # Every other round runs backwards, so no contender always follows the same one.
            for c in cs if rep % 2 == 0 else cs[::-1]:
                gc.collect()  # no contender pays for the garbage of the one before
                t0, p0 = time.perf_counter(), time.process_time()
                got = await c.run(n)
                t1, p1 = time.perf_counter(), time.process_time()
                if got != n + 1:
                    raise AssertionError(f"{c.name} saw {got} chunks, expected {n + 1}")
                rows[c.name].seconds.append(t1 - t0)
                rows[c.name].cpu.append(p1 - p0)
        for c in cs:
            await c.close()
        table[mode] = rows
        LINES_PER_READ[mode] = await lines_per_read(url, mode, n)
    return table


LINES_PER_READ: dict[str, float] = {}


async def lines_per_read(url: str, mode: str, n: int) -> float:
    """How many lines one ``readany()`` hands over in this mode (one untimed stream): the
    stream sections measure per-record cost when this is large, and per-read cost when it
    is about 1 (a live model; see the breakdown's one-line reads)."""
    body = {"model": "llama3.2", "prompt": PROMPT, "options": {"num_predict": n}}
    reads = lines = 0
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/api/generate", json=body, headers={"X-Bench-Mode": mode}) as r,
    ):
        while data := await r.content.readany():
            reads += 1
            lines += data.count(b"\n")
    return lines / max(reads, 1)


def paired(slow: Row, fast: Row) -> float:
    """Median over the rounds of ``slow``'s time over ``fast``'s in the same round."""
    return statistics.median(a / b for a, b in zip(slow.seconds, fast.seconds, strict=True))


def print_stream(table: dict[str, dict[str, Row]], n: int) -> list[tuple[str, bool, str]]:
    verdicts: list[tuple[str, bool, str]] = []
    for mode, rows in table.items():
        off = rows.get("official ollama generate")
        ceil = rows["aiohttp iter_any (ceiling)"]
        sock = rows["raw asyncio socket (machine)"]
        print(f"\n### {mode} server writes, {n} generate chunks per stream\n")
        print("Ratios are paired: per round, then the median over the rounds. aiohttp's "
              f"`readany()` handed over {LINES_PER_READ.get(mode, float('nan')):,.0f} lines "
              "per read in this mode.\n")  # fmt: skip
        print("| contender | chunks/s | µs/chunk (median) | µs/chunk (min) | CPU µs/chunk "
              "| × official | ÷ iter_any time | ÷ socket time |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in sorted(rows.values(), key=lambda r: TABLE_ORDER.index(r.name)):
            med = r.us(n + 1)
            ratio_off = paired(off, r) if off else float("nan")
            ratio_ceil = 1 / paired(ceil, r)
            ratio_sock = 1 / paired(sock, r)
            print(
                f"| {r.name} | {(n + 1) / statistics.median(r.seconds):,.0f} | {med:.2f} | "
                f"{r.us(n + 1, min):.2f} | {statistics.median(r.cpu) / (n + 1) * 1e6:.2f} | "
                f"{ratio_off:.1f} | {ratio_ceil:.2f} | {ratio_sock:.1f} |"
            )

        # Verdicts compare runs of the same round (paired), then take the median over the
        # rounds: the machine's speed drifts by up to 2x over seconds, and a ratio of two
        # medians taken at different moments would carry that drift.
        def speedup(name: str) -> float:
            return paired(off, rows[name]) if off else float("nan")

        def vs_ceil(name: str) -> float:
            return 1 / paired(ceil, rows[name])

        if mode == "64k":
            s = speedup("ollama_async stream generate")
            verdicts.append(
                ("64k: stream ≥ 5× official (streaming-core issue)", s >= 5, f"{s:.1f}×")
            )
            verdicts.append(("64k: stream ≥ 12× official", s >= 12, f"{s:.1f}×"))
            t = speedup("ollama_async stream_tokens generate")
            verdicts.append(("64k: stream_tokens ≥ 20× official", t >= 20, f"{t:.1f}×"))
            b = 1 / vs_ceil("ollama_async stream_bytes generate")
            verdicts.append(("64k: stream_bytes ≥ 90 % of iter_any throughput", b >= 0.9,
                             f"{b * 100:.0f} %"))  # fmt: skip
        else:
            s = speedup("ollama_async stream generate")
            verdicts.append(("per-token: stream ≥ 9× official", s >= 9, f"{s:.1f}×"))
            c = vs_ceil("ollama_async stream generate")
            verdicts.append(("per-token: stream time ≤ 1.25× iter_any", c <= 1.25, f"{c:.2f}×"))
            t = speedup("ollama_async stream_tokens generate")
            verdicts.append(("per-token: stream_tokens ≥ 10× official", t >= 10, f"{t:.1f}×"))
    return verdicts


async def section_ttft(url: str, samples: int) -> list[tuple[str, bool, str]]:
    """Time from sending a request to holding the first token, per contender (median)."""

    async def first_iter_any(session: aiohttp.ClientSession) -> float:
        t0 = time.perf_counter()
        body = {"model": "llama3.2", "prompt": PROMPT, "options": {"num_predict": 8}}
        async with session.post(url + "/api/generate", json=body) as r:
            async for _ in r.content.iter_any():
                t = time.perf_counter() - t0
                break
        return t

    async def first_ours(client: ollama_async.Client) -> float:
        t0 = time.perf_counter()
        s = client.stream_tokens("llama3.2", prompt=PROMPT, options={"num_predict": 8})
        async for _ in s:
            t = time.perf_counter() - t0
            break
        return t

    async def first_official(client: Any) -> float:
        t0 = time.perf_counter()
        stream = await client.generate("llama3.2", PROMPT, stream=True, options={"num_predict": 8})
        async for _ in stream:
            t = time.perf_counter() - t0
            break
        await stream.aclose()
        return t

    raw: list[float] = []
    ours: list[float] = []
    official: list[float] = []
    async with aiohttp.ClientSession() as session, ollama_async.Client(url) as client:
        try:
            import ollama

            off_client: Any = ollama.AsyncClient(host=url)
        except ImportError:
            off_client = None
        for _ in range(samples):
            raw.append(await first_iter_any(session))
            ours.append(await first_ours(client))
            if off_client is not None:
                official.append(await first_official(off_client))
    m_raw, m_ours = statistics.median(raw) * 1e3, statistics.median(ours) * 1e3
    print(f"\n### Time to first token ({samples} samples each, median)\n")
    print("| contender | ms |\n|---|---:|")
    print(f"| aiohttp iter_any | {m_raw:.3f} |\n| ollama_async stream_tokens | {m_ours:.3f} |")
    if official:
        print(f"| official ollama | {statistics.median(official) * 1e3:.3f} |")
    diff = m_ours - m_raw
    return [("time to first token ≤ raw aiohttp + 0.2 ms", diff <= 0.2, f"+{diff:.3f} ms")]


def _status_kb(key: str) -> int:
    """A memory figure from /proc/self/status, in KB (0 where there is no /proc)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_child(name: str, url: str, n: int) -> None:
    """Run one contender over one big stream in this (fresh) process; print RSS growth."""

    async def go() -> None:
        by_name = {c.name: c for c in contenders()}
        c = by_name[name]
        await c.setup(url, "per-token")
        await c.run(100)
        # Reset the kernel's peak-RSS mark (VmHWM) so the peak is this stream's alone.
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # noqa: ASYNC240 - a procfs write
        before = _status_kb("VmRSS")
        await c.run(n)
        after = _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        await c.close()
        print(json.dumps({"name": name, "before_kb": before, "after_kb": after}))

    run_loop(go())


def section_rss(url: str, n: int) -> list[tuple[str, bool, str]]:
    names = ["aiohttp iter_any (ceiling)", "ollama_async stream generate",
             "ollama_async stream_tokens generate", "ollama_async stream_bytes generate",
             "official ollama generate"]  # fmt: skip
    print(f"\n### Peak RSS growth over one {n:,}-chunk stream (fresh process each)\n")
    print("| contender | RSS before (MB) | peak after (MB) | growth (MB) |\n|---|---:|---:|---:|")
    verdicts = []
    for name in names:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.run", "--rss-child", name, "--url", url,
             "--chunks", str(n)],
            capture_output=True, text=True, cwd=Path(__file__).parents[1],
        )  # fmt: skip
        if out.returncode != 0:
            print(f"| {name} | failed: {out.stderr.strip().splitlines()[-1:]} | | |")
            continue
        data = json.loads(out.stdout.strip().splitlines()[-1])
        growth = (data["after_kb"] - data["before_kb"]) / 1024
        print(f"| {name} | {data['before_kb'] / 1024:.1f} | {data['after_kb'] / 1024:.1f} | "
              f"{growth:.1f} |")  # fmt: skip
        if name == "ollama_async stream generate":
            verdicts.append(
                ("peak RSS growth < 10 MB over 1M chunks", growth < 10, f"{growth:.1f} MB")
            )
    return verdicts


async def section_concurrent(url: str, streams: int, n: int) -> None:
    print(f"\n### {streams} concurrent streams × {n} chunks (per-token mode)\n")
    print("| contender | aggregate chunks/s | CPU µs/chunk |\n|---|---:|---:|")

    async def run_many(make: Callable[[], Awaitable[Contender]]) -> tuple[float, float]:
        c = await make()
        sem = asyncio.Semaphore(streams)

        async def one() -> None:
            async with sem:
                await c.run(n)

        t0, p0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(streams)))
        t1, p1 = time.perf_counter(), time.process_time()
        await c.close()
        total = streams * (n + 1)
        return total / (t1 - t0), (p1 - p0) / total * 1e6

    async def raw() -> Contender:
        c = RawIterAny()
        await Contender.setup(c, url, "per-token")
        c.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return c

    async def ours() -> Contender:
        c = Ours("stream", "generate")
        await Contender.setup(c, url, "per-token")
        c.client = ollama_async.Client(url, headers=c.headers, max_connections=0)
        return c

    async def official() -> Contender:
        c = Official("generate")
        await Contender.setup(c, url, "per-token")
        import httpx
        import ollama

        c.client = ollama.AsyncClient(host=url, headers=c.headers,
                                      limits=httpx.Limits(max_connections=streams))  # fmt: skip
        return c

    makers: list[tuple[str, Callable[[], Awaitable[Contender]]]] = [
        ("aiohttp iter_any", raw), ("ollama_async stream", ours),
    ]  # fmt: skip
    with contextlib.suppress(ImportError):
        import ollama  # noqa: F401

        makers.append(("official ollama", official))
    for label, make in makers:
        rate, cpu = await run_many(make)
        print(f"| {label} | {rate:,.0f} | {cpu:.2f} |")


async def section_batch(
    url: str, procs: list[Any], total: int, quick: bool
) -> list[tuple[str, bool, str]]:
    from ollama_async import BatchRunner

    levels = [1, 16, 64, 256]
    rounds = 1 if quick else 3
    if quick:
        levels = [1, 64]
    print(f"\n### Batch of {total} non-streaming requests\n")
    print(f"Raw gather and the runner alternate for {rounds} round(s) per level (medians; the "
          "ratio is paired per round); the official client runs once.\n")  # fmt: skip
    print(
        "| concurrency | gather over raw aiohttp (req/s) | ollama_async BatchRunner (req/s) "
        "| official ollama gather (req/s) | runner time ÷ gather (paired) | load-server CPU |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    body = json.dumps({"model": "llama3.2", "prompt": PROMPT, "stream": False,
                       "options": {"num_predict": 16}}).encode()  # fmt: skip
    headers = {"Content-Type": "application/json"}
    for conc in levels:
        count = total if conc > 1 else max(total // 10, 100)
        items = [{"prompt": PROMPT, "options": {"num_predict": 16}}] * count
        raw_times: list[float] = []
        ours_times: list[float] = []
        server_share: list[float] = []
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s,
            ollama_async.Client(url, max_connections=0) as client,
        ):
            sem = asyncio.Semaphore(conc)

            async def one() -> None:
                async with sem, s.post(url + "/api/generate", data=body, headers=headers) as r:
                    await r.read()

            async def raw() -> None:
                c0 = server_cpu_seconds(procs)
                t0 = time.perf_counter()
                await asyncio.gather(*(one() for _ in range(count)))
                raw_times.append(time.perf_counter() - t0)
                server_share.append((server_cpu_seconds(procs) - c0) / raw_times[-1])

            async def ours() -> None:
                runner = BatchRunner(client, model="llama3.2", max_concurrent=conc)
                t0 = time.perf_counter()
                results = await runner.run(items)
                ours_times.append(time.perf_counter() - t0)
                assert all(r.ok for r in results)

            for rep in range(rounds):
                for f in (raw, ours) if rep % 2 == 0 else (ours, raw):
                    gc.collect()
                    await f()
        off_s = float("nan")
        with contextlib.suppress(ImportError):
            import httpx
            import ollama

            oc = ollama.AsyncClient(host=url, limits=httpx.Limits(max_connections=conc))
            osem = asyncio.Semaphore(conc)

            async def off_one() -> None:
                async with osem:
                    await oc.generate("llama3.2", PROMPT, options={"num_predict": 16})

            gc.collect()
            t0 = time.perf_counter()
            await asyncio.gather(*(off_one() for _ in range(count)))
            off_s = time.perf_counter() - t0
            await oc._client.aclose()
        raw_s, ours_s = statistics.median(raw_times), statistics.median(ours_times)
        ratio = statistics.median(b / a for a, b in zip(raw_times, ours_times, strict=True))
        share = statistics.median(server_share) * 100
        print(f"| {conc} | {count / raw_s:,.0f} | {count / ours_s:,.0f} | {count / off_s:,.0f} | "
              f"{ratio:.2f}× | {share:.0f} % of a core |")  # fmt: skip
        if conc == 64:
            speed = off_s / ours_s
            verdicts.append(("batch at 64: ≥ 5× official req/s", speed >= 5, f"{speed:.1f}×"))
            verdicts.append(("batch at 64: runner ≤ 1.5× bare gather over aiohttp", ratio <= 1.5,
                             f"{ratio:.2f}×"))  # fmt: skip
    return verdicts


def header(args: argparse.Namespace) -> None:
    def ver(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print("## ollama_async benchmark\n")
    print(f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(f"- command: `python -m benchmarks.run {' '.join(sys.argv[1:])}`".rstrip())
    print(f"- machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"- Python {platform.python_version()}; aiohttp {ver('aiohttp')}, msgspec "
          f"{ver('msgspec')}, ollama (official) {ver('ollama')}, ollama_async "
          f"{ollama_async.__version__}")  # fmt: skip
    print("- load server: benchmarks/load_server.py on CPU 1, client on CPU 0")
    loop = "uvloop" if args.uvloop else "asyncio (default loop)"
    print(f"- client event loop: {loop}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--quick", action="store_true", help="small numbers, one rep")
    ap.add_argument("--only", default="stream,micro,breakdown,ttft,rss,concurrent,batch,compat")
    ap.add_argument("--uvloop", action="store_true", help="run the client on uvloop")
    ap.add_argument("--rss-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})
    if args.uvloop:
        import uvloop

        global run_loop
        run_loop = uvloop.run
    if args.rss_child:
        rss_child(args.rss_child, args.url, args.chunks)
        return
    if args.quick:
        args.chunks, args.reps = min(args.chunks, 5000), 1
    only = set(args.only.split(","))
    header(args)
    verdicts: list[tuple[str, bool, str]] = []
    with load_servers(1) as (url, _procs):
        if "stream" in only:
            table = run_loop(section_stream(url, args.chunks, args.reps))
            verdicts += print_stream(table, args.chunks)
        if "micro" in only:
            from benchmarks import micro_ndjson

            verdicts += micro_ndjson.section(20_000 if args.quick else 100_000,
                                             3 if args.quick else 7)  # fmt: skip
        if "breakdown" in only:
            from benchmarks import breakdown

            for size in (65536, 0):
                breakdown.section(min(args.chunks, 20_000), 3 if args.quick else 15, size)
        if "ttft" in only:
            verdicts += run_loop(section_ttft(url, 50 if args.quick else 300))
        if "rss" in only:
            verdicts += section_rss(url, 100_000 if args.quick else 1_000_000)
        if "concurrent" in only:
            run_loop(section_concurrent(url, 100 if args.quick else 1000, 200))
        if "compat" in only:
            from benchmarks import compat

            verdicts += run_loop(compat.section(url, args.chunks, 3 if args.quick else 5))
    if "batch" in only:
        with load_servers(2) as (url, procs):
            verdicts += run_loop(
                section_batch(url, procs, 1000 if args.quick else 10_000, args.quick)
            )
    print("\n### Verdict\n")
    for what, ok, value in verdicts:
        print(f"- {'PASS' if ok else 'MISS'}: {what} (measured {value})")


if __name__ == "__main__":
    main()
