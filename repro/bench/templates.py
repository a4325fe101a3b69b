"""`python -m repro.bench.templates`: time every configuration of a task's template, outside the harness.

A tuning aid for the template library: the order of each template's configuration list decides
what a short loop budget tries, so it should follow measurements. For each task this instantiates
every configuration of the chosen template, checks it against the reference on the task's first
shape (the harness's own comparison and tolerances) and times it with `triton.testing.do_bench` (L2
cleared between repetitions by a write, whose write-back the next call pays: see `repro.bench.flush`),
next to eager and `torch.compile`. The numbers are indicative only, for ranking;
verdicts and published speedups come from the harness (`python -m repro eval`).

    python -m repro.bench.templates --tasks level1/10_column_sum,level1/11_matmul_fp32 --json out.json
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _import(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sweep(task: Any, device: str, work: Path) -> dict[str, Any]:
    """Every configuration of the task's template: max error, within tolerance, median ms."""
    import torch
    import triton.testing

    from repro.harness import compare
    from repro.harness import problem as prob
    from repro.proposers.template import config_label, task_trace
    from repro.proposers.templates import choose, instantiate
    from repro.proposers.trace import reference_source

    problem = prob.load_module(task.path, f"problem_{task.path.stem}")
    shape = prob.shapes_for(problem, device)[0]
    inputs = prob.make_inputs(problem, shape, 1234, device)
    ref_model = prob.build_model(problem.Model, problem, shape, 42, device)
    with torch.no_grad():
        ref = prob.flatten_outputs(ref_model(*inputs))
    tols = [list(prob.tolerance(problem, r.dtype)) for r in ref]  # the harness's check, per output

    def bench(fn: Any) -> float:
        with torch.no_grad():
            if device == "cpu":  # the interpreter: a mechanism check, one call
                t0 = time.perf_counter()
                fn(*inputs)
                return (time.perf_counter() - t0) * 1e3
            return float(triton.testing.do_bench(lambda: fn(*inputs), warmup=25, rep=100))

    row: dict[str, Any] = {"task": task.name, "shape": shape, "tolerances": tols}
    row["eager_ms"] = bench(ref_model)
    row["compile_ms"] = bench(torch.compile(ref_model)) if device == "cuda" else None
    trace = task_trace(task.path)
    template, configs, _ = choose(trace)
    row["template"], row["configs"] = template, []
    for i, config in enumerate(configs):
        path = work / f"{task.path.stem}_{i}.py"
        path.write_text(instantiate(trace, reference_source(task.path.read_text()), config))
        entry: dict[str, Any] = {"config": config_label(config)}
        try:
            model = prob.build_model(_import(path, path.stem).ModelNew, problem, shape, 42, device)
            with torch.no_grad():
                out = prob.flatten_outputs(model(*inputs))
            mismatch, err = compare.compare_one(out, ref, tols, task.name)
            entry.update(max_abs_err=err, within_tolerance=mismatch is None, ms=bench(model))
            if mismatch:
                entry["mismatch"] = mismatch.reason
        except Exception as exc:  # a configuration that does not compile or run is reported, not fatal
            entry["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        row["configs"].append(entry)
        print(f"  {task.name} {entry}", file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    from repro.records.provenance import provenance
    from repro.tasks import list_tasks

    p = argparse.ArgumentParser(prog="python -m repro.bench.templates", description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", required=True, help="comma-separated task names, e.g. level1/10_column_sum")
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = p.parse_args(argv)
    if args.device == "cpu":
        import os

        os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported
    wanted = [t for t in args.tasks.split(",") if t]
    by_name = {t.name: t for suite in ("level1", "level2", "level3") for t in list_tasks(suite)}
    unknown = [t for t in wanted if t not in by_name]
    if unknown:
        print(f"error: unknown task(s) {unknown}; names look like level1/10_column_sum", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="kernelatlas-sweep-") as tmp:
        rows = [sweep(by_name[t], args.device, Path(tmp)) for t in wanted]
    for row in rows:
        print(
            f"{row['task']} ({row['template']}): eager {row['eager_ms']:.4f} ms, compile {row['compile_ms']} ms"
        )
        for e in row["configs"]:
            if "error" in e:
                print(f"  {e['config']}: {e['error']}")
            else:
                ok = "ok " if e["within_tolerance"] else "TOL"
                print(f"  {ok} {e['ms']:.4f} ms  err {e['max_abs_err']:.2e}  {e['config']}")
    if args.json:
        from repro.records.files import write_json_atomic

        write_json_atomic(args.json, {"rows": rows, "provenance": provenance(args.device)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
