"""`python -m repro gauntlet`: run the adversarial candidates and write a scorecard.

Exit status 0 when every case is caught (or a documented miss), 1 when any is missed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from repro.commands.options import add_settings_arguments

    p = subparsers.add_parser("gauntlet", help="run the harness against its own adversarial candidates")
    p.add_argument("--only", default="", help="comma-separated case names (default: all)")
    p.add_argument("--out", type=Path, default=None, help="write the scorecard JSON here")
    add_settings_arguments(p)
    p.set_defaults(func=run, trials=2, timing_iters=20, warmup=2, baselines="eager", timeout=120.0)


def run(args: argparse.Namespace) -> int:
    from repro.commands.options import settings_from_args
    from repro.runners.gauntlet import by_name
    from repro.runners.gauntlet import run as run_gauntlet

    try:
        cases = by_name([n for n in args.only.split(",") if n])
        settings = settings_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    card = run_gauntlet(cases, settings, args.out)
    for row in card["cases"]:
        mark = {"caught": "ok  ", "missed": "MISS", "known_miss": "miss*", "not_run": "skip"}[row["status"]]
        print(f"{mark} {row['name']:28s} {row.get('verdict', '-'):14s} {row.get('reason', '')[:90]}")
    s = card["summary"]
    print(
        f"{s['caught']} caught, {s['missed']} missed, {s['known_miss']} known misses, {s['not_run']} not run"
        + (f"; scorecard: {args.out}" if args.out else "")
    )
    return 1 if s["missed"] else 0
