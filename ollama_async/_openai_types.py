"""msgspec types of the OpenAI-compatible ``/v1`` answers, as Ollama sends them."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "Completion",
    "CompletionChunk",
    "EmbeddingList",
    "ModelList",
    "OpenAIModel",
    "Usage",
]


class Usage(msgspec.Struct, kw_only=True, gc=False):
    """Token counts of a request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatDelta(msgspec.Struct, kw_only=True, gc=False):
    """What a chat chunk adds: content, reasoning (thinking), tool calls."""

    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChunkChoice(msgspec.Struct, kw_only=True, gc=False):
    index: int = 0
    delta: ChatDelta = msgspec.field(default_factory=ChatDelta)
    finish_reason: str | None = None


class _Envelope(msgspec.Struct, kw_only=True, gc=False):
    """The fields every /v1 completion object and event has."""

    id: str = ""
    object: str = ""
    created: int = 0
    model: str = ""
    system_fingerprint: str | None = None
    usage: Usage | None = None


class ChatCompletionChunk(_Envelope, kw_only=True, gc=False):
    """An event of a streamed ``/v1/chat/completions``."""

    choices: list[ChunkChoice] = msgspec.field(default_factory=list)


class TextChoice(msgspec.Struct, kw_only=True, gc=False):
    index: int = 0
    text: str = ""
    finish_reason: str | None = None


class CompletionChunk(_Envelope, kw_only=True, gc=False):
    """An event of a streamed ``/v1/completions``."""

    choices: list[TextChoice] = msgspec.field(default_factory=list)


class Completion(CompletionChunk, kw_only=True, gc=False):
    """A whole ``/v1/completions`` answer."""


class ChatMessage(msgspec.Struct, kw_only=True, gc=False):
    role: str = "assistant"
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class MessageChoice(msgspec.Struct, kw_only=True, gc=False):
    index: int = 0
    message: ChatMessage = msgspec.field(default_factory=ChatMessage)
    finish_reason: str | None = None


class ChatCompletion(_Envelope, kw_only=True, gc=False):
    """A whole ``/v1/chat/completions`` answer."""

    choices: list[MessageChoice] = msgspec.field(default_factory=list)


class Embedding(msgspec.Struct, kw_only=True, gc=False):
    object: str = "embedding"
    index: int = 0
    embedding: list[float] = msgspec.field(default_factory=list)


class EmbeddingList(msgspec.Struct, kw_only=True, gc=False):
    """``/v1/embeddings``: one entry per input."""

    object: str = "list"
    data: list[Embedding] = msgspec.field(default_factory=list)
    model: str = ""
    usage: Usage | None = None


class OpenAIModel(msgspec.Struct, kw_only=True, gc=False):
    """A model in ``/v1/models``."""

    id: str = ""
    object: str = "model"
    created: int = 0
    owned_by: str = ""


class ModelList(msgspec.Struct, kw_only=True, gc=False):
    """``GET /v1/models``."""

    object: str = "list"
    data: list[OpenAIModel] = msgspec.field(default_factory=list)
