"""What every drop-in type shares: dict-style access to its fields, and the request dump.

The official client's types are pydantic models that also answer ``r["field"]``,
``r.get(...)`` and ``"field" in r``. Ours are msgspec Structs with the same methods; a
field counts as present when it is not ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

__all__ = ["Subscriptable", "dump"]


class Subscriptable:
    """Mixin for msgspec Structs: ``r["message"]["content"]``, ``get``, ``in``, ``keys``.

    Iterating gives the present field names, so ``dict(r)`` holds the present fields.

    >>> from ollama_async.compat import Message
    >>> m = Message(role="user", content="hi")
    >>> m["role"], m.get("thinking"), "content" in m, "thinking" in m
    ('user', None, True, False)
    >>> dict(m)
    {'role': 'user', 'content': 'hi'}
    """

    __slots__ = ()
    __struct_fields__: tuple[str, ...]

    def __getitem__(self, key: str) -> Any:
        if key in self:
            return getattr(self, key)
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self.__struct_fields__:
            raise KeyError(key)
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return key in self.__struct_fields__ and getattr(self, key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        """The field's value (``None`` when unset), or ``default`` for an unknown name."""
        return getattr(self, key) if key in self.__struct_fields__ else default

    def keys(self) -> list[str]:
        """The names of the fields that are set (not ``None``)."""
        return [f for f in self.__struct_fields__ if getattr(self, f) is not None]

    def values(self) -> list[Any]:
        """The values of the fields that are set."""
        return [getattr(self, f) for f in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` of the fields that are set."""
        return [(f, getattr(self, f)) for f in self.keys()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())


def dump(value: Any) -> Any:
    """JSON-ready builtins with ``None`` fields of Structs left out (as the official client
    dumps its requests), under each field's wire name.

    >>> from ollama_async.compat import Options
    >>> dump({"options": Options(seed=1), "x": [None]})
    {'options': {'seed': 1}, 'x': [None]}
    """
    if isinstance(value, msgspec.Struct):
        out: dict[str, Any] = {}
        for field, name in zip(
            value.__struct_fields__, value.__struct_encode_fields__, strict=True
        ):
            item = getattr(value, field)
            if item is not None:
                out[name] = dump(item)
        return out
    if isinstance(value, Mapping):
        return {k: dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    return value
