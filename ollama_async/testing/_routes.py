"""The emulator's one route table: (method, path) → handler, and the lookup that reads it.

A ``{name}`` at the end of a path takes the rest of the path (model names hold slashes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web

from . import _generation as gen
from . import _openai_api as v1
from . import _store_api as store
from ._http import HTTPError

if TYPE_CHECKING:
    from ._emulator import Emulator

Handler = Callable[["Emulator", web.Request], Awaitable[web.StreamResponse]]

ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/"): store.root,
    ("HEAD", "/"): store.root,
    ("POST", "/api/generate"): partial(gen.complete, chat=False),
    ("POST", "/api/chat"): partial(gen.complete, chat=True),
    ("POST", "/api/embed"): gen.embed,
    ("POST", "/api/embeddings"): gen.embeddings,
    ("GET", "/api/tags"): store.tags,
    ("POST", "/api/show"): store.show,
    ("GET", "/api/ps"): store.ps,
    ("GET", "/api/version"): store.version,
    ("POST", "/api/pull"): store.pull,
    ("POST", "/api/push"): store.push,
    ("POST", "/api/create"): store.create,
    ("POST", "/api/copy"): store.copy,
    ("DELETE", "/api/delete"): store.delete,
    ("HEAD", "/api/blobs/{digest}"): store.blob_exists,
    ("POST", "/api/blobs/{digest}"): store.blob_upload,
    ("POST", "/v1/chat/completions"): partial(v1.complete, chat=True),
    ("POST", "/v1/completions"): partial(v1.complete, chat=False),
    ("POST", "/v1/embeddings"): v1.embeddings,
    ("GET", "/v1/models"): v1.models,
    ("GET", "/v1/models/{name}"): v1.model,
}


def _split(template: str) -> tuple[str, str | None]:
    """``/api/blobs/{digest}`` → (``/api/blobs/``, ``digest``); a fixed path → (path, None)."""
    head, brace, tail = template.partition("{")
    return (head, tail.rstrip("}")) if brace else (template, None)


_TEMPLATES = [(method, *_split(path), handler) for (method, path), handler in ROUTES.items()]


def find(method: str, path: str) -> tuple[Handler, dict[str, str]]:
    """The handler for a request and the path's ``{name}`` parts; Ollama's plain-text 404 for
    an unknown path and 405 for a known path with another method."""
    fixed = path.rstrip("/") or "/"
    known = False
    for route_method, prefix, param, handler in _TEMPLATES:
        if param is None:
            matched, params = fixed == prefix, {}
        else:
            rest = path[len(prefix) :]
            matched, params = path.startswith(prefix) and bool(rest), {param: rest}
        if matched:
            known = True
            if route_method == method:
                return handler, params
    if known:
        raise HTTPError(405, "405 method not allowed")
    raise HTTPError(404, "404 page not found")
