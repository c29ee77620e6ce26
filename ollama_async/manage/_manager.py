"""``OllamaManager``: the model store as a whole, server health, and starting ``ollama serve``."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

from .._api_types import ModelInfo, ProgressResponse
from .._client import Client
from .._config import Timeouts
from .._errors import ModelNotFoundError, OllamaError, ServerUnreachableError
from .._names import normalize_model_name
from .._types import GenerateResponse
from ._executable import OllamaCLI
from ._updates import UpdateStatus, check_updates

__all__ = ["ModelStats", "OllamaManager"]

log = logging.getLogger("ollama_async")

ProgressCallback = Callable[[ProgressResponse], object]
_FROM_BLOB = re.compile(r"^FROM\s+\S*?(sha256[-:][0-9a-f]{64})", re.M)


@dataclass(frozen=True)
class ModelStats:
    """What the model store holds: counts and sizes (bytes), overall and by family."""

    count: int
    total_size: int
    disk_size: int
    by_family: dict[str, int] = field(default_factory=dict)


class OllamaManager:
    """Manage the models of one Ollama server (the seed spec's manager, async).

    With ``auto_start_server=True`` and nothing answering, it starts ``ollama serve`` (from
    ``PATH`` or ``ollama_path``) as a child process, waits until it answers (at most
    ``start_timeout`` seconds), and stops that child in :meth:`cleanup`. It never stops a
    server it did not start.

    Example::

        async with OllamaManager(auto_start_server=True) as manager:
            await manager.ensure_model("llama3.2", on_progress=print)
            print(await manager.get_model_stats())
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        client: Client | None = None,
        auto_start_server: bool = False,
        ollama_path: str | None = None,
        start_timeout: float = 30.0,
        cache_ttl: float = 5.0,
        use_http_api: bool = True,
    ) -> None:
        self.client = client if client is not None else Client(host, timeouts=Timeouts())
        self._owns_client = client is None
        self.auto_start_server = auto_start_server
        self.ollama_path = ollama_path
        self.start_timeout = start_timeout
        self.cache_ttl = cache_ttl
        self._cache: list[ModelInfo] | None = None
        self._cache_time = 0.0
        self._child: asyncio.subprocess.Process | None = None
        self.use_http_api = use_http_api
        self.cli = None if use_http_api else OllamaCLI(ollama_path or "ollama", host=host)
        """In CLI mode (``use_http_api=False``), the ``ollama`` executable runner."""

    async def __aenter__(self) -> OllamaManager:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.cleanup()

    @property
    def started_server(self) -> bool:
        """True while a server this manager started is running."""
        return self._child is not None and self._child.returncode is None

    async def is_running(self) -> bool:
        """True when the server answers ``/api/version``.

        Example::

            print(await manager.is_running())
        """
        if self.cli is not None:
            try:
                await self.cli.list_models()
            except OllamaError:
                return False
            return True
        return await self.client.is_running()

    async def start(self) -> None:
        """Make sure a server answers: start ``ollama serve`` if allowed and needed.

        Raises :class:`ServerUnreachableError` when nothing answers and it may not (or
        cannot) start one, or when the started one does not answer in time.
        """
        if await self.is_running():
            return
        url = self.client.base_url
        if not self.auto_start_server:
            return
        exe = self.ollama_path or shutil.which("ollama")
        if exe is None:
            raise ServerUnreachableError(url, "no `ollama` executable found on PATH to start")
        parts = urlsplit(url)
        env = dict(os.environ, OLLAMA_HOST=f"{parts.hostname}:{parts.port}")
        log.info("starting %s serve for %s", exe, url)
        self._child = await asyncio.create_subprocess_exec(
            exe,
            "serve",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.start_timeout
        delay = 0.05
        while time.monotonic() < deadline:
            if self._child.returncode is not None:
                code = self._child.returncode
                self._child = None
                raise ServerUnreachableError(url, f"`ollama serve` exited with code {code}")
            if await self.is_running():
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        await self._stop_child()
        raise ServerUnreachableError(url, f"`ollama serve` did not answer in {self.start_timeout}s")

    async def cleanup(self) -> None:
        """Stop the server this manager started (if any) and close its client."""
        await self._stop_child()
        if self._owns_client:
            await self.client.aclose()

    async def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None or child.returncode is not None:
            return
        child.terminate()
        try:
            await asyncio.wait_for(child.wait(), 5.0)
        except asyncio.TimeoutError:
            child.kill()
            await child.wait()

    async def list_models(self, force_refresh: bool = False) -> list[ModelInfo]:
        """The models on the server, cached for ``cache_ttl`` seconds.

        Example::

            names = [m.name for m in await manager.list_models()]
        """
        now = time.monotonic()
        if force_refresh or self._cache is None or now - self._cache_time > self.cache_ttl:
            if self.cli is not None:
                self._cache = await self.cli.list_models()
            else:
                self._cache = list((await self.client.list()).models)
            self._cache_time = now
        return self._cache

    async def get_model_by_name(self, name: str) -> ModelInfo | None:
        """The model called ``name`` by Ollama's rules (``llama3`` is ``llama3:latest``).

        Example::

            info = await manager.get_model_by_name("llama3")
        """
        wanted = normalize_model_name(name)
        for m in await self.list_models():
            if normalize_model_name(m.name) == wanted or normalize_model_name(m.model) == wanted:
                return m
        return None

    async def is_model_available(self, name: str) -> bool:
        """True when the server has the model (by Ollama's name rules).

        Example::

            if not await manager.is_model_available("llama3.2"):
                ...
        """
        return await self.get_model_by_name(name) is not None

    async def download_model(
        self, name: str, on_progress: ProgressCallback | None = None
    ) -> ProgressResponse:
        """Pull a model, calling ``on_progress`` with every progress chunk.

        Example::

            await manager.download_model("llama3.2", on_progress=lambda p: print(p.status))
        """
        if self.cli is not None:
            last = ProgressResponse(status="")
            async for chunk in self.cli.pull(name):
                last = chunk
                if on_progress is not None:
                    on_progress(chunk)
            self._cache = None
            return last
        pull = self.client.pull(name)
        async for chunk in pull:
            if on_progress is not None:
                on_progress(chunk)
        self._cache = None
        assert pull.final is not None
        return pull.final

    async def delete_model(self, name: str) -> None:
        """Delete a model (through the API, or ``ollama rm`` in CLI mode).

        Example::

            await manager.delete_model("old-model")
        """
        if self.cli is not None:
            await self.cli.delete(name)
        else:
            await self.client.delete(name)
        self._cache = None

    async def run_model(self, name: str, prompt: str) -> GenerateResponse:
        """Generate a whole answer (through the API, or ``ollama run`` in CLI mode).

        Example::

            print((await manager.run_model("llama3.2", "Hi")).response)
        """
        if self.cli is not None:
            return await self.cli.run(name, prompt)
        return await self.client.generate(name, prompt)

    async def ensure_model(
        self, name: str, on_progress: ProgressCallback | None = None
    ) -> ModelInfo:
        """The model's info, pulling it first only if the server does not have it.

        Example::

            info = await manager.ensure_model("llama3.2")
        """
        found = await self.get_model_by_name(name)
        if found is not None:
            return found
        await self.download_model(name, on_progress)
        found = await self.get_model_by_name(name)
        if found is None:
            raise ModelNotFoundError(404, f"model '{name}' not found after pulling", model=name)
        return found

    async def check_updates(self, *, insecure: bool = False) -> list[UpdateStatus]:
        """Each local model: up to date, outdated or unknown against its registry (nothing
        is pulled); see :func:`check_updates`.

        Example::

            for s in await manager.check_updates():
                print(s.model, s.status)
        """
        return await check_updates(self.client, insecure=insecure)

    async def get_model_stats(self) -> ModelStats:
        """Count, total size, size on disk (shared blobs once) and size by family.

        Example::

            stats = await manager.get_model_stats()
            print(stats.count, stats.disk_size / 1e9, "GB")
        """
        models = await self.list_models(force_refresh=True)
        by_family: dict[str, int] = {}
        for m in models:
            family = (m.details.family if m.details else "") or "unknown"
            by_family[family] = by_family.get(family, 0) + m.size
        return ModelStats(
            count=len(models),
            total_size=sum(m.size for m in models),
            disk_size=await self.disk_usage(models),
            by_family=by_family,
        )

    async def disk_usage(self, models: list[ModelInfo] | None = None) -> int:
        """Bytes on disk, counting blobs shared between models once.

        Copies share a manifest digest and count once. Models built ``FROM`` the same
        weights blob (as ``show``'s modelfile names it) share that blob: within such a group
        the smallest model's size stands for the shared weights, and each other model adds
        only what it has beyond them.

        Example::

            print(await manager.disk_usage())
        """
        models = models if models is not None else await self.list_models()
        unique: dict[str, ModelInfo] = {}
        for m in models:
            unique.setdefault(m.digest or m.name, m)
        groups: dict[str, list[int]] = {}
        for m in unique.values():
            key = m.digest or m.name
            if self.cli is not None:  # no show in CLI mode: count each ID once
                groups.setdefault(key, []).append(m.size)
                continue
            try:
                show = await self.client.show(m.name)
                found = _FROM_BLOB.search(show.modelfile or "")
                if found:
                    key = found.group(1).replace("-", ":")
            except OllamaError:
                pass
            groups.setdefault(key, []).append(m.size)
        total = 0
        for sizes in groups.values():
            base = min(sizes)
            total += base + sum(s - base for s in sizes)
        return total
