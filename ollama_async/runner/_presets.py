"""``ExecutionOptions``: the seed spec's run settings, with named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from .._options import check_options

__all__ = ["PRESETS", "ExecutionOptions"]


@dataclass(frozen=True)
class ExecutionOptions:
    """How to run a prompt. ``max_tokens`` maps to ``num_predict``, ``context_window`` to
    ``num_ctx``, ``system_prompt`` to the request's ``system``; ``timeout`` (seconds) bounds
    the whole run.

    >>> ExecutionOptions.precise().temperature
    0.1
    >>> ExecutionOptions(max_tokens=64, context_window=8192).request_fields()
    {'options': {'num_predict': 64, 'num_ctx': 8192}}
    """

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repeat_penalty: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    stream: bool = False
    format: str | dict[str, Any] | None = None
    system_prompt: str | None = None
    context_window: int | None = None

    def request_fields(self) -> dict[str, Any]:
        """The generate/chat keyword arguments these settings stand for (checked)."""
        options = {
            k: v
            for k, v in (
                ("temperature", self.temperature),
                ("top_p", self.top_p),
                ("top_k", self.top_k),
                ("repeat_penalty", self.repeat_penalty),
                ("num_predict", self.max_tokens),
                ("num_ctx", self.context_window),
            )
            if v is not None
        }
        fields: dict[str, Any] = {}
        if options:
            fields["options"] = check_options(options)
        if self.system_prompt is not None:
            fields["system"] = self.system_prompt
        if self.format is not None:
            fields["format"] = self.format
        return fields

    def with_(self, **changes: Any) -> ExecutionOptions:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for saving)."""
        return asdict(self)

    @classmethod
    def fast(cls) -> ExecutionOptions:
        """Short, quick answers."""
        return PRESETS["fast"]

    @classmethod
    def creative(cls) -> ExecutionOptions:
        """High temperature, wide sampling: varied text."""
        return PRESETS["creative"]

    @classmethod
    def balanced(cls) -> ExecutionOptions:
        """Sensible defaults for most prompts."""
        return PRESETS["balanced"]

    @classmethod
    def precise(cls) -> ExecutionOptions:
        """Low temperature, narrow sampling: factual, repeatable answers."""
        return PRESETS["precise"]

    @classmethod
    def long_form(cls) -> ExecutionOptions:
        """Long answers with a large context window."""
        return PRESETS["long_form"]

    @classmethod
    def preset(cls, name: str) -> ExecutionOptions:
        """A preset by name (``fast``, ``creative``, ``balanced``, ``precise``, ``long_form``)."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}") from None


PRESETS: dict[str, ExecutionOptions] = {
    "fast": ExecutionOptions(temperature=0.3, top_k=20, top_p=0.8, max_tokens=256, timeout=30),
    "creative": ExecutionOptions(
        temperature=1.0, top_k=80, top_p=0.95, repeat_penalty=1.15, max_tokens=1024
    ),
    "balanced": ExecutionOptions(temperature=0.7, top_k=40, top_p=0.9, repeat_penalty=1.1),
    "precise": ExecutionOptions(temperature=0.1, top_k=10, top_p=0.5, repeat_penalty=1.05),
    "long_form": ExecutionOptions(
        temperature=0.7, top_p=0.9, max_tokens=4096, context_window=16384, timeout=600
    ),
}
