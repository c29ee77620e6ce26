"""The emulator's in-memory model store: tags, show, ps, copy, delete and create agree."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from ._model import digest


def now_rfc3339(offset: float = 0.0) -> str:
    t = datetime.now(timezone.utc) + timedelta(seconds=offset)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def normalize(name: str) -> str:
    """``llama3`` → ``llama3:latest``; drop the default registry and namespace."""
    name = name.strip()
    for prefix in ("registry.ollama.ai/library/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else name + ":latest"


@dataclass
class StoredModel:
    name: str
    family: str = "llama"
    parameter_size: str = "1.2B"
    quantization: str = "Q4_K_M"
    size: int = 1_321_098_329
    capabilities: tuple[str, ...] = ("completion",)
    system: str = ""
    template: str = "{{ .Prompt }}"
    parameters: dict[str, Any] = field(default_factory=dict)
    weights: str = ""
    modified_at: str = field(default_factory=now_rfc3339)
    context_length: int = 4096
    embedding_length: int = 2048

    def __post_init__(self) -> None:
        if not self.weights:
            self.weights = digest("weights", self.name)

    @property
    def digest(self) -> str:
        return digest("manifest", self.weights, self.system, self.template, self.parameters)[7:]

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }

    def tag_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.name,
            "modified_at": self.modified_at,
            "size": self.size,
            "digest": self.digest,
            "details": self.details(),
            "capabilities": list(self.capabilities),
        }


DEFAULT_MODELS = (
    StoredModel("llama3.2:latest", capabilities=("completion", "tools")),
    StoredModel(
        "tiny:latest",
        parameter_size="119K",
        quantization="unknown",
        size=486_680,
        context_length=512,
        embedding_length=64,
    ),
    StoredModel(
        "qwen3:latest",
        family="qwen3",
        parameter_size="8.2B",
        size=5_225_388_164,
        capabilities=("completion", "tools", "thinking", "insert"),
    ),
    StoredModel(
        "nomic-embed-text:latest",
        family="nomic-bert",
        parameter_size="137M",
        quantization="F16",
        size=274_302_450,
        capabilities=("embedding",),
        embedding_length=768,
    ),
)


class Store:
    """Models on disk and models loaded in memory."""

    def __init__(self, models: list[str] | None = None) -> None:
        chosen = [m for m in DEFAULT_MODELS if models is None or m.name in map(normalize, models)]
        self.models: dict[str, StoredModel] = {m.name: replace(m) for m in chosen}
        if models is not None:
            for name in map(normalize, models):
                self.models.setdefault(name, StoredModel(name))
        self.loaded: dict[str, float] = {}  # name -> expiry (monotonic)
        self.blobs: dict[str, int] = {}  # digest -> size

    def get(self, name: str) -> StoredModel | None:
        return self.models.get(normalize(name))

    def load(self, name: str, keep_alive: float = 300.0) -> None:
        self.loaded[normalize(name)] = time.monotonic() + keep_alive

    def unload(self, name: str) -> None:
        self.loaded.pop(normalize(name), None)

    def ps(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        out = []
        for name, expiry in list(self.loaded.items()):
            m = self.models.get(name)
            if m is None or expiry < now:
                self.loaded.pop(name, None)
                continue
            entry = m.tag_entry()
            entry.pop("modified_at")
            entry.pop("capabilities")
            entry.update(
                size=m.size * 2,
                expires_at=now_rfc3339(expiry - now),
                size_vram=0,
                context_length=m.context_length,
            )
            out.append(entry)
        return out
