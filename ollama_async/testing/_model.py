"""The emulator's deterministic "model": text and embeddings derived from a hash."""

from __future__ import annotations

import hashlib
import math
import struct

WORDS = [
    "the",
    "sky",
    "is",
    "blue",
    "because",
    "air",
    "scatters",
    "short",
    "waves",
    "more",
    "than",
    "long",
    "ones",
    "so",
    "light",
    "from",
    "every",
    "part",
    "of",
    "it",
    "reaches",
    "the",
    "eye",
    "as",
    "a",
    "soft",
    "glow",
    "while",
    "the",
    "sun",
    "itself",
    "looks",
    "yellow",
    "and",
    "at",
    "dusk",
    "the",
    "long",
    "path",
    "through",
    "the",
    "air",
    "leaves",
    "red",
    "and",
    "orange",
]


def _seed(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def tokens(model: str, prompt: str, seed: int, count: int) -> list[str]:
    """``count`` word-like tokens, the same for the same (model, prompt, seed)."""
    out = []
    state = _seed(model, prompt, seed)
    for i in range(count):
        if i % 8 == 0:
            state = hashlib.sha256(state).digest()
        word = WORDS[state[i % 8 * 4] % len(WORDS)]
        out.append(word if i == 0 else " " + word)
    return out


def embedding(model: str, text: str, dims: int) -> list[float]:
    """A unit vector of ``dims`` floats derived from (model, text)."""
    values: list[float] = []
    block = _seed(model, text)
    while len(values) < dims:
        block = hashlib.sha256(block).digest()
        values.extend(x / 2**31 - 1.0 for x in struct.unpack("<8I", block))
    values = values[:dims]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def digest(*parts: object) -> str:
    """A stable ``sha256:…`` digest for fake layers."""
    return "sha256:" + _seed(*parts).hex()
