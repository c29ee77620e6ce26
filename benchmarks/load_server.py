"""A pre-encoded Ollama load server on a raw asyncio Protocol, so it is never the bottleneck.

``python -m benchmarks.load_server --port N [--cpu 1]``

Answers ``POST /api/generate`` and ``POST /api/chat`` with N realistic chunks (N from the
request's ``options.num_predict``, default 20,000), the final chunk carrying the statistics.
The mode is picked per request by the ``X-Bench-Mode`` header (or ``--mode``):

- ``per-token``: every JSON line is its own HTTP chunk (as Ollama frames them), the frames
  handed to the kernel 64 KiB at a time so the server is never the bottleneck;
- ``64k``: the chunked body is written in 64 KiB pieces.

``"stream": false`` gets one ``application/json`` object (for batch runs). Bodies are encoded
once per (endpoint, N, mode) and cached. Keep-alive is supported; several processes can share
the port (``SO_REUSEPORT``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
from functools import lru_cache

WORDS = [" the", " sky", " is", " blue", " because", " of", " Rayleigh", " scattering", "."]


def _line(chat: bool, i: int, text: str) -> bytes:
    chunk: dict[str, object] = {"model": "llama3.2", "created_at": _ts(i)}
    if chat:
        chunk["message"] = {"role": "assistant", "content": text}
    else:
        chunk["response"] = text
    chunk["done"] = False
    return json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _ts(i: int) -> str:
    return f"2026-11-22T15:27:54.{65608323 + i % 900_000_000:09d}Z"


def _final(chat: bool, n: int, text: str = "") -> dict[str, object]:
    out: dict[str, object] = {"model": "llama3.2", "created_at": _ts(n)}
    if chat:
        out["message"] = {"role": "assistant", "content": text}
    else:
        out["response"] = text
    out.update(
        done=True,
        done_reason="length",
        total_duration=11185957,
        load_duration=1424401,
        prompt_eval_count=14,
        prompt_eval_duration=355000,
        eval_count=n,
        eval_duration=6982000,
    )
    if not chat:
        out["context"] = list(range(1, 33))
    return out


@lru_cache(maxsize=64)
def stream_body(chat: bool, n: int, mode: str) -> tuple[bytes, ...]:
    """The chunked-encoded body, as the list of writes to make."""
    lines = [_line(chat, i, WORDS[i % len(WORDS)]) for i in range(n)]
    lines.append(json.dumps(_final(chat, n), separators=(",", ":")).encode() + b"\n")
    if mode == "per-token":
        # One HTTP chunk frame per token, as Ollama frames them; the frames go to the kernel
        # 64 KiB at a time, so the server's own syscalls never bound the client's rate.
        frames = b"".join(b"%x\r\n%s\r\n" % (len(x), x) for x in lines)
        writes = [frames[i : i + 65536] for i in range(0, len(frames), 65536)]
    else:
        body = b"".join(lines)
        writes = []
        for i in range(0, len(body), 65536):
            piece = body[i : i + 65536]
            writes.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    writes.append(b"0\r\n\r\n")
    return tuple(writes)


HEAD_STREAM = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
    b"Date: Sun, 22 Nov 2026 15:27:54 GMT\r\nTransfer-Encoding: chunked\r\n\r\n"
)


@lru_cache(maxsize=64)
def whole_response(chat: bool, n: int) -> bytes:
    text = "".join(WORDS[i % len(WORDS)] for i in range(n))
    body = json.dumps(_final(chat, n, text), separators=(",", ":")).encode()
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


VERSION = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 25\r\n\r\n"
    b'{"version":"0.13.99-src"}'
)
NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\n"
    b"404 page not found"
)


class LoadProtocol(asyncio.Protocol):
    def __init__(self, default_mode: str) -> None:
        self.buf = b""
        self.default_mode = default_mode
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            headers = {}
            for h in lines[1:]:
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            method, path, _ = lines[0].split(" ", 2)
            self.respond(method, path, headers, body)

    def respond(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        t = self.transport
        assert t is not None
        if path == "/api/version":
            t.write(VERSION)
            return
        if path not in ("/api/generate", "/api/chat"):
            t.write(NOT_FOUND)
            return
        req = json.loads(body) if body else {}
        n = int((req.get("options") or {}).get("num_predict") or 20000)
        chat = path == "/api/chat"
        if req.get("stream") is False:
            t.write(whole_response(chat, n))
            return
        mode = headers.get("x-bench-mode", self.default_mode)
        t.write(HEAD_STREAM)
        for w in stream_body(chat, n, mode):
            t.write(w)


async def serve(host: str, port: int, mode: str, ready: object = None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: LoadProtocol(mode), host, port, reuse_port=True, backlog=4096
    )
    print(f"load server on {host}:{port} pid {os.getpid()}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    # A client that leaves early makes asyncio log each later write; that is expected here.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", default="per-token", choices=["per-token", "64k"])
    ap.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    args = ap.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.mode))


if __name__ == "__main__":
    main()
