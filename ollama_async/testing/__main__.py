"""Run the emulator as a process: ``python -m ollama_async.testing --port 11434``."""

from __future__ import annotations

import argparse
import asyncio
import signal

from ._emulator import Emulator


async def serve(host: str, port: int, tokens_per_second: float | None) -> None:
    emu = Emulator(host=host, port=port, tokens_per_second=tokens_per_second)
    url = await emu.start()
    print(f"Ollama emulator listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emu.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ollama_async.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--tokens-per-second", type=float, default=None)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.tokens_per_second))


if __name__ == "__main__":
    main()
