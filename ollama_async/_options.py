"""Model options (``options`` of generate, chat and embed), typed and checked before sending.

:class:`Options` is the schema: its ``Meta`` constraints hold each option's type and range,
and :func:`check_options` checks a mapping or an ``Options`` against it with
``msgspec.convert``. Ollama ignores an unknown option key (with a warning in its own log) and
answers a wrong type with a 500: both are caught here first, naming the key and suggesting the
closest valid one.

Legacy options (``mirostat``, ``tfs_z``, ``use_mlock``… listed in :data:`LEGACY_OPTIONS`) are
still accepted and sent, because the official clients and older code still set them, but the
current server ignores them: the first use of each in a process warns with
:class:`IgnoredOptionWarning`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ._errors import InvalidRequestError
from ._hints import convert

__all__ = [
    "FLOAT_OPTIONS",
    "INT_OPTIONS",
    "LEGACY_OPTIONS",
    "IgnoredOptionWarning",
    "Options",
    "check_options",
]

# The server stores options as Go int (64-bit) and float32; a value outside those would wrap
# or become inf there, and a NaN or inf would be sent as JSON null, so both are refused here.
_I64 = 2**63 - 1
_F32 = 3.4028234663852886e38
Int = Annotated[int, Meta(ge=-_I64 - 1, le=_I64)]
Float = Annotated[float, Meta(ge=-_F32, le=_F32)]
NonNegativeFloat = Annotated[float, Meta(ge=0, le=_F32)]
Fraction = Annotated[float, Meta(ge=0, le=1)]


NonNegativeInt = Annotated[int, Meta(ge=0, le=_I64)]
PositiveInt = Annotated[int, Meta(ge=1, le=_I64)]
FromMinusOne = Annotated[int, Meta(ge=-1, le=_I64)]
FromMinusTwo = Annotated[int, Meta(ge=-2, le=_I64)]  # num_predict: -1 no limit, -2 fill context


class Options(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Every option Ollama knows; unset ones are left out of the request.

    Run-time: ``num_keep, seed, num_predict, top_k, top_p, min_p, typical_p, repeat_last_n,
    temperature, repeat_penalty, presence_penalty, frequency_penalty, stop,
    draft_num_predict``. Load-time (changing them reloads the model): ``num_ctx, num_batch,
    num_gpu, main_gpu, use_mmap, num_thread``. Legacy, ignored by the current server (sent,
    with one :class:`IgnoredOptionWarning` per name): see :data:`LEGACY_OPTIONS`.

    The constructor does not check; :func:`check_options` does, before anything is sent.

    >>> import msgspec
    >>> msgspec.json.encode(Options(temperature=0.2, num_ctx=4096))
    b'{"temperature":0.2,"num_ctx":4096}'
    """

    # run-time
    num_keep: FromMinusOne | None = None
    seed: Int | None = None
    num_predict: FromMinusTwo | None = None
    top_k: NonNegativeInt | None = None
    top_p: Fraction | None = None
    min_p: Fraction | None = None
    typical_p: Fraction | None = None
    repeat_last_n: FromMinusOne | None = None
    temperature: NonNegativeFloat | None = None
    repeat_penalty: Float | None = None
    presence_penalty: Float | None = None
    frequency_penalty: Float | None = None
    stop: list[str] | None = None
    draft_num_predict: NonNegativeInt | None = None
    # load-time
    num_ctx: PositiveInt | None = None
    num_batch: PositiveInt | None = None
    num_gpu: FromMinusOne | None = None  # -1: as many layers as fit
    main_gpu: NonNegativeInt | None = None
    use_mmap: bool | None = None
    num_thread: NonNegativeInt | None = None
    # legacy: removed from the server (api/types.go) between 2024 and 2025, ignored if sent
    mirostat: Annotated[int, Meta(ge=0, le=2)] | None = None
    mirostat_tau: NonNegativeFloat | None = None
    mirostat_eta: NonNegativeFloat | None = None
    tfs_z: NonNegativeFloat | None = None
    penalize_newline: bool | None = None
    numa: bool | None = None
    low_vram: bool | None = None
    f16_kv: bool | None = None
    logits_all: bool | None = None
    vocab_only: bool | None = None
    use_mlock: bool | None = None
    embedding_only: bool | None = None
    num_gqa: PositiveInt | None = None
    rope_frequency_base: NonNegativeFloat | None = None
    rope_frequency_scale: NonNegativeFloat | None = None


LEGACY_OPTIONS: frozenset[str] = frozenset(
    Options.__struct_fields__[Options.__struct_fields__.index("mirostat") :]
)
"""Options the current server ignores (it logs "invalid option provided" and goes on)."""


def _kinds(wanted: type) -> frozenset[str]:
    info = msgspec.inspect.type_info(Options)
    assert isinstance(info, msgspec.inspect.StructType)
    return frozenset(
        f.name
        for f in info.fields
        if f.name not in LEGACY_OPTIONS
        and any(
            type(t) is wanted
            for t in (f.type.types if isinstance(f.type, msgspec.inspect.UnionType) else [f.type])
        )
    )


INT_OPTIONS = _kinds(msgspec.inspect.IntType)
"""The current server's integer options (a float or a string there is a 500)."""
FLOAT_OPTIONS = _kinds(msgspec.inspect.FloatType)
"""The current server's float options."""


class IgnoredOptionWarning(UserWarning):
    """An option was sent that the current Ollama server ignores (see ``LEGACY_OPTIONS``).

    A ``UserWarning`` rather than a ``DeprecationWarning``: the option already has no effect
    on today's server, so this is about the caller's results now, not about a future removal,
    and Python shows ``UserWarning`` by default where it hides ``DeprecationWarning`` raised
    from library code. Shown once per option name per process. To silence it::

        warnings.filterwarnings("ignore", category=IgnoredOptionWarning)
    """


_warned: set[str] = set()


def check_options(options: Any) -> Any:
    """Check options before sending; returns what goes into the request body.

    Accepts an :class:`Options` or a mapping; raises :class:`InvalidRequestError` with
    ``field`` like ``options.num_predict``.

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
        # the constructor does not validate: check the values it was given
        items: Mapping[str, Any] = msgspec.structs.asdict(options)
    elif isinstance(options, Mapping):
        items = options
    else:
        raise InvalidRequestError("options", "must be an Options or a mapping of names to values")
    convert(items, Options, "options", Options.__struct_fields__, what="option")
    if not LEGACY_OPTIONS.isdisjoint(items):
        _warn_legacy(items)
    return options if isinstance(options, Options) else dict(items)


def _warn_legacy(items: Mapping[str, Any]) -> None:
    for name in sorted(LEGACY_OPTIONS.intersection(items)):
        if items[name] is None or name in _warned:
            continue
        _warned.add(name)
        warnings.warn(
            IgnoredOptionWarning(
                f"option {name!r} is sent, but the current Ollama server ignores it "
                "(removed from its options in 2024-2025)"
            ),
            stacklevel=_caller_level(),  # counted from _warn_legacy
        )


def _caller_level() -> int:
    """The stacklevel of the first frame outside this package, so the warning points there."""
    frame: Any = sys._getframe(1)  # the caller (stacklevel 1 there)
    level = 1
    while frame is not None and str(frame.f_globals.get("__name__")).startswith("ollama_async"):
        frame = frame.f_back
        level += 1
    return level
