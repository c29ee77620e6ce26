"""Tools from plain Python functions: the JSON Schema comes from type hints and the docstring."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, get_type_hints

import msgspec

from ._errors import InvalidRequestError
from ._types import Tool, ToolFunction

__all__ = ["parse_docstring", "tool_from_function"]

_ARG_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
     "other parameters", "kwargs"}
)  # fmt: skip
_OTHER_SECTIONS = frozenset(
    {"returns", "return", "yields", "yield", "raises", "raise", "examples", "example", "note",
     "notes", "see also", "warning", "warnings", "attributes", "references", "todo"}
)  # fmt: skip
_GOOGLE_HEADER = re.compile(r"([A-Za-z][A-Za-z ]*):")
_GOOGLE_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:(?:\s+(.*)|$)")
_NUMPY_ENTRY = re.compile(r"\*{0,2}(\w+)(?:\s*:.*)?")
_REST_FIELD = re.compile(r":(\w+)((?:\s+[^:]+)?):(?:\s+(.*)|$)")
_REST_PARAMS = frozenset({"param", "parameter", "arg", "argument", "key", "keyword"})
_DASHES = re.compile(r"-{3,}")


def tool_from_function(func: Callable[..., Any]) -> Tool:
    """Describe ``func`` as a tool: name, description, parameter schema.

    The description is the docstring's text before its first section; parameter
    descriptions come from its Google, NumPy or reST section (see :func:`parse_docstring`).
    Parameters without a default are required.

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
    summary, described = parse_docstring(inspect.getdoc(func) or "")
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


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    r"""Split a docstring into its description and its parameters' descriptions.

    Google (``Args:``, any case, with or without a blank line before it), NumPy
    (``Parameters`` over a line of dashes) and reST (``:param name:``) styles are read. An
    argument's continuation lines are joined to it with spaces; blank lines inside a section
    do not end it; ``Returns``, ``Raises`` and the other sections are left out.

    >>> parse_docstring("Add two numbers.\nArgs:\n    a: The first,\n      an int.\n\n    b: The second.")
    ('Add two numbers.', {'a': 'The first, an int.', 'b': 'The second.'})
    """  # noqa: E501
    lines = doc.expandtabs().splitlines()
    summary: list[str] = []
    params: dict[str, list[str]] = {}
    state = "summary"  # or "args", "numpy", "rest", "other"
    base: int | None = None  # the indent of a section's entries
    header = 0  # the indent of the section's header
    current: list[str] | None = None
    skip = False
    for i, line in enumerate(lines):
        if skip:
            skip = False
            continue
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        title = text.rstrip(":").lower()
        if text and _DASHES.fullmatch(following) and title in _ARG_SECTIONS | _OTHER_SECTIONS:
            state, base, header, current, skip = _section(title, "numpy"), None, indent, None, True
            continue
        google = _GOOGLE_HEADER.fullmatch(text)
        if google and title in _ARG_SECTIONS | _OTHER_SECTIONS:
            state, base, header, current = _section(title, "args"), None, indent, None
            continue
        field = _REST_FIELD.match(text)
        if field:
            if field.group(1).lower() in _REST_PARAMS and field.group(2).split():
                current = params.setdefault(field.group(2).split()[-1].lstrip("*"), [])
                current[:] = [field.group(3) or ""]
                state, base = "rest", indent
            else:
                state = "other"
            continue
        if state == "summary":
            summary.append(text)
        elif not text or state == "other":
            continue
        elif state == "rest":
            if indent > (base or 0) and current is not None:
                current.append(text)
            else:
                state = "other"
        elif base is None or indent <= base:
            if (base is None and indent < header) or (base is not None and indent < base):
                state = "other"
                continue
            base = indent
            entry = (_NUMPY_ENTRY if state == "numpy" else _GOOGLE_ENTRY).fullmatch(text)
            if entry is None:
                if current is not None:
                    current.append(text)
                continue
            current = params.setdefault(entry.group(1), [])
            current[:] = [entry.group(2) or ""] if state == "args" else []
        elif current is not None:
            current.append(text)
    described = {name: " ".join(p for p in parts if p) for name, parts in params.items()}
    return "\n".join(summary).strip(), described


def _section(title: str, args_state: str) -> str:
    return args_state if title in _ARG_SECTIONS else "other"
