"""Images for multimodal requests: bytes, base64 text or file paths, normalised to base64.

The server decodes images with Go's standard base64 decoder, which skips ``\\r`` and ``\\n``:
text wrapped by ``base64.encodebytes`` or ending in a newline is valid image data and is
sent as given. Anything else in a ``str`` must name a readable file.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

import anyio

from ._errors import InvalidRequestError

__all__ = ["is_base64", "normalize_images", "read_image"]

_LINE_BREAKS = str.maketrans("", "", "\r\n")


def is_base64(text: str) -> bool:
    """True when ``text`` is standard base64 once line breaks are skipped (as the server does).

    >>> is_base64("aGk=\\n"), is_base64("aGk=\\r\\naGk="[:4]), is_base64("photo.png")
    (True, True, False)
    """
    compact = text.translate(_LINE_BREAKS)
    if len(compact) < 4 or len(compact) % 4:
        return False
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def read_image(path: str, index: int = 0) -> str:
    """The base64 text of an image file; :class:`InvalidRequestError` names an unreadable one.

    Example::

        data = read_image("photo.png")
    """
    try:
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode("ascii")
    except OSError as exc:
        raise InvalidRequestError(
            f"images[{index}]", f"cannot read image file {path!r}: {exc.strerror}"
        ) from None


def _is_file(text: str) -> bool:
    try:
        return os.path.isfile(text)
    except (OSError, ValueError):  # too long for a path, or a NUL in it
        return False


async def normalize_images(images: list[Any]) -> None:
    """Turn every entry of ``images`` into base64 text, in place: bytes are encoded, paths
    (``os.PathLike`` or a ``str`` naming a file) are read off the event loop, base64 text is
    kept. A ``str`` that is neither raises :class:`InvalidRequestError` naming its index.

    Example::

        images = ["photo.png", b"\\x89PNG...", "aGVsbG8=\\n"]
        await normalize_images(images)  # three base64 strings
    """
    for i, img in enumerate(images):
        if isinstance(img, bytes | bytearray | memoryview):
            images[i] = base64.b64encode(img).decode("ascii")
        elif isinstance(img, os.PathLike):
            images[i] = await anyio.to_thread.run_sync(read_image, os.fspath(img), i)
        elif isinstance(img, str):
            # A str subclass marks a path already checked; a plain str may be either.
            if type(img) is not str or _is_file(img):
                images[i] = await anyio.to_thread.run_sync(read_image, str(img), i)
            elif not is_base64(img):
                raise InvalidRequestError(
                    f"images[{i}]", "is neither a readable file nor base64-encoded image data"
                )
        else:
            raise InvalidRequestError(f"images[{i}]", "must be bytes, base64 text or a file path")
