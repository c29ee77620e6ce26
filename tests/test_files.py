"""runner/_files.py and OutputManager over it: injective names, and no link ever followed."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_async.runner import OutputManager, _files, _outputs
from ollama_async.runner._files import (
    list_files,
    open_append_inside,
    original_name,
    remove_inside,
    safe_name,
    write_inside,
)

OLD = time.time() - 30 * 86400
names = st.text(st.characters(codec="utf-8") | st.sampled_from("%.:/\\ ~_-Aa"), max_size=60)
any_names = st.text(max_size=60)  # lone surrogates too


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [("qwen3:8b", "qwen3_8b"), ("library/llama3:8b", "library_llama3:8b"), ("a.b", "a_b"),
     ("Llama", "llama"), ("x%3A", "x:"), ("", "%"), ("..", "."), ("a" * 200, "a" * 201)],
)  # fmt: skip
def test_names_the_old_sanitiser_merged_stay_apart(a: str, b: str) -> None:
    assert safe_name(a) != safe_name(b)
    assert safe_name(a).lower() != safe_name(b).lower()  # apart on case-insensitive disks too


def _check_shape(out: str, limit: int) -> None:
    assert 0 < len(out) <= limit
    assert out not in (".", "..") and not out.startswith(".")
    assert not out.endswith((".", " "))
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyz0123456789_-.%~ABCDEF")
    assert out.split(".", 1)[0].lower() not in _files._RESERVED
    base = Path("/base")
    assert (base / out).parent == base and (base / out).name == out


@settings(max_examples=400)
@given(any_names, any_names, st.integers(32, 120))
def test_safe_name_is_injective_and_stays_in_its_folder(a: str, b: str, limit: int) -> None:
    sa, sb = safe_name(a, limit), safe_name(b, limit)
    _check_shape(sa, limit)
    _check_shape(sb, limit)
    if a != b:
        assert sa.lower() != sb.lower()
    if "~" not in sa:
        assert original_name(sa) == a


@given(names)
def test_round_trip_when_not_cut(name: str) -> None:
    out = safe_name(name, limit=1000)
    assert "~" not in out and original_name(out) == name


def test_long_names_are_cut_with_a_hash_that_keeps_them_apart() -> None:
    a, b = "m" * 150 + "a", "m" * 150 + "b"
    assert len(safe_name(a)) == 100 and safe_name(a) != safe_name(b)
    assert safe_name(":" * 90).count("~") == 1  # the cut never splits an escape
    with pytest.raises(ValueError, match="truncated"):
        original_name(safe_name(a))
    with pytest.raises(ValueError, match="at least"):
        safe_name("x", limit=5)


@pytest.mark.parametrize("stem", ["con", "PRN", "Aux", "nul", "COM1", "com0", "lpt9", "LpT3"])
@pytest.mark.parametrize("suffix", ["", ".txt", ".tar.gz", ".log"])
def test_windows_device_names_never_survive(stem: str, suffix: str) -> None:
    out = safe_name(stem + suffix)
    assert out.split(".", 1)[0].lower() not in _files._RESERVED
    assert original_name(out) == stem + suffix


# --- trees with links ---------------------------------------------------------------------

LINK_KINDS = ["out_file", "out_dir", "in_file", "in_dir", "to_link", "dangling"]
node = st.tuples(st.integers(1, 3), st.sampled_from(["k1", "k2"]), st.sampled_from(["m1", "m2"]),
                 st.sampled_from(["f1", "f2", ".hidden"]),
                 st.sampled_from(["file", "file", *LINK_KINDS]))  # fmt: skip


def _outside(root: Path) -> Path:
    out = root / "outside"
    for rel in ["f1", "m1/f1", "k1/m1/f1", "m2/f2"]:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("keep")
        os.utime(out / rel, (OLD, OLD))
    return out


def _plant(base: Path, outside: Path, level: int, parts: tuple[str, ...], what: str) -> None:
    path = base.joinpath(*parts[:level])
    for i in range(1, level + 1):  # plant only through real folders, never through a link
        step = base.joinpath(*parts[:i])
        if os.path.lexists(step) and (i == level or step.is_symlink() or not step.is_dir()):
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    if what == "file":
        if level == 3:
            path.write_text("x")
            os.utime(path, (OLD, OLD))
        else:
            path.mkdir()
        return
    (base / "real_in" / "m1").mkdir(parents=True, exist_ok=True)
    (base / "real_in" / "m1" / "f1").touch()
    target = {
        "out_file": outside / "f1",
        "out_dir": outside / ("k1" if level == 1 else "m1"),
        "in_file": base / "real_in" / "m1" / "f1",
        "in_dir": base / "real_in",
        "to_link": outside.parent / "link_to_outside",
        "dangling": outside / "missing",
    }[what]
    path.symlink_to(target)


def _expected(base: Path) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for root, _dirs, files in os.walk(base):  # os.walk does not descend into links
        rel = Path(root).relative_to(base).parts
        for f in files:
            parts = (*rel, f)
            hidden = any(p.startswith(".") for p in parts)
            if len(parts) == 3 and not hidden and stat.S_ISREG(os.lstat(base / root / f).st_mode):
                found.add(parts)
    return found


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p): p.read_text() for p in (root / "outside").rglob("*") if p.is_file()}


@pytest.fixture(params=[True, False], ids=["dir_fd", "lstat"])
def fd_steps(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param and not _files._FD_STEPS:
        pytest.skip("no dir_fd/O_NOFOLLOW on this platform")
    monkeypatch.setattr(_files, "_FD_STEPS", request.param)
    return bool(request.param)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(node, max_size=12))
def test_list_stats_and_cleanup_never_follow_a_link(fd_steps: bool, nodes: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        outside = _outside(root)
        (root / "link_to_outside").symlink_to(outside)
        base = root / "out"
        base.mkdir()
        for level, k, m, f, what in nodes:
            _plant(base, outside, level, (k, m, f), what)
        links = {p for p in base.rglob("*") if p.is_symlink()}
        expected = _expected(base)
        before = _snapshot(root)
        outputs = OutputManager(base)
        listed = asyncio.run(outputs.list_saved_outputs(output_type="all"))
        assert {tuple(Path(e["path"]).relative_to(base).parts) for e in listed} == expected
        stats = asyncio.run(outputs.get_output_stats())
        assert stats["count"] == len(expected)
        removed = asyncio.run(outputs.cleanup_old_outputs(days_old=7))
        assert removed == len({p for p in expected if p[0] != "real_in"})
        assert _snapshot(root) == before  # nothing outside touched
        assert all(os.path.lexists(p) for p in links)  # links themselves left alone
        assert not any(base.joinpath(*p).exists() for p in expected if p[0] != "real_in")


# --- races: a folder swapped for a link between check and use ------------------------------


def _swap_for_link(folder: Path, target: Path) -> None:
    folder.rename(folder.with_name(folder.name + ".moved"))
    folder.symlink_to(target)


async def test_cleanup_refuses_a_folder_swapped_for_a_link_after_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = _outside(tmp_path)
    base = tmp_path / "out"
    outputs = OutputManager(base)
    (base / "k1" / "m1").mkdir(parents=True)
    (base / "k1" / "m1" / "f1").write_text("x")
    os.utime(base / "k1" / "m1" / "f1", (OLD, OLD))
    real = _files.list_files

    def list_then_swap(b: Path, depth: int) -> list[_files.FileEntry]:
        found = real(b, depth)
        _swap_for_link(base / "k1" / "m1", outside / "m1")  # outside/m1/f1 has the same name
        return found

    monkeypatch.setattr(_outputs, "list_files", list_then_swap)
    assert await outputs.cleanup_old_outputs(days_old=7) == 0
    assert (outside / "m1" / "f1").read_text() == "keep"


def test_walk_refuses_a_folder_swapped_for_a_link_after_its_lstat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _files._FD_STEPS:
        pytest.skip("the race is closed only with dir_fd/O_NOFOLLOW")
    outside = _outside(tmp_path)
    base = tmp_path / "out"
    (base / "k1" / "m1").mkdir(parents=True)
    (base / "k1" / "m1" / "f1").write_text("x")
    real_lstat = _files._Dir.lstat

    def lstat_then_swap(self: _files._Dir, name: str) -> os.stat_result:
        result = real_lstat(self, name)
        if name == "k1" and not (base / "k1").is_symlink():
            _swap_for_link(base / "k1", outside)  # outside/m1/f1 would be found through it
        return result

    monkeypatch.setattr(_files._Dir, "lstat", lstat_then_swap)
    assert list_files(base, 3) == []


def test_writes_refuse_a_folder_link_and_replace_a_file_link(
    tmp_path: Path, fd_steps: bool
) -> None:
    outside = _outside(tmp_path)
    base = tmp_path / "out"
    (base / "k1").mkdir(parents=True)
    (base / "k1" / "m1").symlink_to(outside / "m1")
    with pytest.raises(OSError) as caught:
        write_inside(base, base / "k1" / "m1" / "f1", "evil")
    assert caught.value.errno == errno.ELOOP
    with pytest.raises(OSError):
        open_append_inside(base, base / "k1" / "m1" / "f1")
    (base / "k1" / "m2").mkdir()
    (base / "k1" / "m2" / "f2").symlink_to(outside / "m2" / "f2")
    with pytest.raises(OSError):
        open_append_inside(base, base / "k1" / "m2" / "f2")
    write_inside(base, base / "k1" / "m2" / "f2", "new")  # replaces the link, not its target
    assert not (base / "k1" / "m2" / "f2").is_symlink()
    assert (base / "k1" / "m2" / "f2").read_text() == "new"
    assert (outside / "m2" / "f2").read_text() == "keep"
    assert (outside / "m1" / "f1").read_text() == "keep"
    with pytest.raises(ValueError):
        write_inside(base, tmp_path / "elsewhere", "x")


async def test_output_manager_writes_never_go_through_links(tmp_path: Path, fd_steps: bool) -> None:
    outside = _outside(tmp_path)
    base = tmp_path / "out"
    outputs = OutputManager(base)
    (base / "configs" / "tiny").mkdir(parents=True)
    (base / "configs" / "tiny" / "config.json").symlink_to(outside / "f1")
    await outputs.save_model_config("tiny", {"a": 1})
    assert (outside / "f1").read_text() == "keep"
    (base / "outputs").symlink_to(outside)
    with pytest.raises(OSError):
        await outputs.save_output("tiny", "p", "r")
    (base / "results" / "batches").mkdir(parents=True)
    os.mkfifo(base / "results" / "batches" / "run.jsonl")  # would block an open for writing
    with pytest.raises(OSError):
        async with outputs.batch_writer("run"):
            pass
    assert _snapshot(tmp_path) == {str(p): "keep" for p in (tmp_path / "outside").rglob("*")
                                   if p.is_file()}  # fmt: skip


def test_remove_inside_leaves_links_folders_and_newer_files(tmp_path: Path, fd_steps: bool) -> None:
    base = tmp_path / "out"
    (base / "k" / "m" / "dir").mkdir(parents=True)
    (base / "k" / "m" / "new").write_text("x")
    (base / "k" / "m" / "link").symlink_to(base / "k" / "m" / "new")
    assert not remove_inside(base, base / "k" / "m" / "dir")
    assert not remove_inside(base, base / "k" / "m" / "link")
    assert not remove_inside(base, base / "k" / "m" / "missing")
    assert not remove_inside(base, base / "k" / "nope" / "x")
    assert not remove_inside(base, base / "k" / "m" / "new", older_than=time.time() - 60)
    assert remove_inside(base, base / "k" / "m" / "new", older_than=time.time() + 60)
    assert (base / "k" / "m" / "link").is_symlink()
