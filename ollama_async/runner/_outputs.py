"""``OutputManager``: saved outputs on disk, written atomically, under sanitised names."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ._files import (
    atomic_write,
    list_files,
    open_append_inside,
    remove_inside,
    safe_name,
    write_inside,
)

__all__ = ["OutputManager", "atomic_write", "safe_name"]


class OutputManager:
    """Saves outputs, results, batch results, configs, benchmark reports and comparisons
    under ``base_dir/<kind>/<model>/`` with sanitised names; lists, counts and prunes them.

    Example::

        outputs = OutputManager("outputs")
        path = await outputs.save_output("llama3.2", "Hi", "Hello!", fmt="json")
        print(await outputs.list_saved_outputs(model="llama3.2"))
    """

    def __init__(self, base_dir: str | os.PathLike[str] = "ollama_outputs") -> None:
        self.base_dir = Path(base_dir).resolve()

    def _path(self, kind: str, model: str, name: str, ext: str) -> Path:
        folder = self.base_dir / safe_name(kind) / safe_name(model)
        path = folder / f"{safe_name(name)}.{ext}"  # not resolved: links are refused, not followed
        if path.parent.parent.parent != self.base_dir:  # defence in depth; safe_name ensures it
            raise ValueError(f"refusing to write outside {self.base_dir}: {path}")
        return path

    @staticmethod
    def _stamp() -> str:
        return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")

    async def _write(self, path: Path, data: str) -> Path:
        await asyncio.to_thread(write_inside, self.base_dir, path, data)
        return path

    async def save_output(
        self,
        model: str,
        prompt: str,
        response: str,
        *,
        fmt: str = "text",
        metadata: dict[str, Any] | None = None,
    ) -> Path:
        """Save one answer as text or JSON (with prompt and metadata)."""
        if fmt == "json":
            record = {"model": model, "prompt": prompt, "response": response,
                      "metadata": metadata or {}, "saved_at": self._stamp()}  # fmt: skip
            data = json.dumps(record, ensure_ascii=False, indent=2)
            return await self._write(self._path("outputs", model, self._stamp(), "json"), data)
        if fmt != "text":
            raise ValueError("fmt must be 'text' or 'json'")
        return await self._write(self._path("outputs", model, self._stamp(), "txt"), response)

    async def save_execution_result(self, result: Any) -> Path:
        """Save a :class:`ModelExecutionResult` as JSON."""
        data = json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
        return await self._write(
            self._path("results", result.model_name, self._stamp(), "json"), data
        )

    async def save_batch_results(self, results: Iterable[Any], name: str = "batch") -> Path:
        """Save finished results as JSON Lines in one go."""
        async with self.batch_writer(name) as write:
            for r in results:
                await write(r)
        return self._path("batches", "all", name, "jsonl")

    @asynccontextmanager
    async def batch_writer(self, name: str = "batch") -> AsyncIterator[Any]:
        """Write results as JSON Lines one by one as items complete (each line flushed and
        fsynced), so a crash loses nothing already finished.

        Example::

            async with outputs.batch_writer("run1") as write:
                async for r in runner.as_completed(items):
                    await write(r)
        """
        path = self._path("batches", "all", name, "jsonl")
        f: TextIO = await asyncio.to_thread(open_append_inside, self.base_dir, path)

        def write_line(line: str) -> None:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

        async def write(result: Any) -> None:
            record = result.to_dict() if hasattr(result, "to_dict") else _jsonable(result)
            await asyncio.to_thread(write_line, json.dumps(record, ensure_ascii=False, default=str))

        try:
            yield write
        finally:
            f.close()

    async def save_model_config(self, model: str, config: dict[str, Any]) -> Path:
        """Save a model's configuration as JSON."""
        return await self._write(self._path("configs", model, "config", "json"),
                                 json.dumps(config, indent=2, default=str))  # fmt: skip

    async def save_benchmark_report(self, report: dict[str, Any]) -> Path:
        """Save a :meth:`ModelRunner.benchmark_model` report."""
        model = str(report.get("model", "unknown"))
        return await self._write(self._path("benchmarks", model, self._stamp(), "json"),
                                 json.dumps(report, indent=2, default=str))  # fmt: skip

    async def save_comparison(self, comparison: dict[str, Any]) -> Path:
        """Save a :meth:`ModelRunner.create_model_comparison` result."""
        return await self._write(self._path("comparisons", "all", self._stamp(), "json"),
                                 json.dumps(comparison, indent=2, default=str))  # fmt: skip

    async def list_saved_outputs(
        self, *, model: str | None = None, kind: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        """Saved files, newest first, filtered by model, kind and modification time."""
        return await asyncio.to_thread(self._list, model, kind, since)

    def _list(
        self, model: str | None, kind: str | None, since: float | None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for entry in list_files(self.base_dir, 3):  # never through a link (runner/_files.py)
            file_kind, file_model, _ = entry.parts
            if kind is not None and file_kind != safe_name(kind):
                continue
            if model is not None and file_model != safe_name(model):
                continue
            if since is not None and entry.modified < since:
                continue
            out.append({"path": entry.path, "kind": file_kind, "model": file_model,
                        "size": entry.size, "modified": entry.modified})  # fmt: skip
        return sorted(out, key=lambda e: e["modified"], reverse=True)

    async def get_output_stats(self) -> dict[str, Any]:
        """Count and bytes, overall, by kind and by model."""
        files = await self.list_saved_outputs()
        by_kind: dict[str, int] = {}
        by_model: dict[str, int] = {}
        for f in files:
            by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
            by_model[f["model"]] = by_model.get(f["model"], 0) + 1
        return {"count": len(files), "total_bytes": sum(f["size"] for f in files),
                "by_kind": by_kind, "by_model": by_model}  # fmt: skip

    async def cleanup_old_outputs(self, days_old: float) -> int:
        """Delete saved files older than ``days_old`` days; returns how many."""
        cutoff = time.time() - days_old * 86400
        removed = 0
        for f in await self.list_saved_outputs():
            if f["modified"] < cutoff:
                removed += await asyncio.to_thread(
                    remove_inside, self.base_dir, f["path"], older_than=cutoff
                )
        return removed


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return value
