"""Building and checking request bodies (generate, chat, embed), before anything is sent.

The checks are msgspec's: each call's fields are converted into a private Struct whose types
and ``Meta`` ranges are the wire's (``_GenerateFields``, ``_ChatFields``, ``_EmbedFields``),
with errors mapped once by :func:`~ollama_async._hints.invalid_request`; then the built
request is encoded once, so text that JSON cannot carry (a lone surrogate) or a value of no
JSON type is refused here, naming its field, rather than failing while being sent.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypedDict, Union

import msgspec

from ._errors import InvalidRequestError
from ._headers import check_header
from ._hints import check_sendable, convert, did_you_mean, invalid_request
from ._images import is_base64 as _is_base64
from ._images import normalize_images
from ._names import parse_model_name
from ._options import Float, Int, Options, PositiveInt, check_options
from ._types import ChatRequest, GenerateRequest, KeepAlive, Message, ThinkLevel, Tool

__all__ = [
    "ImageInput",
    "MessageInput",
    "RequestFields",
    "build_request",
    "check_model",
    "check_options",
    "embed_body",
    "encode_images",
]

if TYPE_CHECKING:
    from typing import TypeAlias

ImageInput: TypeAlias = Union[bytes, bytearray, str, "os.PathLike[str]"]
MessageInput: TypeAlias = Message | Mapping[str, Any]
FormatInput: TypeAlias = str | Mapping[str, Any] | type


class RequestFields(TypedDict, total=False):
    """Optional fields of a generate or chat request (see the wire reference).

    ``stream`` may be given when it agrees with the method (``True`` for the stream methods,
    ``False`` for ``generate``/``chat``), so a whole request body can be passed as keywords.
    ``headers`` adds HTTP headers to this one request (they win over the client's).
    """

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
    stream: bool
    headers: Mapping[str, str]  # this call's extra HTTP headers, not a body field


# The schemas the fields are converted into: the wire Structs' own fields and types (so they
# stay in step), tightened with Meta ranges, forbidding unknown names. ``Any`` marks a field
# that its own function checks (options, format, images, tools): it needs more than a type.
_KeepAliveIn = str | Int | Float


def _checker(struct: type[msgspec.Struct], changed: Mapping[str, Any], drop: str = "") -> Any:
    spec: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in msgspec.structs.fields(struct):
        if f.name not in drop.split():
            kind = changed.get(f.name, f.type)
            spec.append((f.name, kind) if f.required else (f.name, kind, None))
    name = f"_{struct.__name__}In"
    return msgspec.defstruct(name, spec, kw_only=True, forbid_unknown_fields=True)


_COMMON = {
    "format": Any,
    "options": Any,
    "keep_alive": _KeepAliveIn | None,
    "top_logprobs": Annotated[int, msgspec.Meta(ge=0, le=20)] | None,
}
_GenerateFields = _checker(
    GenerateRequest, {**_COMMON, "context": list[Int] | None, "images": Any}, drop="model"
)
_ChatFields = _checker(ChatRequest, {**_COMMON, "tools": list[Any] | None}, drop="model messages")
_MessageIn = _checker(Message, {"images": Any})


class _MessagesIn(msgspec.Struct):
    # a Struct, not a bare list[...]: msgspec caches a Struct's schema, not a list type's
    messages: list[_MessageIn]  # type: ignore[valid-type]


class _EmbedFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    input: str | list[str] | None = None
    prompt: str | None = None
    truncate: bool | None = None
    dimensions: PositiveInt | None = None
    keep_alive: _KeepAliveIn | None = None
    options: Any = None


_GENERATE_ONLY = frozenset(_GenerateFields.__struct_fields__) - set(_ChatFields.__struct_fields__)
_CHAT_ONLY = frozenset({"tools"})
_KNOWN = frozenset(RequestFields.__annotations__) - {"headers"}
_MESSAGE_FIELDS = frozenset(Message.__struct_fields__)


_TO_STREAM = "for a stream use client.stream(), stream_tokens() or stream_bytes()"


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
    """Check every argument and return the request struct; raises InvalidRequestError.

    >>> build_request("llama3.2", "Hi", None, {"system": "Be brief."}, stream=True).system
    'Be brief.'
    >>> build_request("llama3.2", "Hi", None, {"raw": "yes"}, stream=True)
    Traceback (most recent call last):
    ...
    ollama_async.InvalidRequestError: raw: expected `bool`, got `str`
    """
    check_model(model)
    keys = fields.keys()
    if not _KNOWN.issuperset(keys):
        name = sorted(map(str, keys - _KNOWN))[0]
        raise InvalidRequestError(name, f"unknown request field{did_you_mean(name, _KNOWN)}")
    spec: Any
    if messages is not None:
        if prompt is not None:
            raise InvalidRequestError("prompt", "give either prompt (generate) or messages (chat)")
        if not _GENERATE_ONLY.isdisjoint(keys):
            wrong = sorted(_GENERATE_ONLY.intersection(keys))[0]
            raise InvalidRequestError(wrong, "only a generate request takes this field")
        spec = convert(fields, _ChatFields, "", _KNOWN)
    else:
        if not _CHAT_ONLY.isdisjoint(keys):
            wrong = sorted(_CHAT_ONLY.intersection(keys))[0]
            raise InvalidRequestError(wrong, "only a chat request (messages=…) takes this")
        given = fields if prompt is None else {**fields, "prompt": prompt}
        spec = convert(given, _GenerateFields, "", _KNOWN)
    if spec.stream is not None and spec.stream is not stream:
        raise InvalidRequestError(
            "stream",
            f"stream=True does not fit generate() or chat(), which return one answer; {_TO_STREAM}"
            if spec.stream
            else "stream=False does not fit a stream method: use generate() or chat()",
        )
    # None means "unset" for every field, as it does on the wire (omit_defaults)
    values: dict[str, Any] = {k: v for k in keys if (v := getattr(spec, k)) is not None}
    values["stream"] = stream
    if "options" in values:
        values["options"] = check_options(values["options"])
    if "format" in values:
        values["format"] = format_schema(values["format"])
    request: GenerateRequest | ChatRequest
    if isinstance(spec, _ChatFields) and messages is not None:
        msgs = _messages(messages)
        if "tools" in values:
            values["tools"] = [_tool(t, i) for i, t in enumerate(values["tools"])]
        request = ChatRequest(model=model, messages=msgs, **values)
    else:
        if "images" in values:
            values["images"] = _check_images(values["images"])
        request = GenerateRequest(model=model, prompt=prompt, **values)
    check_sendable(request)
    return request


def embed_body(model: str, **fields: Any) -> dict[str, Any]:
    """The body of ``/api/embed`` (``input=``) or ``/api/embeddings`` (``prompt=``), checked.

    Fields given as ``None`` are left out.

    >>> embed_body("nomic-embed-text", input=["a cat", "a dog"], dimensions=256)
    {'model': 'nomic-embed-text', 'input': ['a cat', 'a dog'], 'dimensions': 256}
    >>> embed_body("nomic-embed-text", input=[1])
    Traceback (most recent call last):
    ...
    ollama_async.InvalidRequestError: input[0]: expected `str`, got `int`
    """
    check_model(model)
    spec = convert(fields, _EmbedFields, "", _EmbedFields.__struct_fields__)
    body: dict[str, Any] = {"model": model}
    for key in fields:
        value = getattr(spec, key)
        if value is not None:
            body[key] = check_options(value) if key == "options" else value
    check_sendable(body)
    return body


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


def _messages(messages: Sequence[MessageInput]) -> list[Message]:
    # One conversion checks every message, in C: Message instances too (their constructor
    # checks nothing, so their attributes are read); Python work per message only where a
    # mapping must become a Message.
    try:
        msgspec.convert({"messages": messages}, _MessagesIn, from_attributes=True)
    except msgspec.ValidationError as exc:
        raise invalid_request(exc, "", _MESSAGE_FIELDS, "message field") from None
    return [m if isinstance(m, Message) else _message(m, i) for i, m in enumerate(messages)]


def _message(m: Mapping[str, Any], index: int) -> Message:
    images = m.get("images")
    msg = msgspec.convert({**m, "images": None} if images is not None else m, Message)
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
    return convert(t, Tool, f"tools[{index}]", ())


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


def call_headers(fields: dict[str, Any]) -> dict[str, str] | None:
    """Take this call's ``headers`` out of ``fields`` (a fresh ``**kwargs`` dict), checked.

    >>> call_headers({"headers": {"X-Request-Id": "42"}, "system": "s"})
    {'X-Request-Id': '42'}
    """
    headers = fields.pop("headers", None)
    if headers is None:
        return None
    if not isinstance(headers, Mapping):
        raise InvalidRequestError("headers", "must be a mapping of header names to values")
    for name, value in headers.items():
        check_header(name, value)
    return dict(headers)
