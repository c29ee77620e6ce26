"""The official client's two error names, placed in our error tree.

``ResponseError`` is ours (``ollama_async.ResponseError``, with ``status_code`` as well as
``status``), so its typed subclasses (``ModelNotFoundError``, ``RateLimitError``, …) are
caught by ``except ResponseError`` as before. ``RequestError`` is a kind of our
``InvalidRequestError``: bad input, refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .._errors import InvalidRequestError, ResponseError, StreamError

__all__ = ["RequestError", "StreamResponseError", "request_errors"]


class RequestError(InvalidRequestError):
    """The request was refused before sending (the official client's name); ``error`` says
    why and ``field`` names the argument.

    Example::

        try:
            await client.chat("", messages=[])
        except RequestError as e:
            print(e.error)
    """

    def __init__(self, error: str, field: str = "request") -> None:
        super().__init__(field, error)
        self.error = error


class StreamResponseError(StreamError, ResponseError):
    """An ``{"error": …}`` part inside a stream: both our ``StreamError`` and, as in the
    official client, a ``ResponseError`` with ``status_code`` -1."""

    def __init__(self, error: str, partial_text: str = "") -> None:
        Exception.__init__(self, error)  # the two parents' __init__ differ; set both's fields
        self.error = error
        self.partial_text = partial_text
        self.status = -1
        self.url = ""


@contextmanager
def request_errors() -> Iterator[None]:
    """Re-raise the native checks' :class:`InvalidRequestError` as :class:`RequestError`."""
    try:
        yield
    except RequestError:
        raise
    except InvalidRequestError as exc:
        raise RequestError(str(exc).partition(": ")[2], exc.field) from None
