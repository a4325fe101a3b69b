"""The harness's private cache folder and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

from repro.records.files import write_json_atomic

__all__ = ["cache_dir", "private_dir", "write_json_atomic"]


def cache_dir() -> Path:
    """KERNELATLAS_CACHE, else $XDG_CACHE_HOME/kernelatlas, else ~/.cache/kernelatlas."""
    env = os.environ.get("KERNELATLAS_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kernelatlas"


def private_dir() -> Path:
    """The cache folder, created if needed and kept readable by its owner only (candidate processes run
    under another uid, or under Landlock, and must not read the reference outputs kept here)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if root.stat().st_mode & 0o077:
        root.chmod(0o700)
    return root
