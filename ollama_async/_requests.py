"""Building and checking generate/chat request bodies, before anything is sent."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Union

import msgspec

from ._errors import InvalidRequestError
from ._images import is_base64 as _is_base64
from ._images import normalize_images
from ._names import parse_model_name
from ._options import Options, check_options
from ._types import ChatRequest, GenerateRequest, KeepAlive, Message, ThinkLevel, Tool

__all__ = [
    "ImageInput",
    "MessageInput",
    "RequestFields",
    "build_request",
    "check_model",
    "check_options",
    "encode_images",
]

if TYPE_CHECKING:
    from typing import TypeAlias

ImageInput: TypeAlias = Union[bytes, bytearray, str, "os.PathLike[str]"]
MessageInput: TypeAlias = Message | Mapping[str, Any]
FormatInput: TypeAlias = str | Mapping[str, Any] | type


class RequestFields(TypedDict, total=False):
    """Optional fields of a generate or chat request (see the wire reference)."""

    suffix: str
    system: str
    template: str
    context: list[int]
    raw: bool
    format: FormatInput
    keep_alive: KeepAlive
    images: Sequence[ImageInput]
    options: Mapping[str, Any] | Options
    think: bool | ThinkLevel
    truncate: bool
    shift: bool
    logprobs: bool
    top_logprobs: int
    tools: Sequence[Tool | Mapping[str, Any] | Callable[..., Any]]


_GENERATE_ONLY = frozenset({"suffix", "system", "template", "context", "raw", "images"})
_CHAT_ONLY = frozenset({"tools"})
_KNOWN = frozenset(RequestFields.__annotations__)
_THINK_LEVELS = ("low", "medium", "high")


def check_model(model: object, field: str = "model") -> str:
    """A model name must follow Ollama's rules (see ``parse_model_name``): no whitespace,
    control characters, ``..`` or empty parts. Cached, so cheap on every request."""
    if not isinstance(model, str) or not model:
        raise InvalidRequestError(field, "a model name is required (for example 'llama3.2')")
    try:
        parse_model_name(model)
    except InvalidRequestError as exc:
        raise InvalidRequestError(field, str(exc).partition(": ")[2]) from None
    return model


def build_request(
    model: str,
    prompt: str | None,
    messages: Sequence[MessageInput] | None,
    fields: Mapping[str, Any],
    stream: bool,
) -> GenerateRequest | ChatRequest:
    """Check every argument and return the request struct; raises InvalidRequestError."""
    check_model(model)
    unknown = set(fields) - _KNOWN
    if unknown:
        import difflib

        name = sorted(unknown)[0]
        close = difflib.get_close_matches(name, _KNOWN, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidRequestError(name, f"unknown request field{hint}")
    common: dict[str, Any] = {"model": model, "stream": stream}
    for key in ("keep_alive", "truncate", "shift", "logprobs", "top_logprobs", "think"):
        if key in fields:
            common[key] = fields[key]
    _check_common(common)
    if "options" in fields:
        common["options"] = check_options(fields["options"])
    if "format" in fields:
        common["format"] = format_schema(fields["format"])
    if messages is not None:
        if prompt is not None:
            raise InvalidRequestError("prompt", "give either prompt (generate) or messages (chat)")
        wrong = _GENERATE_ONLY & set(fields)
        if wrong:
            raise InvalidRequestError(sorted(wrong)[0], "only a generate request takes this field")
        msgs = [_message(m, i) for i, m in enumerate(messages)]
        tools = [_tool(t, i) for i, t in enumerate(fields["tools"])] if "tools" in fields else None
        return ChatRequest(messages=msgs, tools=tools, **common)
    wrong = _CHAT_ONLY & set(fields)
    if wrong:
        raise InvalidRequestError(sorted(wrong)[0], "only a chat request (messages=…) takes this")
    if prompt is not None and not isinstance(prompt, str):
        raise InvalidRequestError("prompt", f"must be a str, not {type(prompt).__name__}")
    extra = {
        k: fields[k] for k in ("suffix", "system", "template", "context", "raw") if k in fields
    }
    if "images" in fields:
        extra["images"] = _check_images(fields["images"])
    return GenerateRequest(prompt=prompt, **common, **extra)


def _check_common(common: dict[str, Any]) -> None:
    think = common.get("think")
    if think is not None and not isinstance(think, bool) and think not in _THINK_LEVELS:
        raise InvalidRequestError("think", f"must be a bool or one of {_THINK_LEVELS}")
    top = common.get("top_logprobs")
    if top is not None and (
        isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 20
    ):
        raise InvalidRequestError("top_logprobs", "must be an integer from 0 to 20")
    keep = common.get("keep_alive")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, str | int | float)):
        raise InvalidRequestError("keep_alive", "must be a duration string ('5m') or seconds")


def format_schema(fmt: Any) -> str | dict[str, Any]:
    """``"json"``, a JSON Schema dict, or a type (e.g. a msgspec Struct) whose schema is sent."""
    if isinstance(fmt, str):
        if fmt != "json":
            raise InvalidRequestError("format", "must be 'json', a JSON Schema dict, or a type")
        return fmt
    if isinstance(fmt, Mapping):
        return dict(fmt)
    if isinstance(fmt, type):
        try:
            schema = msgspec.json.schema(fmt)
        except TypeError as exc:
            raise InvalidRequestError("format", f"no JSON Schema for {fmt!r}: {exc}") from None
        return _inline_root(schema)
    raise InvalidRequestError("format", "must be 'json', a JSON Schema dict, or a type")


def _inline_root(schema: dict[str, Any]) -> dict[str, Any]:
    """msgspec puts a Struct's schema under ``$defs`` behind a top-level ``$ref``; grammar
    builders want the object itself at the top, so it is lifted there (nested ``$ref``s
    keep their ``$defs``)."""
    ref = schema.get("$ref")
    defs = schema.get("$defs", {})
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return schema
    root = dict(defs[ref.rsplit("/", 1)[1]])
    others = {k: v for k, v in defs.items() if f"#/$defs/{k}" != ref}
    if others or "#/$defs/" in str(root):
        root["$defs"] = defs
    return root


def _message(m: MessageInput, index: int) -> Message:
    if isinstance(m, Message):
        return m
    if not isinstance(m, Mapping):
        raise InvalidRequestError(f"messages[{index}]", "must be a Message or a mapping")
    images = m.get("images")
    if images is not None:
        m = {**m, "images": []}
    try:
        msg = msgspec.convert(m, Message)
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(f"messages[{index}]", str(exc)) from None
    if images is not None:
        try:
            msg.images = _check_images(images)
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"messages[{index}].{exc.field}", str(exc)) from None
    return msg


def _tool(t: Tool | Mapping[str, Any] | Callable[..., Any], index: int) -> Tool:
    if isinstance(t, Tool):
        return t
    if callable(t) and not isinstance(t, Mapping):
        from ._tools import tool_from_function

        return tool_from_function(t)
    try:
        return msgspec.convert(t, Tool)
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(f"tools[{index}]", str(exc)) from None


def _check_images(images: Any) -> list[Any]:
    if isinstance(images, str | bytes) or not isinstance(images, Sequence):
        raise InvalidRequestError("images", "must be a list of images (bytes or file paths)")
    out: list[Any] = []
    for i, img in enumerate(images):
        if isinstance(img, bytes | bytearray):
            out.append(base64.b64encode(img).decode("ascii"))
        elif isinstance(img, os.PathLike):
            out.append(img)
        elif isinstance(img, str):
            if os.path.isfile(img):
                out.append(_Path(img))
            elif _is_base64(img):
                out.append(img)
            else:
                raise InvalidRequestError(
                    f"images[{i}]", "is neither a readable file nor base64-encoded image data"
                )
        else:
            raise InvalidRequestError(f"images[{i}]", "must be bytes, base64 text or a file path")
    return out


class _Path(str):
    """A str image that names a file to read (rather than base64 data)."""

    __slots__ = ()


async def encode_images(request: GenerateRequest | ChatRequest) -> None:
    """Read image files named in the request (off the event loop) and base64 them."""
    lists: list[list[Any]] = []
    if isinstance(request, GenerateRequest):
        if request.images:
            lists.append(request.images)
    else:
        lists.extend(m.images for m in request.messages if m.images)
    for images in lists:
        await normalize_images(images)  # also a Message built by hand: paths, bytes, base64
