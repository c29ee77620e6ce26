"""Wire bugs of the native Client found by replaying the official client's calls: base64
images with line breaks, image paths in a Message; and the Authorization header (fixed in
the core) as the drop-in sends it."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ollama_async import AsyncClient, Client, InvalidRequestError, Message
from ollama_async.testing import Emulator

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC"
)


@pytest.fixture
async def raw_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A socket server that keeps each request head byte for byte (a dict would merge
    repeated headers) and answers ``{"version": "0"}``."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        body = b'{"version":"0"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", heads


def auth_lines(head: bytes) -> list[bytes]:
    return [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"authorization:")]


@pytest.mark.parametrize("spelling", ["authorization", "Authorization", "AUTHORIZATION"])
async def test_one_authorization_header_and_the_explicit_one_wins(
    raw_server: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    url, heads = raw_server
    monkeypatch.setenv("OLLAMA_API_KEY", "from-env")
    async with Client(url, headers={spelling: "Bearer explicit"}) as c:
        await c.version()
    async with Client(url) as c:
        await c.version()
    async with AsyncClient(url, headers={spelling: "Bearer explicit"}) as drop_in:
        await drop_in.list()
    assert [ln.lower() for ln in auth_lines(heads[0])] == [b"authorization: bearer explicit"]
    assert auth_lines(heads[1]) == [b"Authorization: Bearer from-env"]
    assert auth_lines(heads[2]) == auth_lines(heads[0])


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(PNG).decode() + "\n",
        base64.encodebytes(PNG * 20).decode(),
        base64.encodebytes(PNG * 20).decode().replace("\n", "\r\n"),
    ],
)
async def test_base64_with_line_breaks_is_sent_as_given(emu: Emulator, text: str) -> None:
    async with Client(emu.url) as c:
        await c.generate("llama3.2", "what is this?", images=[text])
        await c.chat("llama3.2", [{"role": "user", "content": "and this?", "images": [text]}])
    assert emu.requests[0].json["images"] == [text]
    assert emu.requests[1].json["messages"][0]["images"] == [text]
    decoded = base64.b64decode(text)  # what the server's decoder makes of it
    assert decoded.startswith(PNG)


async def test_a_message_built_by_hand_sends_the_file_not_its_path(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(PNG)
    msgs = [
        Message(role="user", content="a", images=[str(path)]),
        Message(role="user", content="b", images=[PNG]),  # type: ignore[list-item]
        Message(role="user", content="c", images=[path]),  # type: ignore[list-item]
    ]
    async with Client(emu.url) as c:
        await c.chat("llama3.2", msgs)
    sent = [m["images"] for m in emu.requests[-1].json["messages"]]
    assert sent == [[base64.b64encode(PNG).decode()]] * 3


async def test_a_missing_image_file_is_refused_before_sending(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        with pytest.raises(InvalidRequestError) as info:
            await c.chat("llama3.2", [Message(role="user", content="x", images=["nope.png"])])
        with pytest.raises(InvalidRequestError):
            await c.generate("llama3.2", "x", images=["not base64!"])
    assert info.value.field == "images[0]"
    assert emu.requests == []
