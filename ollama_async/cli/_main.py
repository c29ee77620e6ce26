"""The entry point: parse, run the command, and turn every expected failure into one line
on stderr and an exit code.

Exit codes: 0 success (also when the reader of stdout went away, as in ``list | head -1``),
1 an Ollama error, 2 bad usage or input, 3 server unreachable, 4 model not found,
130 interrupted (Ctrl-C, quietly).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from collections.abc import Sequence

from .._errors import (
    ConfigError,
    InvalidRequestError,
    ModelNotFoundError,
    OllamaError,
    ServerUnreachableError,
)
from . import _chat, _commands, _workloads  # noqa: F401 - they fill the registry
from ._registry import REGISTRY, Streams, build_parser, mask_credentials
from ._views import is_tty

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_NOT_FOUND", "EXIT_UNREACHABLE", "EXIT_USAGE",
           "main"]  # fmt: skip

EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_FOUND, EXIT_INTERRUPTED = 1, 2, 3, 4, 130


def _unwrap(exc: BaseException) -> BaseException:
    """The one error inside (nested) exception groups of one, as task groups raise them."""
    inner = getattr(exc, "exceptions", None)
    while isinstance(inner, tuple) and len(inner) == 1 and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


def _silence_stdout(stream: object) -> None:
    """The reader of stdout is gone: point the descriptor at /dev/null so that the flush at
    exit does not fail again (the course the Python docs advise for SIGPIPE)."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _one_line(text: str) -> str:
    return mask_credentials(" ".join(text.split()))


def exit_code(exc: BaseException) -> tuple[int, str]:
    """The exit code and the stderr line for an error; raises ``exc`` again when it is not
    an expected one (a bug, whose traceback should be seen).

    >>> exit_code(InvalidRequestError("--format", "not JSON"))
    (2, 'error: --format: not JSON')
    """
    exc = _unwrap(exc)
    if isinstance(exc, BrokenPipeError):
        return 0, ""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, ""
    if isinstance(exc, ModelNotFoundError):
        name = exc.model or "?"
        return EXIT_NOT_FOUND, f"error: model '{name}' not found; pull it with " \
                               f"`ollama-async pull {name}`"  # fmt: skip
    if isinstance(exc, ServerUnreachableError):
        return EXIT_UNREACHABLE, f"error: {_one_line(str(exc))}"
    if isinstance(exc, (InvalidRequestError, ConfigError)):
        return EXIT_USAGE, f"error: {_one_line(str(exc))}"
    if isinstance(exc, (OllamaError, OSError)):
        return EXIT_ERROR, f"error: {_one_line(str(exc)) or type(exc).__name__}"
    raise exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: the process's arguments); returns the exit code.

    Example::

        from ollama_async.cli import main
        code = main(["--host", "http://127.0.0.1:11434", "list"])
    """
    io = Streams(sys.stdout, sys.stderr, sys.stdin)
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help, --version, or a usage error already printed
            io.out.flush()
            return done.code if isinstance(done.code, int) else EXIT_USAGE
        handler = REGISTRY[args.command].handler
        if inspect.iscoroutinefunction(handler):
            code = asyncio.run(handler(args, io))
        else:
            code = handler(args, io)
        assert isinstance(code, int)
        io.out.flush()
        return code
    except (Exception, KeyboardInterrupt) as exc:
        code, message = exit_code(exc)
        if code == 0:
            _silence_stdout(io.out)
        elif message:
            io.err.write(message + "\n")
        elif code == EXIT_INTERRUPTED and is_tty(io.err):
            io.err.write("\n")  # the shell's prompt starts on a line of its own
        return code
