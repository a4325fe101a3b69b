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


# The harness's version: how candidates are judged and timed (part of the reference-cache key; recorded
# in every result, so that a table can say which rules a number was judged by). Bump when baselines or
# candidates would be timed or checked differently.
# 2: L2 flushed by a read; peaks timed with the harness timer.
# 3: the reference pool for timed-iteration checks; the reference run twice; bundle checksums.
# 4: the parent-clocked batch's pool (projections of unseen seeds' outputs) and its overhead.
# 5: those projections chunk by chunk (a bundle of version 4 would not match a candidate's).
# 6: the batch's cost timed on fresh inputs, as the batch now runs.
# 7: projections on windows of one base vector (a bundle of version 6 would not match); on the CPU path
#    the batch's cost counts the smaller of wall and CPU time.
# 8: one dot per output chunk (float32 accumulation), inputs seeded without torch.manual_seed, and on
#    CUDA the batch's own device time timed apart (`dev_ms`); a pool of 128 seeds.
# 9: on the CPU path, workers run one intra-op thread (the batch's cost is timed that way) and the batch's
#    CPU time is read to the nanosecond, less 10 ms rather than 30; confirming rounds start after a pause.
# 10: on CUDA the batch's call may exceed its median by 10% or 0.035 ms (25% before), and 2% of the own
#     device time is allowed for its error (5% before).
# 11: the batch projects each output in its memory order (channels-last, transposed), so an honest output
#     laid out so is not copied on the candidate's side; the pool holds the reference's projections in each.
#     On the CPU path a round slower than the timed loop throughout counts at its own calls' median.
# 12: the worker reads outputs (and compares inputs) with torch function handling off, and before reading a
#     call's outputs refuses a torch function mode left active or a replaced method it reads them with.
# 13: on the CPU path a round's wall time is allowed 15 ms beyond its calls, not 30 (the CPU-time reading,
#     the smaller on a busy machine, covers the scheduler's delays), which had let a half-time forger of a
#     5.5 ms kernel through on a quiet machine.
# 14: on CUDA the parent-clocked batch is one CUDA graph replayed after the round's seed (`graphbatch`),
#     judged by the device's bound alone; a kernel that cannot be captured runs eager rounds, where a time
#     only the host's queuing explains is reported at that time. The pool holds graph rounds too.
HARNESS_VERSION = "14"


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


def checkout_commit(root: Path) -> str | None:
    """HEAD of the git checkout whose top folder is `root`, or None.

    Why the top-folder check: `git rev-parse` in a folder that is not a checkout answers for the
    repository around it, so a third-party tree unpacked inside another repository (a copied work tree,
    a project's own `vendor/`) would otherwise record that repository's commit as its own."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel", "--verify", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.split("\n")
    if out.returncode != 0 or len(lines) < 2 or not re.fullmatch(r"[0-9a-f]{40}", lines[1].strip()):
        return None
    try:
        same = Path(lines[0].strip()).resolve() == Path(root).resolve()
    except OSError:
        return None
    return lines[1].strip() if same else None


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
