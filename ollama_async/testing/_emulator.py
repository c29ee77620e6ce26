"""An aiohttp.web server that speaks the Ollama API, for tests and demos without a GPU.

Its answers follow the captures of a real server (``tests/captures``): content types, chunked
NDJSON one line per HTTP chunk, status codes and error bodies, final-chunk statistics. The
routes are in ``_routes.ROUTES``; each area (generation, model store, ``/v1``) has its module.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from types import TracebackType
from typing import Any

from aiohttp import web

from ._faults import Fault, _Injected, answer_before
from ._http import Abort, Exchange, HTTPError, RecordedRequest, current, error_response
from ._routes import find
from ._scripted import ScriptedResponse, endpoint_path, make_response
from ._store import Store, normalize
from ._thread import BackgroundLoop

__all__ = ["Emulator", "RecordedRequest"]


class Emulator:
    """An Ollama server on loopback with a deterministic built-in model, scriptable per test.

    Use it in-process (``async with Emulator() as url``), from sync code on a background
    thread (``with Emulator() as url``), or as a process
    (``python -m ollama_async.testing --port 11434``). Models: ``llama3.2`` (tools),
    ``tiny``, ``qwen3`` (thinking, tools, insert) and ``nomic-embed-text`` (embeddings).
    ``tokens_per_second`` paces the streams (None: as fast as possible).

    Example::

        emu = Emulator(tokens_per_second=50)
        async with emu as url:
            emu.add_response(model="llama3.2", text="Paris.")
            async with Client(url) as client:
                assert (await client.generate("llama3.2", "capital?")).response == "Paris."
            emu.inject(Fault(disconnect_after=3), model="llama3.2")
            print(emu.requests[-1].client_disconnected)
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens_per_second: float | None = None,
        models: list[str] | None = None,
        default_tokens: int = 24,
        version: str = "0.13.99-emulator",
    ) -> None:
        self.host = host
        self.port = port
        self.tokens_per_second = tokens_per_second
        self.default_tokens = default_tokens
        self.version = version
        self.store = Store(models)
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        #: The pytest fixture fails a test that left a scripted answer unrequested.
        self.assert_all_responses_were_requested = True
        self._faults: list[_Injected] = []
        self._responses: list[ScriptedResponse] = []
        self._lock = threading.Lock()  # the test and a background loop may both touch queues
        self._runner: web.AppRunner | None = None
        self._background: BackgroundLoop | None = None
        self.url = ""

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> str:
        """Start listening; returns the base URL."""
        app = web.Application(client_max_size=1024**4, middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.port = port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        """Stop: in-flight requests are cancelled, connections closed."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __enter__(self) -> str:
        """Serve from a background thread with its own event loop (for sync code)."""
        self._background = BackgroundLoop()
        return self._background.run(self.start())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        background, self._background = self._background, None
        if background is not None:
            background.run(self.close())
            background.stop()

    # -- scripting -------------------------------------------------------------------------

    def add_response(
        self,
        *,
        model: str | None = None,
        endpoint: str | None = None,
        text: str | None = None,
        chunks: list[str] | None = None,
        json: Any = None,
        tool_calls: list[dict[str, Any]] | None = None,
        thinking: str | None = None,
        status: int | None = None,
        error: str | None = None,
        fault: Fault | None = None,
        reusable: bool = False,
    ) -> None:
        """Queue an answer for the next request that matches ``model`` and ``endpoint``.

        Answers are taken in the order they were added; each answers one request unless
        ``reusable``. ``endpoint`` is a name (``generate``, ``chat``, ``embed``, ``show``,
        ``pull``, ``openai.chat``, …) or a path (``/api/chat``); without it an answer with text
        matches generate, chat and the ``/v1`` completions, one with ``tool_calls`` only the
        chat endpoints. The answer:

        - ``text=``: streamed word by word; ``chunks=[...]``: exactly these pieces, one per
          line, joined when not streaming; ``json=``: a structured answer's content, sent as
          its JSON text.
        - ``tool_calls=[{"name": ..., "arguments": {...}}]`` and ``thinking=``.
        - ``status=`` / ``error=``: an error answer as Ollama gives it (``{"error": ...}``;
          the OpenAI shape under ``/v1``). ``status=404`` alone names the requested model.
        - ``fault=Fault(...)``: any fault, applied to the request that takes this answer.

        A request no answer matches gets the built-in model's answer. Wrong arguments raise
        :class:`~ollama_async.InvalidRequestError` naming the argument.

        Example::

            emu.add_response(model="llama3.2", json={"city": "Paris"})
            emu.add_response(endpoint="chat", tool_calls=[
                {"name": "get_weather", "arguments": {"city": "Paris"}}])
            emu.add_response(model="missing", status=404)
        """
        scripted = make_response(
            model=model, endpoint=endpoint, text=text, chunks=chunks, json=json,
            tool_calls=tool_calls, thinking=thinking, status=status, error=error,
            fault=fault, reusable=reusable,
        )  # fmt: skip
        with self._lock:
            self._responses.append(scripted)

    def unrequested_responses(self) -> list[ScriptedResponse]:
        """The scripted answers no request has taken yet."""
        with self._lock:
            return [r for r in self._responses if not r.requested]

    def assert_all_responses_requested(self) -> None:
        """Raise AssertionError naming every scripted answer no request took.

        Example::

            emu.add_response(text="hi")
            emu.assert_all_responses_requested()  # AssertionError: 1 scripted answer…
        """
        left = self.unrequested_responses()
        if left:
            listed = "\n".join(f"  - {r.describe()}" for r in left)
            raise AssertionError(
                f"{len(left)} scripted answer(s) were never requested:\n{listed}\n"
                "Set emu.assert_all_responses_were_requested = False (or the marker option "
                "assert_all_responses_were_requested=False) if that is intended."
            )

    def get_requests(
        self, *, endpoint: str | None = None, model: str | None = None
    ) -> list[RecordedRequest]:
        """The recorded requests to ``endpoint`` (a name or a path) for ``model``, in order.

        Example::

            [chat] = emu.get_requests(endpoint="chat")
            assert chat.json["messages"][-1]["content"] == "hi"
        """
        path = endpoint_path(endpoint)
        key = normalize(model) if model else None
        return [
            r
            for r in list(self.requests)
            if (path is None or r.path.rstrip("/") == path)
            and (key is None or (r.model is not None and normalize(r.model) == key))
        ]

    # -- control ---------------------------------------------------------------------------

    def inject(self, fault: Fault, *, model: str | None = None, times: int | None = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests (for ``model`` only, if given;
        ``times=None``: every one)."""
        with self._lock:
            self._faults.append(_Injected(fault, normalize(model) if model else None, times))

    def reset(self) -> None:
        """Forget recorded requests, injected faults and scripted answers."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self._responses.clear()
        self.max_in_flight = self.in_flight

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is in flight (raises TimeoutError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.in_flight:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.in_flight} requests still in flight")
            await asyncio.sleep(0.005)

    def pace_delay(self) -> float:
        """Seconds between two streamed lines (0: as fast as possible)."""
        return 1.0 / self.tokens_per_second if self.tokens_per_second else 0.0

    def _take_response(self, path: str, model: str | None) -> ScriptedResponse | None:
        with self._lock:
            for scripted in self._responses:
                if (scripted.reusable or not scripted.requested) and scripted.matches(path, model):
                    scripted.requested += 1
                    return scripted
        return None

    def _fault_for(
        self, request: web.Request, model: str | None, scripted: ScriptedResponse | None
    ) -> Fault | None:
        header = request.headers.get("X-Emulator-Fault")
        if header:
            return Fault.from_header(header)
        if scripted is not None and scripted.fault is not None:
            return scripted.fault
        key = normalize(model) if model else None
        with self._lock:
            for inj in self._faults:
                if inj.model is None or inj.model == key:
                    if inj.times is not None:
                        inj.times -= 1
                        if inj.times <= 0:
                            self._faults.remove(inj)
                    return inj.fault
        return None

    # -- plumbing --------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        streamed = request.path.startswith("/api/blobs/")  # hashed as it arrives, not held
        raw = await request.read() if request.method in ("POST", "DELETE") and not streamed else b""
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        rec = RecordedRequest(request.method, request.path, parsed, dict(request.headers))
        exchange = Exchange(raw, rec)
        current.set(exchange)
        self.requests.append(rec)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            scripted = self._take_response(request.path.rstrip("/") or "/", rec.model)
            exchange.scripted = scripted
            fault = exchange.fault = self._fault_for(request, rec.model, scripted)
            if fault is not None:
                if fault.latency:
                    await asyncio.sleep(fault.latency)
                if fault.close_before_status:
                    raise Abort
                early = answer_before(fault)
                if early is not None:
                    rec.completed = True
                    return early
            if scripted is not None and scripted.status >= 400:
                raise HTTPError(scripted.status, scripted.error or f"model '{rec.model}' not found")
            resp = await handler(request)
            rec.completed = True
            if isinstance(resp, web.Response) and isinstance(resp.body, bytes):
                rec.response_body = resp.body
            return resp  # type: ignore[no-any-return]
        except HTTPError as exc:
            rec.completed = True
            return error_response(request.path, exc.status, exc.message)
        except Abort:
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError from None
        except (asyncio.CancelledError, ConnectionResetError):
            if not rec.completed:
                rec.client_disconnected = True
            raise
        finally:
            rec.ended = time.monotonic()
            self.in_flight -= 1

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        handler, params = find(request.method, request.path)
        current.get().params = params
        return await handler(self, request)
