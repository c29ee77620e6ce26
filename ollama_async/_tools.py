"""Tools from plain Python functions: the JSON Schema comes from type hints and the docstring."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, get_type_hints

import msgspec

from ._errors import InvalidRequestError
from ._types import Tool, ToolFunction

__all__ = ["tool_from_function"]

_PARAM = re.compile(r"^\s*(?::param\s+)?(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def tool_from_function(func: Callable[..., Any]) -> Tool:
    """Describe ``func`` as a tool: name, first docstring paragraph, parameter schema.

    Parameter descriptions are read from an ``Args:`` section or ``:param name:`` lines;
    parameters without a default are required.

    >>> def get_weather(city: str, unit: str = "celsius") -> str:
    ...     '''Current weather in a city.
    ...
    ...     Args:
    ...         city: The city's name.
    ...     '''
    ...     return "sunny"
    >>> t = tool_from_function(get_weather)
    >>> t.function.name, t.function.parameters["required"]
    ('get_weather', ['city'])
    >>> props = t.function.parameters.get("properties")
    >>> props.get("city")
    {'type': 'string', 'description': "The city's name."}
    """
    try:
        hints = get_type_hints(func)
    except Exception as exc:  # unresolvable annotations
        raise InvalidRequestError(
            "tools", f"cannot read the type hints of {func!r}: {exc}"
        ) from None
    doc = inspect.getdoc(func) or ""
    summary = doc.split("\n\n", 1)[0].strip()
    described = _param_docs(doc)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        try:
            schema = msgspec.json.schema(annotation)
        except TypeError as exc:
            raise InvalidRequestError(f"tools.{func.__name__}.{name}", str(exc)) from None
        if name in described:
            schema["description"] = described[name]
        properties[name] = schema
        if param.default is param.empty:
            required.append(name)
    parameters = {"type": "object", "properties": properties, "required": required}
    return Tool(
        function=ToolFunction(name=func.__name__, description=summary, parameters=parameters)
    )


def _param_docs(doc: str) -> dict[str, str]:
    out: dict[str, str] = {}
    in_args = False
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if stripped.startswith(":param ") or in_args:
            found = _PARAM.match(stripped)
            if found:
                out[found.group(1)] = found.group(2).strip()
            elif in_args and not stripped:
                in_args = False
    return out
