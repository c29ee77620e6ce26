"""Scripted answers: what a test queues with ``Emulator.add_response``, and how one is chosen."""

from __future__ import annotations

import difflib
import json as _json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from .._errors import InvalidRequestError
from ._faults import Fault
from ._store import normalize

ENDPOINTS = {
    "generate": "/api/generate",
    "chat": "/api/chat",
    "embed": "/api/embed",
    "embeddings": "/api/embeddings",
    "show": "/api/show",
    "tags": "/api/tags",
    "ps": "/api/ps",
    "version": "/api/version",
    "pull": "/api/pull",
    "push": "/api/push",
    "create": "/api/create",
    "copy": "/api/copy",
    "delete": "/api/delete",
    "openai.chat": "/v1/chat/completions",
    "openai.completions": "/v1/completions",
    "openai.embeddings": "/v1/embeddings",
    "openai.models": "/v1/models",
}
CHAT_PATHS = frozenset({"/api/chat", "/v1/chat/completions"})
TEXT_PATHS = CHAT_PATHS | {"/api/generate", "/v1/completions"}


@dataclass
class ScriptedResponse:
    """One queued answer. Built by ``Emulator.add_response``; read it in failure messages."""

    model: str | None
    path: str | None
    chunks: list[str] | None
    thinking: str | None
    tool_calls: list[dict[str, Any]] | None
    status: int
    error: str | None
    fault: Fault | None
    reusable: bool
    requested: int = 0

    @property
    def has_content(self) -> bool:
        """False: the built-in model writes the text (a fault or status-only answer)."""
        return self.chunks is not None or self.thinking is not None or bool(self.tool_calls)

    @property
    def text(self) -> str:
        return "".join(self.chunks or ())

    def matches(self, path: str, model: str | None) -> bool:
        if self.path is not None:
            if self.path != path:
                return False
        elif path not in (CHAT_PATHS if self.tool_calls else TEXT_PATHS) and self.has_content:
            return False
        return self.model is None or (model is not None and normalize(model) == self.model)

    def thinking_pieces(self) -> list[str]:
        return split_words(self.thinking) if self.thinking else []

    def describe(self) -> str:
        where = self.path or "any endpoint"
        who = f" for model {self.model}" if self.model else ""
        if self.status >= 400:
            what = f"status {self.status}"
        elif self.tool_calls:
            what = f"tool calls {[c['name'] for c in self.tool_calls]}"
        elif self.chunks is not None:
            what = f"text {_short(self.text)!r}"
        else:
            what = "the built-in model's answer" + (" with a fault" if self.fault else "")
        return f"{what} on {where}{who}"


def make_response(
    *,
    model: str | None,
    endpoint: str | None,
    text: str | None,
    chunks: list[str] | None,
    json: Any,
    tool_calls: list[dict[str, Any]] | None,
    thinking: str | None,
    status: int | None,
    error: str | None,
    fault: Fault | None,
    reusable: bool,
) -> ScriptedResponse:
    """Check the arguments of ``add_response`` and build the answer (InvalidRequestError
    names the argument that was wrong)."""
    given = [
        name for name, v in (("text", text), ("chunks", chunks), ("json", json)) if v is not None
    ]
    if len(given) > 1:
        raise InvalidRequestError(given[1], f"give one of text=, chunks= or json=, not {given}")
    path = endpoint_path(endpoint)
    pieces: list[str] | None = None
    if text is not None:
        _check_str("text", text)
        pieces = split_words(text)
    elif chunks is not None:
        if not isinstance(chunks, list) or not all(isinstance(c, str) for c in chunks):
            raise InvalidRequestError("chunks", "must be a list of strings")
        pieces = list(chunks)
    elif json is not None:
        try:
            pieces = split_words(_json.dumps(json, ensure_ascii=False))
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError("json", f"cannot be serialised as JSON: {exc}") from None
    if thinking is not None:
        _check_str("thinking", thinking)
    calls = _check_tool_calls(tool_calls) if tool_calls is not None else None
    if fault is not None and not isinstance(fault, Fault):
        raise InvalidRequestError("fault", f"must be a Fault, not {type(fault).__name__}")
    code = _status(status, error)
    content = pieces is not None or thinking is not None or calls
    if code >= 400 and content:
        raise InvalidRequestError("status", f"an error answer ({code}) carries no text or calls")
    if calls and path is not None and path not in CHAT_PATHS:
        raise InvalidRequestError(
            "tool_calls", f"only chat endpoints answer tool calls, not {path}"
        )
    if content and path is not None and path not in TEXT_PATHS:
        raise InvalidRequestError("endpoint", f"{path} does not answer with text")
    if content and pieces is None:
        pieces = []
    if code >= 400 and error is None:
        error = HTTPStatus(code).phrase.lower() if code != 404 else None
    return ScriptedResponse(
        model=normalize(model) if model else None,
        path=path,
        chunks=pieces,
        thinking=thinking,
        tool_calls=calls,
        status=code,
        error=error,
        fault=fault,
        reusable=reusable,
    )


def split_words(text: str) -> list[str]:
    """Pieces as a model streams them: each word with the space before it.

    >>> split_words("the sky  is")
    ['the', ' sky', '  is']
    """
    return re.findall(r"\s*\S+|\s+$", text) if text else []


def endpoint_path(endpoint: str | None) -> str | None:
    """The path an endpoint name stands for (a path stays as it is).

    >>> endpoint_path("chat"), endpoint_path("/api/tags/")
    ('/api/chat', '/api/tags')
    """
    if endpoint is None:
        return None
    if not isinstance(endpoint, str):
        raise InvalidRequestError("endpoint", "must be a name such as 'chat' or a path")
    if endpoint.startswith("/"):
        return endpoint.rstrip("/") or "/"
    if endpoint in ENDPOINTS:
        return ENDPOINTS[endpoint]
    close = difflib.get_close_matches(endpoint, ENDPOINTS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InvalidRequestError(
        "endpoint", f"unknown endpoint {endpoint!r}{hint}; give a name or a path"
    )


def _status(status: int | None, error: str | None) -> int:
    if error is not None:
        _check_str("error", error)
    if status is None:
        return 500 if error is not None else 200
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidRequestError("status", f"must be an HTTP status code, not {status!r}")
    if error is not None and status < 400:
        raise InvalidRequestError("error", f"needs an error status (>= 400), not {status}")
    return status


def _check_tool_calls(calls: Any) -> list[dict[str, Any]]:
    if not isinstance(calls, list):
        raise InvalidRequestError("tool_calls", "must be a list of {'name', 'arguments'} dicts")
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise InvalidRequestError(f"tool_calls[{i}]", "needs a 'name' string")
        if not isinstance(call.get("arguments", {}), dict):
            raise InvalidRequestError(f"tool_calls[{i}]", "'arguments' must be a dict")
        extra = set(call) - {"name", "arguments"}
        if extra:
            raise InvalidRequestError(f"tool_calls[{i}]", f"unknown keys {sorted(extra)}")
    return [{"name": c["name"], "arguments": dict(c.get("arguments", {}))} for c in calls]


def _check_str(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidRequestError(name, f"must be a string, not {type(value).__name__}")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
