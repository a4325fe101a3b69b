"""The Ray backend: every evaluation is a Ray task that asks for one GPU (one CPU on the CPU path).

The task calls the same `repro.harness.evaluate` on whichever node Ray picks, so each candidate still
runs in its own isolated process with its timeout there. Ray restarts a task whose worker process or
node died, up to `retries` times; the caller writes each result once, keyed by candidate, so a restarted
evaluation is never recorded twice. The `repro` package travels to the cluster with the job
(`py_modules`), and the problem travels as text, so nodes need only the same Python environment (torch,
triton, ray), not a checkout. Ray is imported here only, so `repro` works without it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import socket
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from repro.backends.base import EvaluationLost
from repro.harness import HarnessError
from repro.harness.settings import EvalSettings
from repro.records.evaluation import EvaluationRecord

REPRO_DIR = Path(__file__).resolve().parents[1]
SHIP_EXCLUDES = ["results/", "__pycache__/", "*.pyc"]


def job_runtime_env() -> dict[str, Any]:
    """What travels with the job: the `repro` package, without results and caches."""
    return {"py_modules": [str(REPRO_DIR)], "excludes": SHIP_EXCLUDES}


def evaluate_on_node(
    problem: str, problem_source: str, candidate_source: str | bytes, settings: EvalSettings
) -> dict[str, Any]:
    """Body of the Ray task: evaluate on the GPU that Ray assigned to this task, not `settings.gpu`."""
    from repro.harness import evaluate

    path = Path(problem)
    if not (path.is_file() and path.read_text() == problem_source):
        path = _problem_copy(path.name, problem_source)
    result = evaluate(path, candidate_source, dataclasses.replace(settings, gpu=_assigned_gpu())).to_dict()
    result["problem"] = problem  # the driver's path, so results read the same on every backend
    return result


def _assigned_gpu() -> int | None:
    """This task's GPU as a device index, so the harness pins it explicitly: a Ray worker serves tasks
    on different GPUs over its life, and the harness keeps a ready candidate process per GPU index."""
    import ray

    ids = ray.get_gpu_ids()
    return int(ids[0]) if ids and str(ids[0]).isdigit() else None


def _problem_copy(name: str, source: str) -> Path:
    """The problem written into this node's cache (a node without the driver's files)."""
    from repro.harness.cache import cache_dir

    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    path = cache_dir() / "problems" / digest / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)
    return path


def _check_reachable(address: str | None) -> None:
    """Fail in seconds, not minutes, on a HOST:PORT that nothing listens on (Ray retries for long)."""
    host, sep, port = (address or "").rpartition(":")
    if not sep or "://" in (address or "") or not port.isdigit():
        return  # none, "auto", "local" or a ray:// client address: Ray resolves it
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise ValueError(
            f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); start the head "
            "with `ray start --head --port PORT` and pass HOST:PORT"
        ) from None


def settle(out: Future[EvaluationRecord], done: Future[Any], problem: Path, retries: int) -> None:
    """Hand on a Ray task's outcome: the result, the harness's own error unwrapped, or EvaluationLost
    when Ray gave up on a task whose worker or node kept dying."""
    from ray import exceptions

    exc = done.exception()
    if exc is None:
        out.set_result(done.result())
    elif isinstance(exc, exceptions.RayTaskError):
        cause = getattr(exc, "cause", None)
        out.set_exception(HarnessError(str(cause)) if isinstance(cause, HarnessError) else exc)
    elif isinstance(exc, exceptions.RayError):
        out.set_exception(
            EvaluationLost(
                f"{problem}: the Ray worker evaluating a candidate died {retries + 1} time(s) "
                f"({type(exc).__name__}); run the same command again (`run` with --resume) to evaluate it"
            )
        )
    else:
        out.set_exception(exc)


class RayBackend:
    name = "ray"

    def __init__(self, address: str | None, device: str, retries: int = 3) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError(
                "--backend ray needs Ray: pip install 'kernelatlas[ray]' (ray[default]>=2.40,<3)"
            ) from None
        self._ray = ray
        self.device = device
        self.retries = retries
        self._owns_connection = not ray.is_initialized()
        if self._owns_connection:
            _check_reachable(address)
            try:
                ray.init(address=address, runtime_env=job_runtime_env(), include_dashboard=False,
                         log_to_driver=False, logging_level=logging.WARNING)  # fmt: skip
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
                raise ValueError(
                    f"cannot connect to {where}: {exc}; start one with `ray start --head` "
                    "and pass its address (--ray-address HOST:6379 or RAY_ADDRESS)"
                ) from None
        resources = ray.cluster_resources()
        unit = "GPU" if device == "cuda" else "CPU"
        self.slots = int(resources.get(unit, 0))
        if self.slots < 1:
            self.close()
            raise ValueError(
                f"the Ray cluster has no {unit}s for --device {device}; add {unit} nodes or choose the other device"
            )
        need = {"num_gpus": 1, "num_cpus": 1} if device == "cuda" else {"num_cpus": 1}
        self._remote = ray.remote(evaluate_on_node).options(
            max_retries=retries, retry_exceptions=False, **need
        )

    def submit(
        self, problem: Path, candidate_source: str | bytes, settings: EvalSettings
    ) -> Future[EvaluationRecord]:
        if settings.device != self.device:
            raise ValueError(f"this Ray backend was set up for --device {self.device}, not {settings.device}")
        problem = Path(problem).resolve()
        ref = self._remote.remote(str(problem), problem.read_text(), candidate_source, settings)
        out: Future[EvaluationRecord] = Future()
        ref.future().add_done_callback(lambda done: settle(out, done, problem, self.retries))
        return out

    def close(self) -> None:
        if self._owns_connection and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
