"""`python -m repro.bench.clockbatch`: the parent-clocked batch's arithmetic, and the rule's verdict, per task.

The parent-clocked batch (`repro.harness.clockcheck`) subtracts its own cost per call (fresh inputs and
output projections, timed by the reference worker: on CUDA its device time) from its clock, and judges
what is left against the timed loop's median. This runs, in one process and without the isolation (the
arithmetic, not the harness around it), per task and for both the reference and a solution: the timed
loop's median m as the harness measures it; the own cost as the reference worker times it (`gen_ms`
wall, `launch_ms` host queuing, on CUDA `dev_ms` device time); the batch as the worker runs it, with
as many calls K as the harness would ask for; and the batch's parts (inputs only, projections only,
calls only on prepared inputs). Then:
- `err_ms`: batch - own device time - m (CUDA; on the CPU, batch - own wall time - m), what the rule's
  device bound has to absorb for an honest kernel;
- `margin_ms`: what the rule allows less what it measured, this batch judged as the parent would (plus
  the rule's fixed allowance per batch): negative refuses this honest kernel;
- `forged_margin_ms`: the same batch judged against half the median (a half-time forgery of this very
  kernel): positive refuses it.
Writes JSON with provenance to repro/results/bench/clockbatch-<device>.json. On the CPU the Triton
solutions run in Triton's interpreter, as on the harness's CPU path (their times mean little there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "repro" / "results" / "bench"
GOOD_TRITON = "repro/gauntlet/kernels/good_triton.py"
TASKS = {
    "softmax": ("repro/tasks/level1/03_softmax.py", "repro/solutions/level1/03_softmax.py"),
    "gelu": ("repro/tasks/level1/01_gelu.py", "repro/solutions/level1/01_gelu.py"),
    "row_max": ("repro/tasks/level1/08_row_max.py", "repro/solutions/level1/08_row_max.py"),
    "row_sum": ("repro/tasks/level1/07_row_sum.py", "repro/solutions/level1/07_row_sum.py"),
    "scale_add": ("repro/gauntlet/kernels/problem_scale_add.py", GOOD_TRITON),
    "scale_add_large": ("repro/gauntlet/kernels/problem_scale_add_large.py", GOOD_TRITON),
}


def _wall_ms(fn: Callable[[], Any], sync: Callable[[], None]) -> float:
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    return (time.perf_counter() - t0) * 1e3


def _parts(fn: Any, outs: list[Any], inputs_for: Callable[[int], list[Any]], seeds: list[int],
           sync: Callable[[], None]) -> dict[str, float]:  # fmt: skip
    """The batch and its parts, each timed on the host with a synchronisation at both ends (ms, K calls)."""
    from repro.harness import clockcheck
    from repro.harness import problem as prob

    prepared = [inputs_for(s) for s in seeds]
    return {
        "batch_ms": _wall_ms(lambda: clockcheck.run(fn, inputs_for, prob.flatten_outputs, seeds, sync), sync),
        "inputs_only_ms": _wall_ms(lambda: [inputs_for(s) for s in seeds], sync),
        "projections_only_ms": _wall_ms(
            lambda: clockcheck.run(lambda: outs, lambda s: [], lambda o: o, seeds, sync), sync
        ),
        "calls_only_ms": _wall_ms(lambda: [fn(*x) for x in prepared], sync),
    }


def study(name: str, device: str, repeats: int) -> list[dict[str, Any]]:
    """Rows for one task: per callable (reference, solution) and repeat, the times above in ms per call."""
    import torch

    from repro.harness import clockcheck, timing
    from repro.harness import problem as prob

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    problem_file, solution_file = TASKS[name]
    problem = prob.load_module(REPO / problem_file, f"clockbatch_{name}")
    shape = prob.shapes_for(problem, device)[0]
    fns: dict[str, Any] = {"reference": prob.build_model(problem.Model, problem, shape, 42, device)}
    if solution_file:
        solution = prob.load_module(REPO / solution_file, f"clockbatch_{name}_solution")
        fns["solution"] = prob.build_model(solution.ModelNew, problem, shape, 42, device)

    def inputs_for(seed: int) -> list[Any]:
        return prob.make_inputs(problem, shape, seed, device)

    rows = []
    with torch.no_grad():
        for label, fn in fns.items():
            loop = timing.measure(fn, lambda i: inputs_for(1000 + i), device, warmup=3, min_iters=20,
                                  max_iters=100, target_rel_ci=0.01, max_time_s=1.5)  # fmt: skip
            median = statistics.median(loop.samples_ms)
            outs = prob.flatten_outputs(fn(*inputs_for(7)))
            clockcheck.warm([o.numel() for o in outs], device)
            own16 = clockcheck.overhead(inputs_for, outs, list(range(5000, 5016)), sync, device=device)
            calls = clockcheck.calls_for(median, own16["gen_ms"], clockcheck.pool_max(device), device)
            seeds = list(range(5000, 5000 + calls))
            for rep in range(repeats):
                own = clockcheck.overhead(inputs_for, outs, seeds[:16], sync, device=device)
                parts = _parts(fn, outs, inputs_for, seeds, sync)
                per_call = {k: v / calls for k, v in parts.items()}
                subtracted = own["dev_ms"] if own["dev_ms"] is not None else own["gen_ms"]
                rounds = [parts["batch_ms"] + clockcheck.FIXED_MS.get(device, clockcheck.FIXED_MS["cpu"])]
                honest = clockcheck.judge_time(rounds, calls, median, own, device)
                forged = clockcheck.judge_time(rounds, calls, median / 2, own, device)
                row: dict[str, Any] = {"task": name, "callable": label, "repeat": rep, "calls": calls,
                       "loop_median_ms": median, "own_cost_ms": own["gen_ms"], "own_launch_ms": own["launch_ms"],
                       "own_device_ms": own["dev_ms"], **per_call,
                       "err_ms": per_call["batch_ms"] - subtracted - median,
                       "err_wall_ms": per_call["batch_ms"] - own["gen_ms"] - median,
                       "margin_ms": honest.allowed_ms - honest.per_call_ms, "bound": honest.bound,
                       "forged_margin_ms": forged.per_call_ms - forged.allowed_ms}  # fmt: skip
                rows.append(row)
    sys.modules.pop(f"clockbatch_{name}", None)
    sys.modules.pop(f"clockbatch_{name}_solution", None)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| task | callable | K | median ms | own device ms | own queuing ms | own wall ms | batch ms/call "
        "| err ms | margin ms | forged margin ms | inputs | projections | calls |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    keys: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        keys.setdefault((r["task"], r["callable"]), []).append(r)
    for (task, label), rs in keys.items():

        def med(k: str, rs: list[dict[str, Any]] = rs) -> float:
            vals = [r[k] for r in rs if r[k] is not None]
            return statistics.median(vals) if vals else float("nan")

        lines.append(
            f"| {task} | {label} | {rs[0]['calls']} | {med('loop_median_ms'):.4f} | {med('own_device_ms'):.4f} "
            f"| {med('own_launch_ms'):.4f} | {med('own_cost_ms'):.4f} | {med('batch_ms'):.4f} "
            f"| {med('err_ms'):+.4f} | {min(r['margin_ms'] for r in rs):+.4f} "
            f"| {min(r['forged_margin_ms'] for r in rs):+.4f} | {med('inputs_only_ms'):.4f} "
            f"| {med('projections_only_ms'):.4f} | {med('calls_only_ms'):.4f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m repro.bench.clockbatch", description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)}")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda if available")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--out", type=Path, default=None, help="JSON (default repro/results/bench/clockbatch-<device>.json)"
    )
    args = p.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        p.error(f"unknown task(s) {unknown} (known: {', '.join(TASKS)})")
    if args.repeats < 1:
        p.error(f"--repeats must be at least 1 (got {args.repeats})")
    import torch

    from repro.harness.peaks import device_slug
    from repro.records.files import write_json_atomic
    from repro.records.provenance import provenance

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA GPU here", file=sys.stderr)
        return 2
    if device == "cpu":
        torch.set_num_threads(1)  # as the harness's workers on the CPU path
        os.environ.setdefault("TRITON_INTERPRET", "1")  # the Triton solutions, as the CPU path runs them
    rows: list[dict[str, Any]] = []
    for t in tasks:
        rows += study(t, device, args.repeats)
        if device == "cuda":
            torch.cuda.empty_cache()
    slug = device_slug(torch.cuda.get_device_name()) if device == "cuda" else "cpu"
    out = args.out or OUT_DIR / f"clockbatch-{slug}.json"
    write_json_atomic(out, {"rows": rows, "provenance": provenance(device)})
    print(f"{table(rows)}\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
