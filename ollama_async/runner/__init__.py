"""The seed specification's layer: ``ModelRunner``, ``ExecutionOptions`` and its presets,
``OutputManager`` and ``ConfigManager``.

Example::

    from ollama_async.runner import ExecutionOptions, ModelRunner
"""

from .._public import export
from ._outputs import OutputManager
from ._presets import PRESETS, ExecutionOptions
from ._runner import ModelExecutionResult, ModelRunner
from ._settings import ConfigManager

__all__ = [
    "PRESETS",
    "ConfigManager",
    "ExecutionOptions",
    "ModelExecutionResult",
    "ModelRunner",
    "OutputManager",
]

export(globals(), __name__)
