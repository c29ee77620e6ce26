"""Faults the emulator can inject, per request or per model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Fault:
    """What should go wrong with a request. Every field is optional; several combine.

    Before the answer: ``latency`` (seconds before the status line), ``close_before_status``
    (accept, then drop the connection), ``status`` with ``body``/``content_type``/``headers``
    (any error answer: 500, 502 HTML, 429 with ``Retry-After``, …).
    During a stream, after ``n`` chunks: ``stall_after`` (stop for ``stall_seconds``, or until
    the client leaves when None), ``disconnect_after`` (drop the connection between lines),
    ``disconnect_mid_line`` (send half a line, then drop), ``error_after`` (an
    ``{"error": …}`` line ends the stream), ``malformed_after`` (a line that is not JSON),
    ``huge_line_bytes`` (one line of that size, at the start), ``close_after_headers``.

    Per request, send the header ``X-Emulator-Fault`` with the JSON of the fields, e.g.
    ``{"disconnect_after": 3}``.

    >>> Fault(status=429, headers={"Retry-After": "1"}).to_header()
    '{"status": 429, "headers": {"Retry-After": "1"}}'
    """

    latency: float = 0.0
    close_before_status: bool = False
    status: int | None = None
    body: str | None = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    close_after_headers: bool = False
    stall_after: int | None = None
    stall_seconds: float | None = None
    disconnect_after: int | None = None
    disconnect_mid_line: int | None = None
    error_after: int | None = None
    error_message: str = "an error was encountered while running the model"
    malformed_after: int | None = None
    huge_line_bytes: int | None = None

    def to_header(self) -> str:
        """The JSON for the ``X-Emulator-Fault`` header (only the fields that are set)."""
        default = Fault()
        return json.dumps({k: v for k, v in asdict(self).items() if v != getattr(default, k)})

    @classmethod
    def from_header(cls, value: str) -> Fault:
        """Parse an ``X-Emulator-Fault`` header; unknown keys are an error."""
        data: dict[str, Any] = json.loads(value)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)


@dataclass
class _Injected:
    fault: Fault
    model: str | None
    times: int | None
