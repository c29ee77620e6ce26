"""What the CLI draws: sizes, tables and progress, with rich on a terminal when installed.

Output that is not a terminal (a pipe, a file) is always plain lines with no control codes,
so scripts read the same thing whether rich is installed or not. Tables take their column
widths from their content, so columns line up whatever the names' lengths.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

__all__ = [
    "bar",
    "duration",
    "is_tty",
    "percent_text",
    "rich_console",
    "size",
    "terminal_width",
    "write_table",
]


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for anything that cannot tell)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def terminal_width(stream: TextIO, fallback: int = 80) -> int:
    """Columns of the terminal behind ``stream``; ``COLUMNS`` wins, as for ``ls``."""
    with contextlib.suppress(ValueError):
        columns = int(os.environ.get("COLUMNS", ""))
        if columns > 0:
            return columns
    try:
        return os.get_terminal_size(stream.fileno()).columns or fallback
    except (AttributeError, ValueError, OSError):
        return fallback


def rich_console(stream: TextIO) -> Any | None:
    """A rich ``Console`` writing to ``stream`` when it is a terminal and rich is installed
    (the ``[cli]`` extra); ``None`` means: draw plain text."""
    if not is_tty(stream):
        return None
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(file=stream)


def size(n: float) -> str:
    """Bytes in decimal units, as Ollama prints them.

    >>> size(96), size(7711), size(1_321_082_688)
    ('96 B', '7.7 KB', '1.3 GB')
    """
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def bar(fraction: float, width: int) -> str:
    """A bar of ``width`` blocks; full only when ``fraction`` is 1.

    >>> bar(0.9996, 24).count("█"), bar(1.0, 24).count("█")
    (23, 24)
    """
    filled = int(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def percent_text(fraction: float) -> str:
    """A percentage rounded down, so "100.0%" is shown only when the bar is full.

    >>> percent_text(0.9996), percent_text(1.0)
    ('99.9%', '100.0%')
    """
    return f"{math.floor(max(0.0, min(1.0, fraction)) * 1000) / 10:.1f}%"


def duration(seconds: float) -> str:
    """A short duration for an ETA.

    >>> duration(5.2), duration(125), duration(3720)
    ('6s', '2m05s', '1h02m')
    """
    s = math.ceil(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def write_table(
    out: TextIO, headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> None:
    """A table: rich on a terminal, else columns as wide as their widest cell, two spaces
    apart; the columns whose index is in ``right`` are right-aligned (numbers).

    >>> import io
    >>> buf = io.StringIO()
    >>> write_table(buf, ["NAME", "SIZE"], [["a-long-name", "1 GB"], ["b", "96 B"]], right=[1])
    >>> print(buf.getvalue(), end="")
    NAME         SIZE
    a-long-name  1 GB
    b            96 B
    """
    console = rich_console(out)
    if console is not None:
        from rich import box
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for i, header in enumerate(headers):
            table.add_column(header, justify="right" if i in right else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for row in [list(headers), *rows]:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")


class BatchProgress:
    """Items done out of all, on stderr: a bar on a terminal (rich when installed), and on
    anything else one summary line at the end, so logs hold no control codes."""

    def __init__(self, err: TextIO, total: int) -> None:
        self.err = err
        self.total = total
        self.done = 0
        self.failed = 0
        self.tty = is_tty(err)
        self._rich: Any = None
        self._task: Any = None
        console = rich_console(err)
        if console is not None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._rich = Progress(
                TextColumn("batch"), BarColumn(), MofNCompleteColumn(), console=console
            )
            self._task = self._rich.add_task("batch", total=total)
            self._rich.start()

    def advance(self, ok: bool) -> None:
        """Count one finished item."""
        self.done += 1
        self.failed += not ok
        if self._rich is not None:
            self._rich.update(self._task, completed=self.done)
        elif self.tty:
            width = max(8, min(30, terminal_width(self.err) - 20))
            self.err.write(f"\r  {bar(self.done / self.total, width)} {self.done}/{self.total}")
            self.err.flush()

    def close(self, summary: bool = True) -> None:
        """End the bar and write the summary (none when interrupted: Ctrl-C stays quiet)."""
        if self._rich is not None:
            self._rich.stop()
        elif self.tty:
            self.err.write("\n")
        if summary:
            self.err.write(f"{self.done} of {self.total} done, {self.failed} failed\n")
        self.err.flush()


@contextlib.contextmanager
def batch_progress(err: TextIO, total: int) -> Iterator[BatchProgress]:
    """A :class:`BatchProgress` that is closed however the batch ends."""
    progress = BatchProgress(err, total)
    try:
        yield progress
    except BaseException:
        progress.close(summary=False)
        raise
    progress.close()
