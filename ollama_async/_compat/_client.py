"""``AsyncClient``: the official client's surface, on the native ``Client``'s engine.

Bodies are built as the official client builds them (``_body``), checked with the native
rules, and sent through the native transport; streams are the native ``ChunkStream`` and
``ProgressStream``, so leaving a loop early closes the connection and the server stops.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import msgspec

from .._client import Client
from .._requests import check_model
from ._answers import (
    ChatResponse,
    EmbeddingsResponse,
    EmbedResponse,
    GenerateResponse,
    ListResponse,
    ProcessResponse,
    ShowResponse,
    StatusResponse,
    WebFetchResponse,
    WebSearchResponse,
    from_native,
)
from ._base import dump
from ._body import clean, encode_images, format_value, messages_body, options_body, tools_body
from ._errors import RequestError, StreamResponseError, request_errors
from ._transport import Parts, WebClient, native_client, no_unexpected, post_json, progress
from ._types import Image, Message, Options, Tool

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AsyncClient"]

T = TypeVar("T")
Think = bool | Literal["low", "medium", "high"] | None
OptionsInput = Mapping[str, Any] | Options | None


class AsyncClient:
    """The official ``ollama.AsyncClient``, call for call, over a native :class:`Client`.

    Change ``from ollama import AsyncClient`` to ``from ollama_async import AsyncClient``;
    the calls, the bodies on the wire, the answer fields and the error names stay the same.
    ``client`` is the native :class:`Client` underneath, for its typed streams.

    Example::

        client = AsyncClient(host="http://localhost:11434")
        r = await client.chat("llama3.2", messages=[{"role": "user", "content": "Hi"}])
        print(r["message"]["content"])
        async for part in await client.chat("llama3.2", messages=[...], stream=True):
            print(part.message.content, end="")
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        follow_redirects: bool = True,
        timeout: Any = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._headers = dict(headers or {})
        self._client = native_client(host, timeout, headers, kwargs)
        self._web: WebClient | None = None
        self.follow_redirects = follow_redirects  # aiohttp follows redirects (up to 10)

    @property
    def client(self) -> Client:
        """The native :class:`Client` underneath (same session): its typed streams,
        ``stream_tokens`` and the rest, when you move on from the official surface."""
        return self._client

    def __repr__(self) -> str:
        return f"AsyncClient(host={self._client.base_url!r})"

    async def close(self) -> None:
        """Close the connections; idempotent."""
        if self._web is not None:
            await self._web.aclose()
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- generate and chat ------------------------------------------------------------------

    @overload
    async def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        stream: Literal[False] = False,
        **kwargs: Any,
    ) -> GenerateResponse: ...
    @overload
    async def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        stream: Literal[True],
        **kwargs: Any,
    ) -> AsyncIterator[GenerateResponse]: ...

    async def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        system: str | None = None,
        template: str | None = None,
        context: Sequence[int] | None = None,
        stream: bool = False,
        think: Think = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        raw: bool | None = None,
        format: Literal["", "json"] | Mapping[str, Any] | type | None = None,
        images: Sequence[str | bytes | Image | os.PathLike[str]] | None = None,
        options: OptionsInput = None,
        keep_alive: float | str | None = None,
        width: int | None = None,
        height: int | None = None,
        steps: int | None = None,
        **unexpected: Any,
    ) -> GenerateResponse | AsyncIterator[GenerateResponse]:
        """Generate a completion: the whole answer, or (``stream=True``) an async iterator
        of parts. Raises ``RequestError`` for bad arguments, ``ResponseError`` for a
        refusal by the server.

        Example::

            r = await client.generate("llama3.2", "Why is the sky blue?")
            print(r["response"])
        """
        no_unexpected("generate", unexpected)
        with request_errors():
            body = clean({
                "model": model, "prompt": prompt, "suffix": suffix, "system": system,
                "template": template, "context": list(context) if context else context,
                "stream": stream, "think": think, "logprobs": logprobs,
                "top_logprobs": top_logprobs, "raw": raw, "format": format_value(format),
                "images": list(images) if images else None, "options": options_body(options),
                "keep_alive": keep_alive, "width": width, "height": height, "steps": steps,
            })  # fmt: skip
            await encode_images(body)
        return await self._send("/api/generate", body, GenerateResponse, stream)  # type: ignore[no-any-return]

    @overload
    async def chat(
        self,
        model: str = "",
        messages: Sequence[Mapping[str, Any] | Message] | None = None,
        *,
        stream: Literal[False] = False,
        **kwargs: Any,
    ) -> ChatResponse: ...
    @overload
    async def chat(
        self,
        model: str = "",
        messages: Sequence[Mapping[str, Any] | Message] | None = None,
        *,
        stream: Literal[True],
        **kwargs: Any,
    ) -> AsyncIterator[ChatResponse]: ...

    async def chat(
        self,
        model: str = "",
        messages: Sequence[Mapping[str, Any] | Message] | None = None,
        *,
        tools: Sequence[Mapping[str, Any] | Tool | Callable[..., Any]] | None = None,
        stream: bool = False,
        think: Think = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        format: Literal["", "json"] | Mapping[str, Any] | type | None = None,
        options: OptionsInput = None,
        keep_alive: float | str | None = None,
        **unexpected: Any,
    ) -> ChatResponse | AsyncIterator[ChatResponse]:
        """Chat: the whole answer, or (``stream=True``) an async iterator of parts.
        ``tools`` may be dicts, ``Tool`` objects or plain Python functions.

        Example::

            r = await client.chat("llama3.2", messages=[{"role": "user", "content": "Hi"}])
            print(r.message.content, r["message"]["content"])
        """
        no_unexpected("chat", unexpected)
        with request_errors():
            body = clean({
                "model": model, "messages": messages_body(messages), "tools": tools_body(tools),
                "stream": stream, "think": think, "logprobs": logprobs,
                "top_logprobs": top_logprobs, "format": format_value(format),
                "options": options_body(options), "keep_alive": keep_alive,
            })  # fmt: skip
            await encode_images(body)
        return await self._send("/api/chat", body, ChatResponse, stream)  # type: ignore[no-any-return]

    async def _send(self, path: str, body: dict[str, Any], type: type[Any], streamed: bool) -> Any:
        if not streamed:
            answer = await post_json(self._client, path, body, type)
            error = getattr(answer, "error", None)
            if error is not None:
                raise StreamResponseError(error)
            return answer
        transport = self._client.transport
        transport.session()  # a closed client fails here, at the call
        payload = msgspec.json.encode(body)

        async def opener() -> Any:
            return await transport.open("POST", path, payload, model=body["model"])

        url = transport.base_url + path
        return Parts(opener, type, self._client.max_line_bytes, url, body["model"])

    # -- embeddings ---------------------------------------------------------------------------

    async def embed(
        self,
        model: str = "",
        input: str | Sequence[str] = "",
        truncate: bool | None = None,
        options: OptionsInput = None,
        keep_alive: float | str | None = None,
        dimensions: int | None = None,
    ) -> EmbedResponse:
        """Embed a text or a list of texts (``r.embeddings``).

        Example::

            r = await client.embed("nomic-embed-text", ["a cat", "a dog"])
        """
        with request_errors():
            if not isinstance(input, str) and not all(isinstance(x, str) for x in input):
                raise RequestError("must be a str or a list of str", "input")
            body = clean({
                "model": model, "input": input if isinstance(input, str) else list(input),
                "truncate": truncate, "options": options_body(options),
                "keep_alive": keep_alive, "dimensions": dimensions,
            })  # fmt: skip
        return await post_json(self._client, "/api/embed", body, EmbedResponse)

    async def embeddings(
        self,
        model: str = "",
        prompt: str | None = None,
        options: OptionsInput = None,
        keep_alive: float | str | None = None,
    ) -> EmbeddingsResponse:
        """One embedding from the legacy endpoint (prefer :meth:`embed`).

        Example::

            r = await client.embeddings("nomic-embed-text", "a cat")
        """
        with request_errors():
            body = clean({"model": model, "prompt": prompt, "options": options_body(options),
                          "keep_alive": keep_alive})  # fmt: skip
        return await post_json(self._client, "/api/embeddings", body, EmbeddingsResponse)

    # -- models -------------------------------------------------------------------------------

    async def pull(self, model: str, *, insecure: bool = False, stream: bool = False) -> Any:
        """Pull a model: the final status, or (``stream=True``) an async iterator of
        progress parts. Example: ``await client.pull("llama3.2")``."""
        with request_errors():
            body = clean({"model": model, "insecure": insecure, "stream": stream})
        return await progress(self._client, "/api/pull", body, stream, resume=True)

    async def push(self, model: str, *, insecure: bool = False, stream: bool = False) -> Any:
        """Push a model to its registry (as :meth:`pull`).
        Example: ``await client.push("me/mine")``."""
        with request_errors():
            body = clean({"model": model, "insecure": insecure, "stream": stream})
        return await progress(self._client, "/api/push", body, stream, resume=False)

    async def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: dict[str, str] | None = None,
        adapters: dict[str, str] | None = None,
        template: str | None = None,
        license: str | list[str] | None = None,
        system: str | None = None,
        parameters: Mapping[str, Any] | Options | None = None,
        messages: Sequence[Mapping[str, Any] | Message] | None = None,
        *,
        stream: bool = False,
    ) -> Any:
        """Create a model (as :meth:`pull` for the answer).
        Example: ``await client.create("pirate", from_="llama3.2", system="Arr.")``."""
        with request_errors():
            if from_ is not None:
                check_model(from_, "from_")
            body = clean({
                "model": model, "stream": stream, "quantize": quantize, "from": from_,
                "files": files, "adapters": adapters, "license": license,
                "template": template, "system": system,
                "parameters": dump(parameters), "messages": dump(messages) if messages else None,
            })  # fmt: skip
        return await progress(self._client, "/api/create", body, stream, resume=False)

    async def create_blob(self, path: str | Path) -> str:
        """Upload a file as a blob (unless the server has it); returns ``sha256:<hex>``.
        Example: ``digest = await client.create_blob("model.gguf")``."""
        with request_errors():
            return await self._client.upload_blob(path)

    async def list(self) -> ListResponse:
        """The models on the server. Example: ``[m.model for m in (await c.list()).models]``."""
        return from_native(await self._client.list(), ListResponse)  # type: ignore[no-any-return]

    async def ps(self) -> ProcessResponse:
        """The models loaded now. Example: ``(await client.ps()).models``."""
        return from_native(await self._client.ps(), ProcessResponse)  # type: ignore[no-any-return]

    async def show(self, model: str) -> ShowResponse:
        """A model's details; ``modelinfo`` holds the wire's ``model_info``.
        Example: ``(await client.show("llama3.2")).modelinfo``."""
        with request_errors():
            native = await self._client.show(model)
        return from_native(native, ShowResponse)  # type: ignore[no-any-return]

    async def copy(self, source: str, destination: str) -> StatusResponse:
        """Copy a model; ``status`` is ``"success"``.
        Example: ``await client.copy("llama3.2", "mine")``."""
        with request_errors():
            await self._client.copy(source, destination)
        return StatusResponse(status="success")

    async def delete(self, model: str) -> StatusResponse:
        """Delete a model; ``status`` is ``"success"``. Example: ``await client.delete("m")``."""
        with request_errors():
            await self._client.delete(model)
        return StatusResponse(status="success")

    # -- web ------------------------------------------------------------------------------------

    async def web_search(self, query: str, max_results: int = 3) -> WebSearchResponse:
        """Search the web through ollama.com (needs ``OLLAMA_API_KEY`` or an Authorization
        header). Example: ``(await client.web_search("ollama")).results``."""
        web = self._web_client("web search")
        body = {"query": query, "max_results": max_results}
        return await post_json(web.client, "/api/web_search", body, WebSearchResponse)

    async def web_fetch(self, url: str) -> WebFetchResponse:
        """Fetch a page through ollama.com (as :meth:`web_search`).
        Example: ``(await client.web_fetch("https://ollama.com")).title``."""
        web = self._web_client("web fetch")
        return await post_json(web.client, "/api/web_fetch", {"url": url}, WebFetchResponse)

    def _web_client(self, what: str) -> WebClient:
        if self._web is None:
            self._web = WebClient(self._headers, what)
        return self._web
