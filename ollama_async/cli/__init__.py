"""The ``ollama-async`` command line (``python -m ollama_async``).

Every command is declared once, in a registry (``_registry``), with its help, arguments and
handler; ``_main`` parses, dispatches and maps errors to exit codes.

Example::

    from ollama_async.cli import main
    raise SystemExit(main(["list"]))
"""

from ._main import main

__all__ = ["main"]
