"""Generation, chat and embeddings (``/api/generate``, ``/api/chat``, ``/api/embed``,
``/api/embeddings``): the built-in model's answers, or the scripted answer the request took."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._faults import write_lines
from ._http import NDJSON_TYPE, HTTPError, body_of, current, json_response, line
from ._model import embedding, tokens
from ._store import StoredModel, now_rfc3339

if TYPE_CHECKING:
    from ._emulator import Emulator
    from ._scripted import ScriptedResponse

_INT_OPTIONS = {
    "num_keep", "seed", "num_predict", "top_k", "repeat_last_n", "num_ctx", "num_batch",
    "num_gpu", "main_gpu", "num_thread",
}  # fmt: skip
_FLOAT_OPTIONS = {
    "top_p", "min_p", "typical_p", "temperature", "repeat_penalty", "presence_penalty",
    "frequency_penalty",
}  # fmt: skip


def find_model(emu: Emulator, body: dict[str, Any], key: str = "model") -> StoredModel:
    """The stored model the body names, or Ollama's 400 / 404."""
    name = body.get(key) or body.get("name")
    if not isinstance(name, str) or not name:
        raise HTTPError(400, "model is required")
    found = emu.store.get(name)
    if found is None:
        raise HTTPError(404, f"model '{name}' not found")
    return found


def check_options(body: dict[str, Any]) -> dict[str, Any]:
    """The request's options, refused as Ollama refuses a value of the wrong type."""
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise HTTPError(400, "options must be an object")
    for key, value in options.items():
        if key in _INT_OPTIONS and (isinstance(value, bool) or not isinstance(value, int)):
            raise HTTPError(500, f'option "{key}" must be of type integer')
        if key in _FLOAT_OPTIONS and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise HTTPError(500, f'option "{key}" must be of type float')
    return options


def _check_capabilities(body: dict[str, Any], m: StoredModel, short: str) -> None:
    full = f"registry.ollama.ai/library/{m.name}"
    if body.get("think") and "thinking" not in m.capabilities:
        raise HTTPError(400, f'"{short}" does not support thinking')
    if body.get("suffix") and "insert" not in m.capabilities:
        raise HTTPError(400, f"{full} does not support insert")
    if body.get("tools") and "tools" not in m.capabilities:
        raise HTTPError(400, f"{full} does not support tools")
    if "embedding" in m.capabilities and "completion" not in m.capabilities:
        raise HTTPError(400, f'"{short}" does not support generate')
    top = body.get("top_logprobs")
    if top is not None and (not isinstance(top, int) or not 0 <= top <= 20):
        raise HTTPError(400, "top_logprobs must be between 0 and 20")


def scripted_content(body: dict[str, Any]) -> ScriptedResponse | None:
    """The scripted answer this request took, if it gives the text (a fault- or status-only
    answer leaves the text to the built-in model)."""
    scripted = current.get().scripted
    if scripted is None or not scripted.has_content:
        return None
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise HTTPError(400, "model is required")
    return scripted


async def complete(emu: Emulator, request: web.Request, *, chat: bool) -> web.StreamResponse:
    """``/api/generate`` (``chat=False``) and ``/api/chat``."""
    body = body_of(request)
    scripted = scripted_content(body)
    short = str(body.get("model"))
    options = check_options(body)
    if not chat and body.get("raw") and (body.get("system") or body.get("template")):
        raise HTTPError(400, "raw mode does not support template, system, or context")
    if chat:
        messages = body.get("messages") or []
        prompt = "\n".join(str(x.get("content", "")) for x in messages if isinstance(x, dict))
        empty = not messages
    else:
        prompt = str(body.get("prompt") or "")
        empty = not prompt
    if scripted is not None:
        words, thoughts, calls = _scripted_parts(scripted, chat)
        reason = "stop"
    else:
        m = find_model(emu, body)
        _check_capabilities(body, m, short)
        if body.get("keep_alive") in (0, "0", "0s", 0.0):
            emu.store.unload(m.name)
            return json_response(_done(emu, short, chat, "unload"))
        emu.store.load(m.name)
        if empty:
            return json_response(_done(emu, short, chat, "load"))
        limit = options.get("num_predict")
        count = emu.default_tokens if limit is None or limit < 0 else min(limit, 1_000_000)
        reason = "length" if isinstance(limit, int) and limit >= 0 else "stop"
        words = tokens(m.name, prompt, int(options.get("seed", 0) or 0), count)
        if body.get("format") is not None:
            words = [json.dumps({"answer": "".join(words).strip()})]
        think = bool(body.get("think")) and "thinking" in m.capabilities
        thoughts = tokens(m.name, "think:" + prompt, 1, 4) if think else []
        calls = _builtin_tool_calls(body) if chat and body.get("tools") else None
    final = _done(emu, short, chat, reason, prompt_tokens=len(prompt.split()) + 8,
                  eval_count=len(words))  # fmt: skip
    # The built-in model answers a tool call instead of text; a scripted answer may give both.
    shown = words if calls is None or scripted is not None else []
    if body.get("stream") is False:
        if emu.tokens_per_second:
            await asyncio.sleep(len(words) / emu.tokens_per_second)  # generation takes time
        whole = dict(final)
        text = "".join(shown)
        if chat:
            msg: dict[str, Any] = {"role": "assistant", "content": text}
            if thoughts:
                msg["thinking"] = "".join(thoughts)
            if calls:
                msg["tool_calls"] = calls
            whole["message"] = msg
        else:
            whole["response"] = text
            if thoughts:
                whole["thinking"] = "".join(thoughts)
            whole["context"] = list(range(1, len(words) + 9))
        return json_response(whole)
    logprobs = body.get("logprobs")
    top = int(body.get("top_logprobs") or 0)

    def lines() -> Iterable[bytes]:
        for t in thoughts:
            yield line(_chunk(short, chat, "", thinking=t))
        if calls is None or scripted is not None:
            for w in shown:
                chunk = _chunk(short, chat, w)
                if logprobs:
                    chunk["logprobs"] = [_logprob(w, top)]
                yield line(chunk)
        if calls is not None:
            yield line(_chunk(short, chat, "", tool_calls=calls))
        if not chat:
            final["context"] = list(range(1, len(words) + 9))
        yield line(final)

    return await write_lines(request, lines(), NDJSON_TYPE, emu.pace_delay())


