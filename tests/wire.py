"""Read the raw HTTP exchanges captured from a real Ollama server (../shared/wire)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

WIRE_DIR = Path(
    os.environ.get("OLLAMA_WIRE_DIR", Path(__file__).resolve().parents[2] / "shared" / "wire")
)


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
    if not WIRE_DIR.is_dir():
        return []
    return sorted(p.stem for p in WIRE_DIR.glob("*.http"))


def load_capture(name: str) -> Capture:
    """Parse ``NAME.http``: ``>>>`` request lines, a blank line, then the raw response."""
    path = WIRE_DIR / f"{name}.http"
    if not path.exists():
        pytest.skip(f"capture {name} not available ({WIRE_DIR})")
    raw = path.read_bytes()
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
