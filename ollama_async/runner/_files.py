"""Files under one base folder: injective names, and walks, writes and removals that never
follow a symbolic link.

The rule: below the base folder, a link (to a file or a folder, pointing inside or outside,
dangling or not) is never followed, listed, counted, written through or deleted through.
Where the platform has ``dir_fd`` and ``O_NOFOLLOW`` (Linux, macOS, the BSDs), every step
opens the next folder relative to the previous one's descriptor with ``O_NOFOLLOW``, so a
folder swapped for a link between a check and its use makes the step fail instead of
escaping. Elsewhere each step is checked with ``lstat`` first (a narrower guarantee).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, TextIO

__all__ = [
    "FileEntry",
    "atomic_write",
    "list_files",
    "open_append_inside",
    "original_name",
    "remove_inside",
    "safe_name",
    "write_inside",
]

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(10)]
)
_HASH_CHARS = 16
_MIN_LIMIT = 32


def _escape(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def safe_name(name: str, limit: int = 100) -> str:
    """A file or folder name for ``name`` that stays in its folder on every common file
    system, and is different for every different ``name`` (escaping, not collapsing).

    Every character outside ``[a-z0-9_.-]`` becomes ``%XX`` per UTF-8 byte, including ``%``
    itself and upper-case letters (so names that differ only in case stay apart on
    case-insensitive file systems). A leading or trailing dot is escaped (no hidden names,
    no ``.``/``..``, no Windows trailing dot); so is the first letter of a Windows device
    name (``con``, ``nul.txt``, ``com1``, ``lpt9.log``). The empty name is ``%``. Above
    ``limit`` characters the name is cut and ends in ``~`` and 16 hex digits of its
    SHA-256, a character the untruncated form never holds. :func:`original_name` reverses
    every name that was not cut.

    >>> safe_name("qwen3:8b"), safe_name("qwen3_8b"), safe_name("library/llama3:8b")
    ('qwen3%3A8b', 'qwen3_8b', 'library%2Fllama3%3A8b')
    >>> safe_name("../etc"), safe_name("NUL.txt"), safe_name("con"), safe_name("")
    ('%2E.%2Fetc', '%4E%55%4C.txt', '%63on', '%')
    """
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit must be at least {_MIN_LIMIT}")
    last = len(name) - 1
    out = "".join(
        ch if ch in _SAFE and not (ch == "." and i in (0, last)) else _escape(ch)
        for i, ch in enumerate(name)
    )
    if not out:
        return "%"
    if out.split(".", 1)[0] in _RESERVED:
        out = _escape(out[0]) + out[1:]
    if len(out) <= limit:
        return out
    cut = limit - 1 - _HASH_CHARS
    percent = out.rfind("%", cut - 2, cut)  # do not split an escape in two
    prefix = out[:percent] if percent != -1 else out[:cut]
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}~{digest[:_HASH_CHARS]}"


def original_name(safe: str) -> str:
    """The name :func:`safe_name` turned into ``safe``; ``ValueError`` for a cut name.

    >>> original_name("library%2Fllama3%3A8b")
    'library/llama3:8b'
    """
    if "~" in safe:
        raise ValueError("a truncated name cannot be reversed")
    if safe == "%":
        return ""
    raw = bytearray()
    i = 0
    while i < len(safe):
        if safe[i] == "%":
            raw.append(int(safe[i + 1 : i + 3], 16))
            i += 3
        else:
            raw += safe[i].encode("ascii")
            i += 1
    return raw.decode("utf-8", "surrogatepass")


def atomic_write(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Write a file so that readers see the old or the new content, never a half:
    a temporary file in the same folder, fsync, then ``os.replace`` (a link at ``path``
    itself is replaced, as ``os.replace`` does).

    For a path chosen by the user (a config file); under an output folder use
    :func:`write_inside`, which also refuses links.

    Example::

        atomic_write(Path("config.toml"), "[server]\\n", mode=0o600)
    """
    folder = path.parent.resolve()  # the user's own path may go through links
    folder.mkdir(parents=True, exist_ok=True)
    write_inside(folder, folder / path.name, data, mode)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
# Descriptor-relative steps where the platform has them; lstat checks elsewhere.
_FD_STEPS = bool(
    _NOFOLLOW
    and {os.open, os.stat, os.unlink, os.mkdir, os.rename} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
)


def _refuse(where: str) -> OSError:
    return OSError(errno.ELOOP, "refusing a link or non-folder inside the output folder", where)


