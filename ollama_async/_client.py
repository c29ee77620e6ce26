"""``Client``: one session to one Ollama server; generate, chat and the three streams."""

from __future__ import annotations

import asyncio
import os
import ssl as _ssl
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import aiohttp
import msgspec

from . import audit
from ._config import RetryPolicy, Timeouts, resolve_host
from ._errors import StreamError
from ._models import ModelAPI
from ._ndjson import DECODE_ERRORS, DEFAULT_MAX_LINE_BYTES, decode_error
from ._openai import OpenAIClient
from ._requests import MessageInput, RequestFields, build_request, encode_images
from ._streams import ByteStream, ChunkStream, TokenStream
from ._transport import Transport, map_transport_error
from ._types import ChatRequest, ChatResponse, GenerateRequest, GenerateResponse, _Final

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = ["Client"]

R = TypeVar("R", bound=_Final)
S = TypeVar("S", ChunkStream[Any], TokenStream[Any], ByteStream[Any])


def _named(stream: S, model: str) -> S:
    stream._model = model  # for the audit log
    return stream


_encode = msgspec.json.Encoder().encode
_decode_generate = msgspec.json.Decoder(GenerateResponse).decode
_decode_chat = msgspec.json.Decoder(ChatResponse).decode


class Client(ModelAPI):
    """An async client for one Ollama server, over one ``aiohttp.ClientSession``.

    The base URL is ``host``, else ``OLLAMA_HOST`` (read as the official clients read it),
    else ``http://127.0.0.1:11434``. ``api_key`` (default ``OLLAMA_API_KEY``) is sent as
    ``Authorization: Bearer …``. Pass ``session=`` to share a session you own; the client
    then never closes it.

    Example::

        async with Client() as client:
            async for piece in client.stream_tokens("llama3.2", prompt="Why is the sky blue?"):
                print(piece, end="", flush=True)
            reply = await client.chat("llama3.2", [{"role": "user", "content": "Hi"}])
            print(reply.message.content)
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        ssl: bool | _ssl.SSLContext = True,
        max_connections: int = 0,
    ) -> None:
        self.base_url = resolve_host(host)
        all_headers = {"Accept": "application/json", "User-Agent": "ollama_async/0.1"}
        key = api_key if api_key is not None else os.environ.get("OLLAMA_API_KEY")
        if key:
            all_headers["Authorization"] = f"Bearer {key}"
        if headers:
            all_headers.update(headers)
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be at least 1")
        self.max_line_bytes = max_line_bytes
        self._transport = Transport(
            self.base_url,
            session=session,
            headers=all_headers,
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
            ssl=ssl,
            max_connections=max_connections,
        )
        self.openai = OpenAIClient(self._transport, max_line_bytes)
        """The OpenAI-compatible ``/v1`` routes of the same server, over the same session."""

    def __repr__(self) -> str:
        return f"Client(host={self.base_url!r})"

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has run."""
        return self._transport.closed

    @property
    def transport(self) -> Transport:
        """The transport (session, retries, timeouts) under this client."""
        return self._transport

    async def __aenter__(self) -> Self:
        self._transport.session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session (if this client made it); idempotent."""
        await self._transport.aclose()

    # -- streams ---------------------------------------------------------------------------

    @overload
    def stream(
        self, model: str, prompt: str, *, messages: None = None, **fields: Unpack[RequestFields]
    ) -> ChunkStream[GenerateResponse]: ...

    @overload
    def stream(
        self,
        model: str,
        prompt: None = None,
        *,
        messages: Sequence[MessageInput],
        **fields: Unpack[RequestFields],
    ) -> ChunkStream[ChatResponse]: ...

    def stream(
        self,
        model: str,
        prompt: str | None = None,
        *,
        messages: Sequence[MessageInput] | None = None,
        **fields: Unpack[RequestFields],
    ) -> ChunkStream[GenerateResponse] | ChunkStream[ChatResponse]:
        """Stream typed chunks: ``GenerateResponse`` for ``prompt=``, ``ChatResponse`` for
        ``messages=``. The arguments are checked now, before anything is sent.

        Example::

            async for chunk in client.stream("llama3.2", prompt="Hi", options={"seed": 1}):
                print(chunk.response, end="")
        """
        request = build_request(model, prompt, messages, fields, stream=True)
        opener, url = self._opener(request)
        if isinstance(request, ChatRequest):
            return _named(ChunkStream(opener, ChatResponse, self.max_line_bytes, url), model)
        return _named(ChunkStream(opener, GenerateResponse, self.max_line_bytes, url), model)

    @overload
    def stream_tokens(
        self,
        model: str,
        prompt: str,
        *,
        messages: None = None,
        include_thinking: bool = False,
        **fields: Unpack[RequestFields],
    ) -> TokenStream[GenerateResponse]: ...

    @overload
    def stream_tokens(
        self,
        model: str,
        prompt: None = None,
        *,
        messages: Sequence[MessageInput],
        include_thinking: bool = False,
        **fields: Unpack[RequestFields],
    ) -> TokenStream[ChatResponse]: ...

    def stream_tokens(
        self,
        model: str,
        prompt: str | None = None,
        *,
        messages: Sequence[MessageInput] | None = None,
        include_thinking: bool = False,
        **fields: Unpack[RequestFields],
    ) -> TokenStream[GenerateResponse] | TokenStream[ChatResponse]:
        """Stream the text only: ``response`` (generate) or ``message.content`` (chat).

        With ``include_thinking=True`` thinking text is yielded too, as
        :class:`ThinkingText` pieces. ``final`` holds the done chunk afterwards.

        Example::

            async for piece in client.stream_tokens("llama3.2", prompt="Hi"):
                print(piece, end="", flush=True)
        """
        request = build_request(model, prompt, messages, fields, stream=True)
        opener, url = self._opener(request)
        limit = self.max_line_bytes
        if isinstance(request, ChatRequest):
            return _named(TokenStream(opener, ChatResponse, limit, url, include_thinking), model)
        return _named(TokenStream(opener, GenerateResponse, limit, url, include_thinking), model)

    @overload
    def stream_bytes(
        self, model: str, prompt: str, *, messages: None = None, **fields: Unpack[RequestFields]
    ) -> ByteStream[GenerateResponse]: ...

    @overload
    def stream_bytes(
        self,
        model: str,
        prompt: None = None,
        *,
        messages: Sequence[MessageInput],
        **fields: Unpack[RequestFields],
    ) -> ByteStream[ChatResponse]: ...

    def stream_bytes(
        self,
        model: str,
        prompt: str | None = None,
        *,
        messages: Sequence[MessageInput] | None = None,
        **fields: Unpack[RequestFields],
    ) -> ByteStream[GenerateResponse] | ByteStream[ChatResponse]:
        """Stream the NDJSON body exactly as received, for pass-through.

        Example::

            body = b"".join([b async for b in client.stream_bytes("llama3.2", prompt="Hi")])
        """
        request = build_request(model, prompt, messages, fields, stream=True)
        opener, url = self._opener(request)
        if isinstance(request, ChatRequest):
            return _named(ByteStream(opener, ChatResponse, self.max_line_bytes, url), model)
        return _named(ByteStream(opener, GenerateResponse, self.max_line_bytes, url), model)

    def _opener(self, request: GenerateRequest | ChatRequest) -> tuple[Any, str]:
        path = "/api/chat" if isinstance(request, ChatRequest) else "/api/generate"
        transport = self._transport
        transport.session()  # a closed client fails here, at the call

        async def open_response() -> aiohttp.ClientResponse:
            await encode_images(request)
            return await transport.request("POST", path, _encode(request), model=request.model)

        return open_response, transport.base_url + path

    # -- whole responses ------------------------------------------------------------------

    async def generate(
        self, model: str, prompt: str | None = None, **fields: Unpack[RequestFields]
    ) -> GenerateResponse:
        """Generate a whole completion (``"stream": false``).

        An empty or missing prompt loads the model; with ``keep_alive=0`` it unloads it.

        Example::

            r = await client.generate("llama3.2", "Why is the sky blue?", options={"seed": 1})
            print(r.response, r.eval_count, r.tokens_per_second)
        """
        request = build_request(model, prompt, None, fields, stream=False)
        assert isinstance(request, GenerateRequest)
        started = time.monotonic()
        body = await self._post_whole("/api/generate", request)
        reply = self._decode_whole(body, _decode_generate)
        self._audit_whole("/api/generate", model, started, body, reply)
        if isinstance(fields.get("format"), type):
            reply.parsed = reply.parse(fields["format"])  # type: ignore[arg-type]
        return reply

    async def chat(
        self, model: str, messages: Sequence[MessageInput], **fields: Unpack[RequestFields]
    ) -> ChatResponse:
        """Chat and return the whole answer (``"stream": false``).

        Example::

            r = await client.chat("llama3.2", [{"role": "user", "content": "Hi"}])
            print(r.message.content)
        """
        request = build_request(model, None, messages, fields, stream=False)
        started = time.monotonic()
        body = await self._post_whole("/api/chat", request)
        reply = self._decode_whole(body, _decode_chat)
        self._audit_whole("/api/chat", model, started, body, reply)
        if isinstance(fields.get("format"), type):
            reply.parsed = reply.parse(fields["format"])  # type: ignore[arg-type]
        return reply

    async def load(self, model: str, *, keep_alive: str | float | None = None) -> GenerateResponse:
        """Load a model into memory (a generate request with no prompt).

        Example::

            r = await client.load("llama3.2", keep_alive="1h")
            assert r.done_reason == "load"
        """
        if keep_alive is None:
            return await self.generate(model)
        return await self.generate(model, keep_alive=keep_alive)

    async def unload(self, model: str) -> GenerateResponse:
        """Unload a model from memory now (``keep_alive=0``).

        Example::

            r = await client.unload("llama3.2")
            assert r.done_reason == "unload"
        """
        return await self.generate(model, keep_alive=0)

    async def _post_whole(self, path: str, request: GenerateRequest | ChatRequest) -> bytes:
        transport = self._transport
        transport.session()
        await encode_images(request)
        resp = await transport.request("POST", path, _encode(request), model=request.model)
        try:
            return await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise map_transport_error(exc, transport.base_url + path, in_body=True) from exc
        finally:
            resp.release()

    def _audit_whole(self, path: str, model: str, started: float, body: bytes, reply: Any) -> None:
        audit.record(self._transport.base_url + path, model=model, status=200, final=reply,
                     nbytes=len(body), duration=time.monotonic() - started)  # fmt: skip

    @staticmethod
    def _decode_whole(body: bytes, decode: Callable[[bytes], R]) -> R:
        try:
            result = decode(body)
        except DECODE_ERRORS as exc:
            raise decode_error(exc, body) from None
        if result.error is not None:
            raise StreamError(result.error)
        return result
