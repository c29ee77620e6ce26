"""The seed specification's layer, with every name it uses: ``OllamaManager``,
``OllamaModel``, ``ModelRunner``, ``ModelExecutionResult``, ``StreamingChunk``,
``ExecutionOptions`` and its presets, ``OutputManager``, ``ConfigManager``, ``OllamaConfig``.

Example::

    from ollama_async.runner import ExecutionOptions, ModelRunner, OllamaManager

    async with OllamaManager() as manager:
        runner = ModelRunner(manager)
        result = await runner.run_with_options("llama3.2", "Hi", ExecutionOptions())
"""

from .._public import export
from .._settings import OllamaConfig
from ..manage._manager import OllamaManager
from ..manage._records import ModelExecutionResult, OllamaModel
from ._chunks import ChunkIterator, StreamingChunk
from ._configmanager import ConfigManager
from ._outputs import OutputManager
from ._presets import PRESETS, ExecutionOptions, preset
from ._runner import ModelRunner

__all__ = [
    "PRESETS",
    "ChunkIterator",
    "ConfigManager",
    "ExecutionOptions",
    "ModelExecutionResult",
    "ModelRunner",
    "OllamaConfig",
    "OllamaManager",
    "OllamaModel",
    "OutputManager",
    "StreamingChunk",
    "preset",
]

export(globals(), __name__)
