"""The official client's request-side types, with its constructors: ``Message``, ``Image``,
``Tool`` and ``Options``. ``Message`` is also a native :class:`ollama_async.Message`, so it
can be passed to the native ``Client`` too."""

from __future__ import annotations

import os
from typing import Any

import msgspec

from .. import _types as native
from .._options import Options as NativeOptions
from ._base import Subscriptable

__all__ = ["Image", "Message", "Options", "Tool", "ToolCall"]


class Image:
    """An image: raw ``bytes``, base64 text, or a path (``str`` or ``os.PathLike``).

    Nothing is read until the request is sent; a bad value is refused then, before any
    byte goes out.

    >>> Image(value=b"\\x89PNG").value
    b'\\x89PNG'
    """

    __slots__ = ("value",)

    def __init__(self, value: str | bytes | os.PathLike[str]) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Image(<{type(self.value).__name__}>)"  # never the data or the path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Image) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


class _Function(native.ToolCallFunction, Subscriptable, kw_only=True, omit_defaults=True, gc=False):
    """The function a model asked to call: ``name`` and ``arguments``."""


class ToolCall(native.ToolCall, Subscriptable, kw_only=True, omit_defaults=True, gc=False):
    """One tool call: ``ToolCall(function=ToolCall.Function(name="f", arguments={}))``."""

    function: _Function
    Function = _Function


class Message(native.Message, Subscriptable, kw_only=True, omit_defaults=True, gc=False):
    """A chat message, as the official client builds it.

    ``images`` may hold :class:`Image`, bytes, base64 text or file paths. ``content`` is
    ``None`` until set, as in the official client.

    >>> m = Message(role="user", content="Why?", images=[Image(value=b"...")])
    >>> m["role"], "content" in m, "thinking" in m
    ('user', True, False)
    """

    content: str | None = None  # type: ignore[assignment]
    images: list[Any] | None = None
    tool_calls: list[ToolCall] | None = None  # type: ignore[assignment]
    ToolCall = ToolCall


class _Property(msgspec.Struct, Subscriptable, kw_only=True):
    type: str | list[str] | None = None
    items: Any = None
    description: str | None = None
    enum: list[Any] | None = None


class _Parameters(msgspec.Struct, Subscriptable, kw_only=True):
    type: str | None = "object"
    defs: Any = msgspec.field(default=None, name="$defs")
    items: Any = None
    required: list[str] | None = None
    properties: dict[str, _Property] | None = None
    Property = _Property


class _ToolFunction(msgspec.Struct, Subscriptable, kw_only=True):
    name: str | None = None
    description: str | None = None
    parameters: _Parameters | None = None
    Parameters = _Parameters


class Tool(msgspec.Struct, Subscriptable, kw_only=True):
    """A tool in the official client's shape; keys it does not know are dropped, as there.

    >>> t = Tool(function=Tool.Function(name="add", parameters=Tool.Function.Parameters(
    ...     required=["a"], properties={"a": Tool.Function.Parameters.Property(type="integer")})))
    >>> t["function"]["parameters"]["properties"]["a"]["type"]
    'integer'
    """

    type: str | None = "function"
    function: _ToolFunction | None = None
    Function = _ToolFunction


class Options(NativeOptions, Subscriptable, kw_only=True, omit_defaults=True):
    """Model options: the native :class:`ollama_async.Options` plus the official client's
    other names (``numa``, ``mirostat``, ``tfs_z``, …); unset ones are left out.

    >>> Options(temperature=0.2, num_ctx=4096, mirostat=1)["mirostat"]
    1
    """

    numa: bool | None = None
    low_vram: bool | None = None
    f16_kv: bool | None = None
    logits_all: bool | None = None
    vocab_only: bool | None = None
    use_mlock: bool | None = None
    embedding_only: bool | None = None
    tfs_z: float | None = None
    mirostat: int | None = None
    mirostat_tau: float | None = None
    mirostat_eta: float | None = None
    penalize_newline: bool | None = None