def _scripted_parts(
    scripted: ScriptedResponse, chat: bool
) -> tuple[list[str], list[str], list[dict[str, Any]] | None]:
    calls = None
    if scripted.tool_calls and chat:
        calls = [{"function": {"index": i, "name": c["name"], "arguments": c["arguments"]}}
                 for i, c in enumerate(scripted.tool_calls)]  # fmt: skip
    return list(scripted.chunks or ()), scripted.thinking_pieces(), calls


def _chunk(model: str, chat: bool, text: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "created_at": now_rfc3339()}
    if chat:
        msg: dict[str, Any] = {"role": "assistant", "content": text}
        if extra.get("thinking"):
            msg["thinking"] = extra["thinking"]
        if extra.get("tool_calls"):
            msg["tool_calls"] = extra["tool_calls"]
        out["message"] = msg
    else:
        out["response"] = text
        if extra.get("thinking"):
            out["thinking"] = extra["thinking"]
    out["done"] = False
    return out


def _done(
    emu: Emulator,
    model: str,
    chat: bool,
    reason: str,
    *,
    prompt_tokens: int = 0,
    eval_count: int = 0,
) -> dict[str, Any]:
    out = _chunk(model, chat, "")
    out.update(done=True, done_reason=reason)
    if reason in ("load", "unload"):
        return out
    speed = emu.tokens_per_second or 1000.0
    eval_ns = int(eval_count / speed * 1e9)
    out.update(
        total_duration=eval_ns + 2_000_000,
        load_duration=1_000_000,
        prompt_eval_count=prompt_tokens,
        prompt_eval_duration=500_000,
        eval_count=eval_count,
        eval_duration=max(eval_ns, 1),
    )
    return out


def _builtin_tool_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    tool = body["tools"][0].get("function", {})
    params = tool.get("parameters", {}).get("properties", {})
    args = {k: ("Paris" if v.get("type") == "string" else 1) for k, v in params.items()}
    return [{"function": {"index": 0, "name": tool.get("name", ""), "arguments": args}}]


def _logprob(token: str, top: int) -> dict[str, Any]:
    raw = list(token.encode())
    entry: dict[str, Any] = {"token": token, "logprob": -1.25, "bytes": raw}
    if top:
        entry["top_logprobs"] = [
            {"token": token, "logprob": -1.25 - i * 0.5, "bytes": raw} for i in range(top)
        ]
    return entry


def require_embeddings(m: StoredModel, status: int) -> None:
    """A model without the embedding capability answers as the real server does."""
    if "embedding" not in m.capabilities:
        raise HTTPError(
            status, "This server does not support embeddings. Start it with `--embeddings`"
        )


def embedding_inputs(emu: Emulator, body: dict[str, Any]) -> tuple[StoredModel, list[str]]:
    """The embedding model and the texts of ``input`` (a string or a list), as ``/api/embed``
    and ``/v1/embeddings`` read them."""
    m = find_model(emu, body)
    require_embeddings(m, 501)
    inputs = body.get("input", "")
    return m, [inputs] if isinstance(inputs, str) else list(inputs)


async def embed(emu: Emulator, request: web.Request) -> web.StreamResponse:
    body = body_of(request)
    m, texts = embedding_inputs(emu, body)
    dims = int(body.get("dimensions") or m.embedding_length)
    emu.store.load(m.name)
    return json_response(
        {
            "model": body["model"],
            "embeddings": [embedding(m.name, t, dims) for t in texts],
            "total_duration": 3_000_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": sum(len(t.split()) for t in texts),
        }
    )


async def embeddings(emu: Emulator, request: web.Request) -> web.StreamResponse:
    body = body_of(request)
    m = find_model(emu, body)
    require_embeddings(m, 500)
    vec = embedding(m.name, str(body.get("prompt", "")), m.embedding_length)
    return json_response({"embedding": vec})
