"""Credentials in a host URL (``http://user:secret@host``): split off, sent only as Basic
auth, and scrubbed from every text that shows a URL.

No aiohttp here: :func:`authorization` returns the header value itself (UTF-8, as RFC 7617
allows), because ``aiohttp.BasicAuth`` encodes Latin-1 and refuses a URL that carries
credentials next to an ``Authorization`` header with a raw ``ValueError``.
"""

from __future__ import annotations

import base64
import contextlib
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from ._errors import InvalidRequestError

__all__ = ["Credentials", "authorization", "scrub", "scrub_exception", "split_credentials"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# scheme://userinfo@ : userinfo runs to the last "@" before the authority ends, as
# urllib.parse.urlsplit reads it, so a raw "@" in a password is scrubbed with the rest.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#]*@")
# An Authorization value quoted in a repr (aiohttp's RequestInfo shows the headers).
_AUTH_VALUE = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~\-]+")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password taken from a URL (percent-decoded); the password never
    shows in ``repr``.

    >>> Credentials("alice", "s3cret")
    Credentials(username='alice')
    """

    username: str
    password: str = field(default="", repr=False)

    def header(self) -> str:
        """The ``Authorization`` value: ``Basic`` and base64 of ``user:password`` in UTF-8.

        >>> Credentials("Aladdin", "open sesame").header()
        'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='
        """
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        """The password as it may appear in a text: decoded and percent-encoded."""
        if not self.password:
            return ()
        return tuple(dict.fromkeys([self.password, quote(self.password, safe="")]))


def _authority_bounds(url: str) -> tuple[int, int]:
    start = url.find("://")
    start = 0 if start == -1 else start + 3
    end = len(url)
    for sep in "/?#":
        found = url.find(sep, start)
        if found != -1:
            end = min(end, found)
    return start, end


def _decode(part: str, what: str) -> str:
    try:
        text = unquote_to_bytes(part).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError(
            "host", f"the {what} in the URL is not valid UTF-8 once percent-decoded"
        ) from None
    if _CONTROL.search(text):
        raise InvalidRequestError("host", f"the {what} in the URL holds a control character")
    return text


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """Split ``url`` (with or without a scheme) into the URL without its userinfo and the
    credentials it held, percent-decoded; the rest of the URL is left exactly as it was.

    Errors never echo the URL. A ``/``, ``?``, ``#`` or ``@`` in a password must be
    percent-encoded (``%2F``, ``%3F``, ``%23``, ``%40``); a raw ``@`` is read as
    ``urlsplit`` reads it (the last ``@`` ends the userinfo), and an ``@`` after the
    authority is refused, since it most likely means a raw ``/`` in a password.

    >>> split_credentials("http://alice:p%40ss@[::1]:11434/api")
    ('http://[::1]:11434/api', Credentials(username='alice'))
    >>> split_credentials("alice:pw@example.com:8080")
    ('example.com:8080', Credentials(username='alice'))
    >>> split_credentials("http://127.0.0.1:11434")
    ('http://127.0.0.1:11434', None)
    """
    start, end = _authority_bounds(url)
    at = url.rfind("@", start, end)
    if "@" in url[end:]:
        raise InvalidRequestError(
            "host",
            "'@' after the host: percent-encode '/', '?', '#' and '@' in URL credentials",
        )
    if at == -1:
        return url, None
    userinfo = url[start:at]
    bare = url[:start] + url[at + 1 :]
    if not userinfo:
        return bare, None
    user, _, password = userinfo.partition(":")
    username, secret = _decode(user, "user name"), _decode(password, "password")
    if ":" in username:
        raise InvalidRequestError("host", "a user name for Basic auth cannot hold ':'")
    return bare, Credentials(username, secret)


def authorization(
    credentials: Credentials | None,
    *,
    api_key: str | None = None,
    header: str | None = None,
    env_api_key: str | None = None,
) -> str | None:
    """The ``Authorization`` header value to send, or None for none.

    Precedence, most specific first: an explicit ``Authorization`` in ``headers=``
    (``header``), the credentials in the host URL, the ``api_key=`` argument, then the
    ``OLLAMA_API_KEY`` environment variable (``env_api_key``). The environment variable
    is only a fallback: it is ignored whenever any explicit source is given. Two explicit
    sources that would send different values conflict, and raise
    :class:`InvalidRequestError` naming both (never their values) before anything is sent.
    ``api_key=""`` means "no key" and also switches the environment variable off.

    >>> authorization(None, api_key="k")
    'Bearer k'
    >>> authorization(Credentials("u", "p"), env_api_key="from-env")
    'Basic dTpw'
    >>> authorization(Credentials("u", "p"), api_key="k")
    Traceback (most recent call last):
    ...
    ollama_async.InvalidRequestError: api_key: conflicts with the credentials in the host URL; give one of them
    """  # noqa: E501
    sources: list[tuple[str, str, str]] = []  # (field, description, value)
    if header is not None:
        sources.append(("headers", "headers['Authorization']", header))
    if credentials is not None:
        sources.append(("host", "the credentials in the host URL", credentials.header()))
    if api_key:
        sources.append(("api_key", "api_key", f"Bearer {api_key}"))
    if not sources:
        return f"Bearer {env_api_key}" if env_api_key and api_key is None else None
    _, first_name, first = sources[0]
    for field_name, _, value in sources[1:]:
        if value != first:
            raise InvalidRequestError(field_name, f"conflicts with {first_name}; give one of them")
    return first


def scrub(text: str, *secrets: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it removed, every ``Basic …`` or
    ``Bearer …`` value and every one of ``secrets`` (such as :meth:`Credentials.secrets`)
    replaced by ``***``: for exception messages and reprs that may quote a URL or the
    headers (aiohttp's request info does both).

    >>> scrub("cannot reach http://bob:hunter2@10.0.0.1:11434/api/chat")
    'cannot reach http://10.0.0.1:11434/api/chat'
    >>> scrub("URL('https://u:p%40ss@h/x') said hunter2", "hunter2")
    "URL('https://h/x') said ***"
    >>> scrub("<CIMultiDictProxy('Authorization': 'Basic dTpw')>")
    "<CIMultiDictProxy('Authorization': 'Basic ***')>"
    """
    text = _AUTH_VALUE.sub(r"\1 ***", _USERINFO.sub(r"\1", text))
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def scrub_exception(exc: BaseException, *secrets: str) -> BaseException:
    """Clean ``exc`` and its causes in place so that their ``str`` and ``repr`` show no
    credentials, and return it: string ``args`` and ``message`` go through :func:`scrub`,
    and an aiohttp-style ``request_info`` gets its headers replaced by a read-only copy with
    ``Authorization`` (and ``Proxy-Authorization``, ``Cookie``) shown as ``***``.

    Example::

        except aiohttp.ClientError as exc:
            raise mapped_error from scrub_exception(exc, *credentials.secrets())
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        _scrub_one(current, secrets)
        current = current.__cause__ or current.__context__
    return exc


def _scrub_one(exc: BaseException, secrets: tuple[str, ...]) -> None:
    info: Any = getattr(exc, "request_info", None)
    clean_info = info
    if info is not None and hasattr(info, "_replace") and hasattr(info, "headers"):
        headers = {
            str(k): "***" if str(k).lower() in _SECRET_HEADERS else scrub(str(v), *secrets)
            for k, v in info.headers.items()
        }
        clean_info = info._replace(headers=MappingProxyType(headers))
        with contextlib.suppress(AttributeError, TypeError):
            exc.request_info = clean_info  # type: ignore[attr-defined]
    exc.args = tuple(
        clean_info if a is info and info is not None
        else scrub(a, *secrets) if isinstance(a, str) else a
        for a in exc.args
    )  # fmt: skip
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        with contextlib.suppress(AttributeError, TypeError):
            exc.message = scrub(message, *secrets)  # type: ignore[attr-defined]
