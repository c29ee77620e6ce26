"""ollama_async: an asyncio-first client for the Ollama server.

Example::

    import asyncio
    from ollama_async import Client

    async def main() -> None:
        async with Client() as client:
            async for piece in client.stream_tokens("llama3.2", prompt="Why is the sky blue?"):
                print(piece, end="", flush=True)

    asyncio.run(main())
"""

from ._client import Client
from ._config import DEFAULT_HOST, RetryPolicy, Timeouts, parse_host
from ._errors import (
    BadRequestError,
    ClientClosedError,
    ConnectionLostError,
    ConnectTimeoutError,
    IdleTimeoutError,
    IncompleteStreamError,
    InvalidRequestError,
    InvalidResponseError,
    LineTooLongError,
    MalformedLineError,
    ModelNotFoundError,
    NotFoundError,
    OllamaConnectionError,
    OllamaError,
    OllamaTimeoutError,
    ProtocolError,
    RateLimitError,
    ResponseError,
    ServerError,
    ServerUnreachableError,
    StreamError,
    TotalTimeoutError,
)
from ._ndjson import DEFAULT_MAX_LINE_BYTES, LineSplitter, NDJSONDecoder
from ._requests import RequestFields
from ._streams import ByteStream, ChunkStream, ThinkingText, TokenStream
from ._types import (
    ChatRequest,
    ChatResponse,
    GenerateRequest,
    GenerateResponse,
    Logprob,
    Message,
    TokenLogprob,
    Tool,
    ToolCall,
    ToolCallFunction,
    ToolFunction,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_LINE_BYTES",
    "BadRequestError",
    "ByteStream",
    "ChatRequest",
    "ChatResponse",
    "ChunkStream",
    "Client",
    "ClientClosedError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "GenerateRequest",
    "GenerateResponse",
    "IdleTimeoutError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "InvalidResponseError",
    "LineSplitter",
    "LineTooLongError",
    "Logprob",
    "MalformedLineError",
    "Message",
    "ModelNotFoundError",
    "NDJSONDecoder",
    "NotFoundError",
    "OllamaConnectionError",
    "OllamaError",
    "OllamaTimeoutError",
    "ProtocolError",
    "RateLimitError",
    "RequestFields",
    "ResponseError",
    "RetryPolicy",
    "ServerError",
    "ServerUnreachableError",
    "StreamError",
    "ThinkingText",
    "Timeouts",
    "TokenLogprob",
    "TokenStream",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
    "TotalTimeoutError",
    "__version__",
    "parse_host",
]
