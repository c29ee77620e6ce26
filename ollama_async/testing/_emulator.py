"""An aiohttp.web server that speaks the Ollama API, for tests and demos without a GPU.

Its answers follow the captures of a real server (``shared/wire``): content types, chunked
NDJSON one line per HTTP chunk, status codes and error bodies, final-chunk statistics.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from aiohttp import web

from .._options import FLOAT_OPTIONS as _FLOAT_OPTIONS
from .._options import INT_OPTIONS as _INT_OPTIONS
from ._faults import Fault, _Injected
from ._model import digest, embedding, tokens
from ._store import Store, StoredModel, normalize, now_rfc3339

__all__ = ["Emulator", "RecordedRequest"]

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"
SSE_TYPE = "text/event-stream"
_ROUTES = {
    "/": ("GET", "HEAD"),
    "/api/generate": ("POST",),
    "/api/chat": ("POST",),
    "/api/embed": ("POST",),
    "/api/embeddings": ("POST",),
    "/api/tags": ("GET",),
    "/api/show": ("POST",),
    "/api/ps": ("GET",),
    "/api/version": ("GET",),
    "/api/pull": ("POST",),
    "/api/push": ("POST",),
    "/api/create": ("POST",),
    "/api/copy": ("POST",),
    "/api/delete": ("DELETE",),
    "/v1/chat/completions": ("POST",),
    "/v1/completions": ("POST",),
    "/v1/embeddings": ("POST",),
    "/v1/models": ("GET",),
}


@dataclass
class RecordedRequest:
    """One request the emulator received, and how it ended."""

    method: str
    path: str
    json: Any
    headers: dict[str, str]
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    chunks_sent: int = 0
    completed: bool = False
    client_disconnected: bool = False

    @property
    def model(self) -> str | None:
        """The ``model`` (or ``name``/``source``) of the request body, if any."""
        if isinstance(self.json, dict):
            for key in ("model", "name", "source"):
                if isinstance(self.json.get(key), str):
                    return str(self.json[key])
        return None


@dataclass
class _Ctx:
    raw: bytes
    rec: RecordedRequest
    fault: Fault | None = None


_ctx: contextvars.ContextVar[_Ctx] = contextvars.ContextVar("emulator_request")


class _Abort(Exception):
    """Drop the connection now (a fault)."""


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


class Emulator:
    """An Ollama server on loopback with a deterministic built-in model.

    Use it in-process (``async with Emulator() as url``) or as a process
    (``python -m ollama_async.testing --port 11434``). Models: ``llama3.2`` (tools),
    ``tiny``, ``qwen3`` (thinking, tools, insert) and ``nomic-embed-text`` (embeddings).
    ``tokens_per_second`` paces the streams (None: as fast as possible).

    Example::

        emu = Emulator(tokens_per_second=50)
        async with emu as url:
            async with Client(url) as client:
                print(await client.generate("llama3.2", "hi"))
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
        self._faults: list[_Injected] = []
        self._runner: web.AppRunner | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
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

    # -- control ---------------------------------------------------------------------------

    def inject(self, fault: Fault, *, model: str | None = None, times: int | None = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests (for ``model`` only, if given;
        ``times=None``: every one)."""
        self._faults.append(_Injected(fault, normalize(model) if model else None, times))

    def reset(self) -> None:
        """Forget recorded requests and injected faults."""
        self.requests.clear()
        self._faults.clear()
        self.max_in_flight = self.in_flight

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is in flight (raises TimeoutError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.in_flight:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.in_flight} requests still in flight")
            await asyncio.sleep(0.005)

    def _fault_for(self, request: web.Request, model: str | None) -> Fault | None:
        header = request.headers.get("X-Emulator-Fault")
        if header:
            return Fault.from_header(header)
        key = normalize(model) if model else None
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
        if raw and not request.path.startswith("/api/blobs/"):
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        rec = RecordedRequest(request.method, request.path, parsed, dict(request.headers))
        ctx = _Ctx(raw, rec)
        _ctx.set(ctx)
        self.requests.append(rec)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fault = self._fault_for(request, rec.model)
            ctx.fault = fault
            if fault is not None:
                if fault.latency:
                    await asyncio.sleep(fault.latency)
                if fault.close_before_status:
                    raise _Abort
                if fault.status is not None:
                    rec.completed = True
                    return web.Response(
                        status=fault.status,
                        body=(fault.body or json.dumps({"error": "injected fault"})).encode(),
                        headers={"Content-Type": fault.content_type, **fault.headers},
                    )
            resp = await handler(request)
            rec.completed = True
            return resp  # type: ignore[no-any-return]
        except _HTTPError as exc:
            rec.completed = True
            if exc.status in (404, 405) and exc.message.startswith(str(exc.status)):
                return web.Response(status=exc.status, text=exc.message, content_type="text/plain")
            if request.path.startswith("/v1/"):
                kind = "not_found_error" if exc.status == 404 else "api_error"
                err = {"message": exc.message, "type": kind, "param": None, "code": None}
                return _json({"error": err}, exc.status, "application/json")
            return _json({"error": exc.message}, exc.status)
        except _Abort:
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
        path = request.path
        if path.startswith("/api/blobs/"):
            return await self._blob(request)
        if path.startswith("/v1/models/") and request.method == "GET":
            return self._v1_model(path[len("/v1/models/") :])
        methods = _ROUTES.get(path.rstrip("/") or "/")
        if methods is None:
            raise _HTTPError(404, "404 page not found")
        if request.method not in methods:
            raise _HTTPError(405, "405 method not allowed")
        name = "_root" if path == "/" else "_" + path.strip("/").replace("/", "_")
        handler = getattr(self, name)
        return await handler(request)  # type: ignore[no-any-return]

    def _body(self, request: web.Request) -> dict[str, Any]:
        raw = _ctx.get().raw
        if not raw:
            raise _HTTPError(400, "missing request body")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _HTTPError(400, "unexpected EOF") from None
        if not isinstance(body, dict):
            raise _HTTPError(400, "invalid request body")
        return body

    def _model(self, body: dict[str, Any], key: str = "model") -> StoredModel:
        name = body.get(key) or body.get("name")
        if not isinstance(name, str) or not name:
            raise _HTTPError(400, "model is required")
        found = self.store.get(name)
        if found is None:
            raise _HTTPError(404, f"model '{name}' not found")
        return found

    async def _write_lines(
        self,
        request: web.Request,
        lines: Iterable[bytes] | AsyncIterator[bytes],
        content_type: str = NDJSON_TYPE,
        *,
        paced: bool = True,
    ) -> web.StreamResponse:
        """Stream lines, one HTTP chunk each, applying the request's mid-stream faults."""
        ctx = _ctx.get()
        rec, fault = ctx.rec, ctx.fault
        resp = web.StreamResponse(headers={"Content-Type": content_type})
        await resp.prepare(request)
        if fault is not None and fault.close_after_headers:
            raise _Abort
        if fault is not None and fault.huge_line_bytes:
            await resp.write(b'{"response":"' + b"x" * fault.huge_line_bytes + b'"}\n')
        delay = 1.0 / self.tokens_per_second if paced and self.tokens_per_second else 0.0
        n = 0
        iterator = lines if isinstance(lines, AsyncIterator) else _aiter(lines)
        try:
            async for line in iterator:
                if fault is not None:
                    await self._mid_stream(resp, fault, n, line)
                await resp.write(line)
                n += 1
                rec.chunks_sent = n
                if delay:
                    await asyncio.sleep(delay)
        except _Done:
            return resp
        await resp.write_eof()
        return resp

    async def _mid_stream(
        self, resp: web.StreamResponse, fault: Fault, n: int, line: bytes
    ) -> None:
        if fault.stall_after == n:
            await asyncio.sleep(fault.stall_seconds if fault.stall_seconds is not None else 1e9)
        if fault.disconnect_after == n:
            raise _Abort
        if fault.disconnect_mid_line == n:
            await resp.write(line[: len(line) // 2])
            await asyncio.sleep(0.01)
            raise _Abort
        if fault.error_after == n:
            await resp.write(json.dumps({"error": fault.error_message}).encode() + b"\n")
            await resp.write_eof()
            raise _Done
        if fault.malformed_after == n:
            await resp.write(b"this line is not json {\n")

    # -- generate and chat -----------------------------------------------------------------

    def _check_options(self, body: dict[str, Any]) -> dict[str, Any]:
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise _HTTPError(400, "options must be an object")
        for key, value in options.items():
            if key in _INT_OPTIONS and (isinstance(value, bool) or not isinstance(value, int)):
                raise _HTTPError(500, f'option "{key}" must be of type integer')
            if key in _FLOAT_OPTIONS and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise _HTTPError(500, f'option "{key}" must be of type float')
        return options

    def _check_capabilities(self, body: dict[str, Any], m: StoredModel, short: str) -> None:
        full = f"registry.ollama.ai/library/{m.name}"
        if body.get("think") and "thinking" not in m.capabilities:
            raise _HTTPError(400, f'"{short}" does not support thinking')
        if body.get("suffix") and "insert" not in m.capabilities:
            raise _HTTPError(400, f"{full} does not support insert")
        if body.get("tools") and "tools" not in m.capabilities:
            raise _HTTPError(400, f"{full} does not support tools")
        if "embedding" in m.capabilities and "completion" not in m.capabilities:
            raise _HTTPError(400, f'"{short}" does not support generate')
        top = body.get("top_logprobs")
        if top is not None and (not isinstance(top, int) or not 0 <= top <= 20):
            raise _HTTPError(400, "top_logprobs must be between 0 and 20")

    async def _api_generate(self, request: web.Request) -> web.StreamResponse:
        return await self._complete(request, chat=False)

    async def _api_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._complete(request, chat=True)

    async def _complete(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        body = self._body(request)
        m = self._model(body)
        short = str(body.get("model"))
        options = self._check_options(body)
        if not chat and body.get("raw") and (body.get("system") or body.get("template")):
            raise _HTTPError(400, "raw mode does not support template, system, or context")
        self._check_capabilities(body, m, short)
        keep_alive = body.get("keep_alive")
        if chat:
            messages = body.get("messages") or []
            prompt = "\n".join(str(x.get("content", "")) for x in messages if isinstance(x, dict))
            empty = not messages
        else:
            prompt = str(body.get("prompt") or "")
            empty = not prompt
        if keep_alive in (0, "0", "0s", 0.0):
            self.store.unload(m.name)
            return _json(self._done(short, chat, "unload"))
        self.store.load(m.name)
        if empty:
            return _json(self._done(short, chat, "load"))
        limit = options.get("num_predict")
        count = self.default_tokens if limit is None or limit < 0 else min(limit, 1_000_000)
        stop_reason = "length" if isinstance(limit, int) and limit >= 0 else "stop"
        words = tokens(m.name, prompt, int(options.get("seed", 0) or 0), count)
        if body.get("format") is not None:
            words = [json.dumps({"answer": "".join(words).strip()})]
        think = bool(body.get("think")) and "thinking" in m.capabilities
        thoughts = tokens(m.name, "think:" + prompt, 1, 4) if think else []
        tool_calls = self._tool_calls(body) if chat and body.get("tools") else None
        final = self._done(short, chat, stop_reason, prompt_tokens=len(prompt.split()) + 8,
                           eval_count=len(words))  # fmt: skip
        if body.get("stream") is False:
            if self.tokens_per_second:
                await asyncio.sleep(len(words) / self.tokens_per_second)  # generation takes time
            whole = dict(final)
            text = "".join(words) if tool_calls is None else ""
            if chat:
                msg: dict[str, Any] = {"role": "assistant", "content": text}
                if thoughts:
                    msg["thinking"] = "".join(thoughts)
                if tool_calls:
                    msg["tool_calls"] = tool_calls
                whole["message"] = msg
            else:
                whole["response"] = text
                if thoughts:
                    whole["thinking"] = "".join(thoughts)
                whole["context"] = list(range(1, len(words) + 9))
            return _json(whole)
        logprobs = body.get("logprobs")
        top = int(body.get("top_logprobs") or 0)

        def lines() -> Iterable[bytes]:
            for t in thoughts:
                yield _line(self._chunk(short, chat, "", thinking=t))
            if tool_calls is not None:
                yield _line(self._chunk(short, chat, "", tool_calls=tool_calls))
            else:
                for w in words:
                    chunk = self._chunk(short, chat, w)
                    if logprobs:
                        chunk["logprobs"] = [_logprob(w, top)]
                    yield _line(chunk)
            if not chat:
                final["context"] = list(range(1, len(words) + 9))
            yield _line(final)

        return await self._write_lines(request, lines())

    def _chunk(self, model: str, chat: bool, text: str, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"model": model, "created_at": now_rfc3339()}
        if chat:
            msg: dict[str, Any] = {"role": "assistant", "content": text}
            if extra.get("thinking"):
                msg["thinking"] = extra["thinking"]
            if extra.get("tool_calls"):
                msg["tool_calls"] = extra["tool_calls"]
            out["message"] = msg
        else:
            out["response"] = text
            if extra.get("thinking"):
                out["thinking"] = extra["thinking"]
        out["done"] = False
        return out

    def _done(
        self,
        model: str,
        chat: bool,
        reason: str,
        *,
        prompt_tokens: int = 0,
        eval_count: int = 0,
    ) -> dict[str, Any]:
        out = self._chunk(model, chat, "")
        out.update(done=True, done_reason=reason)
        if reason in ("load", "unload"):
            return out
        speed = self.tokens_per_second or 1000.0
        eval_ns = int(eval_count / speed * 1e9)
        out.update(
            total_duration=eval_ns + 2_000_000,
            load_duration=1_000_000,
            prompt_eval_count=prompt_tokens,
            prompt_eval_duration=500_000,
            eval_count=eval_count,
            eval_duration=max(eval_ns, 1),
        )
        return out

    def _tool_calls(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        tool = body["tools"][0].get("function", {})
        params = tool.get("parameters", {}).get("properties", {})
        args = {k: ("Paris" if v.get("type") == "string" else 1) for k, v in params.items()}
        return [{"function": {"index": 0, "name": tool.get("name", ""), "arguments": args}}]

    # -- embeddings ------------------------------------------------------------------------

    async def _api_embed(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        m = self._model(body)
        _require_embeddings(m, 501)
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        dims = int(body.get("dimensions") or m.embedding_length)
        self.store.load(m.name)
        return _json(
            {
                "model": body["model"],
                "embeddings": [embedding(m.name, t, dims) for t in texts],
                "total_duration": 3_000_000,
                "load_duration": 1_000_000,
                "prompt_eval_count": sum(len(t.split()) for t in texts),
            }
        )

    async def _api_embeddings(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        m = self._model(body)
        _require_embeddings(m, 500)
        vec = embedding(m.name, str(body.get("prompt", "")), m.embedding_length)
        return _json({"embedding": vec})

    # -- model store -----------------------------------------------------------------------

    async def _root(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="Ollama is running", content_type="text/plain")

    async def _api_version(self, request: web.Request) -> web.StreamResponse:
        return _json({"version": self.version})

    async def _api_tags(self, request: web.Request) -> web.StreamResponse:
        models = sorted(self.store.models.values(), key=lambda m: m.modified_at, reverse=True)
        return _json({"models": [m.tag_entry() for m in models]})

    async def _api_ps(self, request: web.Request) -> web.StreamResponse:
        return _json({"models": self.store.ps()})

    async def _api_show(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        m = self._model(body)
        blob = m.weights.replace(":", "-")
        modelfile = (
            f'# Modelfile generated by "ollama show"\nFROM /root/.ollama/models/blobs/{blob}\n'
            f"TEMPLATE {m.template}\n" + (f'SYSTEM "{m.system}"\n' if m.system else "")
        )
        params = "\n".join(f"{k:<30} {v}" for k, v in m.parameters.items())
        info = {
            "general.architecture": m.family,
            "general.parameter_count": 119488,
            f"{m.family}.context_length": m.context_length,
            f"{m.family}.embedding_length": m.embedding_length,
            f"{m.family}.block_count": 2,
        }
        out: dict[str, Any] = {
            "modelfile": modelfile,
            "template": m.template,
            "details": m.details(),
            "model_info": info,
            "capabilities": list(m.capabilities),
            "modified_at": m.modified_at,
        }
        if params:
            out["parameters"] = params
        if m.system:
            out["system"] = m.system
        if body.get("verbose"):
            out["tensors"] = [{"name": "token_embd.weight", "type": "F32", "shape": [64, 291]}]
        return _json(out)

    async def _api_copy(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        src = self.store.get(str(body.get("source", "")))
        if src is None:
            raise _HTTPError(404, f'model "{body.get("source")}" not found')
        dst = normalize(str(body.get("destination", "")))
        self.store.models[dst] = replace(src, name=dst, modified_at=now_rfc3339())
        return web.Response(status=200)

    async def _api_delete(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        m = self._model(body)
        del self.store.models[m.name]
        self.store.unload(m.name)
        return web.Response(status=200)

    async def _api_pull(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        name = str(body.get("model") or body.get("name") or "")
        host = name.split("/")[0] if name.count("/") >= 2 else "registry.ollama.ai"
        if host.endswith(":1") or "nothing" in name or "invalid" in host:
            error = (
                f'pull model manifest: Get "http://{host}/v2/{name.split("/", 1)[-1]}'
                f'/manifests/latest": dial tcp {host}: connect: connection refused'
            )
            if body.get("stream") is False:
                raise _HTTPError(500, error)
            return await self._write_lines(
                request, [_line({"status": "pulling manifest"}), _line({"error": error})]
            )
        layers = [(digest("layer", name, i), size) for i, size in
                  enumerate((1_321_082_688, 7_711, 6_016, 96, 561))]  # fmt: skip
        if body.get("stream") is False:
            self._add_pulled(name, layers)
            return _json({"status": "success"})

        def lines() -> Iterable[bytes]:
            yield _line({"status": "pulling manifest"})
            for d, size in layers:
                steps = 8 if size > 1_000_000 else 1
                for k in range(steps + 1):
                    yield _line({"status": f"pulling {d[7:19]}", "digest": d, "total": size,
                                 "completed": size * k // steps})  # fmt: skip
            yield _line({"status": "verifying sha256 digest"})
            yield _line({"status": "writing manifest"})
            self._add_pulled(name, layers)
            yield _line({"status": "success"})

        return await self._write_lines(request, lines())

    def _add_pulled(self, name: str, layers: list[tuple[str, int]]) -> None:
        key = normalize(name)
        if key not in self.store.models:
            self.store.models[key] = StoredModel(
                key, size=sum(s for _, s in layers), weights=layers[0][0]
            )

    async def _api_push(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        m = self._model(body)

        def lines() -> Iterable[bytes]:
            yield _line({"status": "retrieving manifest"})
            d = m.weights
            for k in range(5):
                yield _line({"status": f"pushing {d[7:19]}", "digest": d, "total": m.size,
                             "completed": m.size * k // 4})  # fmt: skip
            yield _line({"status": "pushing manifest"})
            yield _line({"status": "success"})

        return await self._write_lines(request, lines())

    async def _api_create(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        name = normalize(str(body.get("model") or body.get("name") or ""))
        if body.get("from"):
            base = self.store.get(str(body["from"]))
            if base is None:
                raise _HTTPError(404, f"model '{body['from']}' not found")
            weights, size, caps = base.weights, base.size, base.capabilities
        elif body.get("files"):
            files = body["files"]
            missing = [d for d in files.values() if d not in self.store.blobs]
            if missing:
                raise _HTTPError(400, f"missing blob {missing[0]}")
            weights = next(iter(files.values()))
            size, caps = sum(self.store.blobs[d] for d in files.values()), ("completion",)
        else:
            raise _HTTPError(400, "neither 'from' or 'files' was specified")
        system = str(body.get("system") or "")
        params = body.get("parameters") or {}
        model = StoredModel(name, size=size, capabilities=caps, system=system,
                            parameters=params, weights=weights)  # fmt: skip

        def lines() -> Iterable[bytes]:
            yield _line({"status": f"using existing layer {weights}"})
            if system:
                yield _line({"status": f"creating new layer {digest('system', system)}"})
            if params:
                yield _line({"status": f"creating new layer {digest('params', params)}"})
            yield _line({"status": "writing manifest"})
            self.store.models[name] = model
            yield _line({"status": "success"})

        if body.get("stream") is False:
            self.store.models[name] = model
            return _json({"status": "success"})
        return await self._write_lines(request, lines())

    async def _blob(self, request: web.Request) -> web.StreamResponse:
        wanted = request.path[len("/api/blobs/") :]
        if request.method == "HEAD":
            return web.Response(status=200 if wanted in self.store.blobs else 404)
        if request.method != "POST":
            raise _HTTPError(405, "405 method not allowed")
        h = hashlib.sha256()
        size = 0
        async for piece in request.content.iter_chunked(1 << 20):
            h.update(piece)
            size += len(piece)
        got = "sha256:" + h.hexdigest()
        if got != wanted:
            raise _HTTPError(400, f'digest mismatch, expected "{wanted}", got "{got}"')
        self.store.blobs[got] = size
        return web.Response(status=201)

    # -- /v1 -------------------------------------------------------------------------------

    async def _v1_chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._v1_complete(request, chat=True)

    async def _v1_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._v1_complete(request, chat=False)

    async def _v1_complete(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        body = self._body(request)
        m = self._model(body)
        if chat:
            prompt = "\n".join(str(x.get("content", "")) for x in body.get("messages") or [])
        else:
            prompt = str(body.get("prompt", ""))
        count = int(body.get("max_tokens") or self.default_tokens)
        words = tokens(m.name, prompt, int(body.get("seed") or 0), count)
        created = int(time.time())
        ident = ("chatcmpl-" if chat else "cmpl-") + str(len(self.requests))
        kind = "chat.completion" if chat else "text_completion"
        usage = {"prompt_tokens": len(prompt.split()) + 8, "completion_tokens": len(words),
                 "total_tokens": len(prompt.split()) + 8 + len(words)}  # fmt: skip
        head = {"id": ident, "object": kind, "created": created, "model": body["model"],
                "system_fingerprint": "fp_ollama"}  # fmt: skip
        if not body.get("stream"):
            text = "".join(words)
            choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            return _json({**head, "choices": [choice], "usage": usage}, ctype="application/json")

        def event(choice: dict[str, Any] | None, **extra: Any) -> bytes:
            data = {**head, "object": kind + ".chunk" if chat else kind,
                    "choices": [choice] if choice else [], **extra}  # fmt: skip
            return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"

        def lines() -> Iterable[bytes]:
            for i, w in enumerate(words):
                if chat:
                    delta = {"role": "assistant", "content": w} if i == 0 else {"content": w}
                    yield event({"index": 0, "delta": delta, "finish_reason": None})
                else:
                    yield event({"text": w, "index": 0, "finish_reason": None})
            last = {"index": 0, "delta": {}, "finish_reason": "length"} if chat else {
                "text": "", "index": 0, "finish_reason": "length"}  # fmt: skip
            yield event(last)
            if (body.get("stream_options") or {}).get("include_usage"):
                yield event(None, usage=usage)
            yield b"data: [DONE]\n\n"

        return await self._write_lines(request, lines(), SSE_TYPE)

    async def _v1_embeddings(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        m = self._model(body)
        _require_embeddings(m, 501)
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        data = [{"object": "embedding", "embedding": embedding(m.name, t, m.embedding_length),
                 "index": i} for i, t in enumerate(texts)]  # fmt: skip
        usage = {"prompt_tokens": 4, "total_tokens": 4}
        return _json({"object": "list", "data": data, "model": body["model"], "usage": usage},
                     ctype="application/json")  # fmt: skip

    async def _v1_models(self, request: web.Request) -> web.StreamResponse:
        data = [self._v1_entry(m) for m in self.store.models.values()]
        return _json({"object": "list", "data": data}, ctype="application/json")

    def _v1_model(self, name: str) -> web.StreamResponse:
        m = self.store.get(name)
        if m is None:
            raise _HTTPError(404, f"model '{name}' not found")
        return _json(self._v1_entry(m), ctype="application/json")

    @staticmethod
    def _v1_entry(m: StoredModel) -> dict[str, Any]:
        return {"id": m.name, "object": "model", "created": 1795361027, "owned_by": "library"}


class _Done(Exception):
    """The stream was ended early on purpose (an error line was sent)."""


def _require_embeddings(m: StoredModel, status: int) -> None:
    """A model without the embedding capability answers as the real server does."""
    if "embedding" not in m.capabilities:
        raise _HTTPError(
            status, "This server does not support embeddings. Start it with `--embeddings`"
        )


def _json(data: Any, status: int = 200, ctype: str = JSON_TYPE) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(),
        headers={"Content-Type": ctype},
    )


def _line(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _logprob(token: str, top: int) -> dict[str, Any]:
    raw = list(token.encode())
    entry: dict[str, Any] = {"token": token, "logprob": -1.25, "bytes": raw}
    if top:
        entry["top_logprobs"] = [
            {"token": token, "logprob": -1.25 - i * 0.5, "bytes": raw} for i in range(top)
        ]
    return entry


async def _aiter(items: Iterable[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item
