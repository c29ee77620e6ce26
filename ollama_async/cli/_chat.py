"""The chat REPL: line editing and history; Ctrl-C stops an answer, not the program."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

from .._client import Client
from ._registry import Arg, Streams, client_settings, command

__all__ = ["chat"]


@command("chat", "chat in a REPL: Ctrl-C stops an answer; Ctrl-D or /bye leaves",
         Arg("model", help="the model to chat with"))  # fmt: skip
def chat(args: argparse.Namespace, io: Streams) -> int:
    """The prompt is read in the main thread; each answer runs on one persistent event loop,
    where Ctrl-C cancels just that answer's task (its connection closes and the server
    stops). This handler is the one that owns its event loop: ``input()`` must run outside
    it, or Ctrl-C at the prompt could not be told from Ctrl-C during an answer."""
    out = io.out
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and history for input()
    settings = client_settings(args)
    loop = asyncio.new_event_loop()
    client = Client(**settings)
    history: list[dict[str, str]] = []

    async def answer(stream: Any) -> None:
        async for piece in stream:
            out.write(piece)
            out.flush()

    try:
        loop.run_until_complete(client.__aenter__())
        out.write(f"Chatting with {args.model}. Ctrl-C stops an answer; Ctrl-D exits.\n")
        out.flush()
        while True:
            try:
                line = input(">>> ")
            except (EOFError, KeyboardInterrupt):
                out.write("\n")
                return 0
            if not line.strip():
                continue
            if line.strip() in ("/bye", "/exit"):
                return 0
            history.append({"role": "user", "content": line})
            stream = client.stream_tokens(args.model, messages=history)
            task = loop.create_task(answer(stream))
            # While an answer runs, Ctrl-C cancels just that task, from inside the loop
            # (a KeyboardInterrupt raised in the middle of a callback could leave it stuck).
            loop.add_signal_handler(signal.SIGINT, task.cancel)
            try:
                loop.run_until_complete(task)
            except asyncio.CancelledError:
                out.write("\n[stopped]\n")
                history.pop()
                continue
            finally:
                loop.remove_signal_handler(signal.SIGINT)
            out.write("\n")
            history.append({"role": "assistant", "content": stream.text})
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
