"""Atomic file output: a reader never sees a half-written file, and a write that fails part way
(a full disk, a read-only folder, Ctrl-C) leaves the previous file as it was.

Failures become OutputError, whose one-line message names the path and what to do about it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


class OutputError(Exception):
    """A file cannot be written where asked; the message names the path and the fix."""


_NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def write_failure(action: str, path: Path, exc: OSError, writable_fix: str) -> OutputError:
    """`action` on `path` failed: one line with the system's reason and what to do about it."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _NO_SPACE:
        fix = "free some space or write somewhere else"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = writable_fix
    else:
        fix = "write somewhere else"
    return OutputError(f"cannot {action} {path}: {reason} ({fix})")


def _temporary_copy(path: Path, text: str, writable_fix: str) -> str:
    """`text` in a new temporary file beside `path`, flushed to disk; returns its name."""
    if path.is_dir():
        raise OutputError(f"{path} is a directory (name the file to write, e.g. --out {path / 'out.txt'})")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failure("create the folder", path.parent, exc, writable_fix) from None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise write_failure("write", path, exc, writable_fix) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise write_failure("write", path, exc, writable_fix) from None
        raise
    return tmp


def write_text_atomic(path: Path, text: str, *, writable_fix: str | None = None) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place."""
    fix = writable_fix or f"choose a writable --out, or make {path.parent} writable"
    tmp = _temporary_copy(path, text, fix)
    try:
        os.replace(tmp, path)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise write_failure("write", path, exc, fix) from None
        raise


def create_text_atomic(path: Path, text: str, *, writable_fix: str) -> None:
    """Create `path` holding `text`, all at once; FileExistsError if it exists (never overwrites,
    even a file that appeared meanwhile)."""
    tmp = _temporary_copy(path, text, writable_fix)
    try:
        os.link(tmp, path)  # atomic, and fails rather than replace an existing file
    except FileExistsError:
        raise
    except OSError as exc:
        raise write_failure("write", path, exc, writable_fix) from None
    finally:
        os.unlink(tmp)


def write_output(text: str, out: str, example_name: str) -> None:
    """A command's text result: to standard output for `-`, else atomically to the file named
    (`example_name` is the file name suggested when `out` is a directory)."""
    if out == "-":
        print(text, end="")
        return
    path = Path(out)
    if path.is_dir():
        raise OutputError(f"{path} is a directory (name the file to write, e.g. --out {path / example_name})")
    write_text_atomic(path, text)
    print(f"wrote {out}")
