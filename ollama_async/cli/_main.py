"""The ``ollama-async`` command line (also ``python -m ollama_async``).

Exit codes: 0 success, 1 an Ollama error, 2 bad usage or input, 3 server unreachable,
4 model not found, 130 interrupted. Expected failures print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from .._api_types import ProgressResponse, PullProgress
from .._batch import BatchRunner
from .._client import Client
from .._config import RetryPolicy, Timeouts, resolve_host
from .._errors import (
    InvalidRequestError,
    ModelNotFoundError,
    OllamaError,
    ServerUnreachableError,
)

EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_FOUND, EXIT_INTERRUPTED = 1, 2, 3, 4, 130


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _bar(fraction: float, width: int = 24) -> str:
    filled = int(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


class PullView:
    """Draws pull progress: a bar per layer and one overall, with speed and ETA."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.start = time.monotonic()
        self.lines = 0
        self.last_draw = 0.0
        self.last_status: str | None = None

    def update(self, chunk: ProgressResponse, progress: PullProgress, final: bool = False) -> None:
        now = time.monotonic()
        if not final and self.tty and now - self.last_draw < 0.05:
            return
        self.last_draw = now
        elapsed = max(now - self.start, 1e-6)
        speed = progress.completed / elapsed
        left = progress.total - progress.completed
        eta = f"{left / speed:4.0f}s" if speed > 0 and left > 0 else "   0s"
        rows = [
            f"  {d[7:19]} {_bar(done / total if total else 0)} {_size(done):>9}/{_size(total):<9}"
            for d, (done, total) in progress.layers.items()
        ]
        rows.append(
            f"  {'overall':12} {_bar(progress.percent / 100)} {progress.percent:5.1f}% "
            f"{_size(speed)}/s ETA {eta}  {chunk.status}"
        )
        if self.tty:
            if self.lines:
                self.out.write(f"\x1b[{self.lines}F")
            self.out.write("".join(f"\x1b[2K{r}\n" for r in rows))
            self.lines = len(rows)
        elif final or chunk.status != self.last_status:
            self.out.write(rows[-1] + "\n")
        self.last_status = chunk.status
        self.out.flush()


async def _pull(client: Client, model: str, out: TextIO) -> None:
    pull = client.pull(model)
    view = PullView(out)
    last: ProgressResponse | None = None
    async for chunk in pull:
        last = chunk
        view.update(chunk, pull.progress)
    if last is not None:
        view.update(last, pull.progress, final=True)


async def _stream_print(client: Client, model: str, prompt: str, out: TextIO) -> None:
    s = client.stream_tokens(model, prompt=prompt)
    async for piece in s:
        out.write(piece)
        out.flush()
    out.write("\n")
    if s.final is not None and s.final.tokens_per_second:
        out.write(f"[{s.final.eval_count} tokens, {s.final.tokens_per_second:.1f} tokens/s]\n")


async def _server_answers(url: str, timeout: float = 1.0) -> bool:
    quick = Timeouts(connect=timeout, idle=timeout)
    async with Client(url, timeouts=quick, retry=RetryPolicy(retries=0)) as probe:
        try:
            await asyncio.wait_for(probe.version(), timeout)
        except (OllamaError, asyncio.TimeoutError):
            return False
    return True


async def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    url = resolve_host(args.host)
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
            await _stream_print(client, model, "Why is the sky blue?", out)

            out.write("\n== 2. A batch of 8 prompts, at most 4 at a time\n")
            prompts = [f"Tell me fact number {i} about rivers." for i in range(8)]
            start = time.monotonic()
            runner = BatchRunner(client, model=model, max_concurrent=4)
            results = await runner.run(
                [{"prompt": p, "options": {"num_predict": 24}} for p in prompts]
            )
            out.write(f"  {'#':>2}  {'time':>6}  {'tokens':>6}  {'tok/s':>7}  answer\n")
            for r in results:
                if r.ok and r.value is not None:
                    v = r.value
                    tps = v.tokens_per_second or 0.0
                    text = v.response.strip().replace("\n", " ")[:40]
                    out.write(
                        f"  {r.index:>2}  {r.elapsed:5.2f}s  {v.eval_count or 0:>6}  "
                        f"{tps:7.1f}  {text}\n"
                    )
                else:
                    out.write(f"  {r.index:>2}  error: {r.error}\n")
            out.write(f"  all 8 in {time.monotonic() - start:.2f}s\n")

            target = "demo/tiny-model:latest" if emulator is not None else model
            out.write(f"\n== 3. Pulling {target} with progress\n")
            await _pull(client, target, out)
            out.write("\nDone.\n")
    finally:
        if emulator is not None:
            await emulator.close()
    return 0


