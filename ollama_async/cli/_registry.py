"""The one table of commands: each declares its name, help, arguments and handler.

The parser is built from this table and ``main`` dispatches through it, so adding a command
is one decorated function. The global options (``--host``, ``--timeout``) are accepted before
or after the subcommand.

Example::

    @command("hello", "say hello", Arg("name", help="who to greet"))
    async def hello(args: argparse.Namespace, io: Streams) -> int:
        io.out.write(f"hello {args.name}\\n")
        return 0
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from .. import __version__
from .._client import Client
from .._config import resolve_host
from .._errors import InvalidRequestError
from .._settings import load_config

__all__ = [
    "REGISTRY",
    "Arg",
    "Command",
    "Streams",
    "build_parser",
    "command",
    "mask_credentials",
    "open_client",
    "port_number",
    "positive_float",
    "positive_int",
    "server_url",
]


@dataclass(frozen=True)
class Streams:
    """Where a command reads and writes: stdout, stderr and stdin (swapped in tests)."""

    out: TextIO
    err: TextIO
    stdin: TextIO


Handler = Callable[[argparse.Namespace, Streams], Awaitable[int] | int]


@dataclass(frozen=True)
class Arg:
    """One argument: its flags, its help text (required: every argument has one) and the
    other ``argparse.add_argument`` keywords.

    >>> Arg("--runs", help="runs per model", type=int).flags
    ('--runs',)
    """

    flags: tuple[str, ...]
    help: str
    options: dict[str, Any] = field(default_factory=dict)

    def __init__(self, *flags: str, help: str, **options: Any) -> None:
        if not help:
            raise ValueError(f"argument {flags} needs a help text")
        object.__setattr__(self, "flags", flags)
        object.__setattr__(self, "help", help)
        object.__setattr__(self, "options", options)


@dataclass(frozen=True)
class Command:
    """A subcommand: ``handler`` is a coroutine function run with ``asyncio.run``, or (for
    the chat REPL, which owns its event loop) a plain function."""

    name: str
    help: str
    args: tuple[Arg, ...]
    handler: Handler


REGISTRY: dict[str, Command] = {}
"""Every subcommand by name, in the order they were declared."""


def command(name: str, help: str, *args: Arg) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the subcommand ``name``.

    >>> @command("doc-example", "an example", Arg("x", help="a value"))
    ... async def _example(args, io):
    ...     return 0
    >>> REGISTRY.pop("doc-example").args[0].flags
    ('x',)
    """

    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise ValueError(f"command {name!r} is declared twice")
        REGISTRY[name] = Command(name, help, args, handler)
        return handler

    return register


# -- argument types: bad values become usage errors (exit 2), never tracebacks ---------------


def _checked(text: str, convert: Callable[[str], float], ok: Callable[[float], bool],
             expected: str) -> Any:  # fmt: skip
    try:
        value = convert(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"must be {expected}, not {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer of at least 1.

    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be a whole number of at least 1, not '0'
    """
    return int(_checked(text, int, lambda v: v >= 1, "a whole number of at least 1"))


def positive_float(text: str) -> float:
    """A finite number above 0.

    >>> positive_float("2.5")
    2.5
    """
    return float(_checked(text, float, lambda v: v > 0, "a number above 0"))


def port_number(text: str) -> int:
    """A TCP port, 0 (any free port) to 65535.

    >>> port_number("11434")
    11434
    """
    return int(_checked(text, int, lambda v: 0 <= v <= 65535, "a port from 0 to 65535"))


def server_url(host: str | None, source: str = "") -> str:
    """The base URL for ``--host`` (``None``: ``OLLAMA_HOST``, else the default), checked
    before anything is sent: an http(s) URL with a host and a valid port.

    >>> server_url("example.com:8080")
    'http://example.com:8080'
    >>> server_url("ftp://example.com")
    Traceback (most recent call last):
    ollama_async.InvalidRequestError: --host: 'ftp://example.com' is not an http(s) URL
    """
    source = source or ("--host" if host else "OLLAMA_HOST")
    try:
        url = resolve_host(host)
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except InvalidRequestError as exc:
        raise InvalidRequestError(source, str(exc).removeprefix(f"{exc.field}: ")) from None
    except ValueError as exc:
        raise InvalidRequestError(source, str(exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(source, f"{url!r} is not an http(s) URL")
    return url


_CREDENTIALS = re.compile(r"(://[^/@\s:]*):[^/@\s]*@")


def mask_credentials(text: str) -> str:
    """``text`` with the password of any URL in it masked (a ``--host`` may carry one).

    >>> mask_credentials("could not connect to http://me:s3cret@host:1/api/tags")
    'could not connect to http://me:***@host:1/api/tags'
    """
    return _CREDENTIALS.sub(r"\1:***@", text)


def _host_argument(text: str) -> str:
    try:
        return server_url(text)
    except InvalidRequestError as exc:
        message = str(exc).removeprefix("--host: ")
        raise argparse.ArgumentTypeError(mask_credentials(message)) from None


# -- the parser ------------------------------------------------------------------------------

_GLOBALS = (
    Arg(
        "--host",
        type=_host_argument,
        help="the server's URL or host[:port] (default: OLLAMA_HOST, else http://127.0.0.1:11434)",
        metavar="URL",
    ),
    Arg(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="the longest wait for the next byte of an answer (default 300)",
    ),
)


def _add(parser: argparse.ArgumentParser, arg: Arg, **override: Any) -> None:
    parser.add_argument(*arg.flags, help=arg.help, **{**arg.options, **override})


def build_parser() -> argparse.ArgumentParser:
    """The parser for every registered command.

    >>> from ollama_async.cli import _commands  # registers the commands
    >>> build_parser().parse_args(["list", "--host", "h:1"]).host
    'http://h:1'
    """
    parser = argparse.ArgumentParser(
        prog="ollama-async", description="An async client for the Ollama server."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}",
        help="print the version and exit",
    )  # fmt: skip
    for arg in _GLOBALS:
        _add(parser, arg, default=None)
    # The same options after the subcommand; SUPPRESS keeps them from overwriting a value
    # given before it when they are not repeated.
    after = argparse.ArgumentParser(add_help=False)
    for arg in _GLOBALS:
        _add(after, arg, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in REGISTRY.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, parents=[after])
        for arg in cmd.args:
            _add(p, arg)
    return parser


@contextlib.asynccontextmanager
async def open_client(args: argparse.Namespace) -> AsyncIterator[Client]:
    """A client for :func:`client_settings`."""
    async with Client(**client_settings(args)) as client:
        yield client


def client_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``Client`` arguments: the settings (file, then environment; see
    ``Client.from_config``), with ``--host`` and ``--timeout`` over them."""
    settings = load_config().client_kwargs()
    if args.timeout:
        settings["timeouts"] = replace(settings["timeouts"], idle=args.timeout)
    if args.host or os.environ.get("OLLAMA_HOST"):
        settings["host"] = server_url(args.host)  # named --host or OLLAMA_HOST in errors
    else:
        settings["host"] = server_url(settings["host"], source="the config file's server.host")
    return settings
