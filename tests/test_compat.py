"""The official client's request expectations (ollama-python tests/test_client.py), ported
to the emulator: each call through ``ollama_async.AsyncClient`` must send the same method,
path and JSON body as the official ``ollama.AsyncClient``. Where the official package is
installed, the same call goes through it too and the two recorded requests are compared."""

from __future__ import annotations

import base64
import types
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import ollama_async.compat as ours
from ollama_async.testing import Emulator

try:
    import ollama as official
except ImportError:  # pragma: no cover - the benchmark extra installs it
    official = None

PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC"
)
PNG = base64.b64decode(PNG_B64)
ASK = [{"role": "user", "content": "Why is the sky blue?"}]
DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SCHEMA = {
    "title": "ResponseFormat",
    "type": "object",
    "properties": {"answer": {"title": "Answer", "type": "string"}},
    "required": ["answer"],
}
Call = Callable[[types.ModuleType, Any, Path], Awaitable[Any]]


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "llama3.2", "messages": ASK, "tools": [], "stream": False, **extra}


def gen_body(**extra: Any) -> dict[str, Any]:
    return {"model": "llama3.2", "prompt": "Why is the sky blue?", "stream": False, **extra}


def png_file(tmp: Path) -> str:
    path = tmp / "transparent.png"
    path.write_bytes(PNG)
    return str(path)


def image_message(ns: types.ModuleType, value: Any) -> Any:
    return ns.Message(role="user", content="Why is the sky blue?", images=[ns.Image(value=value)])


async def create_from_blob(client: Any, tmp: Path) -> Any:
    """The official test's create from a blob, with the (empty) blob uploaded first."""
    (tmp / "test.gguf").write_bytes(b"")
    assert await client.create_blob(tmp / "test.gguf") == DIGEST
    return await client.create("dummy", files={"test.gguf": DIGEST})


IMAGE_CHAT = chat_body(messages=[{**ASK[0], "images": [PNG_B64]}])
CASES: dict[str, tuple[Call, str, str, dict[str, Any]]] = {
    "chat": (lambda ns, c, t: c.chat("llama3.2", messages=ASK), "POST", "/api/chat", chat_body()),
    "chat logprobs": (
        lambda ns, c, t: c.chat("llama3.2", messages=ASK, logprobs=True, top_logprobs=3),
        "POST", "/api/chat", chat_body(logprobs=True, top_logprobs=3),
    ),
    "chat stream": (
        lambda ns, c, t: c.chat("llama3.2", messages=ASK, stream=True),
        "POST", "/api/chat", chat_body(stream=True),
    ),
    "chat image path in a dict": (
        lambda ns, c, t: c.chat("llama3.2", messages=[{**ASK[0], "images": [png_file(t)]}]),
        "POST", "/api/chat", IMAGE_CHAT,
    ),
    "chat image bytes in a dict": (
        lambda ns, c, t: c.chat("llama3.2", messages=[{**ASK[0], "images": [PNG]}]),
        "POST", "/api/chat", IMAGE_CHAT,
    ),
    "chat Image(path) in a Message": (
        lambda ns, c, t: c.chat("llama3.2", messages=[image_message(ns, png_file(t))]),
        "POST", "/api/chat", IMAGE_CHAT,
    ),
    "chat Image(bytes) in a Message": (
        lambda ns, c, t: c.chat("llama3.2", messages=[image_message(ns, PNG)]),
        "POST", "/api/chat", IMAGE_CHAT,
    ),
    "chat format json": (
        lambda ns, c, t: c.chat("llama3.2", messages=ASK, format="json"),
        "POST", "/api/chat", chat_body(format="json"),
    ),
    "chat format schema": (
        lambda ns, c, t: c.chat("llama3.2", messages=ASK, format=SCHEMA),
        "POST", "/api/chat", chat_body(format=SCHEMA),
    ),
    "chat options think keep_alive": (
        lambda ns, c, t: c.chat("qwen3", messages=ASK, think=True, keep_alive="5m",
                                options=ns.Options(seed=1, temperature=0.0)),
        "POST", "/api/chat",
        chat_body(model="qwen3", think=True, keep_alive="5m",
                  options={"seed": 1, "temperature": 0.0}),
    ),
    "generate": (
        lambda ns, c, t: c.generate("llama3.2", "Why is the sky blue?"),
        "POST", "/api/generate", gen_body(),
    ),
    "generate logprobs": (
        lambda ns, c, t: c.generate("llama3.2", "Why is the sky blue?", logprobs=True,
                                    top_logprobs=2),
        "POST", "/api/generate", gen_body(logprobs=True, top_logprobs=2),
    ),
    "generate Image(base64)": (
        lambda ns, c, t: c.generate("llama3.2", "Why is the sky blue?",
                                    images=[ns.Image(value=PNG_B64)]),
        "POST", "/api/generate", gen_body(images=[PNG_B64]),
    ),
    "generate image path": (
        lambda ns, c, t: c.generate("llama3.2", "Why is the sky blue?", images=[png_file(t)]),
        "POST", "/api/generate", gen_body(images=[PNG_B64]),
    ),
    "generate stream": (
        lambda ns, c, t: c.generate("llama3.2", "Why is the sky blue?", stream=True),
        "POST", "/api/generate", gen_body(stream=True),
    ),
    "generate format": (
        lambda ns, c, t: c.generate("llama3.2", "Why is the sky blue?", format=SCHEMA),
        "POST", "/api/generate", gen_body(format=SCHEMA),
    ),
    "generate image size": (
        lambda ns, c, t: c.generate("llama3.2", "Why is the sky blue?", width=1024,
                                    height=768, steps=20),
        "POST", "/api/generate", gen_body(width=1024, height=768, steps=20),
    ),
    "pull": (lambda ns, c, t: c.pull("tiny"), "POST", "/api/pull",
             {"model": "tiny", "insecure": False, "stream": False}),
    "pull stream": (lambda ns, c, t: c.pull("tiny", stream=True), "POST", "/api/pull",
                    {"model": "tiny", "insecure": False, "stream": True}),
    # The emulator's push always streams (it ignores "stream": false), so only this form.
    "push stream": (lambda ns, c, t: c.push("tiny", insecure=True, stream=True), "POST",
                    "/api/push", {"model": "tiny", "insecure": True, "stream": True}),
    "create with files": (
        lambda ns, c, t: create_from_blob(c, t),
        "POST", "/api/create", {"model": "dummy", "files": {"test.gguf": DIGEST}, "stream": False},
    ),
    "create with everything": (
        lambda ns, c, t: c.create(
            "dummy", quantize="q4_k_m", from_="tiny", adapters={"a.gguf": DIGEST},
            template="[INST] {{.Prompt}} [/INST]", license="mine", system="\nUse\nlines.\n",
            parameters={"stop": ["[INST]"], "pi": 3.14159},
            messages=[{"role": "user", "content": "Hello there!"}], stream=False),
        "POST", "/api/create",
        {"model": "dummy", "quantize": "q4_k_m", "from": "tiny", "adapters": {"a.gguf": DIGEST},
         "template": "[INST] {{.Prompt}} [/INST]", "license": "mine",
         "system": "\nUse\nlines.\n", "parameters": {"stop": ["[INST]"], "pi": 3.14159},
         "messages": [{"role": "user", "content": "Hello there!"}], "stream": False},
    ),
    "create from library": (lambda ns, c, t: c.create("dummy", from_="tiny"), "POST",
                            "/api/create", {"model": "dummy", "from": "tiny", "stream": False}),
    "copy": (lambda ns, c, t: c.copy("tiny", "tiny2"), "POST", "/api/copy",
             {"source": "tiny", "destination": "tiny2"}),
    "delete": (lambda ns, c, t: c.delete("tiny"), "DELETE", "/api/delete", {"model": "tiny"}),
    "show": (lambda ns, c, t: c.show("tiny"), "POST", "/api/show", {"model": "tiny"}),
    "embed": (
        lambda ns, c, t: c.embed("nomic-embed-text", ["a", "b"], truncate=True, dimensions=8),
        "POST", "/api/embed",
        {"model": "nomic-embed-text", "input": ["a", "b"], "truncate": True, "dimensions": 8},
    ),
    "embeddings": (lambda ns, c, t: c.embeddings("nomic-embed-text", "a"), "POST",
                   "/api/embeddings", {"model": "nomic-embed-text", "prompt": "a"}),
    "list": (lambda ns, c, t: c.list(), "GET", "/api/tags", None),  # type: ignore[dict-item]
    "ps": (lambda ns, c, t: c.ps(), "GET", "/api/ps", None),  # type: ignore[dict-item]
}  # fmt: skip


