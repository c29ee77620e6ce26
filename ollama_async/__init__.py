"""ollama_async: an asyncio-first client for the Ollama server.

The top level holds what an application uses every day: the client, its streams, the error
tree, the common wire types, configuration, the batch runner and the host pool. The rest
lives in namespaces: :mod:`ollama_async.types` (every wire type), :mod:`ollama_async.manage`
(model management, the ``ollama`` executable, update checks, hardware fit),
:mod:`ollama_async.runner` (the seed specification's runner, outputs and config),
:mod:`ollama_async.testing` (the emulator), :mod:`ollama_async.compat` (the official
client's names: ``AsyncClient`` is also here), :mod:`ollama_async.cli`,
:mod:`ollama_async.fastapi`, :mod:`ollama_async.ray` and :mod:`ollama_async.audit`.

Example::

    import asyncio
    from ollama_async import Client

    async def main() -> None:
        async with Client() as client:
            async for piece in client.stream_tokens("llama3.2", prompt="Why is the sky blue?"):
                print(piece, end="", flush=True)

    asyncio.run(main())
"""

from ._api_types import (
    EmbeddingsResponse,
    EmbedResponse,
    ListResponse,
    ProcessResponse,
    ProgressResponse,
    PullProgress,
    ShowResponse,
)
from ._batch import BatchResult, BatchRunner, Done, Failed, run_batch, send_to
from ._client import Client
from ._compat import AsyncClient, RequestError
from ._config import RetryPolicy, Timeouts
from ._errors import (
    BadRequestError,
    ClientClosedError,
    ConfigError,
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
    ResponseTooLargeError,
    ServerError,
    ServerUnreachableError,
    StreamError,
    StreamMisuseError,
    TLSError,
    TotalTimeoutError,
)
from ._openai import EventStream, OpenAIClient
from ._options import IgnoredOptionWarning, Options
from ._passthrough import ByteStream
from ._pool import HostState, Pool
from ._progress import ProgressStream
from ._public import export
from ._streams import ChunkStream, ThinkingText, TokenStream
from ._tools import tool_from_function
from ._types import ChatResponse, GenerateResponse, Message, Tool, ToolCall

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "BadRequestError",
    "BatchResult",
    "BatchRunner",
    "ByteStream",
    "ChatResponse",
    "ChunkStream",
    "Client",
    "ClientClosedError",
    "ConfigError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "Done",
    "EmbedResponse",
    "EmbeddingsResponse",
    "EventStream",
    "Failed",
    "GenerateResponse",
    "HostState",
    "IdleTimeoutError",
    "IgnoredOptionWarning",
    "IncompleteStreamError",
    "InvalidRequestError",
    "InvalidResponseError",
    "LineTooLongError",
    "ListResponse",
    "MalformedLineError",
    "Message",
    "ModelNotFoundError",
    "NotFoundError",
    "OllamaConnectionError",
    "OllamaError",
    "OllamaTimeoutError",
    "OpenAIClient",
    "Options",
    "Pool",
    "ProcessResponse",
    "ProgressResponse",
    "ProgressStream",
    "ProtocolError",
    "PullProgress",
    "RateLimitError",
    "RequestError",
    "ResponseError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "ServerUnreachableError",
    "ShowResponse",
    "StreamError",
    "StreamMisuseError",
    "TLSError",
    "ThinkingText",
    "Timeouts",
    "TokenStream",
    "Tool",
    "ToolCall",
    "TotalTimeoutError",
    "__version__",
    "run_batch",
    "send_to",
    "tool_from_function",
]

export(globals(), __name__)
