"""Ollama's model-name rules: ``[host/][namespace/]model[:tag]``.

The tag defaults to ``latest``, the namespace to ``library`` and the host to
``registry.ollama.ai``; ``llama3``, ``llama3:latest`` and
``registry.ollama.ai/library/llama3:latest`` name the same model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ._errors import InvalidRequestError

__all__ = ["ModelName", "normalize_model_name", "parse_model_name", "same_model"]

DEFAULT_REGISTRY = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

# The server's rules (types/model/name.go): a part starts with a letter, digit or ``_`` and
# goes on with those and ``-``, ``_``, ``.``; a namespace has no ``.``; only the host may
# hold ``:`` (its port). Lengths: host 1-350, the others 1-80.
_MODEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")
_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_TAG = _MODEL
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")


@dataclass(frozen=True, slots=True)
class ModelName:
    """A parsed model name.

    >>> n = parse_model_name("llama3")
    >>> n.host, n.namespace, n.model, n.tag
    ('registry.ollama.ai', 'library', 'llama3', 'latest')
    >>> n.short, n.full
    ('llama3:latest', 'registry.ollama.ai/library/llama3:latest')
    >>> parse_model_name("example.com:5000/me/mine:v1").short
    'example.com:5000/me/mine:v1'
    >>> parse_model_name("gpt-oss:120b:cloud").tag  # where it runs is not part of the name
    '120b'
    >>> n = parse_model_name("http://localhost:5000/me/_mine:v1")
    >>> n.scheme, n.host, n.model
    ('http', 'localhost:5000', '_mine')
    """

    host: str
    namespace: str
    model: str
    tag: str
    scheme: str = field(default="https", compare=False)
    """How the registry is reached (``http://host/ns/m`` for a plain-HTTP registry)."""

    @property
    def full(self) -> str:
        """Every part spelled out."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def short(self) -> str:
        """As Ollama displays it: default host and namespace left out."""
        if self.host != DEFAULT_REGISTRY:
            return self.full
        if self.namespace != DEFAULT_NAMESPACE:
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.model}:{self.tag}"

    def __str__(self) -> str:
        return self.short


@lru_cache(maxsize=1024)
def parse_model_name(name: str) -> ModelName:
    """Parse and check a model name; raises :class:`InvalidRequestError` naming the problem.

    >>> parse_model_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    ollama_async.InvalidRequestError: model: invalid host '..' in '../etc/passwd'
    """
    if not name or name != name.strip():
        raise InvalidRequestError("model", f"invalid model name {name!r}")
    rest, tag = name, DEFAULT_TAG
    # The server reads a trailing ":cloud" or ":local" after a tag as where the model runs.
    last = rest[rest.rfind("/") + 1 :]
    if last.count(":") == 2 and last.endswith((":cloud", ":local")):
        rest = rest.rsplit(":", 1)[0]
    scheme, sep, after = rest.partition("://")
    if sep and scheme in ("http", "https") and after.count("/") == 2:
        rest = after
    else:
        scheme = "https"
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    parts = rest.split("/")
    if len(parts) > 3:
        raise InvalidRequestError("model", f"too many '/' in {name!r}")
    host = parts[-3] if len(parts) == 3 else DEFAULT_REGISTRY
    namespace = parts[-2] if len(parts) >= 2 else DEFAULT_NAMESPACE
    model = parts[-1]
    for value, what, pattern in (
        (host, "host", _HOST),
        (namespace, "namespace", _NAMESPACE),
        (model, "model", _MODEL),
        (tag, "tag", _TAG),
    ):
        if not pattern.fullmatch(value):
            raise InvalidRequestError("model", f"invalid {what} {value!r} in {name!r}")
    return ModelName(host, namespace, model, tag, scheme)


def normalize_model_name(name: str) -> str:
    """The short form Ollama lists a model under.

    >>> normalize_model_name("llama3"), normalize_model_name("library/llama3:8b")
    ('llama3:latest', 'llama3:8b')
    """
    return parse_model_name(name).short


def same_model(a: str, b: str) -> bool:
    """True when two names name the same model.

    >>> same_model("llama3", "registry.ollama.ai/library/llama3:latest")
    True
    """
    return parse_model_name(a) == parse_model_name(b)
