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

import os
from typing import Any

from repro.backends.base import Backend, EvaluationLost
from repro.registry import Registry

BACKENDS: Registry[Any] = Registry("backend")
BACKENDS.add("local", "repro.backends.local:LocalBackend", "this machine's GPUs or CPU workers")
BACKENDS.add("ray", "repro.backends.ray_backend:RayBackend", "tasks on a Ray cluster")


def make_backend(
    kind: str,
    device: str,
    local_slots: list[int | None],
    *,
    ray_address: str | None = None,
    ray_retries: int = 3,
) -> Backend:
    """The backend named `kind`. `local_slots` are the GPU indices (or None per CPU worker) of a local
    pool; a Ray backend joins `ray_address` ($RAY_ADDRESS, else a new local cluster) and restarts an
    evaluation whose worker died up to `ray_retries` times."""
    factory = BACKENDS.get(kind)  # an unknown name fails here, with the close matches
    if kind == "local":
        if ray_address:
            raise ValueError("--ray-address needs --backend ray")
        return factory(local_slots)
    if ray_retries < 0:
        raise ValueError("--ray-retries must be >= 0")
    return factory(ray_address or os.environ.get("RAY_ADDRESS"), device, ray_retries)


__all__ = ["BACKENDS", "Backend", "EvaluationLost", "make_backend"]
