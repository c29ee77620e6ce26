"""The seed specification's records: ``OllamaModel`` and ``ModelExecutionResult``.

They live here, under ``manage``, because the manager returns them and the runner
(which builds on the manager) returns them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._api_types import ModelInfo

__all__ = ["ModelExecutionResult", "OllamaModel"]


@dataclass
class OllamaModel:
    """A model on the server, as the seed spec names its fields.

    ``id`` is the first 12 characters of the manifest digest (what ``ollama list`` shows),
    ``modified`` the server's ``modified_at`` text, ``parameters`` its size class (``8.0B``).

    >>> OllamaModel(name="tiny:latest", id="a80c4f17acd5", size=5, modified="").status
    'available'
    """

    name: str
    id: str
    size: int
    modified: str
    parameters: str | None = None
    family: str | None = None
    format: str | None = None
    status: str = "available"

    @classmethod
    def from_info(cls, info: ModelInfo) -> OllamaModel:
        """The record for one ``/api/tags`` (or ``ollama list``) entry."""
        details = info.details
        return cls(
            name=info.name or info.model,
            id=(info.digest.removeprefix("sha256:"))[:12],
            size=info.size,
            modified=info.modified_at,
            parameters=(details.parameter_size or None) if details else None,
            family=(details.family or None) if details else None,
            format=(details.format or None) if details else None,
        )


@dataclass
class ModelExecutionResult:
    """The outcome of one run: the answer or the error, timing and token use.

    A failed run is a result with ``success=False``: ``error_message`` says what happened
    and ``error`` keeps the exception itself (typed, with its fields), so nothing is lost.

    >>> r = ModelExecutionResult("llama3.2", "Hi", "Hello!", 0.25, tokens_used=7)
    >>> r.success, r.to_dict()["execution_time"]
    (True, 0.25)
    """

    model_name: str
    prompt: str
    response: str
    execution_time: float
    tokens_used: int | None = None
    success: bool = True
    error_message: str | None = None
    metadata: dict[str, Any] | None = None
    error: BaseException | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the seed's fields, and ``error_type`` naming the error's class."""
        return {
            "model_name": self.model_name,
            "prompt": self.prompt,
            "response": self.response,
            "execution_time": self.execution_time,
            "tokens_used": self.tokens_used,
            "success": self.success,
            "error_message": self.error_message,
            "error_type": type(self.error).__name__ if self.error is not None else None,
            "metadata": dict(self.metadata) if self.metadata is not None else None,
        }

    @classmethod
    def failed(
        cls, model_name: str, prompt: str, error: BaseException, execution_time: float = 0.0
    ) -> ModelExecutionResult:
        """A failed run's result, keeping ``error``."""
        text = str(error) or type(error).__name__
        return cls(model_name, prompt, "", execution_time, success=False,
                   error_message=f"{type(error).__name__}: {text}", error=error)  # fmt: skip
