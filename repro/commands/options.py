"""Options several commands share: the harness settings (`--device`, `--timeout`, `--trials`, ...) and
the check that named input files exist. Argument parsing stays in `repro.commands`; the library takes
the `EvalSettings` built here."""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repro.backends import BACKENDS, Backend, make_backend
from repro.registry import Registry, UnknownName


def positive_seconds(text: str) -> float:
    """An argparse type: a positive, finite number (`nan` would disable the timeout)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive, finite number of seconds")
    return value


def baseline_names(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated baselines the harness can time, checked before torch loads."""
    from repro.records.evaluation import BASELINE_NAMES
    from repro.registry import unknown_message

    names = tuple(b.strip() for b in text.split(",") if b.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"give at least one of {', '.join(BASELINE_NAMES)}")
    for name in names:
        if name not in BASELINE_NAMES:
            raise argparse.ArgumentTypeError(unknown_message("baseline", name, list(BASELINE_NAMES)))
    return names


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (checked before anything heavy is imported)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least 1")
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
        "--baselines",
        type=baseline_names,
        default=("eager", "compile"),
        help="comma-separated, the first the speedup is reported over: eager, compile, cuda-graph "
        "(eager replayed as one CUDA graph, without its launch overhead; CUDA only) (default eager,compile)",
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
        baselines=args.baselines,
    )


def missing_file(**files: Path) -> str | None:
    """The error line for the first named input file that does not exist (flag names from keywords)."""
    for name, path in files.items():
        if not path.is_file():
            return f"error: --{name} {path}: no such file"
    return None


def add_params_arguments(group: argparse._ActionsContainer, params_class: type) -> None:
    """One flag per field of a frozen `Params` dataclass (`refine_from` -> `--refine-from`), with the
    field's default, type, help text and allowed values: a loop declares its parameters once."""
    for f in dataclasses.fields(params_class):
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            type=type(f.default),
            default=f.default,
            choices=f.metadata.get("choices"),
            help=f.metadata.get("help"),
        )


def params_from_args(params_class: type, args: argparse.Namespace) -> dict[str, Any]:
    """The values of `params_class`'s fields among the parsed arguments, by field name."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(params_class)}


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """`--backend`, `--ray-address` and `--ray-retries`, shared by eval-suite, run and reproduce."""
    g = p.add_argument_group("where evaluations run")
    g.add_argument(
        "--backend",
        type=registered(BACKENDS),
        choices=BACKENDS.names(),
        default="local",
        help="local: this machine's GPUs (--gpus) or CPU workers; ray: tasks on a Ray cluster (default local)",
    )
    g.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to join, e.g. 10.0.0.5:6379 or auto (default: $RAY_ADDRESS, else a new local cluster)",
    )
    g.add_argument(
        "--ray-retries",
        type=int,
        default=3,
        help="times an evaluation is restarted after its Ray worker or node died (default 3)",
    )


def backend_from_args(args: argparse.Namespace, device: str, local_slots: list[int | None]) -> Backend:
    """The backend the `--backend`, `--ray-address` and `--ray-retries` flags ask for."""
    if args.backend != "local" and getattr(args, "gpus", None):
        raise ValueError(
            "--gpus applies to --backend local; on Ray each evaluation asks the cluster for one GPU"
        )
    return make_backend(
        args.backend, device, local_slots, ray_address=args.ray_address, ray_retries=args.ray_retries
    )


def registered(registry: Registry[Any]) -> Callable[[str], str]:
    """An argparse `type` for a name chosen from `registry`: a misspelt name is refused with the
    close matches ("did you mean 'evolve'?") instead of only the list of choices."""

    def check(name: str) -> str:
        try:
            registry.entry(name)
        except UnknownName as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return name

    check.__name__ = registry.kind  # argparse names the type in some messages
    return check
