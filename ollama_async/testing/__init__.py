"""An Ollama protocol emulator for tests and demos: scripted answers, fault injection and a
pytest fixture.

Example::

    from ollama_async import Client
    from ollama_async.testing import Emulator, Fault

    async def test_my_app() -> None:
        emu = Emulator()
        async with emu as url, Client(url) as client:
            emu.add_response(model="llama3.2", text="Paris.")
            assert (await client.generate("llama3.2", "capital?")).response == "Paris."
            emu.inject(Fault(disconnect_after=2))
            ...

Installed as a pytest plugin, it gives the fixture ``ollama_emulator`` (a started
:class:`Emulator` with ``OLLAMA_HOST`` pointing at it) and the marker
``@pytest.mark.ollama_emulator(pace=..., models=[...], faults=[...])``.
"""

from ._aioresponses import patch_aioresponses
from ._emulator import Emulator, RecordedRequest
from ._faults import Fault
from ._scripted import ScriptedResponse

__all__ = ["Emulator", "Fault", "RecordedRequest", "ScriptedResponse", "patch_aioresponses"]
