"""Read the raw HTTP exchanges captured from a real Ollama server (``tests/captures``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Kept inside the repository, so a fresh clone runs every capture test (see captures/README.md).
WIRE_DIR = Path(__file__).resolve().parent / "captures"


@dataclass
class Capture:
    name: str
    method: str
    path: str
    request_json: Any
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def capture_names() -> list[str]:
    return sorted(p.stem for p in WIRE_DIR.glob("*.http"))


def load_capture(name: str) -> Capture:
    """Parse ``NAME.http``: ``>>>`` request lines, a blank line, then the raw response."""
    raw = (WIRE_DIR / f"{name}.http").read_bytes()  # a missing capture is an error, not a skip
    request_lines: list[bytes] = []
    rest = raw
    while rest.startswith(b">>>"):
        line, _, rest = rest.partition(b"\n")
        request_lines.append(line[3:].strip())
    rest = rest.lstrip(b"\n")
    method, _, req_path = request_lines[0].decode().partition(" ")
    request_json: Any = None
    if len(request_lines) > 1:
        try:
            request_json = json.loads(request_lines[1])
        except ValueError:
            request_json = request_lines[
                1
            ]  # bytes: a raw body (blob upload) or deliberately bad JSON
    if not rest.startswith(b"HTTP/"):
        # HEAD captures: curl waited for a body that never came, then printed the status.
        status_line = rest.strip().splitlines()[-1]
        return Capture(name, method, req_path, request_json, int(status_line), {}, b"")
    head, _, body = rest.partition(b"\r\n\r\n") if b"\r\n\r\n" in rest else rest.partition(b"\n\n")
    head_lines = head.decode("latin-1").splitlines()
    status = int(head_lines[0].split()[1])
    headers: dict[str, str] = {}
    for h in head_lines[1:]:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    return Capture(name, method, req_path, request_json, status, headers, body)
