"""``send_to`` (seed 001): run a stream and forward its messages, tagged with the stream's
``ref``, to a queue that one consumer reads for many streams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from ._errors import InvalidRequestError
from ._refs import StreamRef

__all__ = ["Done", "Failed", "send_to"]


@dataclass(frozen=True)
class Done:
    """The last message of a forwarded stream: it ended well; ``final`` has the statistics."""

    final: Any


@dataclass(frozen=True)
class Failed:
    """The last message of a forwarded stream: it raised ``error``."""

    error: BaseException


async def send_to(stream: Any, target: Any, ref: Any = None) -> None:
    """Run ``stream`` and send each chunk to ``target`` as ``(ref, chunk)``, then
    ``(ref, Done(final))`` or ``(ref, Failed(error))``, so one consumer can fan in many
    streams and tell them apart (seed 001's ``Streaming.send_to/2``).

    ``target`` is an ``asyncio.Queue`` or an anyio memory object send stream. ``ref`` is
    the stream's own ``stream.ref`` (a :class:`StreamRef` made with the stream, or one you
    set) unless you pass another; a stream without one gets a fresh :class:`StreamRef`. An
    error of the stream becomes the ``Failed`` message; an error of the target (a closed
    stream, say) is raised. The stream is closed when this returns, however it returns.

    Example::

        queue: asyncio.Queue = asyncio.Queue()
        stream = client.stream_tokens("llama3.2", prompt="Hi")
        mine = stream.ref
        async with anyio.create_task_group() as tg:
            tg.start_soon(send_to, stream, queue)
            ref, message = await queue.get()  # ref is mine
    """
    put = getattr(target, "put", None) or getattr(target, "send", None)
    if not callable(put):
        raise InvalidRequestError(
            "target",
            f"is a {type(target).__name__}; send_to needs an asyncio.Queue or an anyio "
            "memory object send stream",
        )
    if ref is None:
        ref = getattr(stream, "ref", None)
        if ref is None:
            ref = StreamRef()
    chunks = aiter(stream)
    last: Done | Failed
    try:
        while True:
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                last = Done(getattr(stream, "final", None))
                break
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:  # the stream's failure is a message, not ours
                last = Failed(exc)
                break
            await put((ref, chunk))
    finally:
        # The iterator first (a suspended generator would otherwise wait for the garbage
        # collector), then the stream; both even while being cancelled.
        with anyio.CancelScope(shield=True):
            for closer in (getattr(chunks, "aclose", None), getattr(stream, "aclose", None)):
                if closer is not None:
                    await closer()
    await put((ref, last))
