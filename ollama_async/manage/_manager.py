"""``OllamaManager``: the seed spec's manager: the model store, runs, and ``ollama serve``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import anyio

from .._api_types import ModelInfo, ProgressResponse
from .._client import Client
from .._errors import InvalidRequestError, ModelNotFoundError, OllamaError
from .._settings import OllamaConfig, load_config
from ._executable import OllamaCLI
from ._records import ModelExecutionResult, OllamaModel
from ._server import ServerProcess
from ._updates import UpdateStatus, check_updates
from ._upkeep import disk_usage, prune

__all__ = ["SEED_BASE_URL", "OllamaManager"]

log = logging.getLogger("ollama_async")

ProgressCallback = Callable[[ProgressResponse], object]
SEED_BASE_URL = "http://localhost:11434"
"""The seed spec's default ``base_url``; left as it is, the configured host is used."""


class OllamaManager:
    """Manage one Ollama server's models and run prompts on it (the seed spec's manager).

    Arguments left at their defaults take the configured value (``OLLAMA_HOST`` and the
    other environment variables, then the config file; see :mod:`ollama_async._settings`).
    Nothing is read or started in the constructor: the first operation loads the config and,
    with ``auto_start_server=True`` and nothing answering, starts ``ollama serve`` (stopped
    again in :meth:`cleanup`; a server this manager did not start is never stopped).

    Example::

        async with OllamaManager() as manager:
            result = await manager.run_model("llama3.2", "Why is the sky blue?")
            print(result.response, f"{result.execution_time:.2f}s")
    """

    def __init__(
        self,
        ollama_binary: str = "ollama",
        auto_start_server: bool = True,
        base_url: str = SEED_BASE_URL,
        use_http_api: bool = True,
        *,
        config: OllamaConfig | None = None,
        client: Client | None = None,
        start_timeout: float = 30.0,
        cache_ttl: float = 5.0,
    ) -> None:
        self._given = {"ollama_binary": ollama_binary, "auto_start_server": auto_start_server,
                       "base_url": base_url, "use_http_api": use_http_api}  # fmt: skip
        self.ollama_binary = ollama_binary
        self.auto_start_server = auto_start_server
        self.base_url = base_url
        self.use_http_api = use_http_api
        self.start_timeout = start_timeout
        self.cache_ttl = cache_ttl
        self._config = config
        self._applied = False
        self._client = client
        self._owns_client = client is None
        self._cache: list[ModelInfo] | None = None
        self._cache_time = 0.0
        self._server: ServerProcess | None = None
        self._checked_server = False
        self._tasks: set[asyncio.Task[ModelExecutionResult]] = set()
        self.cli: OllamaCLI | None = None
        """In CLI mode (``use_http_api=False``), the ``ollama`` executable runner."""
        self.last_error: BaseException | None = None
        """The error behind the last ``False`` from :meth:`download_model`."""

    # -- configuration and lifecycle ------------------------------------------------------

    @property
    def config(self) -> OllamaConfig:
        """The settings in use (read on first use; pass ``config=`` to give them)."""
        if not self._applied:
            if self._config is None:
                self._config = load_config()
            self._apply_config()
        assert self._config is not None
        return self._config

    def _apply_config(self) -> None:
        self._applied = True
        cfg = self._config or OllamaConfig()
        seed = {"ollama_binary": "ollama", "auto_start_server": True, "base_url": SEED_BASE_URL,
                "use_http_api": True}  # fmt: skip
        for name, default in seed.items():
            if self._given[name] == default:  # left as the seed's default: the config decides
                setattr(self, name, getattr(cfg, name))
        if not self.use_http_api and self.cli is None:
            self.cli = OllamaCLI(self.ollama_binary, host=self.base_url)

    @property
    def client(self) -> Client:
        """The native :class:`~ollama_async.Client` under this manager."""
        if self._client is None:
            cfg = self.config
            self._client = Client(**{**cfg.client_kwargs(), "host": self.base_url})
        return self._client

    async def _prepare(self) -> None:
        await self._ensure_config()
        if self.auto_start_server and not self._checked_server:
            self._checked_server = True
            try:
                await self.start()
            except BaseException:
                self._checked_server = False
                raise

    async def __aenter__(self) -> OllamaManager:
        await self._prepare()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cleanup()

    @property
    def started_server(self) -> bool:
        """True while a server this manager started is running."""
        return self._server is not None and self._server.running

    async def is_running(self) -> bool:
        """True when the server answers (``/api/version``; ``ollama list`` in CLI mode)."""
        await self._ensure_config()
        if self.cli is not None:
            try:
                await self.cli.list_models()
            except OllamaError:
                return False
            return True
        return await self.client.is_running()

    async def _ensure_config(self) -> None:
        if not self._applied:
            if self._config is None:
                self._config = await anyio.to_thread.run_sync(load_config)
            self._apply_config()

    async def start(self) -> None:
        """Make sure a server answers, starting ``ollama serve`` when allowed and needed.

        Raises :class:`~ollama_async.ServerUnreachableError` when nothing answers and
        ``auto_start_server`` is off, or the started server does not answer within
        ``start_timeout``; :class:`~ollama_async.manage.ExecutableNotFoundError` (naming it)
        when the ``ollama`` executable cannot be found.
        """
        if await self.is_running():
            return
        url = self.base_url if self.cli is not None else self.client.base_url
        self._server = ServerProcess(self.ollama_binary, url, self.start_timeout)
        await self._server.start(self.auto_start_server, self.is_running)

    async def cleanup(self) -> None:
        """Cancel runs still pending from :meth:`run_model_async`, stop the server this
        manager started (if any) and close its client."""
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)  # a cancellation of cleanup() itself still propagates
            for task in tasks:
                if not task.cancelled():
                    task.exception()  # retrieved: no "never retrieved" warning
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
        self._checked_server = False
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- the seed's methods ---------------------------------------------------------------

    async def list_models(self, force_refresh: bool = False) -> list[OllamaModel]:
        """The models on the server, cached for ``cache_ttl`` seconds."""
        return [OllamaModel.from_info(m) for m in await self._infos(force_refresh)]

    async def _infos(self, force_refresh: bool = False) -> list[ModelInfo]:
        await self._prepare()
        now = time.monotonic()
        if force_refresh or self._cache is None or now - self._cache_time > self.cache_ttl:
            if self.cli is not None:
                self._cache = await self.cli.list_models()
            else:
                self._cache = list((await self.client.list()).models)
            self._cache_time = now
        return self._cache

    async def download_model(
        self, model_name: str, *, on_progress: ProgressCallback | None = None
    ) -> bool:
        """Pull a model (``ollama pull``); True when it succeeded.

        On failure it returns False and keeps the error in :attr:`last_error`; a malformed
        name is refused with :class:`~ollama_async.InvalidRequestError` before anything runs.
        """
        await self._ensure_config()
        model_name = self._model(model_name)
        await self._prepare()
        self.last_error = None
        try:
            if self.cli is not None:
                async for chunk in self.cli.pull(model_name):
                    if on_progress is not None:
                        on_progress(chunk)
            else:
                async for chunk in self.client.pull(model_name):
                    if on_progress is not None:
                        on_progress(chunk)
        except InvalidRequestError:
            raise
        except OllamaError as exc:
            log.warning("pulling %s failed: %s", model_name, exc)
            self.last_error = exc
            return False
        finally:
            self._cache = None
        return True

    async def is_model_available(self, model_name: str) -> bool:
        """True when the server has the model (``llama3`` is ``llama3:latest``)."""
        return await self.get_model_by_name(model_name) is not None

    async def get_model_by_name(self, model_name: str) -> OllamaModel | None:
        """The model called ``model_name`` by Ollama's naming rules, or None."""
        await self._ensure_config()
        info = await self._info(self._model(model_name))
        return OllamaModel.from_info(info) if info is not None else None

    async def _info(self, name: str) -> ModelInfo | None:
        from .._names import normalize_model_name

        wanted = normalize_model_name(name)
        for m in await self._infos():
            if wanted in (normalize_model_name(m.name), normalize_model_name(m.model)):
                return m
        return None

    async def run_model(
        self,
        model_name: str | None,
        prompt: str,
        options: dict[str, Any] | None = None,
        save_output: bool = True,
        output_dir: str | None = None,
    ) -> ModelExecutionResult:
        """Generate a whole answer; a failed run is a result with ``success=False`` whose
        ``error`` keeps the exception. With ``save_output`` the answer is saved under
        ``output_dir`` (default: the configured output folder).

        ``options`` are Ollama's model options (``{"temperature": 0.2}``); a ``model_name`` of
        None means the configured default model.
        """
        await self._ensure_config()
        model_name = self._model(model_name)
        start = time.perf_counter()
        try:
            await self._prepare()
            if self.cli is not None:
                reply = await self.cli.run(model_name, prompt)
            else:
                reply = await self.client.generate(model_name, prompt, options=options or {})
        except InvalidRequestError:
            raise  # bad input is refused, not a failed run
        except Exception as exc:  # a failed run is a result, not an exception
            return ModelExecutionResult.failed(model_name, prompt, exc,
                                               time.perf_counter() - start)  # fmt: skip
        elapsed = time.perf_counter() - start
        tokens = (reply.eval_count or 0) + (reply.prompt_eval_count or 0)
        result = ModelExecutionResult(
            model_name, prompt, reply.response, elapsed, tokens_used=tokens or None,
            metadata={"eval_count": reply.eval_count, "prompt_eval_count":
                      reply.prompt_eval_count, "done_reason": reply.done_reason,
                      "tokens_per_second": reply.tokens_per_second},
        )  # fmt: skip
        if save_output:
            await self._save(result, output_dir)
        return result

    async def _save(self, result: ModelExecutionResult, output_dir: str | None) -> None:
        from ..runner._outputs import OutputManager  # runner builds on manage; only here back

        folder = output_dir or self.config.output_dir
        path = await OutputManager(folder).save_model_output(
            result.model_name, result.prompt, result.response, result.execution_time,
            metadata=result.metadata,
        )  # fmt: skip
        assert result.metadata is not None
        result.metadata["output_file"] = str(path)

    def run_model_async(
        self, model_name: str | None, prompt: str, options: dict[str, Any] | None = None
    ) -> asyncio.Task[ModelExecutionResult]:
        """Start :meth:`run_model` (without saving) as a task owned by this manager and
        return it at once; :meth:`cleanup` cancels it if it is still running.

        Example::

            task = manager.run_model_async("llama3.2", "Hi")
            result = await task
        """
        task = asyncio.get_running_loop().create_task(
            self.run_model(model_name, prompt, options, save_output=False)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def get_model_stats(self) -> dict[str, Any]:
        """``total_models``, ``total_size`` (bytes), ``models`` (one dict per model), and
        ``disk_size`` (shared blobs counted once) and ``by_family`` (bytes)."""
        infos = await self._infos(force_refresh=True)
        models = [OllamaModel.from_info(m) for m in infos]
        by_family: dict[str, int] = {}
        for m in models:
            by_family[m.family or "unknown"] = by_family.get(m.family or "unknown", 0) + m.size
        return {
            "total_models": len(models),
            "total_size": sum(m.size for m in models),
            "models": [{"name": m.name, "size": m.size, "family": m.family,
                        "parameters": m.parameters, "modified": m.modified} for m in models],
            "disk_size": await self.disk_usage(infos),
            "by_family": by_family,
        }  # fmt: skip

    # -- beyond the seed ------------------------------------------------------------------

    def _model(self, model_name: str | None) -> str:
        if model_name is None:
            return self.config.default_model
        if not isinstance(model_name, str) or not model_name:
            raise InvalidRequestError("model_name", "a model name is required ('llama3.2')")
        return model_name

    async def delete_model(self, model_name: str) -> None:
        """Delete a model (through the API, or ``ollama rm`` in CLI mode)."""
        await self._ensure_config()
        model_name = self._model(model_name)
        await self._prepare()
        if self.cli is not None:
            await self.cli.delete(model_name)
        else:
            await self.client.delete(model_name)
        self._cache = None

    async def ensure_model(
        self, model_name: str, on_progress: ProgressCallback | None = None
    ) -> OllamaModel:
        """The model, pulling it first only if the server does not have it."""
        found = await self.get_model_by_name(model_name)
        if found is not None:
            return found
        if not await self.download_model(model_name, on_progress=on_progress):
            assert self.last_error is not None
            raise self.last_error
        found = await self.get_model_by_name(model_name)
        if found is None:
            raise ModelNotFoundError(404, f"model '{model_name}' not found after pulling",
                                     model=model_name)  # fmt: skip
        return found

    async def check_updates(self, *, insecure: bool = False) -> list[UpdateStatus]:
        """Each local model: up to date, outdated or unknown against its registry."""
        await self._prepare()
        return await check_updates(self.client, insecure=insecure)

    async def disk_usage(self, models: list[ModelInfo] | None = None) -> int:
        """Bytes on disk, counting blobs shared between models (copies, ``FROM``) once."""
        infos = models if models is not None else await self._infos()
        return await disk_usage(None if self.cli is not None else self.client, infos)

    async def prune_models(
        self, days: float, *, dry_run: bool = True, keep: Iterable[str] = ()
    ) -> list[OllamaModel]:
        """Models not used for ``days`` days: listed (``dry_run=True``, the default) or
        deleted. See :func:`ollama_async.manage.prune` for what "used" can mean here."""
        infos = await self._infos(force_refresh=True)
        loaded = [] if self.cli is not None else list((await self.client.ps()).models)
        chosen = prune(infos, loaded, days, keep=[self.config.default_model, *keep])
        if not dry_run:
            for info in chosen:
                await self.delete_model(info.name)
        return [OllamaModel.from_info(m) for m in chosen]
