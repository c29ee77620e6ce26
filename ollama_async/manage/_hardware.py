"""Will a model fit? An estimate from ``show`` data and this machine's free memory."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._api_types import ShowResponse

__all__ = ["FitEstimate", "estimate_fit", "free_memory"]

# Bits per weight of common GGUF quantizations (block scales included).
_BITS = {
    "F32": 32.0, "F16": 16.0, "BF16": 16.0, "Q8_0": 8.5, "Q6_K": 6.56, "Q5_K_M": 5.69,
    "Q5_K_S": 5.54, "Q5_0": 5.5, "Q5_1": 6.0, "Q4_K_M": 4.85, "Q4_K_S": 4.58, "Q4_0": 4.5,
    "Q4_1": 5.0, "Q3_K_L": 4.27, "Q3_K_M": 3.91, "Q3_K_S": 3.5, "Q2_K": 3.35, "IQ4_XS": 4.25,
}  # fmt: skip
_OVERHEAD = 1.10  # compute buffers and runtime, on top of weights and KV cache
_SIZE = re.compile(r"([\d.]+)\s*([KMBT])", re.I)


@dataclass(frozen=True)
class FitEstimate:
    """The numbers behind the verdict (bytes), and the verdict itself.

    ``verdict`` is ``"fits in VRAM"``, ``"fits in RAM"`` (runs on the CPU or partly
    offloaded), ``"does not fit"`` or ``"unknown"`` (free memory could not be read).
    """

    parameters: int
    bits_per_weight: float
    context_length: int
    weights_bytes: int
    kv_cache_bytes: int
    total_bytes: int
    free_ram_bytes: int | None
    free_vram_bytes: int | None
    verdict: str

    def summary(self) -> str:
        """One line for people: sizes in GB and the verdict."""
        gb = 1e9
        ram = f"{self.free_ram_bytes / gb:.1f} GB" if self.free_ram_bytes is not None else "?"
        vram = f"{self.free_vram_bytes / gb:.1f} GB" if self.free_vram_bytes is not None else "none"
        return (
            f"needs ~{self.total_bytes / gb:.2f} GB (weights {self.weights_bytes / gb:.2f} GB, "
            f"KV cache {self.kv_cache_bytes / gb:.2f} GB at {self.context_length} tokens); "
            f"free RAM {ram}, free VRAM {vram}: {self.verdict}"
        )


def free_memory() -> tuple[int | None, int | None]:
    """(free RAM, free VRAM) in bytes: MemAvailable from /proc/meminfo, and the sum of
    ``nvidia-smi``'s free memory where that tool exists (None where unknown)."""
    ram: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    vram: int | None = None
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
                capture_output=True, text=True, timeout=5, check=True,
            ).stdout  # fmt: skip
            vram = sum(int(x) for x in out.split()) * 1024 * 1024
        except (OSError, subprocess.SubprocessError, ValueError):
            vram = None
    return ram, vram


def _parameters(show: ShowResponse) -> int:
    info = show.model_info or {}
    count = info.get("general.parameter_count")
    if isinstance(count, int) and count > 0:
        return count
    size = show.details.parameter_size if show.details else ""
    found = _SIZE.search(size or "")
    if not found:
        return 0
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[found.group(2).upper()]
    return int(float(found.group(1)) * scale)


def _arch_value(info: dict[str, Any], key: str) -> int | None:
    arch = info.get("general.architecture")
    value = info.get(f"{arch}.{key}") if arch else None
    return value if isinstance(value, int) and value > 0 else None


def estimate_fit(
    show: ShowResponse,
    *,
    context_length: int | None = None,
    free_ram: int | None = None,
    free_vram: int | None = None,
    read_machine: bool = True,
) -> FitEstimate:
    """Estimate the memory a model needs at ``context_length`` (default: the model's own,
    capped at 8192, what a default load uses at most) and compare it with free memory.

    Weights: parameters × bits per weight of its quantization. KV cache (f16): 2 × layers ×
    context × (embedding width × KV heads / heads) × 2 bytes. Plus 10 % for buffers.

    >>> from ollama_async.types import ShowResponse, ModelDetails
    >>> show = ShowResponse(details=ModelDetails(quantization_level="Q4_K_M"), model_info={
    ...     "general.architecture": "llama", "general.parameter_count": 8_030_261_248,
    ...     "llama.block_count": 32, "llama.embedding_length": 4096,
    ...     "llama.attention.head_count": 32, "llama.attention.head_count_kv": 8,
    ...     "llama.context_length": 131072})
    >>> fit = estimate_fit(show, context_length=8192, free_ram=16 * 10**9, read_machine=False)
    >>> round(fit.weights_bytes / 1e9, 2), round(fit.kv_cache_bytes / 1e9, 2), fit.verdict
    (4.87, 1.07, 'fits in RAM')
    """
    info = show.model_info or {}
    params = _parameters(show)
    quant = (show.details.quantization_level if show.details else "") or ""
    bits = _BITS.get(quant.upper(), 16.0 if quant.upper() in ("", "UNKNOWN") else 8.0)
    layers = _arch_value(info, "block_count") or 0
    width = _arch_value(info, "embedding_length") or 0
    heads = _arch_value(info, "attention.head_count") or 1
    kv_heads = _arch_value(info, "attention.head_count_kv") or heads
    model_ctx = _arch_value(info, "context_length") or 2048
    ctx = context_length or min(model_ctx, 8192)
    weights = int(params * bits / 8)
    kv = 2 * layers * ctx * (width * kv_heads // heads) * 2
    total = int((weights + kv) * _OVERHEAD)
    if read_machine and (free_ram is None or free_vram is None):
        ram, vram = free_memory()
        free_ram = free_ram if free_ram is not None else ram
        free_vram = free_vram if free_vram is not None else vram
    if free_vram is not None and total <= free_vram:
        verdict = "fits in VRAM"
    elif free_ram is None:
        verdict = "unknown"
    elif total <= free_ram + (free_vram or 0):
        verdict = "fits in RAM"
    else:
        verdict = "does not fit"
    return FitEstimate(params, bits, ctx, weights, kv, total, free_ram, free_vram, verdict)
