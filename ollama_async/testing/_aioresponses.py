"""Make aioresponses work with the aiohttp we install.

aiohttp 3.14 made ``ClientResponse(stream_writer=...)`` a required argument; aioresponses
0.7.9 builds its fake responses without it and every mocked request fails with a TypeError.
The pytest plugin applies this patch when aioresponses is installed; call it yourself
outside pytest.
"""

from __future__ import annotations

from typing import Any


class _NoWriter:
    """The one thing a mocked response reads from its writer."""

    output_size = 0


def patch_aioresponses() -> bool:
    """Let aioresponses build responses on aiohttp >= 3.14; True when a patch was needed.

    Idempotent, and a no-op when aioresponses is missing or aiohttp does not need it.

    Example::

        from ollama_async.testing import patch_aioresponses

        patch_aioresponses()
        with aioresponses() as mocked:
            mocked.get("http://x/api/version", payload={"version": "0.13"})
    """
    try:
        import aioresponses.core as core
    except ImportError:
        return False
    from aiohttp import ClientResponse

    if "stream_writer" not in ClientResponse.__init__.__code__.co_varnames:
        return False
    namespace = vars(core)  # the name aioresponses builds its responses from
    if getattr(namespace["ClientResponse"], "_ollama_async_patched", False):
        return True

    class CompatResponse(ClientResponse):
        _ollama_async_patched = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", _NoWriter())
            super().__init__(*args, **kwargs)

    namespace["ClientResponse"] = CompatResponse
    return True
