"""Every wire type: the native ``/api`` requests and answers and the ``/v1`` (OpenAI-shaped)
answers. The common ones are also at the top level of :mod:`ollama_async`.

Example::

    from ollama_async.types import ChatCompletionChunk, ModelDetails
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
from ._public import export
from ._refs import StreamRef
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

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatRequest",
    "ChatResponse",
    "Completion",
    "CompletionChunk",
    "EmbedResponse",
    "EmbeddingList",
    "EmbeddingsResponse",
    "GenerateRequest",
    "GenerateResponse",
    "ListResponse",
    "Logprob",
    "Message",
    "ModelDetails",
    "ModelInfo",
    "ModelList",
    "OpenAIModel",
    "Options",
    "ProcessModel",
    "ProcessResponse",
    "ProgressResponse",
    "PullProgress",
    "ShowResponse",
    "StreamRef",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
    "Usage",
]

export(globals(), __name__)
