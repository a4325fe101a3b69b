"""`python -m repro eval-suite`: evaluate a folder of candidates against a task suite (see
`repro.runners.eval_suite` for what is written and how a rerun resumes)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from repro.backends.local import PER_GPU, gpu_slots
from repro.commands.options import (
    add_backend_arguments,
    add_settings_arguments,
    backend_from_args,
    settings_from_args,
)

RESULTS_ROOT = Path(__file__).resolve().parents[1] / "results" / "eval-suite"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval-suite", help="evaluate a folder of candidates against a task suite")
    p.add_argument(
        "--problems", required=True, help="suite name (level1|level2|level3|all|smoke) or a folder"
    )
    p.add_argument("--candidates", required=True, help="folder of candidate files, or 'solutions'")
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default repro/results/eval-suite/<suite>)"
    )
    p.add_argument("--gpus", default=None, help="comma-separated GPU indices, one worker each (default 0)")
    p.add_argument("--workers", type=int, default=1, help="parallel workers on CPU")
    p.add_argument("--per-gpu", type=int, default=PER_GPU,
                   help=f"candidates at once on each GPU (default {PER_GPU}): they share it, each one's "
                   "timing has it alone; 1: one candidate at a time")  # fmt: skip
    add_settings_arguments(p)
    add_backend_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.candidates != "solutions" and not Path(args.candidates).is_dir():
        print(f"error: --candidates {args.candidates}: not a folder (or 'solutions')", file=sys.stderr)
        return 2
    from repro.runners.eval_suite import run_suite  # imports torch: after the arguments are checked

    try:
        settings = settings_from_args(args)
        if settings.device == "cuda":
            slots = gpu_slots([int(g) for g in (args.gpus or "0").split(",")], args.per_gpu)
        else:
            slots = [None] * max(1, args.workers)
        name = Path(args.problems).name if Path(args.problems).is_dir() else args.problems
        out = args.out or RESULTS_ROOT / f"{name}-{settings.device}"
        with contextlib.closing(backend_from_args(args, settings.device, slots)) as backend:
            summary = run_suite(args.problems, args.candidates, out, settings, backend)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = summary["metrics"]
    print(
        f"{m['correct']}/{m['problems']} correct; results in {out}/results.json, metrics in {out}/metrics.csv"
    )
    for k, v in m.items():
        print(f"  {k:28s} {v if v is None or isinstance(v, int) else round(v, 4)}")
    return 0
