"""The error tree of ollama_async, shaped by what the caller can do about each failure.

::

    OllamaError                      every error this library raises
    ├── InvalidRequestError          bad input, refused before anything was sent (.field)
    ├── ConfigError                  a config file's key or value was refused (.key)
    ├── ClientClosedError            the client was used after aclose()
    ├── StreamMisuseError            a stream iterated twice, or used after it ended
    ├── OllamaConnectionError        the transport failed
    │   ├── ServerUnreachableError   nothing answered at the URL (is `ollama serve` running?)
    │   ├── TLSError                 the server's certificate failed verification
    │   └── ConnectionLostError      the server closed the connection before the answer was whole
    │       └── IncompleteStreamError  a stream ended without its `done` chunk
    ├── OllamaTimeoutError           also a builtin TimeoutError
    │   ├── ConnectTimeoutError      connecting took longer than `Timeouts.connect`
    │   ├── IdleTimeoutError         no byte arrived for `Timeouts.idle` seconds
    │   └── TotalTimeoutError        the whole request took longer than `Timeouts.total`
    ├── ResponseError                a non-2xx answer (.status, .error)
    │   ├── BadRequestError          400: the server refused the request
    │   ├── NotFoundError            404
    │   │   └── ModelNotFoundError   404 for a model the server does not have (.model)
    │   ├── RateLimitError           429 (.retry_after)
    │   └── ServerError              5xx
    ├── StreamError                  an ``{"error": …}`` line inside a 200 stream
    └── ProtocolError                the server's answer could not be understood
        ├── MalformedLineError       a line that is not valid JSON (.snippet)
        ├── LineTooLongError         a line over `max_line_bytes`
        ├── ResponseTooLargeError    a whole (non-streamed) answer over `max_response_bytes`
        └── InvalidResponseError     valid JSON of the wrong shape (.field)

Every error raised while a stream was under way carries ``partial_text``: the text received
before it, so nothing already generated is lost.
"""

from __future__ import annotations

import re

import msgspec

__all__ = [
    "BadRequestError",
    "ClientClosedError",
    "ConfigError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "IdleTimeoutError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "InvalidResponseError",
    "LineTooLongError",
    "MalformedLineError",
    "ModelNotFoundError",
    "NotFoundError",
    "OllamaConnectionError",
    "OllamaError",
    "OllamaTimeoutError",
    "ProtocolError",
    "RateLimitError",
    "ResponseError",
    "ResponseTooLargeError",
    "ServerError",
    "ServerUnreachableError",
    "StreamError",
    "StreamMisuseError",
    "TLSError",
    "TotalTimeoutError",
]

SNIPPET_CHARS = 200


def snippet(data: bytes | str, limit: int = SNIPPET_CHARS) -> str:
    """A short, printable excerpt of a body or line for an error message."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    if len(text) > limit:
        text = text[:limit] + "…"
    return text


class OllamaError(Exception):
    """Base class of every error ollama_async raises.

    ``partial_text`` holds the text a stream had yielded before the error (empty otherwise).
    """

    partial_text: str = ""


class InvalidRequestError(OllamaError, ValueError):
    """The request was refused before anything was sent; ``field`` names what was wrong.

    Example::

        try:
            await client.generate("", "hi")
        except InvalidRequestError as e:
            print(e.field)  # "model"
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ConfigError(OllamaError, ValueError):
    """A config value or key was refused; ``key`` names it (``server.timeout_idle``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class StreamMisuseError(OllamaError, RuntimeError):
    """A stream was iterated a second time, or opened again after it ended.

    A stream is one HTTP response: read it once, in one ``async for``.
    """


class ClientClosedError(OllamaError, RuntimeError):
    """The client was used after ``aclose()``; open a new ``Client``."""


class OllamaConnectionError(OllamaError, ConnectionError):
    """The connection to the server failed (base of the transport errors)."""


class ServerUnreachableError(OllamaConnectionError):
    """Nothing answered at the server URL: it is not running, or the URL is wrong."""

    def __init__(self, url: str, reason: str = "") -> None:
        detail = f" ({reason})" if reason else ""
        super().__init__(
            f"could not connect to Ollama at {url}{detail}; is the server running? "
            "Start it with `ollama serve`, or set OLLAMA_HOST to where it listens."
        )
        self.url = url


class TLSError(OllamaConnectionError):
    """The TLS handshake failed, usually because the certificate could not be verified.

    Verification is on by default; to trust a private CA, pass ``Client(ssl=context)``
    with an ``ssl.SSLContext`` that loads it.
    """


class ConnectionLostError(OllamaConnectionError):
    """The server closed the connection before its answer was complete."""


class IncompleteStreamError(ConnectionLostError):
    """A stream ended before a chunk with ``done: true``; ``partial_text`` keeps what came."""

    def __init__(self, message: str, partial_text: str = "", chunks: int = 0) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.chunks = chunks


class OllamaTimeoutError(OllamaError, TimeoutError):
    """A configured time limit ran out (base of the three timeout errors)."""


class ConnectTimeoutError(OllamaTimeoutError):
    """Connecting to the server took longer than ``Timeouts.connect``."""


class IdleTimeoutError(OllamaTimeoutError):
    """No byte arrived for ``Timeouts.idle`` seconds (before the first byte or between two)."""


class TotalTimeoutError(OllamaTimeoutError):
    """The whole request took longer than ``Timeouts.total``."""


class ResponseError(OllamaError):
    """The server answered with a non-2xx status; ``error`` is its message."""

    def __init__(self, status: int, error: str, *, url: str = "") -> None:
        where = f" from {url}" if url else ""
        super().__init__(f"HTTP {status}{where}: {error}")
        self.status = status
        self.error = error
        self.url = url

    @property
    def status_code(self) -> int:
        """``status`` under the official client's name (``except ResponseError as e:
        e.status_code`` keeps working after the switch)."""
        return self.status


class BadRequestError(ResponseError):
    """400: the server refused the request (bad JSON, unsupported capability, …)."""


class NotFoundError(ResponseError):
    """404: an unknown route or resource."""


class ModelNotFoundError(NotFoundError):
    """404 for a model the server does not have; pull it first (``model`` names it)."""

    def __init__(self, status: int, error: str, *, url: str = "", model: str = "") -> None:
        super().__init__(status, error, url=url)
        self.model = model


class RateLimitError(ResponseError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(
        self, status: int, error: str, *, url: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(status, error, url=url)
        self.retry_after = retry_after


class ServerError(ResponseError):
    """5xx: the server (or a proxy in front of it) failed."""


class StreamError(OllamaError):
    """The server sent an ``{"error": …}`` line inside a stream that had started (status 200)."""

    def __init__(self, error: str, partial_text: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.partial_text = partial_text


class ProtocolError(OllamaError):
    """The server's answer could not be understood."""


