"""`python -m repro.bench.clockload`: candidates judged on the CPU path while load arrives with the batch.

The parent-clocked batch (`repro.harness.clockcheck`) judges a reported median against the parent's
clock after the timed loop. The case that refused honest kernels on a loaded test machine is load that
arrives after a timed loop that ran unloaded: the median is the kernel's unloaded time, and every round
of the batch runs beside other work. This judges each target (a task's reference solution, or a
gauntlet case: an honest kernel or a forger) `--runs` times, each with a fresh reference cache; with
`--burst H`, H CPU-bound processes start the moment the parent sends the batch's first round and are
stopped, by their pid, when the evaluation returns. Per evaluation it prints and writes (JSON with
provenance) the verdict, the median, each round's per-call time as counted, what was allowed, and the
load. Run it as `nice -n -19 python -m repro.bench.clockload ...` (as root) for the timed loop to see
the machine as unloaded as it can be made; the busy processes inherit that priority.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# The cheap honest solutions of the test suite, and the forging case the rule is for.
DEFAULT_TARGETS = "level1/01_gelu,level1/02_silu,forges_channel_plausible"


def _target(name: str) -> tuple[Path, str, dict[str, Any]]:
    """(problem file, candidate source, settings) for a task with a solution or a gauntlet case."""
    from repro.runners import gauntlet
    from repro.tasks import list_tasks

    task = next((t for t in list_tasks("all") if t.name == name and t.solution is not None), None)
    if task is not None and task.solution is not None:
        # The smoke suite's settings (tests/test_solutions.py), where the refusals were seen.
        fast = dict(correctness_trials=2, timing_iters=5, min_timing_iters=3, warmup=1, baselines=("eager",))
        return task.path, task.solution.read_text(), fast
    case = next((c for c in gauntlet.CASES if c.name == name and c.device != "cuda"), None)
    if case is None:
        raise ValueError(name)
    return gauntlet.KERNELS / case.problem, gauntlet.source_of(case).decode(), {}


def judge(name: str, runs: int, burst: int) -> list[dict[str, Any]]:
    """`runs` evaluations of one target, each with a fresh reference cache and, with `burst`, that many
    busy processes from the batch's first round until the evaluation returns."""
    from repro.harness import EvalSettings, evaluate, serve

    problem, source, fast = _target(name)
    settings = EvalSettings(device="cpu", timeout_s=120, **fast)
    busy: list[subprocess.Popen] = []
    on_batch = serve.Session._on_batch

    def loaded(self: serve.Session, ch: Any, header: dict[str, Any], payload: bytes) -> None:
        if burst and not busy:
            busy.extend(subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(burst))
        on_batch(self, ch, header, payload)

    rows = []
    cache_before = os.environ.get("KERNELATLAS_CACHE")
    serve.Session._on_batch = loaded  # type: ignore[method-assign,assignment]
    try:
        with tempfile.TemporaryDirectory(prefix="kernelatlas-clockload-") as tmp:
            for i in range(runs):
                os.environ["KERNELATLAS_CACHE"] = str(Path(tmp) / str(i))
                pids: list[int] = []
                try:
                    res = evaluate(problem, source, settings).to_dict()
                finally:
                    pids = [proc.pid for proc in busy]
                    for proc in busy:
                        proc.kill()
                        proc.wait()
                    busy.clear()
                clock = (res.get("checks") or {}).get("parent_clock") or {}
                rows.append({
                    "target": name, "run": i, "burst": burst, "busy_pids": pids, "verdict": res["verdict"],
                    "median_ms": (res.get("candidate_ms") or {}).get("median"), "calls": clock.get("calls"),
                    "rounds_per_call_ms": clock.get("rounds_per_call_ms"), "rounds_ms": clock.get("rounds_ms"),
                    "rounds_cpu_ms": clock.get("rounds_cpu_ms"), "allowed_ms": clock.get("allowed_ms"),
                    "own_ms": clock.get("overhead_per_call_ms"), "load": os.getloadavg()[0],
                    "reason": None if res["verdict"] == "correct" else res["reason"][:300],
                })  # fmt: skip
                print(_line(rows[-1]), flush=True)
    finally:
        serve.Session._on_batch = on_batch  # type: ignore[method-assign]
        if cache_before is None:  # the caller's cache again, not a removed temporary one
            os.environ.pop("KERNELATLAS_CACHE", None)
        else:
            os.environ["KERNELATLAS_CACHE"] = cache_before
    return rows


def _line(row: dict[str, Any]) -> str:
    rounds = ", ".join(f"{x:.3g}" for x in row["rounds_per_call_ms"] or [])
    allowed = f"{row['allowed_ms']:.3g}" if row["allowed_ms"] is not None else "-"
    return (f"{row['target']:<26} run {row['run']}  {row['verdict']:<10} median {row['median_ms'] or 0:.3g} ms  "
            f"K {row['calls']}  per call by round [{rounds}]  allowed {allowed}  load {row['load']:.1f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m repro.bench.clockload", description=__doc__.splitlines()[0])
    p.add_argument("--targets", default=DEFAULT_TARGETS, help="comma-separated task names or gauntlet cases")
    p.add_argument("--runs", type=int, default=4, help="evaluations per target")
    p.add_argument("--burst", type=int, default=3, help="busy processes started with the batch (0: none)")
    p.add_argument("--out", type=Path, default=None, help="JSON to write (default: print only)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error(f"--runs must be at least 1 (got {args.runs})")
    if args.burst < 0:
        p.error(f"--burst must be 0 or more (got {args.burst})")
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    os.environ.setdefault("TRITON_INTERPRET", "1")
    unknown = []
    for t in targets:
        try:
            _target(t)
        except ValueError:
            unknown.append(t)
    if unknown:
        p.error(
            f"--targets {args.targets!r}: {unknown} are neither a task with a solution nor a CPU gauntlet case"
        )
    from repro.records.files import write_json_atomic
    from repro.records.provenance import provenance

    rows = [row for t in targets for row in judge(t, args.runs, args.burst)]
    for t in targets:
        mine = [r for r in rows if r["target"] == t]
        print(f"{t}: {sum(r['verdict'] == 'correct' for r in mine)} of {len(mine)} accepted")
    if args.out:
        write_json_atomic(args.out, {"rows": rows, "burst": args.burst, "provenance": provenance("cpu")})
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
