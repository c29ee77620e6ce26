"""Embeddings: ``embed`` (``/api/embed``) and the legacy ``embeddings``, mixed into ``Client``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ._api_types import EmbeddingsResponse, EmbedResponse
from ._requests import embed_body
from ._transport import Transport

__all__ = ["EmbeddingsAPI"]

T = TypeVar("T")


class EmbeddingsAPI:
    """Embedding endpoints; mixed into :class:`Client`."""

    _transport: Transport
    max_response_bytes: int

    async def _embed_call(self, path: str, body: dict[str, Any], type: type[T], model: str) -> T:
        limit = self.max_response_bytes
        return await self._transport.request_json(
            "POST", path, body, type, model=model, limit=limit
        )

    async def embed(
        self,
        model: str,
        input: str | Sequence[str],
        *,
        truncate: bool | None = None,
        dimensions: int | None = None,
        keep_alive: str | float | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> EmbedResponse:
        """Embeddings of one text or a list of texts (``POST /api/embed``).

        Example::

            r = await client.embed("nomic-embed-text", ["a cat", "a dog"])
            print(len(r.embeddings), len(r.embeddings[0]))
        """
        body = embed_body(
            model,
            input=input,
            truncate=truncate,
            dimensions=dimensions,
            keep_alive=keep_alive,
            options=options,
        )
        return await self._embed_call("/api/embed", body, EmbedResponse, model)

    async def embeddings(
        self,
        model: str,
        prompt: str,
        *,
        keep_alive: str | float | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> EmbeddingsResponse:
        """One embedding from the legacy ``POST /api/embeddings`` (prefer :meth:`embed`).

        Example::

            r = await client.embeddings("nomic-embed-text", "a cat")
            print(len(r.embedding))
        """
        body = embed_body(model, prompt=prompt, keep_alive=keep_alive, options=options)
        return await self._embed_call("/api/embeddings", body, EmbeddingsResponse, model)
