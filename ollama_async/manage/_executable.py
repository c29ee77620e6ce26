"""The manager's CLI mode: the ``ollama`` executable as an asyncio subprocess.

Same result types as the HTTP mode: ``ModelInfo`` from ``ollama list``, ``ProgressResponse``
chunks parsed from ``ollama pull``'s terminal output, a ``GenerateResponse`` from ``ollama run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator

from .._api_types import ModelInfo, ProgressResponse
from .._errors import ModelNotFoundError, OllamaConnectionError, OllamaError, ServerUnreachableError
from .._names import normalize_model_name
from .._requests import check_model
from .._types import GenerateResponse

__all__ = [
    "CommandModelNotFoundError",
    "ExecutableNotFoundError",
    "OllamaCLI",
    "OllamaCommandError",
    "parse_size",
]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}  # fmt: skip
_PROGRESS = re.compile(
    r"pulling (?P<digest>[0-9a-f]{12})\S*.*?(?P<pct>\d+)%.*?(?:(?P<done>[\d.]+ ?[KMGT]?i?B)/)?"
    r"(?P<total>[\d.]+ ?[KMGT]?i?B)",
    re.I,
)


class OllamaCommandError(OllamaError):
    """An ``ollama`` command failed: ``command`` (its arguments), ``returncode`` and
    ``stderr`` (its last message line) say how. No HTTP status: the command has none to give.
    """

    def __init__(self, command: tuple[str, ...], returncode: int | None, stderr: str) -> None:
        # Exception.__init__ directly: a subclass may also be a ResponseError, whose
        # constructor wants an HTTP status this command does not have.
        Exception.__init__(
            self, f"`ollama {' '.join(command[:1])}` failed (exit {returncode}): {stderr}"
        )
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


class CommandModelNotFoundError(OllamaCommandError, ModelNotFoundError):
    """The ``ollama`` command said the model does not exist; catch it as either parent.

    ``status`` is 404 because that is what the server answered the command (``ollama`` prints
    only its message); ``url`` is empty, as no request of ours was made.
    """

    def __init__(
        self, command: tuple[str, ...], returncode: int | None, stderr: str, model: str
    ) -> None:
        OllamaCommandError.__init__(self, command, returncode, stderr)
        self.status = 404
        self.error = stderr
        self.url = ""
        self.model = model


class ExecutableNotFoundError(OllamaConnectionError, FileNotFoundError):
    """The ``ollama`` executable was not found (``executable`` names what was looked for):
    install Ollama, put it on ``PATH``, or pass ``ollama_binary=`` its path."""

    def __init__(self, executable: str, reason: str = "not found") -> None:
        super().__init__(
            f"the ollama executable {executable!r} could not be run ({reason}); install "
            "Ollama (https://ollama.com/download) or pass ollama_binary= its path"
        )
        self.executable = executable


def parse_size(text: str) -> int:
    """``"2.0 GB"`` → 2000000000 (decimal units, as ``ollama list`` prints them).

    >>> parse_size("2.0 GB"), parse_size("561 B"), parse_size("7.7 KB")
    (2000000000, 561, 7700)
    """
    found = re.match(r"\s*([\d.]+)\s*([KMGT]?i?B)\s*$", text, re.I)
    if not found:
        return 0
    return int(float(found.group(1)) * _UNITS[found.group(2).upper()])


class OllamaCLI:
    """Runs ``ollama`` commands. ``executable`` defaults to ``ollama`` on PATH.

    Example::

        cli = OllamaCLI()
        for m in await cli.list_models():
            print(m.name, m.size)
    """

    def __init__(self, executable: str = "ollama", *, host: str | None = None) -> None:
        self.executable = executable
        self.env = dict(os.environ)
        if host:
            self.env["OLLAMA_HOST"] = host

    async def _run(self, *args: str) -> str:
        try:
            proc = await asyncio.create_subprocess_exec(
                self.executable, *args, env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            raise ExecutableNotFoundError(self.executable, exc.strerror or str(exc)) from None
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise self._error(args, proc.returncode, err.decode(errors="replace"))
        return _ANSI.sub("", out.decode(errors="replace"))

    def _error(self, args: tuple[str, ...], code: int | None, stderr: str) -> OllamaError:
        message = _ANSI.sub("", stderr).strip().splitlines()[-1:] or ["failed"]
        text = message[0].removeprefix("Error: ").removeprefix("error: ")
        if "not found" in text or "does not exist" in text:
            model = args[-1] if len(args) > 1 else ""
            return CommandModelNotFoundError(args, code, text, model)
        if "could not connect" in text or "connection refused" in text:
            return ServerUnreachableError(self.env.get("OLLAMA_HOST", "the default host"), text)
        return OllamaCommandError(args, code, text)

    async def list_models(self) -> list[ModelInfo]:
        """``ollama list``, parsed into ``ModelInfo`` (digest is the 12-character ID)."""
        out = await self._run("list")
        models = []
        for line in out.splitlines()[1:]:
            cols = re.split(r"\s{2,}", line.strip())
            if len(cols) >= 3 and cols[0]:
                models.append(ModelInfo(name=cols[0], model=cols[0], digest=cols[1],
                                        size=parse_size(cols[2]),
                                        modified_at=cols[3] if len(cols) > 3 else ""))  # fmt: skip
        return models

    async def pull(self, model: str) -> AsyncIterator[ProgressResponse]:
        """``ollama pull``; its terminal progress (``\\r`` redraws, ANSI) becomes chunks."""
        check_model(model)
        try:
            proc = await asyncio.create_subprocess_exec(
                self.executable, "pull", model, env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        except OSError as exc:
            raise ExecutableNotFoundError(self.executable, exc.strerror or str(exc)) from None
        assert proc.stdout is not None
        buffer = ""
        last = ""
        finished = False
        try:
            while piece := await proc.stdout.read(4096):
                buffer += _ANSI.sub("", piece.decode(errors="replace"))
                *lines, buffer = re.split(r"[\r\n]", buffer)
                for line in lines:
                    line = line.strip()
                    if line and line != last:
                        last = line
                        yield _progress(line)
            if buffer.strip():
                yield _progress(buffer.strip())
            finished = True
        finally:
            if not finished and proc.returncode is None:  # the caller left: stop the pull
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            code = await proc.wait()
        if code != 0:
            raise self._error(("pull", model), code, last)

    async def delete(self, model: str) -> None:
        """``ollama rm``."""
        check_model(model)
        await self._run("rm", model)

    async def run(self, model: str, prompt: str) -> GenerateResponse:
        """``ollama run MODEL PROMPT``; the answer comes back as a done ``GenerateResponse``."""
        check_model(model)
        out = await self._run("run", model, prompt)
        return GenerateResponse(model=normalize_model_name(model), response=out.strip(),
                                done=True, done_reason="stop")  # fmt: skip


def _progress(line: str) -> ProgressResponse:
    found = _PROGRESS.search(line)
    if not found:
        return ProgressResponse(status=line)
    total = parse_size(found.group("total"))
    done = parse_size(found.group("done")) if found.group("done") else total * int(
        found.group("pct")) // 100  # fmt: skip
    digest = found.group("digest")
    return ProgressResponse(status=f"pulling {digest}", digest=digest, total=total, completed=done)
