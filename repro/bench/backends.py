"""`python -m repro.bench.backends`: eval-suite throughput on 1 and N GPUs through the local and Ray backends.

A suite of cheap level-1 tasks with reference solutions (each repeated `--copies` times, so there is
enough work to spread) is evaluated once to fill the reference cache (each candidate compiles its
Triton kernels in its own job, every time), then once per scenario: local with 1 GPU, local with N,
each with `--per-gpu` candidates at once per GPU, Ray with 1, Ray with N (a local Ray cluster limited to those
GPUs; one pass on the fresh cluster, whose workers must start and import torch, and one on the same
cluster warm). For each pass: set-up seconds (starting the pool or the cluster), wall seconds of the
suite, candidates per second, and the backend's overhead per evaluation = (slots x wall - time spent
inside `evaluate`) / candidates, i.e. how long a slot sat idle or busy with the backend's own work per
candidate. It also times a round trip of an empty Ray task asking for the same resources. Every pass
must reach the same verdicts. Writes JSON to --out after each scenario and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from repro.backends.local import PER_GPU, LocalBackend, gpu_slots
from repro.commands.options import add_settings_arguments, settings_from_args
from repro.records.files import write_json_atomic

REPO = Path(__file__).resolve().parents[2]
TASKS = ("01_gelu", "02_silu", "03_softmax", "06_rms_norm", "07_row_sum", "08_row_max")


def make_suite(root: Path, tasks: list[str], copies: int) -> tuple[Path, Path]:
    """Problems and their reference solutions, each copied `copies` times under distinct names."""
    problems, candidates = root / "problems", root / "candidates"
    problems.mkdir(parents=True)
    candidates.mkdir()
    for name in tasks:
        for k in range(copies):
            shutil.copy(REPO / "repro" / "tasks" / "level1" / f"{name}.py", problems / f"r{k}_{name}.py")
            shutil.copy(
                REPO / "repro" / "solutions" / "level1" / f"{name}.py", candidates / f"r{k}_{name}.py"
            )
    return problems, candidates


@contextlib.contextmanager
def ray_cluster(device: str, slots: int):
    """A local Ray cluster with `slots` GPUs (the first ones) or CPUs, and the job's runtime env."""
    import ray

    from repro.backends.ray_backend import job_runtime_env

    saved = os.environ.get("CUDA_VISIBLE_DEVICES")
    if device == "cuda":
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in range(slots))
    gpus = slots if device == "cuda" else 0
    cpus = 2 * slots if device == "cuda" else slots  # on CPU, one evaluation per CPU slot
    ray.init(num_gpus=gpus, num_cpus=cpus, runtime_env=job_runtime_env(),
             include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)  # fmt: skip
    try:
        yield ray
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = saved


def empty_task_round_trip(ray: Any, device: str, n: int = 50) -> dict[str, float]:
    """Seconds for one empty task asking for the same resources as an evaluation (after a warm-up)."""

    def empty() -> None:
        return None

    need = {"num_gpus": 1, "num_cpus": 1} if device == "cuda" else {"num_cpus": 1}
    remote = ray.remote(empty).options(**need)
    ray.get(remote.remote())
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        ray.get(remote.remote())
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "max_s": max(times)}


def _pass(label: str, slots: int, backend: Any, problems: Path, candidates: Path, out: Path, args: Any):
    """One eval-suite pass over the whole suite (fresh output folder, so nothing is skipped)."""
    from repro.runners.eval_suite import run_suite

    t0 = time.monotonic()
    results = run_suite(str(problems), str(candidates), out / label, settings_from_args(args), backend)[
        "results"
    ]
    wall = time.monotonic() - t0
    inside = sum(r.get("overhead", {}).get("wall_s", 0.0) for r in results)
    return {
        "candidates": len(results),
        "wall_s": wall,
        "cand_per_s": len(results) / wall,
        "inside_evaluate_s": inside,
        "overhead_per_eval_s": (slots * wall - inside) / len(results),
        "verdicts": {r["task"].split("/")[-1]: r["verdict"] for r in results},
        # Why a candidate was not accepted: every candidate of the bench is a reference solution, so any
        # refusal is the harness's error and needs its reason.
        "reasons": {
            r["task"].split("/")[-1]: r.get("reason", "") for r in results if r["verdict"] != "correct"
        },
    }


