"""Stream references (seed 001): a unique tag for one streaming request.

Seed 001 gives every stream a ``ref`` so one receiver can fan in the messages of many
streams (see :func:`send_to`) and tell them apart. A reference is opaque: compare it with
``is`` or ``==`` (identity), use it as a dict key; it is made when the stream is made,
unless the caller sets one of its own.

>>> a, b = StreamRef(), StreamRef()
>>> a == a, a == b
(True, False)
"""

from __future__ import annotations

import itertools

__all__ = ["StreamRef"]

_numbers = itertools.count(1)


class StreamRef:
    """A unique, opaque reference for one stream (Elixir's ``make_ref()`` in seed 001).

    Example::

        stream = client.stream_tokens("llama3.2", prompt="Hi")
        mine = stream.ref  # match messages from send_to(stream, queue) against it
    """

    __slots__ = ("_number",)

    def __init__(self) -> None:
        self._number = next(_numbers)

    def __repr__(self) -> str:
        return f"<StreamRef #{self._number}>"
