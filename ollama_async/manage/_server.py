"""Starting and stopping ``ollama serve`` as a child process of the manager."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import anyio

from .._errors import ServerUnreachableError
from ._executable import ExecutableNotFoundError

__all__ = ["ServerProcess"]

log = logging.getLogger("ollama_async")


class ServerProcess:
    """One ``ollama serve`` child for ``url``: started on demand, stopped only by its owner.

    Example::

        server = ServerProcess("ollama", "http://127.0.0.1:11434", start_timeout=30)
        await server.start(allowed=True, is_running=client.is_running)
        ...
        await server.stop()
    """

    def __init__(self, executable: str, url: str, start_timeout: float) -> None:
        self.executable = executable
        self.url = url
        self.start_timeout = start_timeout
        self._child: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        """True while the child runs."""
        return self._child is not None and self._child.returncode is None

    async def start(self, allowed: bool, is_running: Callable[[], Awaitable[bool]]) -> None:
        """Start the child and wait until ``is_running()`` says yes (typed errors otherwise)."""
        if not allowed:
            raise ServerUnreachableError(self.url, "nothing answers and auto_start_server is off")
        exe = shutil.which(self.executable)
        if exe is None:
            raise ExecutableNotFoundError(self.executable, "not found on PATH")
        parts = urlsplit(self.url)
        env = dict(os.environ, OLLAMA_HOST=f"{parts.hostname}:{parts.port or 11434}")
        log.info("starting %s serve for %s", exe, self.url)
        try:
            self._child = await asyncio.create_subprocess_exec(
                exe, "serve", env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as exc:
            raise ExecutableNotFoundError(self.executable, exc.strerror or str(exc)) from None
        deadline = time.monotonic() + self.start_timeout
        delay = 0.05
        while time.monotonic() < deadline:
            if self._child.returncode is not None:
                code, self._child = self._child.returncode, None
                raise ServerUnreachableError(self.url, f"`ollama serve` exited with code {code}")
            if await is_running():
                return
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.5)
        await self.stop()
        raise ServerUnreachableError(self.url, f"`ollama serve` did not answer in "
                                               f"{self.start_timeout}s")  # fmt: skip

    async def stop(self) -> None:
        """Stop the child (terminate, then kill after 5 s); idempotent."""
        child, self._child = self._child, None
        if child is None or child.returncode is not None:
            return
        child.terminate()
        with anyio.move_on_after(5.0):
            await child.wait()
        if child.returncode is None:
            child.kill()
            await child.wait()
