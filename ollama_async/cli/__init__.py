"""The ``ollama-async`` command line (``python -m ollama_async``)."""

from ._main import main

__all__ = ["main"]
