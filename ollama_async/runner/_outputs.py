"""``OutputManager``: saved outputs on disk, written atomically, under sanitised names."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import anyio

from .._errors import InvalidRequestError
from ._files import (
    atomic_write,
    list_files,
    open_append_inside,
    remove_inside,
    safe_name,
    write_inside,
)

__all__ = ["OUTPUT_TYPES", "OutputManager", "atomic_write", "safe_name"]

OUTPUT_TYPES = ("outputs", "configs", "results", "reports", "all")
"""What :meth:`OutputManager.list_saved_outputs` can list."""


class OutputManager:
    """Saves outputs, results, batch results, configs, benchmark reports and comparisons
    under ``base_dir/<kind>/<model>/`` with sanitised names; lists, counts and prunes them.

    ``base_output_dir`` defaults to the configured output folder (``OLLAMA_ASYNC_OUTPUT_DIR``,
    then the config file's ``defaults.output_dir``, then ``ollama_outputs``), read on first
    use. Every ``output_dir=`` argument saves to that folder instead.

    Example::

        outputs = OutputManager("outputs")
        path = await outputs.save_model_output("llama3.2", "Hi", "Hello!", 0.4)
        print(await outputs.list_saved_outputs("llama3.2"))
    """

    def __init__(self, base_output_dir: str | os.PathLike[str] | None = None) -> None:
        self.base_output_dir = base_output_dir
        self._base: Path | None = None

    @property
    def base_dir(self) -> Path:
        """The folder everything is saved under (resolved once)."""
        if self._base is None:
            folder = self.base_output_dir
            if folder is None:
                from .._settings import load_config

                folder = load_config().output_dir
            self._base = Path(folder).resolve()
        return self._base

    def _at(self, output_dir: str | os.PathLike[str] | None) -> OutputManager:
        return self if output_dir is None else OutputManager(output_dir)

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
        await anyio.to_thread.run_sync(write_inside, self.base_dir, path, data)
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

    async def save_model_output(
        self,
        model_name: str,
        prompt: str,
        response: str,
        execution_time: float,
        output_dir: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Path:
        """Save one answer as JSON (prompt, response, execution time, metadata); its path."""
        meta = {**(metadata or {}), "execution_time": execution_time}
        return await self._at(output_dir).save_output(
            model_name, prompt, response, fmt="json", metadata=meta
        )

    async def save_execution_result(self, result: Any, output_dir: str | None = None) -> Path:
        """Save a :class:`ModelExecutionResult` as JSON."""
        target = self._at(output_dir)
        data = json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
        return await target._write(
            target._path("results", result.model_name, self._stamp(), "json"), data
        )

    async def save_batch_results(
        self, results: Iterable[Any], batch_name: str, output_dir: str | None = None
    ) -> Path:
        """Save finished results as JSON Lines in one go (``results/batches/<name>.jsonl``)."""
        target = self._at(output_dir)
        async with target.batch_writer(batch_name) as write:
            for r in results:
                await write(r)
        return target._path("results", "batches", batch_name, "jsonl")

    @asynccontextmanager
    async def batch_writer(self, name: str = "batch") -> AsyncIterator[Any]:
        """Write results as JSON Lines one by one as items complete (each line flushed and
        fsynced), so a crash loses nothing already finished.

        Example::

            async with outputs.batch_writer("run1") as write:
                async with runner.as_completed(items) as results:
                    async for r in results:
                        await write(r)
        """
        path = self._path("results", "batches", name, "jsonl")
        f: TextIO = await anyio.to_thread.run_sync(open_append_inside, self.base_dir, path)

        def write_line(line: str) -> None:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

        async def write(result: Any) -> None:
            record = result.to_dict() if hasattr(result, "to_dict") else _jsonable(result)
            await anyio.to_thread.run_sync(
                write_line, json.dumps(record, ensure_ascii=False, default=str)
            )

        try:
            yield write
        finally:
            f.close()

    async def save_model_config(
        self, model_name: str, config: dict[str, Any], config_name: str | None = None
    ) -> Path:
        """Save a model's configuration as JSON (``config_name`` default ``config``)."""
        return await self._write(self._path("configs", model_name, config_name or "config",
                                            "json"),
                                 json.dumps(config, indent=2, default=str))  # fmt: skip

    async def load_model_config(
        self, model_name: str, config_name: str | None = None
    ) -> dict[str, Any] | None:
        """A configuration saved by :meth:`save_model_config`, or None if there is none."""
        path = self._path("configs", model_name, config_name or "config", "json")
        text = await anyio.to_thread.run_sync(self._read_listed, path)
        if text is None:
            return None
        loaded = json.loads(text)
        return loaded if isinstance(loaded, dict) else None

    async def save_benchmark_report(
        self, benchmark_results: dict[str, Any], model_name: str, output_dir: str | None = None
    ) -> Path:
        """Save a :meth:`ModelRunner.benchmark_model` report (a ``reports`` output)."""
        target = self._at(output_dir)
        path = target._path("reports", model_name, self._stamp(), "json")
        return await target._write(path, json.dumps(benchmark_results, indent=2, default=str))

    async def save_model_comparison(
        self, comparison_results: dict[str, Any], output_dir: str | None = None
    ) -> Path:
        """Save a :meth:`ModelRunner.create_model_comparison` result (a ``reports`` output)."""
        target = self._at(output_dir)
        path = target._path("reports", "comparisons", self._stamp(), "json")
        return await target._write(path, json.dumps(comparison_results, indent=2, default=str))

    def _read_listed(self, path: Path) -> str | None:
        # Found through list_files (which never follows a link) and opened without following
        # one, so a link planted in the folder cannot make this read a file outside it.
        wanted = path.relative_to(self.base_dir).parts
        for entry in list_files(self.base_dir, 3):
            if entry.parts == wanted:
                fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                with os.fdopen(fd, encoding="utf-8") as f:
                    return f.read()
        return None

    async def list_saved_outputs(
        self,
        model_name: str | None = None,
        output_type: str = "outputs",
        *,
        since: float | None = None,
    ) -> list[dict[str, Any]]:
        """Saved files of one type (``outputs``, ``configs``, ``results``, ``reports``, or
        ``all``), newest first, optionally for one model and modified after ``since``."""
        if output_type not in OUTPUT_TYPES:
            raise InvalidRequestError("output_type", f"must be one of {OUTPUT_TYPES}, "
                                                     f"not {output_type!r}")  # fmt: skip
        kind = None if output_type == "all" else output_type
        return await anyio.to_thread.run_sync(self._list, model_name, kind, since)

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
        files = await self.list_saved_outputs(output_type="all")
        by_kind: dict[str, int] = {}
        by_model: dict[str, int] = {}
        for f in files:
            by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
            by_model[f["model"]] = by_model.get(f["model"], 0) + 1
        return {"count": len(files), "total_bytes": sum(f["size"] for f in files),
                "by_kind": by_kind, "by_model": by_model,
                "base_dir": str(self.base_dir)}  # fmt: skip

    async def cleanup_old_outputs(self, days_old: int = 30) -> int:
        """Delete saved files older than ``days_old`` days (default 30); returns how many."""
        cutoff = time.time() - days_old * 86400
        removed = 0
        for f in await self.list_saved_outputs(output_type="all"):
            if f["modified"] < cutoff:
                removed += await anyio.to_thread.run_sync(
                    partial(remove_inside, self.base_dir, f["path"], older_than=cutoff)
                )
        return removed


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return value
