"""Model options (``options`` of generate, chat and embed), typed and checked before sending.

Ollama ignores an unknown option key (with a warning in its own log) and answers a wrong type
with a 500: both are caught here first, naming the key and suggesting the closest valid one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import msgspec

from ._errors import InvalidRequestError

__all__ = ["Options", "check_options"]


class Options(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Every option Ollama knows; unset ones are left out of the request.

    Run-time: ``num_keep, seed, num_predict, top_k, top_p, min_p, typical_p, repeat_last_n,
    temperature, repeat_penalty, presence_penalty, frequency_penalty, stop,
    draft_num_predict``. Load-time
    (changing them reloads the model): ``num_ctx, num_batch, num_gpu, main_gpu, use_mmap,
    num_thread``.

    >>> import msgspec
    >>> msgspec.json.encode(Options(temperature=0.2, num_ctx=4096))
    b'{"temperature":0.2,"num_ctx":4096}'
    """

    # run-time
    num_keep: int | None = None
    seed: int | None = None
    num_predict: int | None = None
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    typical_p: float | None = None
    repeat_last_n: int | None = None
    temperature: float | None = None
    repeat_penalty: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop: list[str] | None = None
    draft_num_predict: int | None = None
    # load-time
    num_ctx: int | None = None
    num_batch: int | None = None
    num_gpu: int | None = None
    main_gpu: int | None = None
    use_mmap: bool | None = None
    num_thread: int | None = None


_INT = (int,)
_NUM = (int, float)
_KINDS: dict[str, tuple[type, ...]] = {
    name: (bool,) if name == "use_mmap" else (list,) if name == "stop" else _INT
    for name in Options.__struct_fields__
}
for _name in (
    "top_p",
    "min_p",
    "typical_p",
    "temperature",
    "repeat_penalty",
    "presence_penalty",
    "frequency_penalty",
):
    _KINDS[_name] = _NUM

# name -> (lowest allowed, highest allowed)
_RANGES: dict[str, tuple[float, float]] = {
    "num_predict": (-2, float("inf")),  # -1: no limit, -2: fill the context
    "num_ctx": (1, float("inf")),
    "num_batch": (1, float("inf")),
    "num_keep": (-1, float("inf")),
    "top_k": (0, float("inf")),
    "repeat_last_n": (-1, float("inf")),
    "num_thread": (0, float("inf")),
    "temperature": (0, float("inf")),
    "top_p": (0, 1),
    "min_p": (0, 1),
    "typical_p": (0, 1),
}


def check_options(options: Any) -> Any:
    """Check options before sending; returns what goes into the request body.

    Accepts an :class:`Options` (already typed) or a mapping; raises
    :class:`InvalidRequestError` with ``field`` like ``options.num_predict``.

    >>> check_options({"temperature": 0.2})
    {'temperature': 0.2}
    >>> check_options({"temprature": 0.2})
    Traceback (most recent call last):
    ...
    ollama_async.InvalidRequestError: options.temprature: unknown option; did you mean 'temperature'?
    """  # noqa: E501
    if options is None:
        return None
    if isinstance(options, Options):
        items: Mapping[str, Any] = {
            f: v for f in Options.__struct_fields__ if (v := getattr(options, f)) is not None
        }
    elif isinstance(options, Mapping):
        items = options
    else:
        raise InvalidRequestError("options", "must be an Options or a mapping of names to values")
    for key, raw in items.items():
        value: Any = raw
        kinds = _KINDS.get(key)
        field = f"options.{key}"
        if kinds is None:
            close = difflib.get_close_matches(str(key), _KINDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidRequestError(field, f"unknown option{hint}")
        if value is None:
            continue
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            want = " or ".join(k.__name__ for k in kinds)
            raise InvalidRequestError(field, f"must be {want}, not {type(value).__name__}")
        value = raw  # keep it Any for mypy: isinstance with a tuple of types narrowed it
        if key == "stop":
            if not all(isinstance(s, str) for s in value):
                raise InvalidRequestError(field, "must be a list of strings")
            continue
        bounds = _RANGES.get(key)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise InvalidRequestError(field, f"{value!r} is outside [{bounds[0]}, {bounds[1]}]")
    return options if isinstance(options, Options) else dict(items)
