"""No state from the machine leaks into a test: every cache the code under test reads or writes
lives in this run's temporary directory, also for the subprocesses the tests start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro.harness.cache import cache_dir
from site_gen.kb.paths import REPO_ROOT

CACHE_VARIABLES = ("KERNELATLAS_CACHE", "XDG_CACHE_HOME", "TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR")


def _inside(path: str | Path, base: Path) -> bool:
    return Path(path).resolve().is_relative_to(base.resolve())


def test_caches_live_in_this_runs_temporary_directory(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.getbasetemp()
    assert _inside(cache_dir(), base), f"the harness cache {cache_dir()} is outside {base}"
    for name in CACHE_VARIABLES:
        assert _inside(os.environ.get(name, "/unset"), base), f"{name} is not inside {base}"
    peaks = os.environ.get("KERNELATLAS_PEAKS")  # a peaks file from the machine is not read
    assert peaks is None or _inside(peaks, base), f"KERNELATLAS_PEAKS={peaks} is not inside {base}"


def test_subprocesses_see_the_private_caches(tmp_path_factory: pytest.TempPathFactory) -> None:
    code = "from repro.harness.cache import cache_dir; print(cache_dir())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert _inside(out, tmp_path_factory.getbasetemp()), out
