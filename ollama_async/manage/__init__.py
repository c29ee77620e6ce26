"""Model management: the store as a whole, the ``ollama`` executable, update checks,
hardware fit and model names.

Example::

    from ollama_async.manage import OllamaManager

    async with OllamaManager() as manager:
        print(await manager.list_models())
"""

from .._names import ModelName, normalize_model_name, parse_model_name, same_model
from .._public import export
from ._executable import OllamaCLI
from ._hardware import FitEstimate, estimate_fit
from ._manager import ModelStats, OllamaManager
from ._updates import UpdateStatus, check_updates

__all__ = [
    "FitEstimate",
    "ModelName",
    "ModelStats",
    "OllamaCLI",
    "OllamaManager",
    "UpdateStatus",
    "check_updates",
    "estimate_fit",
    "normalize_model_name",
    "parse_model_name",
    "same_model",
]

export(globals(), __name__)
