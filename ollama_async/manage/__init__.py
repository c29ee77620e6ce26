"""Model management: the seed spec's ``OllamaManager``, the ``ollama`` executable, update
checks, hardware fit, store upkeep and model names.

Example::

    from ollama_async.manage import OllamaManager

    async with OllamaManager() as manager:
        print(await manager.list_models())
"""

from .._names import ModelName, normalize_model_name, parse_model_name, same_model
from .._public import export
from ._executable import (
    CommandModelNotFoundError,
    ExecutableNotFoundError,
    OllamaCLI,
    OllamaCommandError,
)
from ._hardware import FitEstimate, estimate_fit
from ._manager import OllamaManager
from ._records import ModelExecutionResult, OllamaModel
from ._updates import UpdateStatus, check_updates
from ._upkeep import modified_time, prune

__all__ = [
    "CommandModelNotFoundError",
    "ExecutableNotFoundError",
    "FitEstimate",
    "ModelExecutionResult",
    "ModelName",
    "OllamaCLI",
    "OllamaCommandError",
    "OllamaManager",
    "OllamaModel",
    "UpdateStatus",
    "check_updates",
    "estimate_fit",
    "modified_time",
    "normalize_model_name",
    "parse_model_name",
    "prune",
    "same_model",
]

export(globals(), __name__)
