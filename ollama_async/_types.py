"""msgspec types for generate and chat: requests, messages, streamed chunks and final statistics.

Requests leave unset fields out of the JSON (``omit_defaults``). Responses ignore fields they
do not know, so a newer server does not break an older client, and declare ``error`` so that
an ``{"error": …}`` line is seen rather than decoded into an empty chunk.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "GenerateRequest",
    "GenerateResponse",
    "Logprob",
    "Message",
    "ThinkLevel",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
]

T = TypeVar("T")
ThinkLevel = Literal["low", "medium", "high", "max"]
KeepAlive = str | int | float

_NS = 1e9


class ToolCallFunction(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """The function a model asked to call, with its decoded ``arguments``."""

    name: str
    arguments: dict[str, Any] = msgspec.field(default_factory=dict)
    index: int | None = None


class ToolCall(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """One entry of ``message.tool_calls``."""

    function: ToolCallFunction


class ToolFunction(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A function offered to the model: its name, description and JSON Schema parameters."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)


class Tool(msgspec.Struct, kw_only=True):
    """A tool in a chat request: ``Tool(function=ToolFunction(name="add", …))``.

    ``type`` is always sent (Ollama wants ``"function"``), so this one keeps its defaults.
    """

    function: ToolFunction
    type: str = "function"


class Message(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """A chat message.

    ``tool_name`` (and ``tool_call_id`` when the model gave one) mark a tool's result.

    >>> Message(role="user", content="Why is the sky blue?")
    Message(role='user', content='Why is the sky blue?', thinking=None, images=None, tool_calls=None, tool_name=None, tool_call_id=None)
    """  # noqa: E501

    role: str
    content: str = ""
    thinking: str | None = None
    images: list[str] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None


class TokenLogprob(msgspec.Struct, kw_only=True, gc=False):
    """A token with its log probability (and its UTF-8 bytes)."""

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None


class Logprob(TokenLogprob, kw_only=True, gc=False):
    """A generated token's log probability with the most likely alternatives."""

    top_logprobs: list[TokenLogprob] | None = None


class _Request(msgspec.Struct, kw_only=True, omit_defaults=True):
    model: str
    stream: bool | None = None
    format: str | dict[str, Any] | None = None
    keep_alive: KeepAlive | None = None
    options: dict[str, Any] | None = None
    think: bool | ThinkLevel | None = None
    truncate: bool | None = None
    shift: bool | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None


class GenerateRequest(_Request, kw_only=True, omit_defaults=True):
    """The body of ``POST /api/generate``."""

    prompt: str | None = None
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    context: list[int] | None = None
    raw: bool | None = None
    images: list[str] | None = None


class ChatRequest(_Request, kw_only=True, omit_defaults=True):
    """The body of ``POST /api/chat``."""

    messages: list[Message]
    tools: list[Tool] | None = None


class _Final:
    """What every generate and chat chunk has, and the statistics only the final one carries.

    A mixin: each response type declares the fields itself, in the order the server writes
    them, because msgspec matches a key fastest when it is the next field in order (this
    saves about a tenth of the decoding time of a streamed chunk). The annotations here are
    for type checkers.
    """

    __slots__ = ()

    model: str
    created_at: str
    done: bool
    done_reason: str | None
    total_duration: int | None
    load_duration: int | None
    prompt_eval_count: int | None
    prompt_eval_duration: int | None
    eval_count: int | None
    eval_duration: int | None
    logprobs: list[Logprob] | None
    error: str | None
    parsed: Any

    @property
    def tokens_per_second(self) -> float | None:
        """Generation speed from the server's own counts (``eval_count / eval_duration``)."""
        if not self.eval_count or not self.eval_duration:
            return None
        return self.eval_count * _NS / self.eval_duration

    @property
    def prompt_tokens_per_second(self) -> float | None:
        """Prompt processing speed (``prompt_eval_count / prompt_eval_duration``)."""
        if not self.prompt_eval_count or not self.prompt_eval_duration:
            return None
        return self.prompt_eval_count * _NS / self.prompt_eval_duration

    @property
    def total_seconds(self) -> float | None:
        """``total_duration`` in seconds."""
        return None if self.total_duration is None else self.total_duration / _NS

    @property
    def load_seconds(self) -> float | None:
        """``load_duration`` in seconds."""
        return None if self.load_duration is None else self.load_duration / _NS

    @property
    def prompt_eval_seconds(self) -> float | None:
        """``prompt_eval_duration`` in seconds."""
        d = self.prompt_eval_duration
        return None if d is None else d / _NS

    @property
    def eval_seconds(self) -> float | None:
        """``eval_duration`` in seconds."""
        return None if self.eval_duration is None else self.eval_duration / _NS


class GenerateResponse(msgspec.Struct, _Final, kw_only=True, gc=False):
    """A chunk of ``/api/generate`` (the last has ``done=True`` and the statistics).

    >>> import msgspec
    >>> line = b'{"model":"m","response":"","done":true,"eval_count":40,"eval_duration":2000000000}'
    >>> chunk = msgspec.json.decode(line, type=GenerateResponse)
    >>> chunk.tokens_per_second
    20.0
    """

    # In the server's order (see _Final).
    model: str = ""
    created_at: str = ""
    response: str = ""
    thinking: str | None = None
    done: bool = False
    done_reason: str | None = None
    context: list[int] | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    logprobs: list[Logprob] | None = None
    error: str | None = None
    parsed: Any = None
    """The answer decoded into the type given as ``format=`` (never on the wire)."""

    def parse(self, type: type[T]) -> T:
        """Decode the answer (JSON, from ``format=``) into ``type``; typed errors name the field.

        >>> GenerateResponse(response='{"a": 1}').parse(dict)
        {'a': 1}
        """
        return _parse(self.response, type)


class ChatResponse(msgspec.Struct, _Final, kw_only=True, gc=False):
    """A chunk of ``/api/chat``: the text is in ``message.content``."""

    # In the server's order (see _Final).
    model: str = ""
    created_at: str = ""
    message: Message = msgspec.field(default_factory=lambda: Message(role="assistant"))
    done: bool = False
    done_reason: str | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    logprobs: list[Logprob] | None = None
    error: str | None = None
    parsed: Any = None
    """The answer decoded into the type given as ``format=`` (never on the wire)."""

    def parse(self, type: type[T]) -> T:
        """Decode ``message.content`` (JSON, from ``format=``) into ``type``."""
        return _parse(self.message.content, type)


def _parse(text: str, type: type[T]) -> T:
    from ._errors import decode_error

    try:
        return msgspec.json.decode(text, type=type)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise decode_error(exc, text.encode()) from None


# Lean shapes for stream_tokens: decoding only the text and the flags costs about half.
class _GenerateText(msgspec.Struct, gc=False):
    response: str = ""
    thinking: str | None = None
    done: bool = False
    error: str | None = None


class _ChatTextMessage(msgspec.Struct, gc=False):
    content: str = ""
    thinking: str | None = None


class _ChatText(msgspec.Struct, gc=False):
    message: _ChatTextMessage | None = None
    done: bool = False
    error: str | None = None
