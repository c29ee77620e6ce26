"""The audit log: one structured record per operation, off by default.

Each record holds the endpoint, model, host, HTTP status, duration, token counts, body bytes
and the error class, and never any prompt or response text, header or key. Records go to the
``ollama_async.audit`` logger as JSON; :func:`enable_audit_log` attaches a handler (a file, or
one you pass) and turns them on.

Example::

    from ollama_async.audit import enable_audit_log

    enable_audit_log("ollama-audit.jsonl")
    # … every generate, chat, stream, pull, list … now adds a line like:
    # {"endpoint": "/api/generate", "model": "llama3.2", "host": "127.0.0.1:11434",
    #  "status": 200, "duration_ms": 812.4, "prompt_tokens": 14, "eval_tokens": 40,
    #  "bytes": 4210, "error": null, "ts": "2026-11-22T19:10:02.118Z"}
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from . import _otel

__all__ = ["AUDIT_LOGGER", "disable_audit_log", "enable_audit_log", "is_enabled"]

AUDIT_LOGGER = "ollama_async.audit"
_log = logging.getLogger(AUDIT_LOGGER)
_log.propagate = False  # records go only where enable_audit_log sends them
_enabled = False
_handler: logging.Handler | None = None


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(getattr(record, "audit", {}), separators=(",", ":"))


def enable_audit_log(
    path: str | os.PathLike[str] | None = None, *, handler: logging.Handler | None = None
) -> logging.Handler:
    """Turn the audit log on: JSON lines appended to ``path``, or records sent to ``handler``
    (a ``logging.Handler`` of yours; its formatter is set to the JSON one if it has none).
    Calling it again replaces the previous destination. Returns the handler in use."""
    global _enabled, _handler
    disable_audit_log()
    if handler is None:
        if path is None:
            raise ValueError("give a path or a handler")
        handler = logging.FileHandler(path, encoding="utf-8")
    if handler.formatter is None:
        handler.setFormatter(_JSONFormatter())
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    _handler = handler
    _enabled = True
    return handler


def disable_audit_log() -> None:
    """Turn the audit log off and close the handler it opened."""
    global _enabled, _handler
    _enabled = False
    if _handler is not None:
        _log.removeHandler(_handler)
        _handler.close()
        _handler = None


def is_enabled() -> bool:
    """True while the audit log is on."""
    return _enabled


def record(
    url: str,
    *,
    model: str = "",
    status: int | None = None,
    duration: float = 0.0,
    final: Any = None,
    nbytes: int | None = None,
    error: BaseException | None = None,
) -> None:
    """Emit one record (a no-op while the log is off). Only counts and names, never text."""
    _otel.emit(url, model=model, status=status, duration=duration, final=final, error=error)
    if not _enabled:
        return
    parts = urlsplit(url)
    fields = {
        "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "endpoint": parts.path,
        "model": model or None,
        "host": parts.netloc.rpartition("@")[2],  # never user:password from a URL
        "status": status,
        "duration_ms": round(duration * 1000, 3),
        "prompt_tokens": getattr(final, "prompt_eval_count", None),
        "eval_tokens": getattr(final, "eval_count", None),
        "bytes": nbytes,
        "error": type(error).__name__ if error is not None else None,
    }
    _log.info("audit", extra={"audit": fields})