class _Dir:
    """One folder reached without following a link: a descriptor, or (without ``dir_fd``
    support) a path checked with ``lstat`` at every step."""

    def __init__(self, path: str, fd: int | None) -> None:
        self.path, self.fd = path, fd

    @classmethod
    def base(cls, base: Path, create: bool) -> _Dir:
        if create:
            base.mkdir(parents=True, exist_ok=True)
        if not _FD_STEPS:
            return cls(str(base), None)
        try:
            return cls(str(base), os.open(base, _DIR_FLAGS))
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _refuse(str(base)) from None
            raise

    def join(self, name: str) -> str:
        return os.path.join(self.path, name)

    def lstat(self, name: str) -> os.stat_result:
        if self.fd is None:
            return os.lstat(self.join(name))
        return os.stat(name, dir_fd=self.fd, follow_symlinks=False)

    def sub(self, name: str, create: bool) -> _Dir:
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name if self.fd is not None else self.join(name), dir_fd=self.fd)
        if self.fd is None:
            if not stat.S_ISDIR(self.lstat(name).st_mode) or _is_reparse(self.join(name)):
                raise _refuse(self.join(name))
            return _Dir(self.join(name), None)
        try:
            return _Dir(self.join(name), os.open(name, _DIR_FLAGS, dir_fd=self.fd))
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise _refuse(self.join(name)) from None
            raise

    def open(self, name: str, flags: int, mode: int = 0o600) -> int:
        target = name if self.fd is not None else self.join(name)
        if self.fd is None and os.path.lexists(target) and os.path.islink(target):
            raise _refuse(target)
        try:
            return os.open(target, flags | _NOFOLLOW | _CLOEXEC, mode, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):
                raise _refuse(self.join(name)) from None
            raise

    def at(self, name: str) -> str:
        return name if self.fd is not None else self.join(name)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _is_reparse(path: str) -> bool:
    attributes = getattr(os.lstat(path), "st_file_attributes", 0)
    return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0))


@contextlib.contextmanager
def _folder(base: Path, parts: tuple[str, ...], create: bool) -> Iterator[_Dir]:
    """The folder ``base/parts...``, each step taken without following a link."""
    current = _Dir.base(base, create)
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise _refuse(os.path.join(current.path, part))
            nxt = current.sub(part, create)
            current.close()
            current = nxt
        yield current
    finally:
        current.close()


def _split(base: Path, path: Path) -> tuple[tuple[str, ...], str]:
    parts = Path(path).relative_to(base).parts
    if not parts:
        raise ValueError(f"{path} is the base folder itself, not a file in it")
    return parts[:-1], parts[-1]


def write_inside(base: Path, path: Path, data: str | bytes, mode: int | None = None) -> None:
    """:func:`atomic_write` for ``path`` under ``base``, refusing any link on the way:
    a link in place of a folder raises ``OSError(ELOOP)``, and a link in place of the file
    itself is replaced by the new file, its target untouched.

    Example::

        write_inside(Path("out"), Path("out/outputs/tiny/1.txt"), "Hello")
    """
    folders, name = _split(base, path)
    raw = data.encode() if isinstance(data, str) else data
    with _folder(base, folders, create=True) as d:
        tmp = f".{name}.{secrets.token_hex(6)}.tmp"
        fd = d.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            os.replace(d.at(tmp), d.at(name), src_dir_fd=d.fd, dst_dir_fd=d.fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(d.at(tmp), dir_fd=d.fd)
            raise


def open_append_inside(base: Path, path: Path) -> TextIO:
    """``path`` under ``base`` opened for appending text, refusing a link (or a FIFO or
    device, which could block or leak) at every step.

    Example::

        with open_append_inside(Path("out"), Path("out/batches/all/run.jsonl")) as f:
            f.write("{}\\n")
    """
    folders, name = _split(base, path)
    with _folder(base, folders, create=True) as d:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
        fd = d.open(name, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refuse(str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


class FileEntry(NamedTuple):
    """A regular file found by :func:`list_files`."""

    path: Path
    parts: tuple[str, ...]
    size: int
    modified: float


def list_files(base: Path, depth: int) -> list[FileEntry]:
    """Regular files exactly ``depth`` levels below ``base`` (``depth=3``:
    ``kind/model/file``), skipping hidden names and every link, file or folder.

    Example::

        for entry in list_files(Path("out"), 3):
            print(entry.parts, entry.size)
    """
    if not base.is_dir() or base.is_symlink():
        return []
    out: list[FileEntry] = []
    with _folder(base, (), create=False) as root:
        _walk(root, (), depth, base, out)
    return out


def _walk(d: _Dir, prefix: tuple[str, ...], depth: int, base: Path, out: list[FileEntry]) -> None:
    try:
        names = sorted(e.name for e in os.scandir(d.fd if d.fd is not None else d.path))
    except OSError:
        return
    for name in names:
        if name.startswith("."):
            continue
        try:
            st = d.lstat(name)
        except OSError:  # removed since the scan
            continue
        if depth > 1 and stat.S_ISDIR(st.st_mode):
            try:
                sub = d.sub(name, create=False)  # fails if swapped for a link since lstat
            except OSError:
                continue
            try:
                _walk(sub, (*prefix, name), depth - 1, base, out)
            finally:
                sub.close()
        elif depth == 1 and stat.S_ISREG(st.st_mode):
            parts = (*prefix, name)
            out.append(FileEntry(base.joinpath(*parts), parts, st.st_size, st.st_mtime))


def remove_inside(base: Path, path: Path, *, older_than: float | None = None) -> bool:
    """Delete the regular file ``path`` under ``base`` without following a link; True if
    it was deleted. A link, a folder, a missing file, or (with ``older_than``) a file
    modified since that time is left alone.

    Example::

        remove_inside(Path("out"), Path("out/outputs/tiny/1.txt"), older_than=time.time())
    """
    folders, name = _split(base, path)
    try:
        with _folder(base, folders, create=False) as d:
            st = d.lstat(name)
            if not stat.S_ISREG(st.st_mode):
                return False
            if older_than is not None and st.st_mtime >= older_than:
                return False
            os.unlink(d.at(name), dir_fd=d.fd)  # unlink never follows the last step
            return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return False
        raise
