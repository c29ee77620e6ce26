"""pytest plugin: the ``ollama_emulator`` fixture, the ``ollama_emulator`` marker, and the
aioresponses fix.

Loaded automatically when ollama_async is installed. The fixture serves a fresh
:class:`~ollama_async.testing.Emulator` from a background thread with its own event loop, so
it works in sync tests, under pytest-asyncio (strict or auto mode) and under anyio's plugin.
It sets ``OLLAMA_HOST`` to the emulator for the test, and fails a test that left a scripted
answer unrequested. Options come from the marker::

    @pytest.mark.ollama_emulator(pace=50, models=["llama3.2"], faults=[Fault(status=503)],
                                 assert_all_responses_were_requested=False)
    async def test_my_app(ollama_emulator: Emulator) -> None:
        ollama_emulator.add_response(text="Paris.")
        async with Client() as client:  # OLLAMA_HOST points at the emulator
            ...

Nothing is imported from aiohttp until a test uses the fixture.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._emulator import Emulator
    from ._faults import Fault

_INSTALL_HINT = (
    "install an async test plugin: pip install 'ollama_async[testing]' (it brings "
    "pytest-asyncio), or use anyio's plugin with @pytest.mark.anyio"
)


@dataclass
class EmulatorOptions:
    """What ``@pytest.mark.ollama_emulator(...)`` may set."""

    pace: float | None = None  # tokens per second; None: as fast as possible
    models: list[str] | None = None  # None: the built-in models
    faults: list[Fault] | None = None  # injected in order, one request each
    assert_all_responses_were_requested: bool = True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ollama_emulator(pace=None, models=None, faults=None, "
        "assert_all_responses_were_requested=True): options of the ollama_emulator fixture",
    )
    if importlib.util.find_spec("aioresponses") is not None:
        from ._aioresponses import patch_aioresponses

        patch_aioresponses()


@pytest.fixture
def ollama_emulator(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    """A started :class:`~ollama_async.testing.Emulator` for this test, ``OLLAMA_HOST`` set.

    Example::

        async def test_hello(ollama_emulator: Emulator) -> None:
            ollama_emulator.add_response(model="llama3.2", text="Hello!")
            async with Client(ollama_emulator.url) as client:
                assert (await client.generate("llama3.2", "hi")).response == "Hello!"
    """
    _check_async_runner(request)
    options = _options(request)
    from ._emulator import Emulator

    emu = Emulator(tokens_per_second=options.pace, models=options.models)
    emu.assert_all_responses_were_requested = options.assert_all_responses_were_requested
    for fault in options.faults or ():
        emu.inject(fault)
    with emu as url:
        monkeypatch.setenv("OLLAMA_HOST", url)
        yield emu


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test that passed, fail it if it left a scripted answer unrequested (a test
    that failed already keeps its own error)."""
    result = yield
    emu = getattr(item, "funcargs", {}).get("ollama_emulator")
    if emu is not None and emu.assert_all_responses_were_requested:
        emu.assert_all_responses_requested()
    return result


def _options(request: pytest.FixtureRequest) -> EmulatorOptions:
    marker = request.node.get_closest_marker("ollama_emulator")
    if marker is None:
        return EmulatorOptions()
    if marker.args:
        raise pytest.UsageError("@pytest.mark.ollama_emulator takes keyword arguments only")
    known = {f.name for f in fields(EmulatorOptions)}
    unknown = sorted(set(marker.kwargs) - known)
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.ollama_emulator: unknown option(s) {unknown}; known: {sorted(known)}"
        )
    kwargs: dict[str, Any] = dict(marker.kwargs)
    from ._faults import Fault

    faults = kwargs.get("faults") or []
    if not isinstance(faults, list | tuple) or not all(isinstance(f, Fault) for f in faults):
        raise pytest.UsageError("@pytest.mark.ollama_emulator: faults= takes a list of Fault")
    return EmulatorOptions(**kwargs)


def _check_async_runner(request: pytest.FixtureRequest) -> None:
    """An async test no plugin will run fails here with what to install or mark, instead of
    pytest's generic message."""
    test = getattr(request.node, "obj", None)
    if not (inspect.iscoroutinefunction(test) or inspect.isasyncgenfunction(test)):
        return
    if "anyio_backend" in request.fixturenames:
        return
    has_asyncio = request.config.pluginmanager.has_plugin("asyncio")
    if has_asyncio and request.node.get_closest_marker("asyncio") is not None:
        return
    if has_asyncio:
        pytest.fail(
            f"{request.node.name} is an async test but pytest-asyncio runs in strict mode: "
            "mark it @pytest.mark.asyncio, or set asyncio_mode = 'auto' in your pytest config",
            pytrace=False,
        )
    pytest.fail(f"{request.node.name} is an async test and nothing runs it: {_INSTALL_HINT}",
                pytrace=False)  # fmt: skip
