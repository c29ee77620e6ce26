"""``ExecutionOptions``: the seed spec's run settings, with its defaults and named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .._errors import InvalidRequestError
from .._options import check_options

__all__ = ["PRESETS", "ExecutionOptions", "preset"]


@dataclass
class ExecutionOptions:
    """How to run a prompt, with the seed spec's defaults.

    ``max_tokens`` is sent as ``num_predict``, ``context_window`` as ``num_ctx``,
    ``system_prompt`` as the request's ``system``; ``timeout`` (seconds) bounds the whole run.

    >>> o = ExecutionOptions()
    >>> o.temperature, o.top_p, o.top_k, o.repeat_penalty, o.max_tokens, o.timeout
    (0.7, 0.9, 40, 1.1, 2048, 300)
    >>> ExecutionOptions(max_tokens=64, context_window=8192).request_fields()["options"]
    {'temperature': 0.7, 'top_p': 0.9, 'top_k': 40, 'repeat_penalty': 1.1, 'num_predict': 64, 'num_ctx': 8192}
    """  # noqa: E501

    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 40
    repeat_penalty: float = 1.1
    max_tokens: int = 2048
    timeout: int = 300
    stream: bool = False
    format: str | None = None
    system_prompt: str | None = None
    context_window: int | None = None

    def request_fields(self) -> dict[str, Any]:
        """The generate/chat keyword arguments these settings stand for (checked)."""
        options: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repeat_penalty": self.repeat_penalty,
            "num_predict": self.max_tokens,
        }
        if self.context_window is not None:
            options["num_ctx"] = self.context_window
        out: dict[str, Any] = {"options": check_options(options)}
        if self.system_prompt is not None:
            out["system"] = self.system_prompt
        if self.format is not None:
            out["format"] = self.format
        return out

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for saving)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExecutionOptions:
        """Options from a dict of field names; an unknown name is an ``InvalidRequestError``."""
        known = {f.name for f in fields(cls)}
        for name in values:
            if name not in known:
                raise InvalidRequestError(name, f"not an ExecutionOptions field ({sorted(known)})")
        return cls(**values)


PRESETS: dict[str, ExecutionOptions] = {
    "fast": ExecutionOptions(temperature=0.5, top_p=0.8, top_k=20, max_tokens=256, timeout=60),
    "creative": ExecutionOptions(temperature=0.9, top_p=0.95, top_k=80, repeat_penalty=1.15,
                                 max_tokens=1024),
    "balanced": ExecutionOptions(),
    "precise": ExecutionOptions(temperature=0.1, top_p=0.5, top_k=10, repeat_penalty=1.05),
    "long_form": ExecutionOptions(max_tokens=4096, context_window=16384, timeout=600),
}  # fmt: skip
"""The built-in presets, by name. Read them with :func:`preset` (a copy each time)."""


def preset(name: str) -> ExecutionOptions:
    """A copy of a built-in preset (``fast``, ``creative``, ``balanced``, ``precise``,
    ``long_form``), so changing it changes nothing shared.

    >>> preset("creative").temperature, preset("creative").max_tokens
    (0.9, 1024)
    """
    try:
        return replace(PRESETS[name])
    except KeyError:
        raise InvalidRequestError(
            "preset", f"unknown preset {name!r}; choose from {sorted(PRESETS)}"
        ) from None
