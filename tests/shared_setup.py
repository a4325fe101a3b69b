"""Set-ups that the test processes of one run share: under pytest-xdist each worker process runs its own
module- and session-scoped fixtures, so an expensive one whose tests land on both workers would be made
twice. A folder made here is made once per run: the first worker to ask makes it, the others wait for
it and read it."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder `name`, filled by `make(folder)` once per test run (read-only to its users: a test that
    changes what is in it works on a copy)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, above each worker's own (a later run gets another)
    folder = base / f"shared-{name}"
    with open(base / f"shared-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / ".complete"
        if not done.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            folder.mkdir()
            make(folder)
            done.touch()
    return folder
