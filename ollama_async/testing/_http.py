"""What every area of the emulator shares: the recorded request, the per-request exchange,
error answers and JSON helpers. No route lives here."""

from __future__ import annotations

import contextvars
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from ._faults import Fault
    from ._scripted import ScriptedResponse

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"
SSE_TYPE = "text/event-stream"
OPENAI_JSON_TYPE = "application/json"


@dataclass
class RecordedRequest:
    """One request the emulator received, and how it ended.

    ``json`` is the decoded body (None when there was none or it was not JSON); ``headers``
    are as sent. ``response_body`` holds the bytes of a streamed answer as written.

    Example::

        rec = emu.requests[-1]
        assert (rec.method, rec.path, rec.model) == ("POST", "/api/chat", "llama3.2")
        assert rec.json["messages"][0]["content"] == "hi"
    """

    method: str
    path: str
    json: Any
    headers: dict[str, str]
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    chunks_sent: int = 0
    completed: bool = False
    client_disconnected: bool = False
    response_body: bytes = b""

    @property
    def model(self) -> str | None:
        """The ``model`` (or ``name``/``source``) of the request body, if any."""
        if isinstance(self.json, dict):
            for key in ("model", "name", "source"):
                if isinstance(self.json.get(key), str):
                    return str(self.json[key])
        return None


@dataclass
class Exchange:
    """One request being answered: its raw body, its record, and what was chosen for it."""

    raw: bytes
    rec: RecordedRequest
    fault: Fault | None = None
    scripted: ScriptedResponse | None = None
    params: dict[str, str] = field(default_factory=dict)


current: contextvars.ContextVar[Exchange] = contextvars.ContextVar("emulator_exchange")


class HTTPError(Exception):
    """Answer with this status and Ollama's error body (raised by any handler)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Abort(Exception):
    """Drop the connection now (a fault)."""


def error_response(path: str, status: int, message: str) -> web.Response:
    """The error answer Ollama gives on ``path``: plain text for unknown routes and methods,
    the OpenAI shape under ``/v1``, ``{"error": …}`` elsewhere."""
    if status in (404, 405) and message.startswith(str(status)):
        return web.Response(status=status, text=message, content_type="text/plain")
    if path.startswith("/v1/"):
        kind = "not_found_error" if status == 404 else "api_error"
        err = {"message": message, "type": kind, "param": None, "code": None}
        return json_response({"error": err}, status, OPENAI_JSON_TYPE)
    return json_response({"error": message}, status)


def json_response(data: Any, status: int = 200, ctype: str = JSON_TYPE) -> web.Response:
    """A whole JSON answer, compact, as Ollama writes it."""
    return web.Response(status=status, body=dumps(data), headers={"Content-Type": ctype})


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def line(data: Any) -> bytes:
    """One NDJSON line."""
    return dumps(data) + b"\n"


def path_param(name: str) -> str:
    """A ``{name}`` part of the route's path (``/api/blobs/{digest}``)."""
    return current.get().params[name]


def body_of(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or the 400 Ollama gives for a missing or bad body."""
    raw = current.get().raw
    if not raw:
        raise HTTPError(400, "missing request body")
    try:
        body = json.loads(raw)
    except ValueError:
        raise HTTPError(400, "unexpected EOF") from None
    if not isinstance(body, dict):
        raise HTTPError(400, "invalid request body")
    return body
