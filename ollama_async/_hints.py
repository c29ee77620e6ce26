"""One "did you mean" hint, one mapping of msgspec's validation errors to ours, and one
check that a request can be sent as JSON.

Options, request fields, messages and the config file all refuse unknown names the same way,
so a misspelt name gets the same suggestion everywhere.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from ._errors import InvalidRequestError

__all__ = ["check_sendable", "convert", "did_you_mean", "invalid_request"]

T = TypeVar("T")

_UNKNOWN = "Object contains unknown field `"


def did_you_mean(name: object, choices: Iterable[str]) -> str:
    """The hint to append to an "unknown name" message: the closest choice, or ``""``.

    >>> did_you_mean("temprature", ["temperature", "top_k"])
    "; did you mean 'temperature'?"
    >>> did_you_mean("zzz", ["temperature"])
    ''
    """
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def invalid_request(
    exc: msgspec.ValidationError, prefix: str, known: Iterable[str], what: str = "field"
) -> InvalidRequestError:
    """Our error for one of msgspec's: ``field`` is ``prefix`` plus msgspec's path.

    An unknown name gets the hint from :func:`did_you_mean` among ``known``.
    The message never repeats the value (it may be a prompt).

    >>> import msgspec
    >>> class T(msgspec.Struct, forbid_unknown_fields=True):
    ...     top_k: int = 0
    >>> try:
    ...     msgspec.convert({"top_k": "x"}, T)
    ... except msgspec.ValidationError as e:
    ...     print(invalid_request(e, "options", ["top_k"]))
    options.top_k: expected `int`, got `str`
    """
    text = str(exc)
    message, sep, at = text.rpartition(" - at `")
    if not sep:
        message, at = text, "$`"
    if at.startswith("$"):
        path = at[1:-1]  # "$.stop[1]`" -> ".stop[1]"
    else:  # "key` in `$.x`": a mapping key that is not a str
        message, path = "names must be str", at.partition("`$")[2][:-1]
    where = f"{prefix}{path}".removeprefix(".")
    if message.startswith(_UNKNOWN) and message.endswith("`"):
        name = message[len(_UNKNOWN) : -1]
        hint = did_you_mean(name, known)
        return InvalidRequestError(f"{where}.{name}".removeprefix("."), f"unknown {what}{hint}")
    message = message.replace(" | null`", "`")  # None means "unset": not worth a mention
    return InvalidRequestError(where or "request", message[:1].lower() + message[1:])


def convert(
    value: Any, type_: type[T], prefix: str, known: Iterable[str], what: str = "field"
) -> T:
    """``msgspec.convert`` with its error mapped by :func:`invalid_request`."""
    try:
        return msgspec.convert(value, type_)
    except msgspec.ValidationError as exc:
        raise invalid_request(exc, prefix, known, what) from None


def _sendable(value: Any) -> Any:
    if isinstance(value, str | os.PathLike):  # an image path (or _Path): read, never sent
        return ""
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")


_probe = msgspec.json.Encoder(enc_hook=_sendable).encode


def check_sendable(request: msgspec.Struct | Mapping[str, Any]) -> None:
    """Encode once as a probe: refuse text JSON cannot carry (a lone surrogate) and values
    of no JSON type, naming the field. Image paths pass: they are read, not sent.

    >>> check_sendable({"model": "m", "prompt": "bad \\ud800"})
    Traceback (most recent call last):
    ...
    ollama_async.InvalidRequestError: prompt: is not valid text (a lone surrogate at index 4)
    """
    try:
        _probe(request)
    except (UnicodeEncodeError, TypeError, ValueError, OverflowError) as exc:
        _find_unsendable(request, "")
        raise InvalidRequestError("request", f"cannot be sent as JSON: {exc}") from None


def _find_unsendable(value: Any, path: str) -> None:
    where = path or "request"
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _find_unsendable(getattr(value, name), f"{path}.{name}".removeprefix("."))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _find_unsendable(key, f"{where} (a key)")
            _find_unsendable(item, f"{path}.{key}".removeprefix("."))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _find_unsendable(item, f"{path}[{i}]")
    elif type(value) is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            at = f"a lone surrogate at index {exc.start}"
            raise InvalidRequestError(where, f"is not valid text ({at})") from None
    else:
        try:
            _probe(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidRequestError(where, f"cannot be sent as JSON: {exc}") from None
