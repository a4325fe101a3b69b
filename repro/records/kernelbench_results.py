"""The KernelBench baselines file (`kernelatlas-kernelbench-baselines`, version 1): reading it, and the
speed-of-light fields derived from its stored measurements. Written by `repro.published.kernelbench`,
read by the site; torch-free.

A file holds `kernelbench` (root, commit of the checkout), `settings`, `provenance` (GPU, driver, CUDA,
torch, triton, commit, date), `peaks` (copy bandwidth, matmul rates measured on the device) and `tasks`:
one record per problem (`level1/19_ReLU`) with `flops`, `flops_by_op`, `bytes_read`, `bytes_written`,
`dtype`, `tf32` flags, `baselines` (per baseline the timing summary or an `error`), and the derived
`sol_ms`, `bound`, `sol_fraction` (per baseline) and `sol_method`.

Baselines can be measured in separate runs (eager and CUDA graph first, compiled modes later): `runs`
lists every run's settings and provenance, and each baseline names its `run` (index into `runs`) and
the `settings_hash` of its device, timer settings and seed; `timed_at` (Unix seconds, start and end of
its timed region) and `lock_wait_ms` show that timed regions on one GPU never overlapped. `settings` and
`provenance` at the top are the latest run's. A baseline with `retry: true` was lost to a crash or
timeout of its whole problem and is measured again by the next run; one that ran out of time records
`attempts` and `seconds_tried` over its runs; the time a stopped run (SIGTERM, Ctrl-C) gave the problems
it was measuring counts as such an attempt. `set_aside` lists runs whose measurements were withdrawn
(`set_aside()`), each withdrawn reading kept inside its baseline, beside whatever replaced it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repro.records.files import write_json_atomic

SET_ASIDE = "set aside"  # how a withdrawn baseline's `error` begins (`set_aside()`)
FORMAT = "kernelatlas-kernelbench-baselines"
FORMAT_VERSION = 1


class SuiteError(ValueError):
    """The checkout or the results file cannot be used; the message says which and how to fix it."""


SOL_METHOD = (
    2  # 1: every FLOP at the dtype's matmul rate; 2: convolution FLOPs at the TF32 rate where cuDNN allows it
)


def sol(rec: dict[str, Any], peaks: dict[str, Any] | None) -> dict[str, Any]:
    """SOL time (ms), which bound it is, and each baseline's fraction of it.

    PyTorch lets cuDNN run float32 convolutions in TF32 by default (`torch.backends.cudnn.allow_tf32`), and
    float32 matrix products not (`torch.backends.cuda.matmul.allow_tf32`): convolution FLOPs of a float32
    problem count at the TF32 rate where the record says TF32 was allowed (default: PyTorch's defaults). The
    TF32 rate is the measured `tfloat32` peak when there is one, else half the measured bf16 rate (Hopper's
    dense TF32 rate is half its dense bf16 rate by the datasheet).
    """
    if not peaks or rec.get("flops") is None:
        return {}
    rates = peaks["flops_per_s"]
    dtype = rec.get("dtype") or "float32"
    rate = rates.get(dtype, rates["float32"])
    flags = rec.get("tf32") or {"cudnn": True, "matmul": False}
    tf32 = rates.get("tfloat32") or (rates.get("bfloat16", 0.0) / 2) or rate
    by_op = rec.get("flops_by_op") or {}
    conv = sum(v for k, v in by_op.items() if "convolution" in k)
    mm = rec["flops"] - conv
    compute_s = conv / (tf32 if dtype == "float32" and flags.get("cudnn") else rate)
    compute_s += mm / (tf32 if dtype == "float32" and flags.get("matmul") else rate)
    memory_s = rec["bytes"] / peaks["copy_bytes_per_s"]
    sol_ms = max(compute_s, memory_s) * 1e3
    fractions = {
        k: sol_ms / b["median"] for k, b in rec.get("baselines", {}).items() if b.get("median") and sol_ms > 0
    }
    return {"sol_ms": sol_ms, "bound": "compute" if compute_s > memory_s else "memory", "sol_fraction": fractions,
            "sol_method": SOL_METHOD}  # fmt: skip


def rederive(path: Path) -> int:
    """Recompute the derived SOL fields of a results file from its stored measurements and peaks."""
    data = load_results(path)
    if data is None:
        raise SuiteError(f"{path}: no such results file")
    for task in data["tasks"].values():
        _resolve(task, data.get("peaks"))
    write_json_atomic(path, data)
    return len(data["tasks"])


def _resolve(task: dict[str, Any], peaks: dict[str, Any] | None) -> None:
    """Replace a task's derived SOL fields by those of its stored measurements."""
    for key in ("sol_ms", "bound", "sol_fraction", "sol_method"):
        task.pop(key, None)
    task.update(sol(task, peaks))


def set_aside(path: Path, runs: list[int], why: str, today: str) -> int:
    """Set aside every measurement of `runs` (indices into `runs`) whose conditions are in doubt, e.g. a run
    that shared the GPU with a killed run's workers: each becomes a failure flagged `retry` (the next run
    measures it again) that keeps the reading it replaces under `set_aside`, and the file lists what was
    set aside, when and why. Returns the number of baselines set aside."""
    data = load_results(path)
    if data is None:
        raise SuiteError(f"{path}: no such results file")
    known = range(len(data.get("runs") or []))
    unknown = [r for r in runs if r not in known]
    if unknown or not runs:
        raise SuiteError(f"--set-aside-runs {unknown or runs}: {path} has runs 0 to {len(known) - 1}")
    if not why.strip():
        raise SuiteError("--why: say why the runs' measurements are set aside (kept in the file)")
    n = 0
    for task in data["tasks"].values():
        touched = False
        for name, b in (task.get("baselines") or {}).items():
            if b.get("run") in runs and b.get("median") is not None:
                task["baselines"][name] = {"error": f"{SET_ASIDE}: {why}", "retry": True, "run": b["run"],
                                           "settings_hash": b.get("settings_hash"), "set_aside": b}  # fmt: skip
                touched = True
                n += 1
        if touched:
            _resolve(task, data.get("peaks"))
    data.setdefault("set_aside", []).append({"runs": sorted(runs), "why": why, "date": today, "baselines": n})
    write_json_atomic(path, data)
    return n


def load_results(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SuiteError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); delete it to start over"
        ) from None
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise SuiteError(
            f"{path}: format {data.get('format')!r} version {data.get('format_version')!r}, expected {FORMAT!r} "
            f"version {FORMAT_VERSION}; write to another --out"
        )
    if not isinstance(data.get("tasks"), dict):
        raise SuiteError(f"{path}: 'tasks' must be an object keyed by task")
    return data


