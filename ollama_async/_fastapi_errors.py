"""Ollama failures as HTTP answers, for :mod:`ollama_async.fastapi` (which re-exports them)."""

from __future__ import annotations

import logging
import math

from fastapi import HTTPException, Request
from starlette.responses import JSONResponse, Response

from ._errors import (
    ClientClosedError,
    ConnectionLostError,
    InvalidRequestError,
    ModelNotFoundError,
    OllamaError,
    OllamaTimeoutError,
    ProtocolError,
    RateLimitError,
    ResponseError,
    ServerUnreachableError,
    StreamError,
)

__all__ = [
    "OllamaHTTPException",
    "error_record",
    "http_exception",
    "ollama_exception_handler",
    "public_message",
    "status_for",
]

log = logging.getLogger("ollama_async.fastapi")


class OllamaHTTPException(HTTPException):
    """An Ollama failure as the HTTP error your app answers; ``error`` is the original
    :class:`OllamaError`. The ``detail`` is safe to show (it never holds Ollama's URL).

    Handlers for ``HTTPException`` see it; register one for this class to reshape it::

        @app.exception_handler(OllamaHTTPException)
        async def ollama_failed(request, exc):
            return JSONResponse({"message": exc.detail}, exc.status_code)
    """

    def __init__(self, error: OllamaError) -> None:
        headers = None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            headers = {"Retry-After": str(math.ceil(error.retry_after))}
        super().__init__(status_for(error), public_message(error), headers)
        self.error = error


def status_for(error: OllamaError) -> int:
    """The status an app answers for an Ollama failure.

    Ollama's own answer keeps its status (404 for a missing model, 400, 429, 5xx); a timeout is
    504 Gateway Timeout; a closed client 503; anything else the transport saw (nothing
    listening, a cut connection, an unreadable answer) 502 Bad Gateway.

    >>> status_for(ModelNotFoundError(404, "model 'x' not found", model="x"))
    404
    >>> status_for(ServerUnreachableError("http://10.0.0.5:11434"))
    502
    """
    if isinstance(error, ResponseError):
        return error.status
    if isinstance(error, OllamaTimeoutError):
        return 504
    if isinstance(error, InvalidRequestError):
        return 400
    if isinstance(error, ClientClosedError):
        return 503
    return 502


def public_message(error: BaseException) -> str:
    """What went wrong, fit to show a client of the app: Ollama's own message, or a sentence
    naming the failure, never the upstream URL or a traceback.

    >>> public_message(ServerUnreachableError("http://10.0.0.5:11434"))
    'Ollama is unreachable'
    """
    if isinstance(error, ModelNotFoundError) and error.model not in error.error:
        return f"model {error.model!r} not found"
    if isinstance(error, ResponseError | StreamError):
        return error.error
    if isinstance(error, InvalidRequestError):
        return str(error)
    for kind, text in _MESSAGES:
        if isinstance(error, kind):
            return text
    return "the request to Ollama failed"


_MESSAGES: tuple[tuple[type[BaseException], str], ...] = (
    (ServerUnreachableError, "Ollama is unreachable"),
    (OllamaTimeoutError, "Ollama did not answer in time"),
    (ConnectionLostError, "the connection to Ollama was lost"),
    (ProtocolError, "Ollama's answer could not be read"),
    (ClientClosedError, "the Ollama client is closed"),
)


def http_exception(error: OllamaError) -> OllamaHTTPException:
    """The :class:`OllamaHTTPException` for ``error``, to raise from your own endpoints.

    Example::

        try:
            reply = await client.generate(model, prompt)
        except OllamaError as exc:
            raise http_exception(exc) from exc
    """
    return OllamaHTTPException(error)


async def ollama_exception_handler(request: Request, exc: Exception) -> Response:
    """An exception handler answering any :class:`OllamaError` an endpoint raises with the
    status and ``{"detail": …}`` body of :class:`OllamaHTTPException`.

    Example::

        app.add_exception_handler(OllamaError, ollama_exception_handler)
    """
    if not isinstance(exc, OllamaError):
        raise exc
    http = OllamaHTTPException(exc)
    return JSONResponse({"detail": http.detail}, http.status_code, http.headers)


def error_record(error: BaseException) -> dict[str, str]:
    """The ``{"error": …, "type": …}`` record that ends a stream which failed mid-way.

    >>> error_record(StreamError("CUDA error"))
    {'error': 'CUDA error', 'type': 'StreamError'}
    """
    if isinstance(error, OllamaError):
        return {"error": public_message(error), "type": type(error).__name__}
    # Not Ollama's failure but the app's own (a stream wrapper that raised): the client gets
    # no details, the server log gets the traceback, as an uncaught error would.
    log.error("a streamed response failed mid-way", exc_info=error)
    return {"error": "internal error", "type": "InternalError"}