class MalformedLineError(ProtocolError):
    """A line of the stream is not valid JSON (or not valid UTF-8); ``snippet`` shows it."""

    def __init__(self, line: bytes, reason: str) -> None:
        self.snippet = snippet(line)
        super().__init__(f"malformed line from the server ({reason}): {self.snippet!r}")


class LineTooLongError(ProtocolError):
    """A line exceeded ``max_line_bytes``; reading stopped without buffering more."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a line from the server exceeds max_line_bytes={limit}")
        self.limit = limit


class ResponseTooLargeError(ProtocolError):
    """A whole answer exceeded ``max_response_bytes``; reading stopped there."""

    def __init__(self, limit: int, url: str = "") -> None:
        super().__init__(f"the answer from {url} exceeds max_response_bytes={limit}")
        self.limit = limit


class InvalidResponseError(ProtocolError):
    """Valid JSON whose shape is wrong; ``field`` names the offending field (``$.eval_count``)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


_MODEL_NOT_FOUND = re.compile(r"model ['\"]([^'\"]+)['\"] not found")


def error_for_status(
    status: int,
    body: bytes,
    content_type: str,
    *,
    url: str = "",
    model: str = "",
    retry_after: float | None = None,
) -> ResponseError:
    """Map a non-2xx answer to the matching error, taking the server's message from the body.

    Ollama answers ``{"error": "…"}``; its ``/v1`` routes ``{"error": {"message": …}}``;
    unknown routes plain text; proxies HTML. Each becomes a readable ``error`` string.
    """
    message = _error_text(body, content_type)
    if status == 404:
        found = _MODEL_NOT_FOUND.search(message)
        if found or (model and "not found" in message and "page not found" not in message):
            return ModelNotFoundError(
                status, message, url=url, model=found.group(1) if found else model
            )
        return NotFoundError(status, message, url=url)
    if status == 429:
        return RateLimitError(status, message, url=url, retry_after=retry_after)
    if status >= 500:
        return ServerError(status, message, url=url)
    if status == 400:
        return BadRequestError(status, message, url=url)
    return ResponseError(status, message, url=url)


DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError)
"""What a msgspec decode of server bytes can raise (deep nesting included); every decode of
server bytes in the package catches this tuple and maps it with :func:`decode_error`."""


def decode_error(exc: BaseException, data: bytes | bytearray | memoryview) -> ProtocolError:
    """Map a failed decode of ``data`` (a line or a whole body) to the library's typed error."""
    line = bytes(data)
    if isinstance(exc, msgspec.ValidationError):
        message = str(exc)
        field = message.rpartition(" - at `")[2].rstrip("`") if " - at `" in message else ""
        return InvalidResponseError(
            f"unexpected response shape: {message} in line {snippet(line)!r}", field=field
        )
    if isinstance(exc, UnicodeDecodeError):
        return MalformedLineError(line, "not valid UTF-8")
    if isinstance(exc, RecursionError):
        return MalformedLineError(line, "JSON nested too deeply")
    return MalformedLineError(line, f"not valid JSON: {exc}")


def _error_text(body: bytes, content_type: str) -> str:
    if "json" in content_type or body[:1] == b"{":
        try:
            decoded = msgspec.json.decode(body)
        except DECODE_ERRORS:
            decoded = None
        if isinstance(decoded, dict):
            err = decoded.get("error")
            if isinstance(err, str):
                return err
            if isinstance(err, dict) and isinstance(err.get("message"), str):
                return str(err["message"])
    text = snippet(body)
    return text or "(empty body)"
