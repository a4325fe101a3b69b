"""Where candidate evaluations run: `local` (this machine's GPUs or CPU workers) or `ray` (a cluster).

Callers (the suite runner, the loops, reproductions) only submit work: `backend.submit(problem,
candidate_source, settings)` returns a `concurrent.futures.Future` of the result dictionary
(`EvalResult.to_dict()`), or of an exception: `HarnessError` when the harness cannot evaluate, and
`EvaluationLost` when a backend gave up on an evaluation whose worker kept dying. Whichever backend runs
it, each candidate is evaluated by the same `repro.harness.evaluate`, in its own isolated process with
its timeout, so verdicts do not depend on the backend; only timings and the `gpu` setting differ.
`slots` says how many evaluations run at once, which callers use to size their own concurrency.
"""

from __future__ import annotations

import argparse
import os

from repro.backends.base import Backend, EvaluationLost

BACKENDS = ("local", "ray")


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """`--backend`, `--ray-address` and `--ray-retries`, shared by eval-suite, run and reproduce."""
    g = p.add_argument_group("where evaluations run")
    g.add_argument(
        "--backend",
        choices=BACKENDS,
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


def make_backend(args: argparse.Namespace, device: str, local_slots: list[int | None]) -> Backend:
    """The backend the command line asks for; `local_slots` are the GPU indices (or None per CPU worker)."""
    if args.backend == "local":
        if args.ray_address:
            raise ValueError("--ray-address needs --backend ray")
        from repro.backends.local import LocalBackend

        return LocalBackend(local_slots)
    if getattr(args, "gpus", None):
        raise ValueError(
            "--gpus applies to --backend local; on Ray each evaluation asks the cluster for one GPU"
        )
    if args.ray_retries < 0:
        raise ValueError("--ray-retries must be >= 0")
    from repro.backends.ray_backend import RayBackend

    return RayBackend(args.ray_address or os.environ.get("RAY_ADDRESS"), device, args.ray_retries)


__all__ = ["BACKENDS", "Backend", "EvaluationLost", "add_backend_arguments", "make_backend"]
