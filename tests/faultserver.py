"""A raw-socket HTTP server on loopback where each test scripts exactly which bytes go out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Script = Callable[["Conn"], Awaitable[None]]


@dataclass
class Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    method: str = ""
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    async def read_request(self) -> bool:
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return False
        lines = head.decode("latin-1").split("\r\n")
        self.method, self.path, _ = lines[0].split(" ", 2)
        self.headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                self.headers[k.strip().lower()] = v.strip()
        n = int(self.headers.get("content-length", "0"))
        self.body = await self.reader.readexactly(n) if n else b""
        return True

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def head(
        self, status: str = "200 OK", ctype: str = "application/x-ndjson", **extra: str
    ) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Type: {ctype}", "Transfer-Encoding: chunked"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def chunk(self, data: bytes) -> None:
        self.send(b"%x\r\n%s\r\n" % (len(data), data))

    def end(self) -> None:
        self.send(b"0\r\n\r\n")

    def whole(
        self, status: str, body: bytes, ctype: str = "application/json", **extra: str
    ) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def abort(self) -> None:
        self.writer.transport.abort()

    async def client_closed(self, timeout: float = 2.0) -> bool:
        """True when the client closes its side within ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.reader.read(), timeout) == b""
        except (asyncio.TimeoutError, ConnectionError):
            return False


def line(text: str, done: bool = False) -> bytes:
    body = {"model": "m", "created_at": "2026-11-22T15:27:54.065608323Z", "response": text,
            "done": done}  # fmt: skip
    if done:
        body.update(done_reason="stop", eval_count=3, eval_duration=1000)
    return json.dumps(body).encode() + b"\n"


async def normal(conn: Conn) -> None:
    """A proper three-token stream (or a whole answer when not streaming)."""
    if b'"stream":false' in conn.body:
        conn.whole("200 OK", line("abc", done=True).strip())
        return
    conn.head()
    for t in ("a", "b", "c"):
        conn.chunk(line(t))
    conn.chunk(line("", done=True))
    conn.end()


class FaultServer:
    """Scripted per connection; counts connections and requests; keeps connections alive."""

    def __init__(self, keep_records: bool = True) -> None:
        self.keep_records = keep_records
        self.script: Script = normal
        self.connections = 0
        self.requests: list[Conn] = []
        self.closed_by_client: list[bool] = []
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1") -> None:
        self._server = await asyncio.start_server(self._handle, host, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while True:
                conn = Conn(reader, writer)
                if not await conn.read_request():
                    break
                if self.keep_records:
                    self.requests.append(conn)
                try:
                    await self.script(conn)
                finally:
                    conn.reader = conn.writer = None  # type: ignore[assignment]  # keep records light
                if writer.transport.is_closing():
                    break
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()
