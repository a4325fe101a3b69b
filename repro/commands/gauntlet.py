"""`python -m repro gauntlet`: run the adversarial candidates and write a scorecard.

`--harness kernelatlas` (default) judges them with this project's harness: exit status 0 when every case
is caught (or a documented miss), 1 when any is missed. `--harness kernelbench --kernelbench-root PATH`
and `--harness kernelguard --kernelguard-root PATH` judge the same cases with another harness's code
from the user's checkout and write what it catches (exit status 0: its misses are the finding).
Exit status 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from repro.commands.options import add_settings_arguments, positive_int

    p = subparsers.add_parser("gauntlet", help="run the harness against its own adversarial candidates")
    p.add_argument("--only", default="", help="comma-separated case names (default: all)")
    p.add_argument("--out", type=Path, default=None, help="write the scorecard JSON here")
    p.add_argument("--harness", choices=["kernelatlas", "kernelbench", "kernelguard"], default="kernelatlas",
                   help="whose checks judge the cases (default: this project's harness)")  # fmt: skip
    p.add_argument("--kernelbench-root", type=Path, default=None, help="a checkout of KernelBench")
    p.add_argument("--kernelguard-root", type=Path, default=None, help="a checkout of gpu-mode/kernelguard")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="cases evaluated at once, sharing the device (each one's timing has it alone; "
                        "default 1)")  # fmt: skip
    add_settings_arguments(p)
    p.set_defaults(func=run, trials=2, timing_iters=20, warmup=2, baselines=("eager",), timeout=120.0)


def run(args: argparse.Namespace) -> int:
    from repro.commands.options import settings_from_args
    from repro.runners.gauntlet import by_name
    from repro.runners.gauntlet import run as run_gauntlet

    try:
        cases = by_name([n for n in args.only.split(",") if n])
        if args.harness != "kernelatlas":  # before anything asks torch about the GPU (see _other)
            return _other(args, cases)
        settings = settings_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    card = run_gauntlet(cases, settings, args.out, workers=args.workers)
    for row in card["cases"]:
        mark = {"caught": "ok  ", "missed": "MISS", "known_miss": "miss*", "not_run": "skip"}[row["status"]]
        print(f"{mark} {row['name']:28s} {row.get('verdict', '-'):14s} {row.get('reason', '')[:90]}")
    s = card["summary"]
    print(
        f"{s['caught']} caught, {s['missed']} missed, {s['known_miss']} known misses, {s['not_run']} not run"
        + (f"; scorecard: {args.out}" if args.out else "")
    )
    return 1 if s["missed"] else 0


def _other(args: argparse.Namespace, cases: list) -> int:
    """Another harness judges the cases. KernelBench's adapter forks a child per case, so this process
    must not have initialised CUDA (not even `torch.cuda.is_available()`, which initialises the driver
    and leaves forked children without a GPU)."""
    from repro.runners import crossharness

    root = args.kernelbench_root if args.harness == "kernelbench" else args.kernelguard_root
    flag = f"--{args.harness}-root"
    if root is None:
        print(f"error: --harness {args.harness} needs {flag} PATH (a checkout of it)", file=sys.stderr)
        return 2
    try:
        if args.harness == "kernelbench":
            crossharness.kernelbench_package(root)
            card = crossharness.run_kernelbench(root.resolve(), cases, args.timeout, args.out)
        else:
            crossharness.kernelguard_script(root)
            card = crossharness.run_kernelguard(root.resolve(), cases, args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    views = [v["key"] for v in card["views"]]
    for row in card["cases"]:
        cells = " ".join(f"{row['statuses'].get(v, '-'):15s}" for v in views)
        why = row.get("why")
        why = why.get(views[-1], "") if isinstance(why, dict) else (why or "")
        print(f"{row['name']:28s} {cells} {why[:80]}")
    for v in views:
        s = card["summary"][v]
        print(f"{v}: " + ", ".join(f"{s[k]} {k.replace('_', ' ')}" for k in s if s[k]))
    print(
        f"{card['label']} at {card.get('commit') or 'an unknown commit'}"
        + (f"; scorecard: {args.out}" if args.out else "")
    )
    return 0