async def send(ns: types.ModuleType, call: Call, emu: Emulator, tmp: Path) -> tuple[Any, ...]:
    """Make the call (reading a stream to its end) and return what the emulator recorded
    and how the call ended."""
    client = ns.AsyncClient(host=emu.url)
    try:
        answer = await call(ns, client, tmp)
        if hasattr(answer, "__aiter__"):
            answer = [part async for part in answer]
        outcome = type(answer).__name__
    except Exception as exc:  # both clients must fail the same way (an unknown model, …)
        outcome = "error " + type(exc).__name__
    finally:
        await (client.close() if ns is ours else client._client.aclose())
    rec = emu.requests[-1]
    return rec.method, rec.path, rec.json, outcome


@pytest.mark.parametrize("name", list(CASES))
async def test_each_call_sends_the_official_body(emu: Emulator, tmp_path: Path, name: str) -> None:
    call, method, path, body = CASES[name]
    got = await send(ours, call, emu, tmp_path)
    assert got[:3] == (method, path, body)
    assert not got[3].startswith("error"), got[3]
    if official is not None:
        emu.reset()
        theirs = await send(official, call, emu, tmp_path)
        assert theirs[:3] == got[:3]


@pytest.mark.skipif(official is None, reason="the official ollama package is not installed")
async def test_tools_from_functions_dicts_and_objects_match(emu: Emulator, tmp_path: Path) -> None:
    def add(a: int, b: int | None = None) -> int:
        """Add two numbers.
        Args:
            a: The first
                number.
            b: The second.
        Returns:
            int: the sum
        """
        return a + (b or 0)

    tool_dict = {
        "type": "function",
        "function": {
            "name": "pick",
            "description": "Pick one",
            "parameters": {
                "type": "object",
                "properties": {
                    "x": {"type": "string", "description": "One", "enum": ["a", "b"],
                          "minimum": 1},
                    "y": {"type": ["integer", "number"], "description": "A number"},
                },
                "required": ["x"],
            },
        },
    }  # fmt: skip

    def call(ns: types.ModuleType, c: Any, t: Path) -> Awaitable[Any]:
        obj = ns.Tool(function=ns.Tool.Function(name="noop", description="Nothing"))
        return c.chat("llama3.2", messages=ASK, tools=[add, tool_dict, obj])  # type: ignore[no-any-return]

    got = await send(ours, call, emu, tmp_path)
    emu.reset()
    theirs = await send(official, call, emu, tmp_path)
    assert got[2]["tools"] == theirs[2]["tools"]
    assert got[2]["tools"][0]["function"]["parameters"]["properties"]["a"] == {
        "description": "The first number.",
        "type": "integer",
    }
