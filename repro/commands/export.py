"""`python -m repro export`: trajectories of `python -m repro run` to SFT and RL-reward datasets
(what is exported is described in `repro.runners.datasets`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from repro.runners.datasets import export_run, write_jsonl


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="turn run trajectories into SFT and RL-reward datasets")
    p.add_argument("runs", nargs="+", type=Path, help="run directories written by `python -m repro run`")
    p.add_argument("--out", type=Path, required=True, help="directory for sft.jsonl and rewards.jsonl")
    p.add_argument(
        "--min-gain",
        type=float,
        default=1.0,
        help="an SFT example must be more than this many times faster than its parent (default 1.0)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sft, rewards = [], []
    try:
        for run_dir in args.runs:
            s, r = export_run(run_dir, args.min_gain)
            sft += s
            rewards += r
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_jsonl(args.out / "sft.jsonl", sft)
    write_jsonl(args.out / "rewards.jsonl", rewards)
    print(f"wrote {len(sft)} SFT example(s) and {len(rewards)} reward record(s) to {args.out}")
    return 0
