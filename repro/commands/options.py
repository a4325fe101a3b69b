"""Options several commands share: the harness settings (`--device`, `--timeout`, `--trials`, ...) and
the check that named input files exist. Argument parsing stays in `repro.commands`; the library takes
the `EvalSettings` built here."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def positive_seconds(text: str) -> float:
    """An argparse type: a positive, finite number (`nan` would disable the timeout)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive, finite number of seconds")
    return value


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared with eval-suite and bench-harness."""
    p.add_argument(
        "--device", choices=["cpu", "cuda"], default=None, help="default: cuda if available, else cpu"
    )
    p.add_argument(
        "--timeout", type=positive_seconds, default=300.0, help="seconds per candidate (default 300)"
    )
    p.add_argument("--trials", type=int, default=5, help="correctness trials per shape (default 5)")
    p.add_argument("--timing-iters", type=int, default=200, help="most timed iterations (default 200)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--baselines", default="eager,compile", help="comma-separated: eager,compile (default both)"
    )


def settings_from_args(args: argparse.Namespace, gpu: int | None = None):
    from repro.harness import EvalSettings

    device = args.device
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return EvalSettings(
        device=device,
        gpu=gpu,
        timeout_s=args.timeout,
        correctness_trials=args.trials,
        timing_iters=args.timing_iters,
        min_timing_iters=min(30, args.timing_iters),
        warmup=args.warmup,
        seed=args.seed,
        baselines=tuple(b for b in args.baselines.split(",") if b),
    )


def missing_file(**files: Path) -> str | None:
    """The error line for the first named input file that does not exist (flag names from keywords)."""
    for name, path in files.items():
        if not path.is_file():
            return f"error: --{name} {path}: no such file"
    return None
