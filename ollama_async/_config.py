"""Where the server is and how long to wait for it: host parsing, timeouts, retry policy."""

from __future__ import annotations

import ipaddress
import os
import random
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._errors import InvalidRequestError

__all__ = ["DEFAULT_HOST", "RetryPolicy", "Timeouts", "parse_host", "resolve_host"]

DEFAULT_HOST = "http://127.0.0.1:11434"
_DEFAULT_PORT = 11434


def parse_host(value: str | None) -> str:
    """Turn an ``OLLAMA_HOST``-style value into a base URL, as the official clients read it.

    >>> parse_host("")
    'http://127.0.0.1:11434'
    >>> parse_host("1.2.3.4")
    'http://1.2.3.4:11434'
    >>> parse_host(":56789")
    'http://127.0.0.1:56789'
    >>> parse_host("example.com:56789/path/")
    'http://example.com:56789/path'
    >>> parse_host("https://example.com")
    'https://example.com:443'
    >>> parse_host("http://example.com")
    'http://example.com:80'
    >>> parse_host("[::1]:56789")
    'http://[::1]:56789'
    >>> parse_host("https://[::1]/api/")
    'https://[::1]:443/api'
    """
    value = (value or "").strip()
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest, port = "http", value, _DEFAULT_PORT
    else:
        scheme = scheme.lower()
        port = {"http": 80, "https": 443}.get(scheme, _DEFAULT_PORT)
    parts = urlsplit(f"{scheme}://{rest}")
    host = parts.hostname or "127.0.0.1"
    try:
        explicit_port = parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise InvalidRequestError("host", "the port must be a number from 0 to 65535") from exc
    port = explicit_port or port
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    path = parts.path.strip("/")
    base = f"{scheme}://{host}:{port}"
    return f"{base}/{path}" if path else base


def resolve_host(host: str | None) -> str:
    """The base URL to use: the argument, else ``OLLAMA_HOST``, else the default.

    An argument that already is a full URL (with a scheme) is kept as it is, minus a
    trailing slash; anything else is read as ``OLLAMA_HOST`` would be.
    """
    if host:
        if "://" in host:
            parse_host(host)  # the same checks (a bad port is refused), the URL kept as given
            return host.rstrip("/")
        return parse_host(host)
    return parse_host(os.environ.get("OLLAMA_HOST"))


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Time limits in seconds; ``None`` means no limit.

    ``idle`` is the longest wait for the next byte, before the first one (the model may be
    loading) and between two chunks. There is no ``total`` limit by default: a long generation
    that keeps producing tokens must not be killed half-way.

    >>> Timeouts(connect=5, idle=60, total=None)
    Timeouts(connect=5, idle=60, total=None)
    """

    connect: float | None = 10.0
    idle: float | None = 300.0
    total: float | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often a request is tried again.

    Only failures that happen before the first byte of the body are retried: a connection
    that could not be made, and the statuses in ``statuses`` (default 429, 502, 503). A
    stream whose body has started is never retried. The wait doubles from ``backoff`` up to
    ``max_backoff`` with full jitter, and a ``Retry-After`` header (capped at
    ``max_retry_after``) takes precedence.

    >>> RetryPolicy(retries=0)  # never retry
    RetryPolicy(retries=0, backoff=0.5, max_backoff=8.0, statuses=frozenset({429, 502, 503}), max_retry_after=60.0)
    """  # noqa: E501

    retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    statuses: frozenset[int] = frozenset({429, 502, 503})
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` counts from 0)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return random.uniform(0.0, ceiling)


def parse_retry_after(
    value: str | None, *, cap: float = 86400.0, now: float | None = None
) -> float | None:
    """Seconds from a ``Retry-After`` header, always finite and within ``[0, cap]``, else None.

    Two forms are read (RFC 9110): delta-seconds (ASCII digits; a decimal fraction is
    accepted) and an HTTP date. A number above ``cap`` (default one day), however long,
    and a date further ahead than ``cap`` give ``cap``; a date in the past gives 0. Anything
    else gives None, so the retry loop falls back to its own backoff: ``nan``, ``inf``,
    negative or signed numbers, exponents, non-ASCII digits, garbage. The retry loop caps its
    sleep again at ``RetryPolicy.max_retry_after``; ``RateLimitError.retry_after`` keeps the
    server's hint up to ``cap``. ``now`` (epoch seconds) is a seam for tests.

    >>> parse_retry_after("120"), parse_retry_after("nan"), parse_retry_after("-5")
    (120.0, None, None)
    >>> parse_retry_after("9" * 400), parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT")
    (86400.0, 0.0)
    """
    import math  # local imports keep this function's change self-contained
    import re
    import time
    from datetime import timezone
    from email.utils import parsedate_to_datetime

    if not (math.isfinite(cap) and cap >= 0):
        raise ValueError("cap must be a finite number of seconds >= 0")
    text = (value or "").strip()
    if not text:
        return None
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):  # ASCII: float() also reads "١٢", "1_0"
        seconds = float(text)  # digits only: never nan or negative, inf at most
        return min(seconds, cap)
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:  # "-0000" zone: UTC by RFC 5322
            when = when.replace(tzinfo=timezone.utc)
        delta = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, OverflowError, IndexError, OSError):
        return None
    if not math.isfinite(delta):
        return None
    return min(max(delta, 0.0), cap)
