"""`python -m repro.bench.hostspread`: how much the parent-clocked batch's own cost differs between processes.

The reference worker times the batch's own cost (fresh inputs and output projections, per call) in its
process; the candidate's batch runs in another. The host's part (queuing it, `launch_ms`) runs at the
speed of the CPU the process got: on an H200 host the same work cost 0.29 ms a call in one process and
up to 0.65 ms in another (BENCHMARKS.md), which the CUDA rule allows for only where the host, not the
device, explains a batch's time (`clockcheck.HOST_SPEED_SPREAD`). What the rule subtracts on CUDA is
the device's part (`dev_ms`), which should not depend on the process at all. This starts `--processes`
fresh processes one after another, each timing the own cost of each task as the reference worker does
(`clockcheck.overhead`, `--repeats` batches of 16 calls), optionally pinned to the CPUs `--pin` names,
and reports each process's figures and, per task, the spread (largest over smallest) of each.
Writes JSON with provenance to repro/results/bench/hostspread-<device>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from repro.bench.clockbatch import REPO, TASKS

OUT_DIR = REPO / "repro" / "results" / "bench"

CHILD = """
import json, os, sys
pin = sys.argv[3]
if pin:
    os.sched_setaffinity(0, {int(c) for c in pin.split(",")})
import torch
from repro.harness import clockcheck, problem as prob
device, repeats = sys.argv[1], int(sys.argv[2])
if device == "cpu":
    torch.set_num_threads(1)  # as the harness's workers on the CPU path
sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
rows = {}
for i, (name, path) in enumerate(zip(sys.argv[4::2], sys.argv[5::2])):
    p = prob.load_module(path, f"hostspread_problem_{i}")
    shape = prob.shapes_for(p, device)[0]
    def inputs_for(seed):
        return prob.make_inputs(p, shape, seed, device)
    with torch.no_grad():
        model = prob.build_model(p.Model, p, shape, 42, device)
        outs = prob.flatten_outputs(model(*inputs_for(7)))
    clockcheck.warm([o.numel() for o in outs], device)
    sync()
    seeds = list(range(5000, 5016))
    clockcheck.overhead(inputs_for, outs, seeds, sync, repeats=1, device=device)  # warm: allocator, kernels
    rows[name] = clockcheck.overhead(inputs_for, outs, seeds, sync, repeats=repeats,
                                     count_cpu=device != "cuda", device=device)
    del model, outs
    if device == "cuda":
        torch.cuda.empty_cache()
print(json.dumps({"cpus": sorted(os.sched_getaffinity(0)), "tasks": rows}))
"""


def one_process(tasks: list[str], device: str, repeats: int, pin: str) -> dict[str, Any]:
    """The own cost of each task as one fresh process measures it (ms per call: wall, host time queuing
    it, and on CUDA the device's time)."""
    pairs = [x for t in tasks for x in (t, str(REPO / TASKS[t][0]))]
    done = subprocess.run([sys.executable, "-c", CHILD, device, str(repeats), pin, *pairs],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"a measuring process failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


KEYS = ("gen_ms", "launch_ms", "dev_ms")  # wall, host queuing, device (CUDA)
DEFAULT_TASKS = ("row_max", "scale_add", "scale_add_large")


def _figures(cost: dict[str, Any]) -> str:
    dev = f", device {cost['dev_ms']:.4f}" if cost.get("dev_ms") is not None else ""
    return f"wall {cost['gen_ms']:.4f}, queuing {cost['launch_ms']:.4f}{dev}"


def spread(values: list[float]) -> float:
    """Largest over smallest (1.0: no spread)."""
    lo = min(values)
    return max(values) / lo if lo > 0 else float("inf")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m repro.bench.hostspread", description=__doc__.splitlines()[0])
    p.add_argument(
        "--tasks",
        default=",".join(DEFAULT_TASKS),
        help=f"comma-separated, of {', '.join(TASKS)} (default {','.join(DEFAULT_TASKS)})",
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda if available")
    p.add_argument("--processes", type=int, default=8, help="fresh processes, one after another (default 8)")
    p.add_argument(
        "--repeats", type=int, default=5, help="batches of 16 calls each process times (default 5)"
    )
    p.add_argument(
        "--pin", default="", help="pin every process to these CPUs, e.g. 3 or 2,3 (default: unpinned)"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="JSON (default repro/results/bench/hostspread-<device>.json)"
    )
    args = p.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        p.error(f"--tasks {args.tasks!r}: unknown {unknown} (known: {', '.join(TASKS)})")
    if args.processes < 2:
        p.error(f"--processes must be at least 2 to show a spread (got {args.processes})")
    if args.repeats < 1:
        p.error(f"--repeats must be at least 1 (got {args.repeats})")
    if args.pin:
        try:
            cpus = {int(c) for c in args.pin.split(",")}
        except ValueError:
            p.error(f"--pin {args.pin!r}: give CPU numbers, e.g. 3 or 2,3")
        if not cpus <= os.sched_getaffinity(0):
            p.error(
                f"--pin {args.pin!r}: this process may run only on CPUs {sorted(os.sched_getaffinity(0))}"
            )
    import torch

    from repro.harness.peaks import device_slug
    from repro.records.files import write_json_atomic
    from repro.records.provenance import provenance

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA GPU here", file=sys.stderr)
        return 2
    rows = []
    for i in range(args.processes):
        try:
            row = one_process(tasks, device, args.repeats, args.pin)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        rows.append(row)
        said = "; ".join(f"{t} {_figures(c)}" for t, c in row["tasks"].items())
        print(f"process {i + 1}: {said} (ms a call)", flush=True)
    summary = {
        t: {
            f"{k}_spread": spread([r["tasks"][t][k] for r in rows])
            for k in KEYS
            if rows[0]["tasks"][t][k] is not None
        }
        for t in tasks
    }
    slug = device_slug(torch.cuda.get_device_name()) if device == "cuda" else "cpu"
    out = args.out or OUT_DIR / f"hostspread-{slug}.json"
    write_json_atomic(out, {"tasks": tasks, "pin": args.pin or None, "repeats": args.repeats, "rows": rows,
                            "summary": summary, "provenance": provenance(device)})  # fmt: skip
    for t, sp in summary.items():
        print(f"{t}: spread (largest / smallest) " + ", ".join(f"{k} {v:.2f}x" for k, v in sp.items()))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
