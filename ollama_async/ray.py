"""Ray Data integration (extra ``ollama_async[ray]``): batches of a Ray Dataset through Ollama.

Use it when one machine is not enough to drive the batch (millions of prompts, many Ollama
hosts, data already in Ray). For one process in front of a few hosts, :class:`Pool` with a
:class:`BatchRunner` is simpler and enough.

Example::

    import ray
    from ollama_async.ray import OllamaPredictor

    ds = ray.data.from_items([{"prompt": p} for p in prompts])
    out = ds.map_batches(
        OllamaPredictor,
        fn_constructor_kwargs={"model": "llama3.2", "hosts": ["http://gpu1:11434"]},
        batch_size=64,
        concurrency=2,  # actors; each keeps one client and runs max_concurrent requests
    )
    for row in out.iter_rows():
        print(row["response"], row["eval_count"], row["error"])
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._batch import BatchRunner
from ._client import Client
from ._pool import Pool

__all__ = ["OllamaPredictor"]


class OllamaPredictor:
    """A callable class for ``Dataset.map_batches``: one client (or pool) per actor, each
    batch sent through the bounded :class:`BatchRunner`.

    Adds the columns ``response``, ``eval_count``, ``prompt_eval_count``, ``total_duration``,
    ``eval_duration`` (ns) and ``error`` (the error's class and message, or None). A failed
    row never fails the batch.
    """

    def __init__(
        self,
        *,
        model: str,
        host: str | None = None,
        hosts: Sequence[str] | None = None,
        prompt_column: str = "prompt",
        max_concurrent: int = 8,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.prompt_column = prompt_column
        self.max_concurrent = max_concurrent
        self.options = dict(options) if options else None
        # One event loop per actor, in a thread of its own for the actor's whole life. The
        # client (or pool, whose health checks need an owner) is entered and left by one
        # task in that loop, so the pool's task group opens and closes in the same task.
        with contextlib.ExitStack() as stack:  # a failure here stops the thread again
            self._portal: BlockingPortal = stack.enter_context(start_blocking_portal())
            client: Client | Pool = Pool(list(hosts)) if hosts else Client(host)
            entered: Any = stack.enter_context(self._portal.wrap_async_context_manager(client))
            self._client: Client | Pool = entered
            self._stack = stack.pop_all()

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        prompts = [str(p) for p in batch[self.prompt_column]]
        items: list[Any] = [
            {"prompt": p, **({"options": self.options} if self.options else {})} for p in prompts
        ]
        runner = BatchRunner(self._client, model=self.model, max_concurrent=self.max_concurrent)
        results = self._portal.call(runner.run, items)
        out: dict[str, Any] = {k: list(v) for k, v in batch.items()}
        out["response"] = [r.value.response if r.ok and r.value else None for r in results]
        for name in ("eval_count", "prompt_eval_count", "total_duration", "eval_duration"):
            out[name] = [getattr(r.value, name) if r.ok else None for r in results]
        out["error"] = [None if r.ok else f"{type(r.error).__name__}: {r.error}" for r in results]
        return out

    def close(self) -> None:
        """Close the client and stop the loop's thread (Ray calls nothing at actor exit;
        this is for tests and for use outside Ray); idempotent."""
        self._stack.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to close
            self.close()
