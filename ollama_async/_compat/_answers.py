"""The official client's answer types: native Structs that also answer ``r["field"]``.

Generate and chat answers are the native types with the official extra fields (``image``,
``completed``, ``total``), so they keep the native helpers (``tokens_per_second``, …) and
decode in the same single msgspec pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from .. import _api_types as api
from .. import _types as native
from ._base import Subscriptable
from ._types import Message

__all__ = [
    "ChatResponse",
    "EmbedResponse",
    "EmbeddingsResponse",
    "GenerateResponse",
    "ListResponse",
    "Logprob",
    "ModelDetails",
    "ProcessResponse",
    "ProgressResponse",
    "ShowResponse",
    "StatusResponse",
    "TokenLogprob",
    "WebFetchResponse",
    "WebSearchResponse",
    "WebSearchResult",
]


class TokenLogprob(native.TokenLogprob, Subscriptable, kw_only=True, gc=False):
    """A token and its log probability."""


class Logprob(native.Logprob, Subscriptable, kw_only=True, gc=False):
    """A generated token's log probability and the likeliest alternatives."""

    top_logprobs: list[TokenLogprob] | None = None  # type: ignore[assignment]


class _ReplyMessage(Message, kw_only=True, omit_defaults=True, gc=False):
    content: str = ""  # the server always sends it


class ChatResponse(native.ChatResponse, Subscriptable, kw_only=True, gc=False):
    """A chat answer or streamed part: ``r.message.content`` or ``r["message"]["content"]``."""

    message: _ReplyMessage = msgspec.field(default_factory=lambda: _ReplyMessage(role="assistant"))
    logprobs: list[Logprob] | None = None  # type: ignore[assignment]


class GenerateResponse(native.GenerateResponse, Subscriptable, kw_only=True, gc=False):
    """A generate answer or streamed part: ``r.response`` or ``r["response"]``; image
    models add ``image`` (and ``completed``/``total`` while they work)."""

    logprobs: list[Logprob] | None = None  # type: ignore[assignment]
    image: str | None = None
    completed: int | None = None
    total: int | None = None


class ModelDetails(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """Format, family, size class and quantization of a model."""

    parent_model: str | None = None
    format: str | None = None
    family: str | None = None
    families: list[str] | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None


class _ListModel(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    model: str | None = None
    modified_at: datetime | None = None
    digest: str | None = None
    size: int | None = None
    details: ModelDetails | None = None


class ListResponse(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """``list()``: ``r.models[0].model``, ``.size``, ``.modified_at`` (a datetime)."""

    models: list[_ListModel] = msgspec.field(default_factory=list)
    Model = _ListModel


class _ProcessModel(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    model: str | None = None
    name: str | None = None
    digest: str | None = None
    expires_at: datetime | None = None
    size: int | None = None
    size_vram: int | None = None
    details: ModelDetails | None = None
    context_length: int | None = None


class ProcessResponse(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """``ps()``: the models loaded now."""

    models: list[_ProcessModel] = msgspec.field(default_factory=list)
    Model = _ProcessModel


class ShowResponse(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """``show()``: ``modelinfo`` is the wire's ``model_info``."""

    modified_at: datetime | None = None
    template: str | None = None
    modelfile: str | None = None
    license: str | None = None
    details: ModelDetails | None = None
    modelinfo: dict[str, Any] | None = msgspec.field(default=None, name="model_info")
    parameters: str | None = None
    capabilities: list[str] | None = None


class StatusResponse(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """``copy()`` and ``delete()``: ``status`` is ``"success"``."""

    status: str | None = None


class ProgressResponse(StatusResponse, kw_only=True, gc=False):
    """A pull, push or create progress part (or the whole answer without streaming)."""

    completed: int | None = None
    total: int | None = None
    digest: str | None = None


class EmbedResponse(api.EmbedResponse, Subscriptable, kw_only=True, gc=False):
    """``embed()``: one vector per input in ``embeddings`` (and the official client's other
    statistics fields, which the server leaves out)."""

    created_at: str | None = None
    done: bool | None = None
    done_reason: str | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None


class EmbeddingsResponse(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """``embeddings()`` (legacy): one vector."""

    embedding: list[float] = msgspec.field(default_factory=list)


class WebSearchResult(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """One web search hit."""

    content: str | None = None
    title: str | None = None
    url: str | None = None


class WebSearchResponse(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """``web_search()``: the hits."""

    results: list[WebSearchResult] = msgspec.field(default_factory=list)


class WebFetchResponse(msgspec.Struct, Subscriptable, kw_only=True, gc=False):
    """``web_fetch()``: the page's title, text and links."""

    title: str | None = None
    content: str | None = None
    links: list[str] | None = None


def from_native(value: Any, type: type[Any]) -> Any:
    """A native answer as its drop-in type (for the calls that go through native methods)."""
    return msgspec.convert(msgspec.to_builtins(value), type, strict=False)
