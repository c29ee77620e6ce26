"""The official ``ollama`` client's names, on ollama_async's engine.

``AsyncClient`` and the types keep the official constructors, call signatures and answer
fields; ``ResponseError`` and ``RequestError`` are the official error names, placed in our
error tree. See the "Coming from the official client" page.

Example::

    import ollama_async.compat as ollama

    client = ollama.AsyncClient()
    r = await client.chat("llama3.2", messages=[ollama.Message(role="user", content="Hi")])
    print(r["message"]["content"])
"""

from ._compat import *  # noqa: F403
from ._compat import __all__ as _names
from ._errors import ResponseError
from ._public import export

__all__ = [*_names, "ResponseError"]

export(globals(), __name__)
