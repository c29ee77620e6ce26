"""The progress of a pull: rich bars on a terminal when rich is installed, plain bars redrawn
in place on a terminal without it, and one plain line per status change anywhere else."""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TextIO

from .._api_types import ProgressResponse, PullProgress
from ._views import bar, duration, is_tty, percent_text, rich_console, size, terminal_width

__all__ = ["PlainPullView", "Rate", "RichPullView", "pull_view"]


class Rate:
    """Bytes per second over the last ``window`` seconds; ``None`` until a second's worth
    of samples is in, so a fresh or resumed pull shows no made-up speed or ETA.

    >>> r = Rate()
    >>> r.add(0.0, 0); r.add(0.5, 500); r.speed() is None
    True
    >>> r.add(2.0, 2000); r.speed()
    1000.0
    """

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, now: float, done: int) -> None:
        """Record that ``done`` bytes were reached at ``now``."""
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window:
            self.samples.popleft()

    def speed(self) -> float | None:
        """Bytes per second, or ``None`` while unknown."""
        if len(self.samples) < 2:
            return None
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        if t1 - t0 < 1.0:
            return None
        return (b1 - b0) / (t1 - t0)


class View(Protocol):
    def update(self, chunk: ProgressResponse, progress: PullProgress) -> None: ...
    def finish(self, progress: PullProgress) -> None: ...


def _fraction(progress: PullProgress) -> float:
    if progress.status == "success":
        return 1.0
    return progress.completed / progress.total if progress.total else 0.0


class PlainPullView:
    """Without rich. On a terminal: a bar per layer and one overall, redrawn in place, each
    row cut to the terminal's width so nothing wraps. Elsewhere: one line per status."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.tty = is_tty(out)
        self.clock = clock
        self.rate = Rate()
        self.lines = 0
        self.last_draw = -1.0
        self.last_status: str | None = None

    def update(self, chunk: ProgressResponse, progress: PullProgress) -> None:
        """Take in one chunk (``progress`` already includes it)."""
        now = self.clock()
        self.rate.add(now, progress.completed)
        changed = chunk.status != self.last_status
        self.last_status = chunk.status
        if not self.tty:
            if changed:
                total = f"  {size(chunk.total)}" if chunk.digest and chunk.total else ""
                self.out.write(f"{chunk.status}{total}\n")
                self.out.flush()
            return
        if changed or now - self.last_draw >= 0.1:
            self.last_draw = now
            self.draw(progress)

    def finish(self, progress: PullProgress) -> None:
        """Draw the end state (a terminal only: the last status line is already out)."""
        if self.tty:
            self.draw(progress)

    def rows(self, progress: PullProgress, width: int) -> list[str]:
        """The rows to draw, none longer than ``width - 1`` characters."""
        fraction = _fraction(progress)
        bar_width = max(8, min(30, width - 40))
        rows = [
            f"  {d[7:19]:12} {bar(done / total, bar_width)} {size(done):>8}/{size(total)}"
            for d, (done, total) in progress.layers.items()
        ]
        speed = self.rate.speed()
        if fraction >= 1.0:
            tail = ""
        elif speed:
            tail = f" {size(speed)}/s ETA {duration((progress.total - progress.completed) / speed)}"
        else:
            tail = " ETA --"
        rows.append(
            f"  {'overall':12} {bar(fraction, bar_width)} {percent_text(fraction):>6}{tail}"
            f"  {progress.status}"
        )
        return [r[: width - 1] for r in rows]

    def draw(self, progress: PullProgress) -> None:
        rows = self.rows(progress, terminal_width(self.out))
        if self.lines:
            self.out.write(f"\x1b[{self.lines}F")
        self.out.write("".join(f"\x1b[2K{r}\n" for r in rows))
        self.lines = len(rows)
        self.out.flush()


class RichPullView:
    """With rich on a terminal: a bar per layer with size, speed and time left (rich shows
    ``-:--:--`` while the speed is unknown), and the other statuses as lines above."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.table import Column

        # Cells never wrap (a wrapped cell doubles a row); the bar takes what is left, and
        # below 60 columns speed and time left give way to the bar.
        def cell() -> Any:
            return Column(no_wrap=True)

        columns: list[Any] = [
            TextColumn("{task.description}", table_column=cell()),
            BarColumn(bar_width=None, table_column=Column(ratio=1)),
            DownloadColumn(table_column=cell()),
        ]
        if console.width >= 60:
            columns += [TransferSpeedColumn(table_column=cell()),
                        TimeRemainingColumn(table_column=cell())]  # fmt: skip
        self.progress = Progress(*columns, console=console, expand=True)
        self.tasks: dict[str, Any] = {}
        self.last_status: str | None = None
        self.progress.start()

    def update(self, chunk: ProgressResponse, progress: PullProgress) -> None:
        """Take in one chunk (``progress`` already includes it)."""
        if chunk.digest and chunk.digest in progress.layers:
            done, total = progress.layers[chunk.digest]
            task = self.tasks.get(chunk.digest)
            if task is None:
                task = self.progress.add_task(f"pulling {chunk.digest[7:19]}", total=total)
                self.tasks[chunk.digest] = task
            self.progress.update(task, completed=done, total=total)
        elif chunk.status != self.last_status:
            self.progress.console.print(chunk.status, markup=False, highlight=False)
        self.last_status = chunk.status

    def finish(self, progress: PullProgress) -> None:
        """Stop redrawing."""
        self.progress.stop()


@contextlib.contextmanager
def pull_view(out: TextIO) -> Iterator[View]:
    """The view that suits ``out``; rich's live display is stopped however the pull ends."""
    console = rich_console(out)
    view: View = RichPullView(console) if console is not None else PlainPullView(out)
    try:
        yield view
    finally:
        if isinstance(view, RichPullView):
            view.progress.stop()
