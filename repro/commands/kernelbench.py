"""`python -m repro kernelbench`: baselines and speed-of-light for the problems of a KernelBench checkout.

    python -m repro kernelbench --root ~/KernelBench --levels 1,2,3 \\
        --out repro/results/kernelbench/nvidia-h200.json --baselines eager,cuda-graph,compile,max-autotune

The checkout is read where it is (nothing is copied into this repository). Run the same command again
to continue: baselines already measured with the same settings on the same source are kept, and
baselines asked for later are added beside them (`--force` redoes them). With `--workers N`, N problems
are prepared and compiled at once while the timed regions take turns on each GPU:

    python -m repro kernelbench --root ~/KernelBench --out nvidia-h200.json --baselines compile --workers 8

A max-autotune compile can outlast the time a machine is lent for. With `--compile-cache DIR` inductor
keeps its autotune timings there, one folder per problem; the next run, given the same folder on this
machine or another of the same GPU model, benchmarks only the shapes the last one had not reached
(each reading records how many were timed before it started; an attempt that runs out of time, how many
its folder holds):

    python -m repro kernelbench --root ~/KernelBench --out nvidia-h200.json --baselines max-autotune \\
        --tasks level3/7_GoogleNetInceptionV1 --compile-cache ~/.cache/kernelatlas/inductor

Runs made apart (two machines of one GPU model, or a run cut short and continued elsewhere) are combined
with `--merge`: baselines the file lacks are taken from the other file, with their runs' provenance.
Where the other file started as a copy of this one and measured a baseline again (`--force`), its new
reading replaces the one both copies held.

    python -m repro kernelbench --out nvidia-h200.json --merge other-run.json

A run whose measurements are in doubt (it shared the GPU with something) is withdrawn with
`--set-aside-runs`; each reading is kept in the file beside the reason, and the next run measures
those baselines again:

    python -m repro kernelbench --out nvidia-h200.json --set-aside-runs 14,15 --why "shared the GPU"

Exit status 0 when the run completed, 2 when the checkout or the results file is unusable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from repro.published.kernelbench import BASELINES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "kernelbench", help="KernelBench baselines (eager, CUDA graph, compile) and SOL"
    )
    p.add_argument(
        "--root", type=Path, default=None, help="a KernelBench checkout (holds KernelBench/level1 ...)"
    )
    p.add_argument("--levels", default="1,2,3", help="comma-separated levels (default 1,2,3)")
    p.add_argument("--tasks", default=None, help="comma-separated task keys, e.g. level1/19_ReLU")
    p.add_argument("--out", required=True, type=Path, help="results file (JSON)")
    p.add_argument(
        "--baselines", default=",".join(BASELINES), help=f"comma-separated subset of {','.join(BASELINES)}"
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda if available")
    p.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds per problem, not counting its waits for the device (default 600)",
    )
    p.add_argument(
        "--deadline-s",
        type=float,
        default=None,
        help="start no problem after this many seconds (each worker still measures its first)",
    )
    p.add_argument("--timing-iters", type=int, default=100, help="most timed iterations (default 100)")
    p.add_argument("--min-timing-iters", type=int, default=20)
    p.add_argument("--max-timing-s", type=float, default=5.0, help="timing budget per baseline (default 5)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--kernelbench-commit", default=None, help="commit of the checkout, when it has no .git")
    p.add_argument("--force", action="store_true",
                   help="re-measure problems already measured (a reading whose new attempt is lost to a "
                        "timeout, a crash or a stopped run stays)")  # fmt: skip
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="problems prepared at once (compilation overlaps; timings on one GPU never do; default 1)",
    )
    p.add_argument(
        "--gpus", default=None, help="comma-separated GPU indices to spread the workers over (default: 0)"
    )
    p.add_argument("--compile-cache", type=Path, default=None, metavar="DIR",
                   help="keep inductor's caches in DIR, one folder per problem: a max-autotune compile cut "
                        "short goes on from the shapes it had timed (bring DIR to the next machine)")  # fmt: skip
    p.add_argument("--set-aside-runs", default=None, metavar="RUNS",
                   help="comma-separated run indices of --out whose measurements are withdrawn and measured "
                        "again by the next run (with --why; no GPU needed)")  # fmt: skip
    p.add_argument("--why", default="", help="the reason for --set-aside-runs, kept in the file")
    p.add_argument("--allow-busy-gpu", action="store_true",
                   help="measure even when other processes hold the GPU (recorded in the run)")  # fmt: skip
    p.add_argument("--rederive", action="store_true",
                   help="only recompute the SOL fields of --out from its stored measurements (no GPU needed)")  # fmt: skip
    p.add_argument("--merge", type=Path, action="append", default=[], metavar="FILE",
                   help="take the baselines --out lacks from FILE, another results file, and those FILE measured "
                        "again since it was a copy of --out (no GPU needed)")  # fmt: skip
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from repro.published.kernelbench import run_suite
    from repro.records.kernelbench_results import SuiteError, merge, rederive, set_aside

    if args.merge:
        try:
            for other in args.merge:
                print(f"{args.out}: from {other}: {merge(args.out, other)}")
        except SuiteError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.set_aside_runs:
        from repro.records.provenance import utc_now

        try:
            runs = [int(x) for x in args.set_aside_runs.split(",") if x]
            n = set_aside(args.out, runs, args.why, utc_now())
        except ValueError as exc:  # SuiteError is one
            msg = (
                str(exc)
                if isinstance(exc, SuiteError)
                else f"--set-aside-runs {args.set_aside_runs!r}: give run indices, e.g. 14,15"
            )
            print(f"error: {msg}", file=sys.stderr)
            return 2
        print(
            f"{args.out}: {n} baseline(s) of run(s) {args.set_aside_runs} set aside; the next run measures them again"
        )
        return 0
    if args.rederive:
        try:
            print(f"{args.out}: SOL recomputed for {rederive(args.out)} task(s)")
        except SuiteError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0

    if args.root is None:
        print(
            "error: --root: give the KernelBench checkout to measure (or --merge/--rederive)", file=sys.stderr
        )
        return 2
    baselines = tuple(b for b in args.baselines.split(",") if b)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown or not baselines:
        print(f"error: --baselines: unknown {unknown}; choose from {', '.join(BASELINES)}", file=sys.stderr)
        return 2
    try:
        levels = [int(x) for x in args.levels.split(",") if x]
    except ValueError:
        print(f"error: --levels {args.levels!r}: give comma-separated integers", file=sys.stderr)
        return 2
    if not 1 <= args.min_timing_iters <= args.timing_iters:
        print("error: need 1 <= --min-timing-iters <= --timing-iters", file=sys.stderr)
        return 2
    try:
        gpus = [int(x) for x in args.gpus.split(",") if x] if args.gpus else None
    except ValueError:
        print(f"error: --gpus {args.gpus!r}: give comma-separated GPU indices, e.g. 0,1", file=sys.stderr)
        return 2
    device = args.device
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    timing = {"warmup": args.warmup, "min_iters": args.min_timing_iters, "max_iters": args.timing_iters,
              "target_rel_ci": 0.01, "max_time_s": args.max_timing_s}  # fmt: skip
    # `timeout`, `kill` and a closed session end the run as Ctrl-C does: its workers are stopped and
    # the run is recorded as interrupted (what it measured is already in the file).
    main_thread = threading.current_thread() is threading.main_thread()
    before = (
        {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
        if main_thread
        else {}
    )
    try:
        counts = run_suite(args.root, levels, args.out, device=device, baselines=baselines, timing=timing,
                           timeout_s=args.timeout, deadline_s=args.deadline_s, force=args.force,
                           kernelbench_commit=args.kernelbench_commit, seed=args.seed,
                           workers=args.workers, gpus=gpus, allow_busy_gpu=args.allow_busy_gpu,
                           compile_cache=args.compile_cache,
                           tasks=[t for t in (args.tasks or "").split(",") if t] or None)  # fmt: skip
    except SuiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{args.out}: interrupted; what was measured is kept, run the same command to go on",
              file=sys.stderr)  # fmt: skip
        return 130
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    print(f"{args.out}: {counts}")
    return 0


def _interrupt(signum: int, _frame: object) -> None:
    """The first SIGTERM or SIGHUP stops the run; repeats are ignored while it records what it was doing
    (`timeout` and a `pkill` of the same run each send one; a second, raised inside the clean-up, would
    cut it short). SIGKILL still ends it at once."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt(signal.Signals(signum).name)
