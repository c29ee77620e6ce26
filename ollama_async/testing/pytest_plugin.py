"""pytest plugin: the ``ollama_emulator`` fixture (a started Emulator), for pytest-asyncio.

Loaded automatically when ollama_async is installed; it costs nothing unless the fixture
is used, and does nothing when pytest-asyncio is missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixture needs pytest-asyncio
    pytest_asyncio = None  # type: ignore[assignment]

if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def ollama_emulator() -> AsyncIterator[object]:
        """A started :class:`~ollama_async.testing.Emulator`; ``.url`` is its base URL.

        Example::

            async def test_hello(ollama_emulator):
                async with Client(ollama_emulator.url) as client:
                    assert (await client.generate("llama3.2", "hi")).done
        """
        from ._emulator import Emulator

        emu = Emulator()
        await emu.start()
        try:
            yield emu
        finally:
            await emu.close()
