"""msgspec types of the non-streaming and management endpoints, and a progress accumulator.

Every response field a server may leave out has a default, and unknown fields are ignored,
so a newer server does not break an older client.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "EmbedResponse",
    "EmbeddingsResponse",
    "ListResponse",
    "ModelDetails",
    "ModelInfo",
    "ProcessModel",
    "ProcessResponse",
    "ProgressResponse",
    "PullProgress",
    "ShowResponse",
]

_NS = 1e9


class ModelDetails(msgspec.Struct, kw_only=True, gc=False):
    """Format, family, size class and quantization of a model."""

    parent_model: str = ""
    format: str = ""
    family: str = ""
    families: list[str] | None = None
    parameter_size: str = ""
    quantization_level: str = ""


class ModelInfo(msgspec.Struct, kw_only=True, gc=False):
    """A model in ``GET /api/tags``: ``size`` in bytes, ``digest`` of its manifest."""

    name: str = ""
    model: str = ""
    modified_at: str = ""
    size: int = 0
    digest: str = ""
    details: ModelDetails | None = None
    capabilities: list[str] | None = None


class ListResponse(msgspec.Struct, kw_only=True, gc=False):
    """``GET /api/tags``: the models on the server.

    >>> import msgspec
    >>> r = msgspec.json.decode(b'{"models":[{"name":"tiny:latest","size":5}]}', type=ListResponse)
    >>> r.models[0].name, r.models[0].size
    ('tiny:latest', 5)
    """

    models: list[ModelInfo] = msgspec.field(default_factory=list)


class ProcessModel(ModelInfo, kw_only=True, gc=False):
    """A model loaded in memory (``GET /api/ps``)."""

    expires_at: str = ""
    size_vram: int = 0
    context_length: int | None = None


class ProcessResponse(msgspec.Struct, kw_only=True, gc=False):
    """``GET /api/ps``: the models loaded now."""

    models: list[ProcessModel] = msgspec.field(default_factory=list)


class ShowResponse(msgspec.Struct, kw_only=True, gc=False):
    """``POST /api/show``: a model's modelfile, template, parameters, details and info."""

    license: str | None = None
    modelfile: str | None = None
    parameters: str | None = None
    template: str | None = None
    system: str | None = None
    details: ModelDetails | None = None
    messages: list[dict[str, Any]] | None = None
    model_info: dict[str, Any] | None = None
    projector_info: dict[str, Any] | None = None
    tensors: list[dict[str, Any]] | None = None
    capabilities: list[str] | None = None
    modified_at: str | None = None


class EmbedResponse(msgspec.Struct, kw_only=True, gc=False):
    """``POST /api/embed``: one vector per input."""

    model: str = ""
    embeddings: list[list[float]] = msgspec.field(default_factory=list)
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None

    @property
    def total_seconds(self) -> float | None:
        """``total_duration`` in seconds."""
        return None if self.total_duration is None else self.total_duration / _NS


class EmbeddingsResponse(msgspec.Struct, kw_only=True, gc=False):
    """``POST /api/embeddings`` (legacy): one vector."""

    embedding: list[float] = msgspec.field(default_factory=list)


class ProgressResponse(msgspec.Struct, kw_only=True, gc=False):
    """A progress chunk of pull, push or create (``error`` is set on an error line)."""

    status: str = ""
    digest: str | None = None
    total: int | None = None
    completed: int | None = None
    error: str | None = None


class PullProgress:
    """Adds progress chunks up across layers, for a progress bar.

    >>> p = PullProgress()
    >>> p.update(ProgressResponse(status="pulling a", digest="sha256:a", total=100, completed=50))
    >>> p.update(ProgressResponse(status="pulling b", digest="sha256:b", total=300, completed=0))
    >>> p.completed, p.total, p.percent
    (50, 400, 12.5)
    """

    __slots__ = ("layers", "status")

    def __init__(self) -> None:
        self.layers: dict[str, tuple[int, int]] = {}
        """Per layer digest: (completed, total) bytes."""
        self.status = ""
        """The latest status line ("pulling manifest", "success", …)."""

    def update(self, chunk: ProgressResponse) -> None:
        """Take in one chunk; a layer's ``completed`` never goes backwards."""
        self.status = chunk.status
        if chunk.digest and chunk.total:
            done = min(chunk.completed or 0, chunk.total)
            before = self.layers.get(chunk.digest)
            if before is not None:
                done = max(done, before[0])
            self.layers[chunk.digest] = (done, chunk.total)

    @property
    def completed(self) -> int:
        """Bytes done across all layers seen so far."""
        return sum(done for done, _ in self.layers.values())

    @property
    def total(self) -> int:
        """Bytes to do across all layers seen so far."""
        return sum(total for _, total in self.layers.values())

    @property
    def percent(self) -> float:
        """Overall percent done (100 once the operation reports success)."""
        if self.status == "success":
            return 100.0
        total = self.total
        return 100.0 * self.completed / total if total else 0.0
