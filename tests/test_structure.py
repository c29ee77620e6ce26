"""The architecture, checked: one transport boundary, an exact public surface, small modules."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import ollama_async

PACKAGE = Path(ollama_async.__file__).parent

TOP_LEVEL = {
    # the client and its streams; the official client's surface on it
    "AsyncClient", "RequestError", "Client", "ChunkStream", "TokenStream", "ByteStream",
    "ProgressStream", "EventStream", "ThinkingText", "OpenAIClient",
    # the error tree
    "OllamaError", "InvalidRequestError", "ConfigError", "ClientClosedError",
    "IgnoredOptionWarning",
    "StreamMisuseError", "OllamaConnectionError", "ServerUnreachableError", "TLSError",
    "ConnectionLostError", "IncompleteStreamError", "OllamaTimeoutError",
    "ConnectTimeoutError", "IdleTimeoutError", "TotalTimeoutError", "ResponseError",
    "BadRequestError", "NotFoundError", "ModelNotFoundError", "RateLimitError", "ServerError",
    "StreamError", "ProtocolError", "MalformedLineError", "LineTooLongError",
    "ResponseTooLargeError", "InvalidResponseError",
    # the common wire types
    "GenerateResponse", "ChatResponse", "Message", "Tool", "ToolCall", "Options",
    "ListResponse", "ShowResponse", "ProcessResponse", "ProgressResponse", "PullProgress",
    "EmbedResponse", "EmbeddingsResponse", "tool_from_function",
    # configuration, batch, pool
    "Timeouts", "RetryPolicy", "BatchRunner", "BatchResult", "run_batch", "send_to", "Done",
    "Failed", "Pool", "HostState",
    "__version__",
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_transport_imports_aiohttp() -> None:
    importers = {
        p.relative_to(PACKAGE).parts[0]
        for p in PACKAGE.rglob("*.py")
        if "aiohttp" in _imports(p) and p.relative_to(PACKAGE).parts[0] != "testing"
    }
    assert importers == {"_transport"}


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def test_the_top_level_is_exactly_the_core() -> None:
    assert set(ollama_async.__all__) == TOP_LEVEL
    assert len(ollama_async.__all__) == len(set(ollama_async.__all__))
    for name in ollama_async.__all__:
        assert hasattr(ollama_async, name), name


NAMESPACES = ["ollama_async", "ollama_async.types", "ollama_async.manage", "ollama_async.runner",
              "ollama_async.compat"]  # fmt: skip


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_exported_name_reports_a_public_module(namespace: str) -> None:
    module = importlib.import_module(namespace)
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type) or callable(obj):
            where = obj.__module__
            assert not any(part.startswith("_") for part in where.split(".")), (name, where)
            assert getattr(importlib.import_module(where), name) is obj, (name, where)


def test_wire_types_still_resolve_their_annotations_after_export() -> None:
    import typing

    from ollama_async import types

    for name in types.__all__:
        obj = getattr(types, name)
        if isinstance(obj, type):
            typing.get_type_hints(obj)  # raises NameError if a private helper went missing