async def cmd_generate(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        await _stream_print(client, args.model, " ".join(args.prompt), out)
    return 0


def chat_repl(args: argparse.Namespace, out: TextIO) -> int:
    """The chat REPL. The prompt runs in the main thread; each answer runs on one persistent
    event loop, where Ctrl-C cancels just that answer's task (its connection closes and the
    server stops); Ctrl-C or Ctrl-D at the prompt leaves."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and history for input()
    loop = asyncio.new_event_loop()
    timeouts = Timeouts(idle=args.timeout) if args.timeout else Timeouts()
    client = Client(args.host, timeouts=timeouts)
    history: list[dict[str, str]] = []

    async def answer(stream: Any) -> None:
        async for piece in stream:
            out.write(piece)
            out.flush()

    try:
        loop.run_until_complete(client.__aenter__())
        out.write(f"Chatting with {args.model}. Ctrl-C stops an answer; Ctrl-D exits.\n")
        out.flush()
        while True:
            try:
                line = input(">>> ")
            except (EOFError, KeyboardInterrupt):
                out.write("\n")
                return 0
            if not line.strip():
                continue
            if line.strip() in ("/bye", "/exit"):
                return 0
            history.append({"role": "user", "content": line})
            stream = client.stream_tokens(args.model, messages=history)
            task = loop.create_task(answer(stream))
            # While an answer runs, Ctrl-C cancels just that task, from inside the loop
            # (a KeyboardInterrupt raised in the middle of a callback could leave it stuck).
            loop.add_signal_handler(signal.SIGINT, task.cancel)
            try:
                loop.run_until_complete(task)
            except asyncio.CancelledError:
                out.write("\n[stopped]\n")
                history.pop()
                continue
            finally:
                loop.remove_signal_handler(signal.SIGINT)
            out.write("\n")
            history.append({"role": "assistant", "content": stream.text})
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


async def cmd_pull(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        await _pull(client, args.model, out)
    return 0


async def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        models = (await client.list()).models
    out.write(f"{'NAME':40} {'ID':14} {'SIZE':>10}  MODIFIED\n")
    for m in models:
        out.write(f"{m.name:40} {m.digest[:12]:14} {_size(m.size):>10}  {m.modified_at[:19]}\n")
    return 0


async def cmd_ps(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        models = (await client.ps()).models
    out.write(f"{'NAME':40} {'SIZE':>10} {'VRAM':>10}  UNTIL\n")
    for m in models:
        out.write(
            f"{m.name:40} {_size(m.size):>10} {_size(m.size_vram):>10}  {m.expires_at[:19]}\n"
        )
    return 0


async def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        info = await client.show(args.model)
    from ..manage._hardware import estimate_fit

    fit = estimate_fit(info)
    d = info.details
    out.write(f"  {'family':16} {d.family if d else ''}\n")
    out.write(f"  {'parameters':16} {d.parameter_size if d else ''}\n")
    out.write(f"  {'quantization':16} {d.quantization_level if d else ''}\n")
    out.write(f"  {'capabilities':16} {', '.join(info.capabilities or [])}\n")
    for key, value in sorted((info.model_info or {}).items()):
        if key.endswith(("context_length", "embedding_length", "block_count")):
            out.write(f"  {key.rsplit('.', 1)[-1]:16} {value}\n")
    out.write(f"  {'hardware fit':16} {fit.summary()}\n")
    return 0


async def cmd_rm(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        for model in args.models:
            await client.delete(model)
            out.write(f"deleted '{model}'\n")
    return 0


async def cmd_cp(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        await client.copy(args.source, args.destination)
    out.write(f"copied '{args.source}' to '{args.destination}'\n")
    return 0


async def cmd_embed(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        r = await client.embed(args.model, args.text)
    for vec in r.embeddings:
        out.write(json.dumps(vec) + "\n")
    return 0


async def cmd_batch(args: argparse.Namespace, out: TextIO) -> int:
    lines = await asyncio.to_thread(_read_lines, args.input)
    items: list[Any] = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith("{"):
            try:
                items.append(json.loads(line))
            except ValueError:
                raise InvalidRequestError(f"line {i + 1}", "is not valid JSON") from None
        else:
            items.append(line)
    sink = await asyncio.to_thread(_open_output, args.output) if args.output else out
    err = sys.stderr

    def progress(result: Any, done: int) -> None:
        err.write(f"\r  {_bar(done / len(items))} {done}/{len(items)}")
        err.flush()

    try:
        async with _client(args) as client:
            runner = BatchRunner(
                client, model=args.model, max_concurrent=args.concurrency, on_progress=progress
            )
            async with runner.as_completed(items) as results:
                async for r in results:
                    record: dict[str, Any] = {"index": r.index, "ok": r.ok, "elapsed": r.elapsed}
                    if r.ok and r.value is not None:
                        record["response"] = getattr(r.value, "response", None) or getattr(
                            getattr(r.value, "message", None), "content", None
                        )
                        record["eval_count"] = getattr(r.value, "eval_count", None)
                    else:
                        record["error"] = f"{type(r.error).__name__}: {r.error}"
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                    sink.flush()
        err.write("\n")
    finally:
        if sink is not out:
            sink.close()
    return 0


def _read_lines(path: str) -> list[str]:
    if path == "-":
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def _open_output(path: str) -> TextIO:
    return open(path, "w", encoding="utf-8")


async def cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    prompt = args.prompt
    rows = []
    async with _client(args) as client:
        for model in args.models:
            speeds, ttfts = [], []
            for _ in range(args.runs):
                start = time.monotonic()
                first: float | None = None
                s = client.stream_tokens(model, prompt=prompt)
                async for _piece in s:
                    if first is None:
                        first = time.monotonic() - start
                if s.final is not None and s.final.tokens_per_second:
                    speeds.append(s.final.tokens_per_second)
                ttfts.append(first or 0.0)
            rows.append((model, sum(speeds) / len(speeds) if speeds else 0.0, min(ttfts)))
    out.write(f"{'MODEL':32} {'tokens/s':>10} {'first token':>12}\n")
    for model, tps, ttft in rows:
        out.write(f"{model:32} {tps:10.1f} {ttft * 1000:10.1f}ms\n")
    return 0


async def cmd_serve_emulator(args: argparse.Namespace, out: TextIO) -> int:
    from ..testing.__main__ import serve

    await serve(args.bind, args.port, args.tokens_per_second)
    return 0


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace) -> Any:
    timeouts = Timeouts(idle=args.timeout) if args.timeout else Timeouts()
    async with Client(args.host, timeouts=timeouts) as client:
        yield client


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ollama-async", description="An async Ollama client.")
    p.add_argument("--host", default=os.environ.get("OLLAMA_HOST"), help="server URL")
    p.add_argument("--timeout", type=float, default=None, help="idle timeout in seconds")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="stream, batch and pull (emulator if no server)").add_argument(
        "--model", default=None
    )
    g = sub.add_parser("generate", help="stream a completion")
    g.add_argument("model")
    g.add_argument("prompt", nargs="+")
    sub.add_parser("chat", help="interactive chat").add_argument("model")
    sub.add_parser("pull", help="pull a model with progress").add_argument("model")
    sub.add_parser("list", help="list models")
    sub.add_parser("ps", help="list loaded models")
    sub.add_parser("show", help="show a model").add_argument("model")
    sub.add_parser("rm", help="delete models").add_argument("models", nargs="+")
    cp = sub.add_parser("cp", help="copy a model")
    cp.add_argument("source")
    cp.add_argument("destination")
    e = sub.add_parser("embed", help="embed texts")
    e.add_argument("model")
    e.add_argument("text", nargs="+")
    b = sub.add_parser("batch", help="prompts (or JSONL requests) in, JSONL out")
    b.add_argument("input", help="file with one prompt or JSON request per line, or -")
    b.add_argument("--model", default="llama3.2")
    b.add_argument("--concurrency", type=int, default=4)
    b.add_argument("--output", default=None)
    bench = sub.add_parser("bench", help="tokens/s of models side by side")
    bench.add_argument("models", nargs="+")
    bench.add_argument("--prompt", default="Why is the sky blue?")
    bench.add_argument("--runs", type=int, default=3)
    se = sub.add_parser("serve-emulator", help="run the Ollama emulator")
    se.add_argument("--bind", default="127.0.0.1")
    se.add_argument("--port", type=int, default=11434)
    se.add_argument("--tokens-per-second", type=float, default=None)
    return p


COMMANDS = {
    "demo": cmd_demo,
    "generate": cmd_generate,
    "pull": cmd_pull,
    "list": cmd_list,
    "ps": cmd_ps,
    "show": cmd_show,
    "rm": cmd_rm,
    "cp": cmd_cp,
    "embed": cmd_embed,
    "batch": cmd_batch,
    "bench": cmd_bench,
    "serve-emulator": cmd_serve_emulator,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see the module docstring)."""
    args = build_parser().parse_args(argv)
    out = sys.stdout
    try:
        if args.command == "chat":
            return chat_repl(args, out)
        return asyncio.run(COMMANDS[args.command](args, out))
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED
    except ServerUnreachableError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_UNREACHABLE
    except ModelNotFoundError as exc:
        sys.stderr.write(f"error: model '{exc.model}' not found; pull it with "
                         f"`ollama-async pull {exc.model}`\n")  # fmt: skip
        return EXIT_NOT_FOUND
    except InvalidRequestError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except OllamaError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_ERROR
    except OSError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_ERROR
