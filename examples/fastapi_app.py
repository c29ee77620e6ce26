"""A FastAPI gateway in front of Ollama: NDJSON pass-through and server-sent events.

Run: ``uvicorn examples.fastapi_app:app`` (OLLAMA_HOST says where Ollama is).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from starlette.responses import StreamingResponse

from ollama_async import Client
from ollama_async.fastapi import get_client, lifespan, ndjson_response, sse_response

OllamaClient = Annotated[Client, Depends(get_client)]

app = FastAPI(lifespan=lifespan())


@app.get("/generate")
async def generate(prompt: str, client: OllamaClient, model: str = "llama3.2") -> StreamingResponse:
    """Ollama's NDJSON, byte for byte."""
    return ndjson_response(client.stream_bytes(model, prompt=prompt))


@app.get("/sse")
async def sse(prompt: str, client: OllamaClient, model: str = "llama3.2") -> StreamingResponse:
    """The answer's text as server-sent events."""
    return sse_response(client.stream_tokens(model, prompt=prompt))
