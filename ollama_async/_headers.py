"""Header checks: nothing that could split or smuggle a request is ever sent."""

from __future__ import annotations

from ._errors import InvalidRequestError

__all__ = ["check_header", "set_header"]

_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def check_header(name: str, value: str) -> None:
    """Refuse header names and values that could split or smuggle a request.

    A name must be an HTTP token (RFC 9110: no space, colon or control character); a value
    must not hold CR, LF or NUL.
    """
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        raise InvalidRequestError(
            f"headers[{name!r}]", "the value must be a str without CR, LF or NUL"
        )
    if not isinstance(name, str) or not name or not set(name) <= _TOKEN_CHARS:
        raise InvalidRequestError(
            f"headers[{name!r}]", "the name must be an HTTP token (no space, colon or control)"
        )


def set_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set ``name`` in ``headers``, dropping a header of the same name in another case:
    names are case-insensitive, and one header per name goes out.

    >>> h = {"Content-Type": "a"}
    >>> set_header(h, "content-type", "b")
    >>> h
    {'content-type': 'b'}
    """
    for same in [k for k in headers if k.lower() == name.lower()]:
        del headers[same]
    headers[name] = value
