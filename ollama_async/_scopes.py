"""Leaving a task group that an ``async with`` of ours entered by hand, in ``__aenter__``."""

from __future__ import annotations

import anyio
from anyio.abc import TaskGroup

__all__ = ["leave_group"]


async def leave_group(group: TaskGroup, exc: BaseException | None) -> bool | None:
    """Cancel ``group``, wait for its tasks and leave it, from the task that entered it.

    ``exc`` is the caller's block's exception. Only a cancellation is handed to the group
    (which may then swallow its own); any other exception stays the caller's, because the
    group would raise it wrapped in an ``ExceptionGroup``. Returns what ``__aexit__`` should.
    """
    group.cancel_scope.cancel()
    if isinstance(exc, anyio.get_cancelled_exc_class()):
        return await group.__aexit__(type(exc), exc, exc.__traceback__)
    await group.__aexit__(None, None, None)
    return None
