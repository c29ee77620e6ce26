"""An Ollama protocol emulator for tests and demos, with fault injection and a pytest fixture.

Example::

    from ollama_async import Client
    from ollama_async.testing import Emulator, Fault

    async def test_my_app() -> None:
        emu = Emulator()
        async with emu as url, Client(url) as client:
            emu.inject(Fault(disconnect_after=2))
            ...
            assert emu.requests[-1].client_disconnected is False

Installed as a pytest plugin, it gives the fixture ``ollama_emulator`` (a started
:class:`Emulator`; its ``url`` is the base URL).
"""

from ._emulator import Emulator, RecordedRequest
from ._faults import Fault

__all__ = ["Emulator", "Fault", "RecordedRequest"]
