"""Where and with what a number was produced: device, driver, library versions, git commit, date."""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def utc_now() -> str:
    """The current time in UTC, to the second, as every result file writes it."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@functools.cache
def git_commit() -> dict[str, Any]:
    """HEAD of the repository this package lives in, and whether the tree had local changes.

    KERNELATLAS_GIT_COMMIT, when set, wins: a copied tree may carry no .git, or a stale one."""
    if os.environ.get("KERNELATLAS_GIT_COMMIT", "").strip():
        return _commit_from_environment()
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--verify", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}", head.stdout.strip()):
            return _commit_from_environment()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return _commit_from_environment()
    return {"commit": head.stdout.strip(), "dirty": bool(dirty)}


def _commit_from_environment() -> dict[str, Any]:
    """For a copy of the tree without .git (e.g. shipped to a GPU machine): the commit it was copied
    from, given as KERNELATLAS_GIT_COMMIT (and KERNELATLAS_GIT_DIRTY=0/1) by whoever shipped it."""
    raw = os.environ.get("KERNELATLAS_GIT_COMMIT", "").strip()
    commit = raw.lower()
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        if not raw:
            return {"commit": None, "dirty": None}
        return {"commit": None, "dirty": None, "error": f"KERNELATLAS_GIT_COMMIT={raw!r} is not a full "
                "40-hex commit id; set it to the output of `git rev-parse HEAD`"}  # fmt: skip
    dirty = os.environ.get("KERNELATLAS_GIT_DIRTY")
    return {"commit": commit, "dirty": None if dirty is None else dirty == "1", "source": "environment"}


@functools.cache
@functools.cache
def _driver_version() -> str | None:
    """The NVIDIA driver's version (nvidia-smi), asked once per process: it cannot change while a
    CUDA context is open, and a warm reference process records it for every task."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def device_info(device: str) -> dict[str, Any]:
    """Name and driver/runtime of the device; on CPU the processor."""
    import torch

    if device == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        driver = _driver_version()
        return {
            "device": "cuda",
            "name": props.name,
            "capability": f"{props.major}.{props.minor}",
            "multiprocessors": props.multi_processor_count,
            "memory_bytes": props.total_memory,
            "l2_bytes": getattr(props, "L2_cache_size", None),
            "driver": driver,
            "cuda": torch.version.cuda,
        }
    return {"device": "cpu", "name": platform.processor() or platform.machine(), "cuda": None}


def device_name(device: str) -> str:
    return str(device_info(device)["name"])


def provenance(device: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    import torch

    try:
        import triton

        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    return {
        **device_info(device),
        "torch": torch.__version__,
        "triton": triton_version,
        "python": platform.python_version(),
        "host": platform.node(),
        "git": git_commit(),
        "date": utc_now(),
        **({"settings": settings} if settings is not None else {}),
    }
