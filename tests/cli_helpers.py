"""Helpers of the CLI tests: the emulator on a thread, a free port, a pseudo-terminal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import select
import socket
import threading
import time
from pathlib import Path

from ollama_async.testing import Emulator

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadEmulator:
    """The emulator on its own event loop in a thread, so that ``main`` (which runs
    ``asyncio.run``) and subprocesses can both talk to it."""

    def __init__(self, tokens_per_second: float | None = None) -> None:
        self.emulator = Emulator(tokens_per_second=tokens_per_second)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.emulator.start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10)
        self.url = self.emulator.url

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.emulator.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def run_in_pty(
    argv: list[str], env: dict[str, str], send: list[tuple[str | re.Pattern[str], str]],
    timeout: float = 30,
) -> str:  # fmt: skip
    """Run a command in a pseudo-terminal. For each (wait_for, then_type) step, wait until the
    output that came after the previous keystrokes shows ``wait_for`` (a string or a regex),
    then type ``then_type``. Returns the whole transcript."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    transcript = b""
    since = 0  # where the output after the last keystrokes begins
    deadline = time.monotonic() + timeout
    steps = list(send)
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                transcript += data
            if steps:
                wait_for, typed = steps[0]
                fresh = transcript[since:].decode(errors="replace")
                hit = wait_for in fresh if isinstance(wait_for, str) else wait_for.search(fresh)
                if hit:
                    steps.pop(0)
                    os.write(fd, typed.encode())
                    since = len(transcript)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return transcript.decode(errors="replace")