def _gpu(run: dict[str, Any]) -> str | None:
    return ((run.get("provenance") or {}).get("name")) or None


def _tried_more(theirs: dict[str, Any], ours: dict[str, Any]) -> bool:
    """Whether `theirs` is a later attempt at a baseline that `ours` also holds only as a failure: their
    run started from the file ours is, so its `attempts` count ours and its own."""
    return bool(ours.get("retry")) and int(theirs.get("attempts") or 1) > int(ours.get("attempts") or 1)


def _same_run(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """One run recorded in two files (runs before run ids: the same provenance, to the second, and settings)."""
    if "id" in a or "id" in b:
        return a.get("id") == b.get("id")
    return all(a.get(k) == b.get(k) for k in ("provenance", "settings"))


def merge(into: Path, other: Path) -> dict[str, int]:
    """Fold the measurements of `other` (another run of the same suite, e.g. on another machine of the same
    GPU model) into `into`: a baseline `into` lacks, or holds only as a `retry`, is taken from `other`
    with its run's settings and provenance; a baseline `into` already measured stays (the first reading
    is kept, never averaged), unless both files hold it from a run they share (`other` started as a copy
    of `into`) and `other` measured it again since (`--force`): then theirs replaces it (`replaced`), as
    if that run had written to `into` itself. A failure flagged `retry` in `other` is taken only where
    `into` has nothing for that baseline, or the same kind of failure tried fewer times (counted as
    `to_retry`; the next run measures it again). Tasks whose problem source differs are left out and
    counted. Refused when the files come from different GPU models or KernelBench commits."""
    data, add = load_results(into), load_results(other)
    if data is None:
        raise SuiteError(f"{into}: no such results file (the --out to merge into)")
    if add is None:
        raise SuiteError(f"{other}: no such results file (the --merge to take from)")
    gpus = {g for f in (data, add) for r in f.get("runs") or [] if (g := _gpu(r))}
    if len(gpus) > 1:
        raise SuiteError(f"{other}: measured on {sorted(gpus)}; merge only files of one GPU model")
    commits = {str(c) for f in (data, add) if (c := (f.get("kernelbench") or {}).get("commit"))}
    if len(commits) > 1:
        raise SuiteError(
            f"{other}: KernelBench commits differ ({sorted(commits)}); merge only one checkout's runs"
        )
    runs = data.setdefault("runs", [])
    # Runs both files hold at the same place: the history `other` started from when it was a copy of `into`.
    shared = {i for i, r in enumerate(add.get("runs") or []) if i < len(runs) and _same_run(r, runs[i])}
    remap: dict[int, int] = {i: i for i in shared}
    counts = {"added": 0, "kept": 0, "replaced": 0, "to_retry": 0, "different_source": 0}
    for key, theirs in add["tasks"].items():
        ours = data["tasks"].get(key)
        if ours is not None and ours.get("problem_sha256") != theirs.get("problem_sha256"):
            counts["different_source"] += 1
            continue
        have = (ours or {}).get("baselines") or {}
        theirs_b = theirs.get("baselines") or {}
        if theirs.get("error") and not theirs_b and ours is not None and not ours.get("error"):
            # Their whole problem was lost (a crash, the timeout): the failure of each baseline it asked for.
            asked = (add.get("settings") or {}).get("baselines") or []
            theirs_b = {k: {"error": theirs["error"], "retry": True} for k in asked}
        taken = {}
        for name, b in theirs_b.items():
            if b.get("retry"):  # their loss (a timeout, memory), measured again by the next run: taken only
                # where ours has nothing, so the file says it was tried and how it failed, or where ours
                # is the same loss tried fewer times (theirs counts the attempts over both).
                if name in have and not _tried_more(b, have[name]):
                    continue
                counts["to_retry"] += 1
            elif name in have and not have[name].get("retry"):
                if have[name].get("run") in shared and b.get("run") not in shared:
                    counts["replaced"] += 1  # measured again since the history both files share
                else:
                    counts["kept"] += 1
                    continue
            else:
                counts["added"] += 1
            if "run" in b:
                src = b["run"]
                if src not in remap:
                    runs.append((add.get("runs") or [])[src])
                    remap[src] = len(runs) - 1
                b = {**b, "run": remap[src]}
            taken[name] = b
        if not taken:
            continue
        base = ours if ours is not None and not ours.get("error") else {**theirs, "baselines": {}}
        rec = {**base, "baselines": {**have, **taken}}
        for k in ("sol_ms", "bound", "sol_fraction", "sol_method"):
            rec.pop(k, None)
        rec.update(sol(rec, data.get("peaks")))
        data["tasks"][key] = rec
    data["updated"] = max(str(data.get("updated") or ""), str(add.get("updated") or "")) or None
    write_json_atomic(into, data)
    return counts
