"""One helper for the public namespaces: names defined in private modules report the
public module they are exported from, so reprs, docs and pickles show where to import them."""

from __future__ import annotations

import contextlib
import inspect
import typing
from typing import Any


def export(namespace: dict[str, Any], public_name: str) -> None:
    """Set ``__module__`` of every class and function in ``namespace['__all__']`` that a
    private module defines (the first public namespace to export a name keeps it)."""
    for name in namespace["__all__"]:
        obj = namespace[name]
        module = getattr(obj, "__module__", None) or ""
        private = module.rpartition(".")[2].startswith("_")
        if not (isinstance(obj, type) or callable(obj)) or not private:
            continue
        if not module.startswith("ollama_async"):
            continue
        if isinstance(obj, type):
            _resolve_annotations(obj)
        with contextlib.suppress(AttributeError, TypeError):
            obj.__module__ = public_name


def _resolve_annotations(cls: type) -> None:
    """Turn the class's string annotations into objects while its own module still resolves
    them: msgspec and ``typing.get_type_hints`` look names up in ``cls.__module__``, which is
    about to name a namespace that does not hold every private helper type."""
    own = inspect.get_annotations(cls)
    if not own:
        return
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except (NameError, TypeError):  # pragma: no cover - a TYPE_CHECKING-only name
        return
    cls.__annotations__ = {name: hints.get(name, value) for name, value in own.items()}
