"""Request bodies exactly as the official client sends them, checked with the native rules.

Each builder returns the JSON body as builtins: unset (``None``) arguments are left out,
the rest go out under the official names and with the official defaults (``"tools": []``
in every chat, ``"insecure": false`` in pull and push, ``"stream"`` always).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from .._images import normalize_images
from .._options import Options as NativeOptions
from .._options import check_options
from .._requests import check_model, format_schema
from .._tools import tool_from_function
from ._base import dump
from ._errors import RequestError
from ._types import Image, Message, Options, Tool

__all__ = ["clean", "encode_images", "format_value", "messages_body", "options_body", "tools_body"]

_NATIVE_OPTIONS = frozenset(NativeOptions.__struct_fields__)
_OFFICIAL_OPTIONS = frozenset(Options.__struct_fields__)
_MESSAGE_KEYS = ("role", "content", "thinking", "images", "tool_name", "tool_calls")
_THINK = ("low", "medium", "high")


def clean(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without its ``None`` values, checked: model name, think, keep_alive."""
    out = {k: v for k, v in body.items() if v is not None}
    if "model" in out:
        check_model(out["model"])
    think = out.get("think")
    if think is not None and not isinstance(think, bool) and think not in _THINK:
        raise RequestError(f"must be a bool or one of {_THINK}", "think")
    keep = out.get("keep_alive")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, str | int | float)):
        raise RequestError("must be a duration string ('5m') or seconds", "keep_alive")
    top = out.get("top_logprobs")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 0):
        raise RequestError("must be a non-negative integer", "top_logprobs")
    return out


def options_body(options: Mapping[str, Any] | Options | NativeOptions | None) -> Any:
    """Options as sent: an ``Options`` without its unset fields, a mapping as given. Keys
    the native ``Options`` knows are checked (type, range, a typo's closest name); the
    official client's extra names (``mirostat``, ``tfs_z``, …) pass as they are."""
    if options is None:
        return None
    if isinstance(options, Options | NativeOptions):
        options = dump(options)
    if not isinstance(options, Mapping):
        raise RequestError("must be an Options or a mapping of names to values", "options")
    known = {k: v for k, v in options.items() if k in _NATIVE_OPTIONS}
    unknown = [k for k in options if k not in _NATIVE_OPTIONS and k not in _OFFICIAL_OPTIONS]
    check_options({**known, **dict.fromkeys(unknown[:1])})  # raises for a typo, with a hint
    return dict(options)


def format_value(fmt: Any) -> Any:
    """``''``, ``'json'``, a JSON Schema dict, or a type whose schema is sent."""
    if fmt is None or fmt == "":
        return fmt
    return format_schema(fmt)


def _image_value(img: Any) -> Any:
    return img.value if isinstance(img, Image) else img


def messages_body(messages: Sequence[Mapping[str, Any] | Message] | None) -> list[Any]:
    """Each message with its empty fields left out (as the official client does)."""
    out: list[dict[str, Any]] = []
    for i, m in enumerate(messages or []):
        if isinstance(m, msgspec.Struct):
            m = {k: getattr(m, k, None) for k in _MESSAGE_KEYS}
        if not isinstance(m, Mapping):
            raise RequestError("must be a Message or a mapping", f"messages[{i}]")
        if not isinstance(m.get("role"), str):
            raise RequestError("needs a role (a str)", f"messages[{i}].role")
        msg: dict[str, Any] = {}
        for key in _MESSAGE_KEYS:
            value = m.get(key)
            if not value:
                continue
            if key == "images":
                value = [_image_value(img) for img in value]
            elif key == "tool_calls":
                value = [_tool_call(call, i) for call in value]
            msg[key] = value
        out.append(msg)
    return out


def _tool_call(call: Any, index: int) -> dict[str, Any]:
    fn = call.get("function") if isinstance(call, Mapping) else getattr(call, "function", None)
    if isinstance(fn, msgspec.Struct):
        fn = {"name": getattr(fn, "name", None), "arguments": getattr(fn, "arguments", None)}
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
        raise RequestError("needs a function with a name", f"messages[{index}].tool_calls")
    return {"function": {"name": fn["name"], "arguments": dict(fn.get("arguments") or {})}}


def tools_body(tools: Sequence[Mapping[str, Any] | Tool | Callable[..., Any]] | None) -> list[Any]:
    """Tools in the official shape: unknown keys dropped; a function's parameters as
    ``{"type", "description"}`` (Optional ones not required)."""
    out = []
    for i, t in enumerate(tools or []):
        if callable(t) and not isinstance(t, Mapping | msgspec.Struct):
            t = _function_tool(t)
        elif isinstance(t, msgspec.Struct):
            t = msgspec.to_builtins(t)
        try:
            tool = msgspec.convert(t, Tool, strict=False)
        except msgspec.ValidationError as exc:
            raise RequestError(str(exc), f"tools[{i}]") from None
        out.append(dump(tool))
    return out


def _function_tool(func: Callable[..., Any]) -> dict[str, Any]:
    tool = tool_from_function(func)
    params = tool.function.parameters
    required = list(params.get("required", []))
    properties: dict[str, Any] = {}
    for name, schema in params.get("properties", {}).items():
        variants = schema.get("anyOf", [schema])
        types = [v.get("type", "string") for v in variants]
        if "null" in types:
            types = [t for t in types if t != "null"]
            if name in required:
                required.remove(name)
        kinds = ", ".join(dict.fromkeys(t if isinstance(t, str) else ", ".join(t) for t in types))
        properties[name] = {"description": schema.get("description", ""), "type": kinds}
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    fn = {"name": tool.function.name, "description": tool.function.description}
    return {"type": "function", "function": {**fn, "parameters": parameters}}


async def encode_images(body: dict[str, Any]) -> None:
    """Turn every image in ``body`` (generate's or each message's) into base64 text."""
    if body.get("images"):
        body["images"] = [_image_value(img) for img in body["images"]]
        await normalize_images(body["images"])
    for m in body.get("messages", ()):
        if m.get("images"):
            await normalize_images(m["images"])