def scenario(
    name: str, slots: int, problems: Path, candidates: Path, out: Path, args: Any, per_gpu: int = 1
) -> list[dict[str, Any]]:
    """Local: one pass (its processes are already warm from the warm-up), `per_gpu` candidates at once
    on each GPU. Ray: a pass on a fresh cluster (workers start and import torch) and a second pass on
    the same, now warm, cluster."""
    from repro.backends.ray_backend import RayBackend

    device = settings_from_args(args).device
    rows = []
    t0 = time.monotonic()
    with contextlib.ExitStack() as stack:
        if name == "local":
            backend: Any = LocalBackend(
                gpu_slots(list(range(slots)), per_gpu) if device == "cuda" else [None] * slots
            )
        else:
            ray = stack.enter_context(ray_cluster(device, slots))
            backend = RayBackend(None, device)
        stack.callback(backend.close)
        setup_s = time.monotonic() - t0
        for i, label in enumerate(("warm",) if name == "local" else ("cold", "warm")):
            per_gpu = per_gpu if name == "local" and device == "cuda" else 1
            row = {"backend": name, "slots": slots, "per_gpu": per_gpu, "pass": label,
                   "setup_s": setup_s if i == 0 else 0.0}  # fmt: skip
            row.update(
                _pass(
                    f"{name}-{slots}x{per_gpu}-{label}",
                    slots * per_gpu,
                    backend,
                    problems,
                    candidates,
                    out,
                    args,
                )
            )
            rows.append(row)
        if name == "ray":
            rows[-1]["empty_task_round_trip"] = empty_task_round_trip(ray, device)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m repro.bench.backends", description=__doc__.split("\n")[0])
    p.add_argument("--gpus", type=int, default=2, help="the most GPUs (or CPU workers) to spread over")
    p.add_argument("--tasks", default=",".join(TASKS), help="level-1 task names with reference solutions")
    p.add_argument("--copies", type=int, default=2, help="times each task is repeated")
    p.add_argument("--backends", default="local,ray", help="comma-separated: local,ray (default both)")
    p.add_argument("--per-gpu", default=str(PER_GPU),
                   help=f"local backend: candidates at once per GPU, as eval-suite's --per-gpu; several "
                   f"(e.g. 1,2) give a pass each (default {PER_GPU})")  # fmt: skip
    p.add_argument("--out", type=Path, default=REPO / "repro" / "results" / "bench" / "backends.json")
    add_settings_arguments(p)
    p.set_defaults(trials=2, timing_iters=20, warmup=2, baselines="eager", timeout=120.0)
    args = p.parse_args(argv)
    from repro.records.provenance import provenance
    from repro.runners.eval_suite import run_suite

    settings = settings_from_args(args)
    try:
        per_gpus = [int(x) for x in args.per_gpu.split(",") if x.strip()]
        gpu_slots([0], min(per_gpus or [0]))
    except ValueError:
        p.error(f"--per-gpu {args.per_gpu!r}: give positive integers, e.g. 2 or 1,2")
    report: dict[str, Any] = {"settings": settings.to_dict(), "provenance": provenance(settings.device),
                              "tasks": args.tasks, "copies": args.copies, "per_gpu": per_gpus,
                              "scenarios": []}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp:
        root = Path(tmp)
        problems, candidates = make_suite(root, args.tasks.split(","), args.copies)
        t0 = time.monotonic()
        slots: list[int | None] = (
            gpu_slots(list(range(args.gpus)), max(per_gpus))
            if settings.device == "cuda"
            else [None] * args.gpus
        )
        with contextlib.closing(LocalBackend(slots)) as warm:
            run_suite(str(problems), str(candidates), root / "warm", settings, warm)
        report["warmup_s"] = time.monotonic() - t0
        counts = sorted({1, args.gpus})
        for name in [b for b in args.backends.split(",") if b]:
            for n, k in [(n, k) for n in counts for k in (per_gpus if name == "local" else [1])]:
                for row in scenario(name, n, problems, candidates, root, args, k):
                    report["scenarios"].append(row)
                    print(f"{name:5s} x{n} ({row['per_gpu']} per GPU) {row['pass']}: {row['wall_s']:.1f} s, {row['cand_per_s']:.3f} cand/s, "
                          f"overhead/eval {row['overhead_per_eval_s']:.3f} s", file=sys.stderr, flush=True)  # fmt: skip
                write_json_atomic(args.out, report)
    verdicts = [json.dumps(r["verdicts"], sort_keys=True) for r in report["scenarios"]]
    report["same_verdicts"] = len(set(verdicts)) == 1
    write_json_atomic(args.out, report)
    print(
        "| backend | GPUs | per GPU | pass | candidates | set-up s | wall s | cand/s | overhead per eval s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in report["scenarios"]:
        print(f"| {r['backend']} | {r['slots']} | {r['per_gpu']} | {r['pass']} | {r['candidates']} | {r['setup_s']:.1f} | "
              f"{r['wall_s']:.1f} | {r['cand_per_s']:.3f} | {r['overhead_per_eval_s']:.3f} |")  # fmt: skip
    for r in report["scenarios"]:
        if "empty_task_round_trip" in r:
            print(
                f"empty Ray task round trip ({r['slots']} slots): {r['empty_task_round_trip']['median_s'] * 1e3:.2f} ms"
            )
    print(f"same verdicts in every scenario: {report['same_verdicts']}; wrote {args.out}")
    return 0 if report["same_verdicts"] else 1


if __name__ == "__main__":
    sys.exit(main())
