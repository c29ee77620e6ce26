"""``Client``: one session to one Ollama server; generate, chat and the three streams."""

from __future__ import annotations

import os
import ssl as _ssl
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import msgspec

from ._config import RetryPolicy, Timeouts, parse_host, resolve_host
from ._credentials import authorization, split_credentials
from ._embeddings import EmbeddingsAPI
from ._errors import InvalidRequestError, StreamError
from ._headers import set_header
from ._models import ModelAPI
from ._ndjson import DEFAULT_MAX_LINE_BYTES
from ._openai import OpenAIClient
from ._passthrough import ByteStream
from ._requests import MessageInput, RequestFields, build_request, call_headers, encode_images
from ._streams import ChunkStream, TokenStream
from ._transport import Response, Session, Transport
from ._types import ChatRequest, ChatResponse, GenerateRequest, GenerateResponse, _Final

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "Client"]

R = TypeVar("R", bound=_Final)

DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""The largest whole (non-streamed) answer read by default: 64 MiB."""

_encode = msgspec.json.Encoder().encode


def _merge_headers(headers: Mapping[str, str] | None) -> tuple[dict[str, str], str | None]:
    """The default headers with the caller's over them, names compared without case (one
    header per name goes out); the caller's ``Authorization`` is returned apart, for
    :func:`authorization` to weigh against the other credentials."""
    merged = {"Accept": "application/json", "User-Agent": "ollama_async/0.1"}
    explicit: str | None = None
    for name, value in (headers or {}).items():
        if not isinstance(name, str):
            raise InvalidRequestError("headers", f"header names must be str, not {name!r}")
        if name.lower() == "authorization":
            explicit = value
            continue
        set_header(merged, name, value)
    return merged, explicit


class Client(ModelAPI, EmbeddingsAPI):
    """An async client for one Ollama server, over one ``aiohttp.ClientSession``.

    The base URL is ``host``, else ``OLLAMA_HOST`` (read as the official clients read it),
    else ``http://127.0.0.1:11434``. ``api_key`` (default ``OLLAMA_API_KEY``) is sent as
    ``Authorization: Bearer …``. Pass ``session=`` to share a session you own; the client
    then never closes it. A whole (non-streamed) answer larger than ``max_response_bytes``
    raises :class:`ResponseTooLargeError`; a streamed line larger than ``max_line_bytes``
    raises :class:`LineTooLongError`.

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
        session: Session | None = None,
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        ssl: bool | _ssl.SSLContext = True,
        max_connections: int = 0,
    ) -> None:
        raw = host if host is not None else os.environ.get("OLLAMA_HOST")
        bare, credentials = split_credentials(raw) if raw else (None, None)
        # never holds user:password
        self.base_url = resolve_host(bare) if host is not None else parse_host(bare)
        all_headers, header = _merge_headers(headers)
        env_key = os.environ.get("OLLAMA_API_KEY")
        auth = authorization(credentials, api_key=api_key, header=header, env_api_key=env_key)
        if auth is not None:
            all_headers["Authorization"] = auth
        secrets = credentials.secrets() if credentials is not None else ()
        for name, value in (("max_line_bytes", max_line_bytes),
                            ("max_response_bytes", max_response_bytes)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidRequestError(name, f"must be a positive int, not {value!r}")
        self.max_line_bytes = max_line_bytes
        self.max_response_bytes = max_response_bytes
        self._transport = Transport(
            self.base_url,
            session=session,
            headers=all_headers,
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
            ssl=ssl,
            max_connections=max_connections,
            secrets=secrets,
        )
        self.openai = OpenAIClient(self._transport, max_line_bytes, max_response_bytes)
        """The OpenAI-compatible ``/v1`` routes of the same server, over the same session."""

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None, **overrides: Any) -> Client:
        """A client from the settings file (``path``, else ``OLLAMA_ASYNC_CONFIG``, else the
        platform's config folder) with the environment over it: host, API key, timeouts and
        retries. Keyword arguments override both.

        Example::

            async with Client.from_config(timeouts=Timeouts(idle=60)) as client:
                print(await client.version())
        """
        from ._settings import load_config

        return cls(**{**load_config(path).client_kwargs(), **overrides})

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
        headers = call_headers(fields)  # type: ignore[arg-type]
        request = build_request(model, prompt, messages, fields, stream=True)
        opener, url = self._opener(request, headers)
        limit = self.max_line_bytes
        if isinstance(request, ChatRequest):
            return ChunkStream(opener, ChatResponse, limit, url, model)
        return ChunkStream(opener, GenerateResponse, limit, url, model)

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
        headers = call_headers(fields)  # type: ignore[arg-type]
        request = build_request(model, prompt, messages, fields, stream=True)
        opener, url = self._opener(request, headers)
        limit = self.max_line_bytes
        if isinstance(request, ChatRequest):
            return TokenStream(opener, ChatResponse, limit, url, model, include_thinking)
        return TokenStream(opener, GenerateResponse, limit, url, model, include_thinking)

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
        headers = call_headers(fields)  # type: ignore[arg-type]
        request = build_request(model, prompt, messages, fields, stream=True)
        opener, url = self._opener(request, headers)
        limit = self.max_line_bytes
        if isinstance(request, ChatRequest):
            return ByteStream(opener, ChatResponse, limit, url, model)
        return ByteStream(opener, GenerateResponse, limit, url, model)

    def _opener(
        self, request: GenerateRequest | ChatRequest, headers: Mapping[str, str] | None
    ) -> tuple[Any, str]:
        path = "/api/chat" if isinstance(request, ChatRequest) else "/api/generate"
        transport = self._transport
        transport.session()  # a closed client fails here, at the call

        async def open_response() -> Response:
            await encode_images(request)
            body = _encode(request)
            return await transport.open("POST", path, body, model=request.model, headers=headers)

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
        headers = call_headers(fields)  # type: ignore[arg-type]
        request = build_request(model, prompt, None, fields, stream=False)
        assert isinstance(request, GenerateRequest)
        reply = await self._whole("/api/generate", request, GenerateResponse, headers)
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
        headers = call_headers(fields)  # type: ignore[arg-type]
        request = build_request(model, None, messages, fields, stream=False)
        reply = await self._whole("/api/chat", request, ChatResponse, headers)
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

    async def _whole(
        self,
        path: str,
        request: GenerateRequest | ChatRequest,
        type: type[R],
        headers: Mapping[str, str] | None,
    ) -> R:
        self._transport.session()
        await encode_images(request)
        reply = await self._transport.request_json(
            "POST", path, _encode(request), type, model=request.model,
            limit=self.max_response_bytes, headers=headers,
        )  # fmt: skip
        if reply.error is not None:  # an error line in place of the answer
            raise StreamError(reply.error)
        return reply
