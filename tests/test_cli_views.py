"""The CLI's views alone: pull progress, tables, the batch bar, and the exit-code mapping."""

from __future__ import annotations

import builtins
import io
import re
import sys

import pytest

from ollama_async import ConnectionLostError, InvalidRequestError, ModelNotFoundError
from ollama_async.cli._main import exit_code
from ollama_async.cli._pull_view import PlainPullView, RichPullView
from ollama_async.cli._views import BatchProgress, batch_progress, write_table
from ollama_async.types import ProgressResponse, PullProgress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def block_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "rich" or m.startswith("rich.")] + ["rich"]:
        monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]


def chunk(status: str, digest: str = "", total: int = 0, completed: int = 0) -> ProgressResponse:
    return ProgressResponse(status=status, digest=digest or None, total=total or None,
                            completed=completed or None)  # fmt: skip


LAYER = "sha256:" + "ab" * 32


def feed(view: PlainPullView | RichPullView, progress: PullProgress, c: ProgressResponse) -> None:
    progress.update(c)
    view.update(c, progress)


def test_plain_bar_is_full_only_at_100_percent() -> None:
    view, progress = PlainPullView(FakeTTY(), Clock()), PullProgress()
    feed(view, progress, chunk("pulling ab", LAYER, total=10_000, completed=9_996))
    overall = view.rows(progress, 100)[-1]
    assert "99.9%" in overall and "100.0%" not in overall and "░" in overall
    feed(view, progress, chunk("success"))
    overall = view.rows(progress, 100)[-1]
    assert "100.0%" in overall and "░" not in overall and "ETA" not in overall


def test_plain_eta_is_unknown_until_a_speed_is_measured() -> None:
    clock = Clock()
    view, progress = PlainPullView(FakeTTY(), clock), PullProgress()
    feed(view, progress, chunk("pulling ab", LAYER, total=10_000, completed=0))
    assert view.rows(progress, 100)[-1].split("ETA ")[1].startswith("--")
    clock.now = 0.5
    feed(view, progress, chunk("pulling ab", LAYER, total=10_000, completed=1_000))
    assert "ETA --" in view.rows(progress, 100)[-1]  # half a second is too little to tell
    clock.now = 2.0
    feed(view, progress, chunk("pulling ab", LAYER, total=10_000, completed=4_000))
    overall = view.rows(progress, 100)[-1]
    assert "2.0 KB/s" in overall and "ETA 3s" in overall  # 6000 bytes left at 2000 B/s


@pytest.mark.parametrize("width", [20, 44, 80, 200])
def test_plain_rows_fit_the_terminal(width: int) -> None:
    view, progress = PlainPullView(FakeTTY(), Clock()), PullProgress()
    for i in range(3):
        digest = f"sha256:{i:064d}"
        feed(view, progress, chunk(f"pulling {digest[7:19]}", digest, 1_321_082_688, 7_000))
    assert all(len(row) < width for row in view.rows(progress, width))


def test_plain_without_a_terminal_writes_each_status_once() -> None:
    out = io.StringIO()
    view, progress = PlainPullView(out, Clock()), PullProgress()
    statuses = ["pulling manifest"] + ["pulling ab"] * 5 + ["verifying sha256 digest", "success"]
    for s in statuses:
        feed(view, progress, chunk(s, LAYER if s == "pulling ab" else "", 7_711, 1_000))
    view.finish(progress)
    assert (
        out.getvalue() == "pulling manifest\npulling ab  7.7 KB\nverifying sha256 digest\nsuccess\n"
    )


def test_rich_view_prints_each_status_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    from rich.console import Console

    out = FakeTTY()
    view, progress = RichPullView(Console(file=out, width=50)), PullProgress()
    for c in [chunk("pulling manifest"), chunk("pulling ab", LAYER, 7_711, 0),
              chunk("pulling ab", LAYER, 7_711, 7_711), chunk("success")]:  # fmt: skip
        feed(view, progress, c)
    view.finish(progress)
    text = ANSI.sub("", out.getvalue())
    assert text.count("success") == 1 and text.count("pulling manifest") == 1
    assert "7.7/7.7 kB" in text


def test_tables_with_and_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "60")
    rows = [["llama3.2:latest", "1.3 GB"], ["tiny:latest", "486.7 KB"]]
    out = FakeTTY()
    write_table(out, ["NAME", "SIZE"], rows, right=[1])
    assert "━" in out.getvalue() or "─" in out.getvalue()  # rich's rule under the header
    block_rich(monkeypatch)
    out = FakeTTY()
    write_table(out, ["NAME", "SIZE"], rows, right=[1])
    assert out.getvalue().splitlines() == [
        "NAME                 SIZE", "llama3.2:latest    1.3 GB", "tiny:latest      486.7 KB"
    ]  # fmt: skip


def test_batch_progress_draws_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    block_rich(monkeypatch)
    tty, log = FakeTTY(), io.StringIO()
    for err in (tty, log):
        progress = BatchProgress(err, 2)
        progress.advance(True)
        progress.advance(False)
        progress.close()
    assert "\r" in tty.getvalue() and "2/2" in tty.getvalue()
    assert log.getvalue() == "2 of 2 done, 1 failed\n"
    log = io.StringIO()
    with pytest.raises(KeyboardInterrupt), batch_progress(log, 3) as progress:
        progress.advance(True)
        raise KeyboardInterrupt
    assert log.getvalue() == ""  # interrupted: no summary, Ctrl-C stays quiet


def test_exit_codes() -> None:
    assert exit_code(BrokenPipeError()) == (0, "")
    assert exit_code(KeyboardInterrupt()) == (130, "")
    assert exit_code(InvalidRequestError("--runs", "must be\nat least 1"))[0] == 2
    assert exit_code(ConnectionLostError("cut\nhere")) == (1, "error: cut here")
    err = ModelNotFoundError(404, "model 'x' not found", model="x")
    assert exit_code(err)[0] == 4 and "pull x" in exit_code(err)[1]
    groups = getattr(builtins, "BaseExceptionGroup", None)  # Python 3.11+
    if groups is not None:  # as anyio's task groups raise it
        assert exit_code(groups("tasks", [groups("inner", [BrokenPipeError()])])) == (0, "")
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        exit_code(ZeroDivisionError("bug"))
