"""A FastAPI gateway in front of Ollama: NDJSON pass-through, server-sent events, a whole reply.

Run: ``uvicorn examples.fastapi_app:app`` (OLLAMA_HOST says where Ollama is).

A missing model answers 404 naming it, an unreachable Ollama 502, a timeout 504 (JSON
``{"detail": …}``), whichever endpoint is asked; a failure mid-stream ends the body with an
error record instead of cutting it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from starlette.responses import StreamingResponse

from ollama_async import Client, OllamaError
from ollama_async.fastapi import (
    get_client,
    lifespan,
    ndjson_response,
    ollama_exception_handler,
    sse_response,
)

OllamaClient = Annotated[Client, Depends(get_client)]


def create_app(
    host: str | None = None, *, ping: float | None = 15.0, **client_kwargs: Any
) -> FastAPI:
    """The gateway for the Ollama at ``host`` (default: OLLAMA_HOST); ``ping`` is the SSE
    keep-alive interval, ``client_kwargs`` go to :class:`Client` (timeouts, retry, …)."""
    app = FastAPI(lifespan=lifespan(host, **client_kwargs))
    # The streaming responses raise OllamaHTTPException (an HTTPException) themselves; this
    # handler gives the same answers to the errors of plain awaited calls such as /reply.
    app.add_exception_handler(OllamaError, ollama_exception_handler)

    @app.get("/generate")
    async def generate(
        prompt: str, client: OllamaClient, model: str = "llama3.2"
    ) -> StreamingResponse:
        """Ollama's NDJSON, byte for byte."""
        return ndjson_response(client.stream_bytes(model, prompt=prompt))

    @app.get("/sse")
    async def sse(prompt: str, client: OllamaClient, model: str = "llama3.2") -> StreamingResponse:
        """The answer's text as server-sent events."""
        return sse_response(client.stream_tokens(model, prompt=prompt), ping=ping)

    @app.get("/reply")
    async def reply(prompt: str, client: OllamaClient, model: str = "llama3.2") -> dict[str, str]:
        """The whole answer at once."""
        return {"text": (await client.generate(model, prompt)).response}

    return app


app = create_app()
