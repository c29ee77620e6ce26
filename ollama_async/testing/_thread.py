"""An event loop on a background thread, so sync code (and any async test plugin) can use an
emulator that keeps serving while the caller's thread blocks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """A daemon thread running its own loop; ``run`` executes a coroutine there and waits.

    Example::

        loop = BackgroundLoop()
        url = loop.run(emu.start())
        ...
        loop.run(emu.close())
        loop.stop()
    """

    def __init__(self, name: str = "ollama-emulator") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the background loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop and wait for its thread to end."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
