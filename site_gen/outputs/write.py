"""Atomic file output: a reader never sees a half-written export."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_output(text: str, out: str) -> None:
    """A command's text result: to standard output for `-`, else atomically to the file named."""
    if out == "-":
        print(text, end="")
    else:
        write_text_atomic(Path(out), text)
        print(f"wrote {out}")
