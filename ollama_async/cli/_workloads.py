"""The commands that run many calls: demo, batch, bench, and serving the emulator."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, TextIO

import anyio

from .._batch import BatchRunner
from .._client import Client
from .._config import RetryPolicy, Timeouts
from .._errors import InvalidRequestError
from ._commands import pull_with_progress, stream_text
from ._registry import (
    Arg,
    Streams,
    command,
    open_client,
    port_number,
    positive_float,
    positive_int,
    server_url,
)
from ._views import batch_progress, write_table

__all__: list[str] = []


async def _server_answers(url: str, within: float = 1.0) -> bool:
    quick = Timeouts(connect=within, idle=within, total=within)
    async with Client(url, timeouts=quick, retry=RetryPolicy(retries=0)) as probe:
        return await probe.is_running()


@command("demo", "stream, batch and pull: against the server if one answers within 1 s, "
         "else the bundled emulator",
         Arg("--model", help="the model to use (default: llama3.2 if present)"))  # fmt: skip
async def demo(args: argparse.Namespace, io: Streams) -> int:
    out = io.out
    url = server_url(args.host)
    emulator = None
    if await _server_answers(url):
        out.write(f"Using the Ollama server at {url}\n")
    else:
        from ..testing import Emulator

        emulator = Emulator(tokens_per_second=60)
        url = await emulator.start()
        out.write(f"No Ollama server answered; using the bundled emulator at {url}\n")
    try:
        async with Client(url) as client:
            models = [m.name for m in (await client.list()).models]
            preferred = [m for m in models if m.startswith("llama3.2")]
            model = args.model or next(
                (m for m in preferred + models if "embed" not in m), "llama3.2"
            )
            out.write(f"\n== 1. Streaming tokens from {model}\n")
            await stream_text(client, model, "Why is the sky blue?", Streams(out, out, io.stdin))

            out.write("\n== 2. A batch of 8 prompts, at most 4 at a time\n")
            prompts = [f"Tell me fact number {i} about rivers." for i in range(8)]
            start = time.monotonic()
            runner = BatchRunner(client, model=model, max_concurrent=4)
            results = await runner.run(
                [{"prompt": p, "options": {"num_predict": 24}} for p in prompts]
            )
            rows = []
            for r in results:
                if r.ok and r.value is not None:
                    v = r.value
                    text = v.response.strip().replace("\n", " ")[:40]
                    tps = f"{v.tokens_per_second or 0.0:.1f}"
                    rows.append([str(r.index), f"{r.elapsed:.2f}s", str(v.eval_count or 0), tps,
                                 text])  # fmt: skip
                else:
                    rows.append([str(r.index), f"{r.elapsed:.2f}s", "", "", f"error: {r.error}"])
            write_table(out, ["#", "TIME", "TOKENS", "TOK/S", "ANSWER"], rows, right=[0, 1, 2, 3])
            out.write(f"all 8 in {time.monotonic() - start:.2f}s\n")

            target = "demo/tiny-model:latest" if emulator is not None else model
            out.write(f"\n== 3. Pulling {target} with progress\n")
            await pull_with_progress(client, target, out)
            out.write("\nDone.\n")
    finally:
        if emulator is not None:
            await emulator.close()
    return 0


# -- batch -----------------------------------------------------------------------------------


def _read_lines(path: str, stdin: TextIO) -> list[str]:
    if path == "-":
        return [line.rstrip("\n") for line in stdin if line.strip()]
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidRequestError("input", f"could not read {path!r} ({reason})") from None


def _parse_items(lines: list[str]) -> list[Any]:
    items: list[Any] = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith("{"):
            try:
                items.append(json.loads(line))
            except ValueError:
                raise InvalidRequestError(f"line {i + 1}", "is not valid JSON") from None
        else:
            items.append(line)
    return items


def _open_output(path: str) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(
            "--output", f"could not write {path!r} ({exc.strerror})"
        ) from None


def _record(r: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"index": r.index, "ok": r.ok, "elapsed": r.elapsed}
    if r.ok and r.value is not None:
        message = getattr(r.value, "message", None)
        record["response"] = getattr(r.value, "response", None) or getattr(message, "content", None)
        record["eval_count"] = getattr(r.value, "eval_count", None)
    else:
        record["error"] = f"{type(r.error).__name__}: {r.error}"
    return record


@command(
    "batch", "prompts (or JSON requests) in, one per line; JSON Lines out as items finish",
    Arg("input", help="a file with one prompt or JSON request per line, or - for stdin"),
    Arg("--model", default="llama3.2", help="the model for lines that name none "
        "(default: llama3.2)"),
    Arg("--concurrency", type=positive_int, default=4, metavar="N",
        help="requests at a time (default: 4)"),
    Arg("--output", default=None, metavar="FILE", help="write the results here, not stdout"),
)  # fmt: skip
async def batch(args: argparse.Namespace, io: Streams) -> int:
    items = _parse_items(await anyio.to_thread.run_sync(_read_lines, args.input, io.stdin))
    if not items:
        raise InvalidRequestError("input", f"{args.input!r} holds no prompt")
    sink = await anyio.to_thread.run_sync(_open_output, args.output) if args.output else io.out
    try:
        with batch_progress(io.err, len(items)) as progress:
            async with open_client(args) as client:
                runner = BatchRunner(client, model=args.model, max_concurrent=args.concurrency)
                async for r in runner.as_completed(items):
                    sink.write(json.dumps(_record(r), ensure_ascii=False) + "\n")
                    sink.flush()
                    progress.advance(r.ok)
    finally:
        if sink is not io.out:
            sink.close()
    return 0


# -- bench -----------------------------------------------------------------------------------


@command(
    "bench", "tokens/s and time to first token of models side by side",
    Arg("models", nargs="+", help="the models to compare"),
    Arg("--prompt", default="Why is the sky blue?", help="the prompt each run sends"),
    Arg("--runs", type=positive_int, default=3, metavar="N",
        help="runs per model; the table shows the mean speed and the best first token "
        "(default: 3)"),
)  # fmt: skip
async def bench(args: argparse.Namespace, io: Streams) -> int:
    rows = []
    async with open_client(args) as client:
        for model in args.models:
            speeds, firsts = [], []
            for _ in range(args.runs):
                start = time.monotonic()
                first: float | None = None
                s = client.stream_tokens(model, prompt=args.prompt)
                async for _piece in s:
                    if first is None:
                        first = time.monotonic() - start
                if s.final is not None and s.final.tokens_per_second:
                    speeds.append(s.final.tokens_per_second)
                firsts.append(first if first is not None else time.monotonic() - start)
            tps = sum(speeds) / len(speeds) if speeds else 0.0
            rows.append([model, f"{tps:.1f}", f"{min(firsts) * 1000:.1f} ms"])
    write_table(io.out, ["MODEL", "TOKENS/S", "FIRST TOKEN"], rows, right=[1, 2])
    return 0


@command(
    "serve-emulator", "run the bundled Ollama emulator until interrupted",
    Arg("--bind", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)"),
    Arg("--port", type=port_number, default=11434, help="the port (default: 11434)"),
    Arg("--tokens-per-second", type=positive_float, default=None, metavar="N",
        help="pace the streams (default: as fast as possible)"),
)  # fmt: skip
async def serve_emulator(args: argparse.Namespace, io: Streams) -> int:
    from ..testing.__main__ import serve

    await serve(args.bind, args.port, args.tokens_per_second)
    return 0
