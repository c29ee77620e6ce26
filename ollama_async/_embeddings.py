"""Embeddings: ``embed`` (``/api/embed``) and the legacy ``embeddings``, mixed into ``Client``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ._api_types import EmbeddingsResponse, EmbedResponse
from ._errors import InvalidRequestError
from ._options import check_options
from ._requests import check_model
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
        check_model(model)
        if not isinstance(input, str) and (
            not isinstance(input, Sequence) or not all(isinstance(x, str) for x in input)
        ):
            raise InvalidRequestError("input", "must be a str or a list of str")
        if dimensions is not None and (isinstance(dimensions, bool) or dimensions < 1):
            raise InvalidRequestError("dimensions", "must be a positive integer")
        body: dict[str, Any] = {
            "model": model,
            "input": input if isinstance(input, str) else list(input),
        }
        _put(body, truncate=truncate, dimensions=dimensions, keep_alive=keep_alive)
        if options is not None:
            body["options"] = check_options(options)
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
        check_model(model)
        body: dict[str, Any] = {"model": model, "prompt": prompt}
        _put(body, keep_alive=keep_alive)
        if options is not None:
            body["options"] = check_options(options)
        return await self._embed_call("/api/embeddings", body, EmbeddingsResponse, model)


def _put(body: dict[str, Any], **fields: Any) -> None:
    for key, value in fields.items():
        if value is not None:
            body[key] = value
