"""OpenTelemetry spans, one per operation, after the GenAI semantic conventions.

When ``opentelemetry-api`` is installed (``pip install 'ollama_async[otel]'``), every
operation that ends in :func:`ollama_async.audit.record` also becomes a ``CLIENT`` span on the
global tracer provider: generate, chat, the streams, embed, the ``/v1`` routes, and the model
management calls (list, show, pull, …). Nothing is set up here: spans go wherever your
OpenTelemetry SDK sends them, and nowhere while no SDK is configured.

A span holds names and counts, never text: no prompt, message, answer, embedding input or
header is recorded, and there is no option to capture them.

===============================  ==========================================================
``gen_ai.operation.name``        ``chat``, ``text_completion``, ``embeddings``; for the other
                                 routes the route's own name (``pull``, ``list``, ``show``, …)
``gen_ai.provider.name``         ``ollama`` (also the older ``gen_ai.system``)
``gen_ai.request.model``         the model asked for
``gen_ai.response.model``        the model that answered, when the answer names it
``gen_ai.response.finish_reasons``  ``[done_reason]`` (``stop``, ``length``), when given
``gen_ai.usage.input_tokens``    ``prompt_eval_count``
``gen_ai.usage.output_tokens``   ``eval_count``
``server.address``, ``server.port``  where the server listens (never a user or password)
``http.response.status_code``    the HTTP status, when one came
``error.type``                   the error's class name (``ModelNotFoundError``, …); the span's
                                 status is then ERROR
===============================  ==========================================================

The span name is ``"{operation} {model}"`` (``"chat llama3.2"``), or the operation alone.
The span starts when the operation started and ends when it ended: it is made at the end,
from the duration the library measured, so it costs one span per operation and nothing per
chunk.

Example::

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    # from now on: a span "text_completion llama3.2" per client.generate("llama3.2", ...)
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

try:
    from opentelemetry import trace as _trace
except ImportError:  # OpenTelemetry not installed: every emit is one call that returns
    _trace = None  # type: ignore[assignment]

__all__ = ["AVAILABLE", "emit"]

AVAILABLE = _trace is not None
"""True when ``opentelemetry-api`` could be imported (checked once, at import)."""

_OPERATIONS = {
    "/api/chat": "chat",
    "/api/generate": "text_completion",
    "/api/embed": "embeddings",
    "/api/embeddings": "embeddings",
    "/v1/chat/completions": "chat",
    "/v1/completions": "text_completion",
    "/v1/embeddings": "embeddings",
    "/api/tags": "list",
    "/v1/models": "list",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_tracer: Any = None
_routes: dict[str, tuple[str, str, int]] = {}


def operation_name(path: str) -> str:
    """The ``gen_ai.operation.name`` of a route: a convention's value where one applies.

    >>> operation_name("/api/generate"), operation_name("/api/chat")
    ('text_completion', 'chat')
    >>> operation_name("/api/pull"), operation_name("/api/blobs/sha256:ab")
    ('pull', 'blobs')
    """
    name = _OPERATIONS.get(path)
    if name is not None:
        return name
    parts = [p for p in path.split("/") if p and p not in ("api", "v1")]
    return parts[0] if parts else "request"


def emit(
    url: str,
    *,
    model: str = "",
    status: int | None = None,
    duration: float = 0.0,
    final: Any = None,
    error: BaseException | None = None,
) -> None:
    """Record one finished operation as a span (a no-op without OpenTelemetry)."""
    if _trace is None:
        return
    global _tracer
    if _tracer is None:  # a proxy until the app sets a provider, then it follows that one
        _tracer = _trace.get_tracer("ollama_async")
    route = _routes.get(url)
    if route is None:
        route = _routes[url] = _route(url)
    operation, address, port = route
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "ollama",
        "gen_ai.system": "ollama",
        "server.address": address,
        "server.port": port,
    }
    if model:
        attributes["gen_ai.request.model"] = model
    if status is not None:
        attributes["http.response.status_code"] = status
    if final is not None:
        _add_usage(attributes, final)
    end = time.time_ns()
    span = _tracer.start_span(
        f"{operation} {model}" if model else operation,
        kind=_trace.SpanKind.CLIENT,
        attributes=attributes,
        start_time=end - int(duration * 1e9),
    )
    if error is not None:
        kind = type(error).__name__
        if kind == "_ClosedEarly":  # the caller stopped reading: a choice, not a failure
            span.set_attribute("ollama.closed_early", True)
        else:
            span.set_attribute("error.type", kind)
            span.set_status(_trace.StatusCode.ERROR, kind)
    span.end(end_time=end)


def _route(url: str) -> tuple[str, str, int]:
    """The operation, host and port of a URL (the host never with user:password@)."""
    if len(_routes) > 256:  # blob URLs differ per digest: keep the cache small
        _routes.clear()
    parts = urlsplit(url)
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
    return operation_name(parts.path), parts.hostname or "", port


def _add_usage(attributes: dict[str, Any], final: Any) -> None:
    """Token counts and the answering model from a final chunk or reply, where present."""
    for attr, name in (
        ("prompt_eval_count", "gen_ai.usage.input_tokens"),
        ("eval_count", "gen_ai.usage.output_tokens"),
    ):
        value = getattr(final, attr, None)
        if isinstance(value, int):
            attributes[name] = value
    answered = getattr(final, "model", None)
    if isinstance(answered, str) and answered:
        attributes["gen_ai.response.model"] = answered
    reason = getattr(final, "done_reason", None)
    if isinstance(reason, str) and reason:
        attributes["gen_ai.response.finish_reasons"] = (reason,)
