"""`python -m repro.bench.hostspread`: how much the parent-clocked batch's own cost differs between processes.

The reference worker times the batch's own cost (fresh inputs and output projections, per call) in its
process; the candidate's batch runs in another. Where that cost is mostly host time (launching), the
candidate's process pays it at the speed of the CPU it got, and on an H200 host the same work cost
0.29 ms a call in one process and up to 0.65 ms in another (BENCHMARKS.md). The rule allows for that
(`clockcheck.HOST_SPEED_SPREAD`), which is also what a forged time can gain. This starts `--processes`
fresh processes one after another, each timing the own cost of one task as the reference worker does
(`clockcheck.overhead`, `--repeats` batches of 16 calls), optionally pinned to the CPUs `--pin` names,
and reports each process's figures and the spread (largest over smallest). Pinning the reference and
the candidate to the same CPUs would be worth it if the spread then collapses.
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
pin = sys.argv[4]
if pin:
    os.sched_setaffinity(0, {int(c) for c in pin.split(",")})
import torch
from repro.harness import clockcheck, problem as prob
name, device, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
p = prob.load_module(sys.argv[5], "hostspread_problem")
shape = prob.shapes_for(p, device)[0]
def inputs_for(seed):
    return prob.make_inputs(p, shape, seed, device)
with torch.no_grad():
    model = prob.build_model(p.Model, p, shape, 42, device)
    outs = prob.flatten_outputs(model(*inputs_for(7)))
clockcheck.warm([o.numel() for o in outs], device)
sync()
seeds = list(range(5000, 5016))
clockcheck.overhead(inputs_for, outs, seeds, sync, repeats=1)  # warm: allocator, kernels
own = clockcheck.overhead(inputs_for, outs, seeds, sync, repeats=repeats, count_cpu=device != "cuda")
print(json.dumps({"cpus": sorted(os.sched_getaffinity(0)), **own}))
"""


def one_process(task: str, device: str, repeats: int, pin: str) -> dict[str, Any]:
    """The own cost as one fresh process measures it (ms per call: wall, and host time launching)."""
    problem = REPO / TASKS[task][0]
    done = subprocess.run([sys.executable, "-c", CHILD, task, device, str(repeats), pin, str(problem)],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"a measuring process failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> float:
    """Largest over smallest (1.0: no spread)."""
    lo = min(values)
    return max(values) / lo if lo > 0 else float("inf")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m repro.bench.hostspread", description=__doc__.splitlines()[0])
    p.add_argument("--task", default="row_max", help=f"one of {', '.join(TASKS)} (default row_max)")
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
    if args.task not in TASKS:
        p.error(f"--task {args.task!r}: unknown (known: {', '.join(TASKS)})")
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
            row = one_process(args.task, device, args.repeats, args.pin)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        rows.append(row)
        print(f"process {i + 1}: own cost {row['gen_ms']:.4f} ms a call, launching {row['launch_ms']:.4f} ms",
              flush=True)  # fmt: skip
    summary = {"gen_ms_spread": spread([r["gen_ms"] for r in rows]),
               "launch_ms_spread": spread([r["launch_ms"] for r in rows])}  # fmt: skip
    slug = device_slug(torch.cuda.get_device_name()) if device == "cuda" else "cpu"
    out = args.out or OUT_DIR / f"hostspread-{slug}.json"
    write_json_atomic(out, {"task": args.task, "pin": args.pin or None, "repeats": args.repeats, "rows": rows,
                            "summary": summary, "provenance": provenance(device)})  # fmt: skip
    print(f"spread (largest / smallest): own cost {summary['gen_ms_spread']:.2f}x, launching "
          f"{summary['launch_ms_spread']:.2f}x; wrote {out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
