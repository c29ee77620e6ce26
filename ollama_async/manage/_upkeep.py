"""Model-store upkeep: size on disk with shared blobs counted once, and pruning unused models.

What the API tells about use: ``/api/tags`` gives each model's ``modified_at`` (when it was
last pulled, created or copied) and ``/api/ps`` the models loaded now. Ollama records no
last-use time, so "not used for N days" is read as: not modified for N days and not loaded
now. A model in use keeps loading, so it shows in ``/api/ps``; pulling a model again marks it
fresh. ``ollama list``'s relative times ("3 weeks ago") are read the same way in CLI mode.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

from .._api_types import ModelInfo
from .._client import Client
from .._errors import InvalidRequestError, OllamaError
from .._names import normalize_model_name

__all__ = ["disk_usage", "modified_time", "prune"]

_FROM_BLOB = re.compile(r"^FROM\s+\S*?(sha256[-:][0-9a-f]{64})", re.M)
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", re.I)
_AGO = re.compile(r"^(?:about\s+)?(\d+|an?)\s+(second|minute|hour|day|week|month|year)s?\s+ago$",
                  re.I)  # fmt: skip
_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400,
         "month": 30 * 86400, "year": 365 * 86400}  # fmt: skip


def modified_time(text: str, now: datetime | None = None) -> datetime | None:
    """When a model was last modified: an RFC 3339 time (nanoseconds allowed, as Ollama
    writes them) or ``ollama list``'s "N units ago"; None when it cannot be read.

    >>> modified_time("2024-05-01T10:00:00.123456789+02:00").isoformat()
    '2024-05-01T10:00:00.123456+02:00'
    >>> from datetime import datetime, timezone
    >>> now = datetime(2025, 1, 22, tzinfo=timezone.utc)
    >>> modified_time("3 weeks ago", now).date().isoformat(), modified_time("yesterday")
    ('2025-01-01', None)
    """
    text = text.strip()
    if found := _RFC3339.match(text):
        base, frac, zone = found.groups()
        zone = "+00:00" if zone.upper() == "Z" else zone
        return datetime.fromisoformat(f"{base}.{(frac or '0')[:6].ljust(6, '0')}{zone}")
    if found := _AGO.match(text):
        count = 1 if found.group(1).lower() in ("a", "an") else int(found.group(1))
        seconds = count * _UNIT[found.group(2).lower()]
        return (now or datetime.now(timezone.utc)) - timedelta(seconds=seconds)
    return None


def prune(
    models: Sequence[ModelInfo],
    loaded: Sequence[ModelInfo],
    days: float,
    *,
    keep: Iterable[str] = (),
    now: datetime | None = None,
) -> list[ModelInfo]:
    """The models to remove: modified more than ``days`` days ago, not loaded now, not in
    ``keep``. A model whose time cannot be read is kept (never delete on a guess).

    >>> from ollama_async.types import ModelInfo
    >>> old = ModelInfo(name="old:latest", modified_at="2020-01-01T00:00:00Z")
    >>> new = ModelInfo(name="new:latest", modified_at="2999-01-01T00:00:00Z")
    >>> print(*[m.name for m in prune([old, new], [], days=30)])
    old:latest
    """
    if not isinstance(days, int | float) or isinstance(days, bool) or not days >= 0:
        raise InvalidRequestError("days", f"must be a number of days >= 0, not {days!r}")
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=days)
    spared = {normalize_model_name(n) for n in keep}
    spared |= {normalize_model_name(m.name or m.model) for m in loaded}
    chosen = []
    for m in models:
        when = modified_time(m.modified_at, now)
        if when is None or normalize_model_name(m.name or m.model) in spared:
            continue
        if when < cutoff:
            chosen.append(m)
    return chosen


async def disk_usage(client: Client | None, models: Sequence[ModelInfo]) -> int:
    """Bytes on disk, counting blobs shared between models once.

    Copies share a manifest digest and count once. Models built ``FROM`` the same weights
    blob (as ``show``'s modelfile names it) share it: within such a group the smallest model's
    size stands for the shared weights, and each other model adds only what it has beyond
    them. Without a client (CLI mode) only equal digests are merged.
    """
    unique: dict[str, ModelInfo] = {}
    for m in models:
        unique.setdefault(m.digest or m.name, m)
    groups: dict[str, list[int]] = {}
    for m in unique.values():
        key = m.digest or m.name
        if client is not None:
            try:
                show = await client.show(m.name)
                if found := _FROM_BLOB.search(show.modelfile or ""):
                    key = found.group(1).replace("-", ":")
            except OllamaError:
                pass
        groups.setdefault(key, []).append(m.size)
    total = 0
    for sizes in groups.values():
        base = min(sizes)
        total += base + sum(s - base for s in sizes)
    return total
