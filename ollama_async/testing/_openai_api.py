"""The OpenAI-compatible endpoints under ``/v1``: completions (SSE when streamed), embeddings,
models. A scripted answer gives the text and tool calls of a completion."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._faults import write_lines
from ._generation import embedding_inputs, find_model, scripted_content
from ._http import (
    OPENAI_JSON_TYPE,
    SSE_TYPE,
    HTTPError,
    body_of,
    json_response,
    path_param,
)
from ._model import embedding, tokens
from ._store import StoredModel

if TYPE_CHECKING:
    from ._emulator import Emulator


async def complete(emu: Emulator, request: web.Request, *, chat: bool) -> web.StreamResponse:
    """``/v1/chat/completions`` (``chat=True``) and ``/v1/completions``."""
    body = body_of(request)
    scripted = scripted_content(body)
    if chat:
        prompt = "\n".join(str(x.get("content", "")) for x in body.get("messages") or [])
    else:
        prompt = str(body.get("prompt", ""))
    calls: list[dict[str, Any]] = []
    if scripted is not None:
        words = list(scripted.chunks or ())
        if chat:
            calls = [_openai_call(i, c) for i, c in enumerate(scripted.tool_calls or ())]
        finish = "tool_calls" if calls else "stop"
    else:
        m = find_model(emu, body)
        count = int(body.get("max_tokens") or emu.default_tokens)
        words = tokens(m.name, prompt, int(body.get("seed") or 0), count)
        finish = "length"
    created = int(time.time())
    ident = ("chatcmpl-" if chat else "cmpl-") + str(len(emu.requests))
    kind = "chat.completion" if chat else "text_completion"
    usage = {"prompt_tokens": len(prompt.split()) + 8, "completion_tokens": len(words),
             "total_tokens": len(prompt.split()) + 8 + len(words)}  # fmt: skip
    head = {"id": ident, "object": kind, "created": created, "model": body["model"],
            "system_fingerprint": "fp_ollama"}  # fmt: skip
    if not body.get("stream"):
        text = "".join(words)
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
            if calls:
                choice["message"]["tool_calls"] = calls
        else:
            choice["text"] = text
        return json_response({**head, "choices": [choice], "usage": usage}, ctype=OPENAI_JSON_TYPE)

    def event(choice: dict[str, Any] | None, **extra: Any) -> bytes:
        data = {**head, "object": kind + ".chunk" if chat else kind,
                "choices": [choice] if choice else [], **extra}  # fmt: skip
        return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"

    def lines() -> Iterable[bytes]:
        for i, w in enumerate(words):
            if chat:
                delta = {"role": "assistant", "content": w} if i == 0 else {"content": w}
                yield event({"index": 0, "delta": delta, "finish_reason": None})
            else:
                yield event({"text": w, "index": 0, "finish_reason": None})
        if calls:
            call_delta = {"role": "assistant", "content": "", "tool_calls": calls}
            yield event({"index": 0, "delta": call_delta, "finish_reason": None})
        last = {"index": 0, "delta": {}, "finish_reason": finish} if chat else {
            "text": "", "index": 0, "finish_reason": finish}  # fmt: skip
        yield event(last)
        if (body.get("stream_options") or {}).get("include_usage"):
            yield event(None, usage=usage)
        yield b"data: [DONE]\n\n"

    return await write_lines(request, lines(), SSE_TYPE, emu.pace_delay())


def _openai_call(index: int, call: dict[str, Any]) -> dict[str, Any]:
    function = {"name": call["name"], "arguments": json.dumps(call["arguments"])}
    return {"index": index, "id": f"call_{index}", "type": "function", "function": function}


async def embeddings(emu: Emulator, request: web.Request) -> web.StreamResponse:
    body = body_of(request)
    m, texts = embedding_inputs(emu, body)
    data = [{"object": "embedding", "embedding": embedding(m.name, t, m.embedding_length),
             "index": i} for i, t in enumerate(texts)]  # fmt: skip
    usage = {"prompt_tokens": 4, "total_tokens": 4}
    return json_response({"object": "list", "data": data, "model": body["model"], "usage": usage},
                         ctype=OPENAI_JSON_TYPE)  # fmt: skip


async def models(emu: Emulator, request: web.Request) -> web.StreamResponse:
    data = [_entry(m) for m in emu.store.models.values()]
    return json_response({"object": "list", "data": data}, ctype=OPENAI_JSON_TYPE)


async def model(emu: Emulator, request: web.Request) -> web.StreamResponse:
    name = path_param("name")
    m = emu.store.get(name)
    if m is None:
        raise HTTPError(404, f"model '{name}' not found")
    return json_response(_entry(m), ctype=OPENAI_JSON_TYPE)


def _entry(m: StoredModel) -> dict[str, Any]:
    return {"id": m.name, "object": "model", "created": 1795361027, "owned_by": "library"}
