"""The official ``ollama`` client's surface on the native engine (see docs/official-client.md)."""

from ._answers import (
    ChatResponse,
    EmbeddingsResponse,
    EmbedResponse,
    GenerateResponse,
    ListResponse,
    Logprob,
    ModelDetails,
    ProcessResponse,
    ProgressResponse,
    ShowResponse,
    StatusResponse,
    TokenLogprob,
    WebFetchResponse,
    WebSearchResponse,
    WebSearchResult,
)
from ._client import AsyncClient
from ._errors import RequestError, StreamResponseError
from ._types import Image, Message, Options, Tool, ToolCall

__all__ = [
    "AsyncClient",
    "ChatResponse",
    "EmbedResponse",
    "EmbeddingsResponse",
    "GenerateResponse",
    "Image",
    "ListResponse",
    "Logprob",
    "Message",
    "ModelDetails",
    "Options",
    "ProcessResponse",
    "ProgressResponse",
    "RequestError",
    "ShowResponse",
    "StatusResponse",
    "StreamResponseError",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "WebFetchResponse",
    "WebSearchResponse",
    "WebSearchResult",
]
