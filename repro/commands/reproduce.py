"""`python -m repro reproduce` (`make repro`): the numbers behind the site's reproduced-results pages.
What is measured, and how lanes share the work, is described in `repro.runners.reproduction`."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from pathlib import Path

from repro.runners.reproduction import (
    CPU_RESULTS_ROOT,
    METHODS,
    DedupBackend,
    Lane,
    Plan,
    lanes_for,
    reproduce,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    from repro.commands.options import add_backend_arguments, add_settings_arguments

    p = subparsers.add_parser(
        "reproduce", help="measure baselines, reference solutions and offline loops into repro/results/"
    )
    p.add_argument("--suite", default="level1,level2", help="comma-separated suites (default level1,level2)")
    p.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma-separated subset of {','.join(METHODS)}"
    )
    p.add_argument("--budget", type=int, default=10, help="candidates per task for each loop (default 10)")
    p.add_argument(
        "--out", type=Path, default=None,
        help=f"results root (default repro/results on a GPU, {CPU_RESULTS_ROOT} on CPU)",
    )  # fmt: skip
    p.add_argument("--work", type=Path, default=Path("runs") / "reproduce",
                   help="loop run directories (trajectories, candidate sources; default runs/reproduce)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="re-measure units already measured")
    p.add_argument("--tasks", default=None,
                   help="comma-separated task names (e.g. level1/10_column_sum): measure only these; "
                        "the files keep the other tasks' records")  # fmt: skip
    p.add_argument("--only-missing", action="store_true",
                   help="also skip tasks measured at other commits (same settings): fill the gaps of earlier runs")  # fmt: skip
    p.add_argument("--deadline-s", type=float, default=None, help="start no new unit after this many seconds")
    p.add_argument(
        "--gpus",
        default=None,
        help="comma-separated GPU indices for --backend local, one lane of tasks each (default 0)",
    )
    p.add_argument("--workers", type=int, default=1, help="lanes of tasks on CPU (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_settings_arguments(p)
    add_backend_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repro.commands.options import backend_from_args, settings_from_args

    try:
        settings = settings_from_args(args)
        gpus = lanes_for(args.backend, args.gpus, args.workers, settings)
        with contextlib.ExitStack() as stack:
            lanes = [
                Lane(g, stack.enter_context(contextlib.closing(DedupBackend(backend_from_args(args, settings.device, [g])))),
                     f"gpu {g}" if g is not None else f"worker {i + 1}")
                for i, g in enumerate(gpus)
            ]  # fmt: skip
            summary = reproduce(plan_from_args(args), settings, lanes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished units are kept; run the same command again to continue", file=sys.stderr
        )
        return 130
    print(
        f"{summary['measured']} unit(s) measured, {summary['already_measured']} already measured, "
        f"{summary['not_reached']} not reached before --deadline-s, in {summary['wall_s']:.0f} s "
        f"on {summary['lanes']} lane(s); results in {summary['out']}"
    )
    return 0


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n for n in (text or "").split(",") if n)


def plan_from_args(args: argparse.Namespace) -> Plan:
    """The flags as a typed `Plan`; the command line is recorded in every result file."""
    argv = ["python", "-m", "repro", "reproduce", *sys.argv[2:]] if sys.argv[1:2] == ["reproduce"] else None
    return Plan(
        suites=_names(args.suite), methods=_names(args.methods), budget=args.budget, tasks=_names(args.tasks),
        out=args.out, work=args.work, force=args.force, only_missing=args.only_missing,
        deadline_s=args.deadline_s, quiet=args.quiet, command=shlex.join(argv) if argv else None,
    )  # fmt: skip
