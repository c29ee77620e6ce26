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

from ._api_types import (
    EmbeddingsResponse,
    EmbedResponse,
    ListResponse,
    ModelDetails,
    ModelInfo,
    ProcessModel,
    ProcessResponse,
    ProgressResponse,
    PullProgress,
    ShowResponse,
)
from ._batch import BatchResult, BatchRunner, Done, Failed, run_batch, send_to
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
    TLSError,
    TotalTimeoutError,
)
from ._hardware import FitEstimate, estimate_fit
from ._names import ModelName, normalize_model_name, parse_model_name, same_model
from ._ndjson import DEFAULT_MAX_LINE_BYTES, LineSplitter, NDJSONDecoder
from ._openai import EventStream, OpenAIClient
from ._openai_types import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    CompletionChunk,
    EmbeddingList,
    ModelList,
    OpenAIModel,
    Usage,
)
from ._options import Options
from ._outputs import OutputManager
from ._pool import HostState, Pool
from ._presets import PRESETS, ExecutionOptions
from ._progress import ProgressStream
from ._requests import RequestFields
from ._runner import ModelExecutionResult, ModelRunner
from ._service import ModelStats, OllamaManager
from ._settings import ConfigError, ConfigManager
from ._sse import SSEDecoder
from ._streams import ByteStream, ChunkStream, ThinkingText, TokenStream
from ._tools import tool_from_function
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
from ._updates import UpdateStatus, check_updates

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_LINE_BYTES",
    "PRESETS",
    "BadRequestError",
    "BatchResult",
    "BatchRunner",
    "ByteStream",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatRequest",
    "ChatResponse",
    "ChunkStream",
    "Client",
    "ClientClosedError",
    "Completion",
    "CompletionChunk",
    "ConfigError",
    "ConfigManager",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "Done",
    "EmbedResponse",
    "EmbeddingList",
    "EmbeddingsResponse",
    "EventStream",
    "ExecutionOptions",
    "Failed",
    "FitEstimate",
    "GenerateRequest",
    "GenerateResponse",
    "HostState",
    "IdleTimeoutError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "InvalidResponseError",
    "LineSplitter",
    "LineTooLongError",
    "ListResponse",
    "Logprob",
    "MalformedLineError",
    "Message",
    "ModelDetails",
    "ModelExecutionResult",
    "ModelInfo",
    "ModelList",
    "ModelName",
    "ModelNotFoundError",
    "ModelRunner",
    "ModelStats",
    "NDJSONDecoder",
    "NotFoundError",
    "OllamaConnectionError",
    "OllamaError",
    "OllamaManager",
    "OllamaTimeoutError",
    "OpenAIClient",
    "OpenAIModel",
    "Options",
    "OutputManager",
    "Pool",
    "ProcessModel",
    "ProcessResponse",
    "ProgressResponse",
    "ProgressStream",
    "ProtocolError",
    "PullProgress",
    "RateLimitError",
    "RequestFields",
    "ResponseError",
    "RetryPolicy",
    "SSEDecoder",
    "ServerError",
    "ServerUnreachableError",
    "ShowResponse",
    "StreamError",
    "TLSError",
    "ThinkingText",
    "Timeouts",
    "TokenLogprob",
    "TokenStream",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
    "TotalTimeoutError",
    "UpdateStatus",
    "Usage",
    "__version__",
    "check_updates",
    "estimate_fit",
    "normalize_model_name",
    "parse_host",
    "parse_model_name",
    "run_batch",
    "same_model",
    "send_to",
    "tool_from_function",
]
