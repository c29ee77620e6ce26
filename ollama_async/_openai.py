"""The OpenAI-compatible ``/v1`` routes: a small client sharing the main client's session.

``client.openai`` has the same three streams as :class:`Client` (typed events, text tokens,
raw bytes), decoded from server-sent events by the same byte-level machinery, plus the
non-streaming calls.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar, overload
from urllib.parse import quote

import msgspec

from ._errors import InvalidRequestError, OllamaError
from ._openai_types import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    CompletionChunk,
    EmbeddingList,
    ModelList,
    OpenAIModel,
)
from ._requests import check_model
from ._sse import SSEDecoder
from ._streams import BaseStream, Opener
from ._transport import Transport

__all__ = ["EventStream", "OpenAIClient"]

T = TypeVar("T")
R = TypeVar("R")
Mode = Literal["events", "tokens", "bytes"]
_encode = msgspec.json.Encoder().encode


def _event_text(event: Any) -> str:
    choices = event.choices
    if not choices:
        return ""
    choice = choices[0]
    delta = getattr(choice, "delta", None)
    if delta is not None:
        return delta.content or ""
    return getattr(choice, "text", "") or ""


class _RawEvents:
    """Pass-through for ``stream_bytes``: each read unchanged, the events decoded alongside
    for the text, the final event and ``[DONE]``."""

    __slots__ = ("events", "sse")

    def __init__(self, sse: SSEDecoder[Any]) -> None:
        self.sse = sse
        self.events: list[Any] = []

    @property
    def error(self) -> OllamaError | None:
        return self.sse.error

    @property
    def done(self) -> bool:
        return self.sse.done

    def feed(self, data: bytes) -> list[bytes]:
        self.events = self.sse.feed(data)
        return [data]

    def flush(self) -> list[bytes]:
        self.events = self.sse.flush()
        return []


class EventStream(BaseStream[T, Any], Generic[T]):
    """Server-sent events of a ``/v1`` stream: typed chunks, text, or raw bytes.

    ``final`` is the last event before ``data: [DONE]`` (it carries ``usage`` when the
    request asked for ``stream_options={"include_usage": True}``).

    Example::

        async for chunk in client.openai.stream("llama3.2", messages=[...]):
            print(chunk.choices[0].delta.content or "", end="")
    """

    __slots__ = ("_event_type", "_mode")
    _missing_end = "data: [DONE]"

    def __init__(
        self,
        opener: Opener,
        event_type: type[Any],
        max_line_bytes: int,
        url: str,
        mode: Mode,
        model: str = "",
    ) -> None:
        super().__init__(opener, max_line_bytes, url, model)
        self._event_type = event_type
        self._mode = mode

    async def _iterate(self) -> AsyncGenerator[Any, None]:
        mode = self._mode
        keep = self._pieces.append
        last: Any = None
        try:
            sse: SSEDecoder[Any] = SSEDecoder(self._event_type, self._max_line_bytes)
            raw = _RawEvents(sse) if mode == "bytes" else None
            reader = await self._reader(raw or sse)
            while True:
                items = await reader.next()
                events = raw.events if raw is not None else items
                for event in events:
                    last = event
                    text = _event_text(event)
                    keep(text)
                    if mode == "events":
                        yield event
                    elif mode == "tokens" and text:
                        yield text
                if raw is not None:
                    for data in items:
                        yield data
                if sse.done:
                    await self._complete(last)
                    return
        except OllamaError as exc:
            raise self._fail(exc) from exc.__cause__
        finally:
            self._end()


class OpenAIClient:
    """The ``/v1`` routes of the same server, over the same session (``client.openai``).

    Example::

        async with Client() as client:
            r = await client.openai.chat_completions(
                "llama3.2", [{"role": "user", "content": "Hi"}], max_tokens=20
            )
            print(r.choices[0].message.content)
    """

    def __init__(self, transport: Transport, max_line_bytes: int, max_response_bytes: int) -> None:
        self._transport = transport
        self._max_line_bytes = max_line_bytes
        self._max_response_bytes = max_response_bytes

    def _body(
        self,
        model: str,
        prompt: str | None,
        messages: Sequence[Mapping[str, Any]] | None,
        fields: Mapping[str, Any],
        stream: bool,
    ) -> tuple[str, dict[str, Any]]:
        check_model(model)
        if (prompt is None) == (messages is None):
            raise InvalidRequestError("messages", "give either messages (chat) or prompt")
        body: dict[str, Any] = {"model": model, **fields, "stream": stream}
        if messages is not None:
            body["messages"] = [dict(m) for m in messages]
            return "/v1/chat/completions", body
        body["prompt"] = prompt
        return "/v1/completions", body

    def _stream(
        self,
        mode: Mode,
        model: str,
        prompt: str | None,
        messages: Sequence[Mapping[str, Any]] | None,
        fields: Mapping[str, Any],
    ) -> EventStream[Any]:
        path, body = self._body(model, prompt, messages, fields, stream=True)
        transport = self._transport
        transport.session()  # a closed client fails here, at the call
        payload = _encode(body)

        async def open_response() -> Any:
            return await transport.open("POST", path, payload, model=model)

        event_type = ChatCompletionChunk if messages is not None else CompletionChunk
        url = transport.base_url + path
        return EventStream(open_response, event_type, self._max_line_bytes, url, mode, model)

    @overload
    def stream(
        self, model: str, prompt: str, *, messages: None = None, **fields: Any
    ) -> EventStream[CompletionChunk]: ...

    @overload
    def stream(
        self,
        model: str,
        prompt: None = None,
        *,
        messages: Sequence[Mapping[str, Any]],
        **fields: Any,
    ) -> EventStream[ChatCompletionChunk]: ...

    def stream(
        self,
        model: str,
        prompt: str | None = None,
        *,
        messages: Sequence[Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> EventStream[CompletionChunk] | EventStream[ChatCompletionChunk]:
        """Typed events: ``ChatCompletionChunk`` for ``messages=``, ``CompletionChunk`` for
        ``prompt=``. Other OpenAI fields (``max_tokens``, ``temperature``, ``stop``,
        ``stream_options``, ``tools``, ``response_format``, …) pass through as keywords.

        Example::

            async for ev in client.openai.stream("llama3.2", prompt="Once upon"):
                print(ev.choices[0].text, end="")
        """
        return self._stream("events", model, prompt, messages, fields)

    def stream_tokens(
        self,
        model: str,
        prompt: str | None = None,
        *,
        messages: Sequence[Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> EventStream[str]:
        """Text only: each event's ``delta.content`` (chat) or ``text`` (completions).

        Example::

            async for piece in client.openai.stream_tokens("llama3.2", messages=msgs):
                print(piece, end="")
        """
        return self._stream("tokens", model, prompt, messages, fields)

    def stream_bytes(
        self,
        model: str,
        prompt: str | None = None,
        *,
        messages: Sequence[Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> EventStream[bytes]:
        """The ``text/event-stream`` body exactly as received, for pass-through.

        Example::

            body = b"".join([b async for b in client.openai.stream_bytes("m", prompt="Hi")])
        """
        return self._stream("bytes", model, prompt, messages, fields)

    async def _json(self, method: str, path: str, body: Any, type: type[R], model: str = "") -> R:
        limit = self._max_response_bytes
        return await self._transport.request_json(
            method, path, body, type, model=model, limit=limit
        )

    async def chat_completions(
        self, model: str, messages: Sequence[Mapping[str, Any]], **fields: Any
    ) -> ChatCompletion:
        """``POST /v1/chat/completions`` without streaming.

        Example::

            msgs = [{"role": "user", "content": "Hi"}]
            r = await client.openai.chat_completions("llama3.2", msgs)
        """
        path, body = self._body(model, None, messages, fields, stream=False)
        return await self._json("POST", path, body, ChatCompletion, model)

    async def completions(self, model: str, prompt: str, **fields: Any) -> Completion:
        """``POST /v1/completions`` without streaming.

        Example::

            r = await client.openai.completions("llama3.2", "Once upon a time")
            print(r.choices[0].text)
        """
        path, body = self._body(model, prompt, None, fields, stream=False)
        return await self._json("POST", path, body, Completion, model)

    async def embeddings(
        self, model: str, input: str | Sequence[str], **fields: Any
    ) -> EmbeddingList:
        """``POST /v1/embeddings``.

        Example::

            r = await client.openai.embeddings("nomic-embed-text", ["a", "b"])
            print(len(r.data))
        """
        check_model(model)
        body = {"model": model, "input": input if isinstance(input, str) else list(input), **fields}
        return await self._json("POST", "/v1/embeddings", body, EmbeddingList, model)

    async def models(self) -> ModelList:
        """``GET /v1/models``.

        Example::

            print([m.id for m in (await client.openai.models()).data])
        """
        return await self._json("GET", "/v1/models", None, ModelList)

    async def model(self, name: str) -> OpenAIModel:
        """``GET /v1/models/{name}``.

        Example::

            print((await client.openai.model("llama3.2")).owned_by)
        """
        check_model(name)
        return await self._json(
            "GET", f"/v1/models/{quote(name, safe=':')}", None, OpenAIModel, name
        )
