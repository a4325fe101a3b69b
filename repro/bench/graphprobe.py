"""`python -m repro.bench.graphprobe`: what the parent-clocked batch's graph rounds rest on.

An eager batch on CUDA has a gap: when the host queues a short kernel's calls more slowly than the
device runs them, the parent's clock times the host, and a forged median within the host's bound
passes. The harness therefore replays each round as one CUDA graph (inputs drawn inside it, then the
calls, then the projections: `repro.harness.graphbatch`, version 14), paced by the device alone. This
measures, outside the harness, what that design rests on and the slack its rule allows:

- `rng`: random inputs drawn inside a captured graph, replayed after seeding the device's generator,
  equal bit for bit those drawn eagerly after the same seed (the reference could then compute the
  batch's projections eagerly), and a new seed gives new values;
- `capture`: a Triton kernel (launched on the current stream) is captured and replayed; with
  `--extension`, also a `load_inline` kernel launched on the legacy default stream (`<<<g, b>>>`, as
  most released CUDA kernels are) and one on the current stream: whether capture refuses the first,
  or runs it once at capture and leaves it out of the graph;
- `timing`: per call, an eager batch (seeding, inputs, a 0.05 ms elementwise kernel, a projection)
  against the same batch as one graph, and the graph of the own work alone, on the parent's wall clock
  and in device time;
- `suite` (with `--suite`): the same design on this project's tasks with their reference solutions as
  the candidates: K calls, each drawing its inputs from the device's generator (no seeding inside) and
  projecting every output on weights drawn next, captured as one graph and replayed after one seed;
  whether capture works, whether the replay's projections equal those of the task's reference computed
  eagerly after the same seed (the reference worker's side), and per call the replay less the own work's
  graph against the candidate's median in the harness's timed loop: the slack a device-paced rule needs.

Writes JSON with provenance (default repro/results/bench/graphprobe-<device>.json). CUDA only.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repro.bench.clockbatch import REPO

OUT_DIR = REPO / "repro" / "results" / "bench"


def _seed(s: int) -> None:
    import torch

    torch.cuda.default_generators[torch.cuda.current_device()].manual_seed(s)


def _capture(body: Callable[[], Any]) -> tuple[Any, Any]:
    """(graph, what `body` returned inside it), after one warm-up run on a side stream."""
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        body()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static = body()
    torch.cuda.synchronize()
    return graph, static


def rng(calls: int = 8, rows: int = 512) -> dict[str, Any]:
    import torch

    def one_call() -> list[torch.Tensor]:
        with torch.device("cuda"):
            x, p, idx = torch.randn(rows, 1024), torch.rand(1000), torch.randint(0, 10, (777,))
            w = torch.randn(rows * 1024)
        return [x, p, idx, torch.dot((x * 2 + 1).reshape(-1), w)]

    def chain() -> list[list[torch.Tensor]]:
        return [one_call() for _ in range(calls)]

    def eager(s: int) -> list[list[torch.Tensor]]:
        _seed(s)
        return [[t.clone() for t in c] for c in chain()]

    graph, static = _capture(chain)

    def equal(a: list[list[torch.Tensor]], b: list[list[torch.Tensor]]) -> bool:
        return all(
            torch.equal(x, y) for ca, cb in zip(a, b, strict=True) for x, y in zip(ca, cb, strict=True)
        )

    out: dict[str, Any] = {"calls": calls}
    for s in (1234, 99):
        _seed(s)
        graph.replay()
        torch.cuda.synchronize()
        out[f"equal_after_seed_{s}"] = equal(eager(s), static)
    drawn = []
    for s in (1234, 99):  # the same graph, two seeds: two different draws
        _seed(s)
        graph.replay()
        torch.cuda.synchronize()
        drawn.append(static[0][0].clone())
    out["new_seed_new_values"] = not torch.equal(drawn[0], drawn[1])
    return out


def _replays(fn: Callable[[], None], x: Any) -> dict[str, Any]:
    """x[0] before capture, after capture, and after two replays (each call adds 1)."""
    import torch

    try:
        graph, _ = _capture(lambda: fn())
        before = float(x[0])
        graph.replay()
        graph.replay()
        torch.cuda.synchronize()
        return {
            "after_capture": before,
            "after_two_replays": float(x[0]),
            "captured": float(x[0]) == before + 2,
        }
    except Exception as exc:  # what capture says is the finding
        torch.cuda.synchronize()
        return {"error": f"{type(exc).__name__}: {exc}"[:400]}


def capture(extension: bool) -> dict[str, Any]:
    import torch
    import triton
    import triton.language as tl

    @triton.jit
    def add_one(x, n, block: tl.constexpr):
        i = tl.program_id(0) * block + tl.arange(0, block)
        tl.store(x + i, tl.load(x + i, mask=i < n) + 1, mask=i < n)

    x = torch.zeros(1024, device="cuda")
    out: dict[str, Any] = {"triton": _replays(lambda: add_one[(4,)](x, 1024, block=256), x)}
    if extension:
        from torch.utils.cpp_extension import load_inline

        src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
__global__ void add_one(float* x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] += 1.f; }
void legacy(torch::Tensor x) { int n = x.numel(); add_one<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), n); }
void current(torch::Tensor x) {
  int n = x.numel();
  add_one<<<(n + 255) / 256, 256, 0, at::cuda::getCurrentCUDAStream()>>>(x.data_ptr<float>(), n);
}
"""
        t0 = time.perf_counter()
        mod = load_inline("kernelatlas_graphprobe", cpp_sources="void legacy(torch::Tensor x); void current(torch::Tensor x);",
                          cuda_sources=src, functions=["legacy", "current"])  # fmt: skip
        out["extension_build_s"] = round(time.perf_counter() - t0, 1)
        for name in ("legacy", "current"):
            y = torch.zeros(1024, device="cuda")
            out[f"extension_{name}_stream"] = _replays(functools.partial(getattr(mod, name), y), y)
    return out


def _per_call(run: Callable[[int], None], calls: int, rounds: int) -> tuple[list[float], list[float]]:
    """`rounds` runs of `run(seed)` (K calls each, a new seed each): per call, the wall time with the final
    synchronisation and the device time between two events."""
    import torch

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    walls, devs = [], []
    for r in range(rounds):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        start.record()
        run(1000 * (r + 1))
        end.record()
        torch.cuda.synchronize()
        walls.append((time.perf_counter() - t0) * 1e3 / calls)
        devs.append(start.elapsed_time(end) / calls)
    return walls, devs


def timing(calls: int = 42, numel: int = 8 << 20, rounds: int = 7) -> dict[str, Any]:
    import torch

    def inputs() -> list[torch.Tensor]:
        with torch.device("cuda"):
            return [torch.randn(numel), torch.randn(numel)]

    def batch(kernel: bool) -> torch.Tensor:
        dots = []
        for _ in range(calls):
            a, b = inputs()
            out = a * 2 + b if kernel else a
            dots.append(torch.dot(out, torch.randn(numel, device="cuda")))
        return torch.stack(dots)

    def eager(s: int) -> None:
        dots = []
        for k in range(calls):
            _seed(s + k)
            a, b = inputs()
            dots.append(torch.dot(a * 2 + b, torch.randn(numel, device="cuda")))
        torch.stack(dots).cpu()

    whole, whole_out = _capture(lambda: batch(True))
    own, own_out = _capture(lambda: batch(False))

    def replay(graph: Any, out: torch.Tensor) -> Callable[[int], None]:
        def run(s: int) -> None:
            _seed(s)
            graph.replay()
            out.cpu()

        return run

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    result: dict[str, Any] = {"calls": calls, "numel": numel}
    for name, run in (
        ("eager", eager),
        ("graph", replay(whole, whole_out)),
        ("own_work_graph", replay(own, own_out)),
    ):
        for _ in range(2):
            run(0)  # warm
        walls, devs = _per_call(run, calls, rounds)
        result[name] = {"wall_ms_per_call": sorted(walls)[rounds // 2], "device_ms_per_call": sorted(devs)[rounds // 2],
                        "wall_ms_per_call_rounds": [round(w, 4) for w in walls]}  # fmt: skip
    a, b = inputs()
    times = []
    for _ in range(21):
        torch.cuda.synchronize()
        start.record()
        _ = a * 2 + b
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    result["kernel_ms"] = sorted(times)[10]
    return result


def pairs(root: Path = REPO) -> list[tuple[str, Path, Path]]:
    """(key, task, reference solution) for every task of the suite that has a solution."""
    out = []
    for task in sorted((root / "repro" / "tasks").glob("level*/*.py")):
        solution = root / "repro" / "solutions" / task.parent.name / task.name
        if solution.is_file():
            out.append((f"{task.parent.name}/{task.stem}", task, solution))
    return out


def _round(
    problem: Any, shape: dict[str, Any], fn: Callable[..., Any], calls: int, device: str = "cuda"
) -> Any:
    """K calls as a graph-paced batch would make them: inputs drawn from the device's generator as it
    stands, the call, one projection per output on weights drawn right after (logical order)."""
    import torch

    from repro.harness import problem as prob

    dots = []
    for _ in range(calls):
        with torch.device(device):
            inputs = list(problem.get_inputs(**shape))
        for o in prob.flatten_outputs(fn(*inputs)):
            flat = o.reshape(-1).float()
            dots.append(torch.dot(flat, torch.randn(flat.numel(), device=flat.device)))
    return torch.stack(dots)


def suite_task(task: Path, solution: Path, calls: int = 42, rounds: int = 5) -> dict[str, Any]:
    import torch

    from repro.harness import problem as prob
    from repro.harness import timing as harness_timing

    problem = prob.load_module(task, "kernelatlas_graphprobe_task")
    shape = prob.shapes_for(problem, "cuda")[0]
    model = prob.build_model(problem.Model, problem, shape, 42, "cuda")
    cand_mod = prob.load_module(solution, "kernelatlas_graphprobe_candidate")
    cand = prob.build_model(cand_mod.ModelNew, problem, shape, 42, "cuda")
    out: dict[str, Any] = {"calls": calls, "shape": {k: str(v) for k, v in shape.items()}}
    with torch.no_grad():
        med = harness_timing.measure(
            cand, lambda i: prob.make_inputs(problem, shape, prob.timing_seed(7, i), "cuda"), "cuda",
            warmup=3, min_iters=10, max_iters=50, target_rel_ci=0.01, max_time_s=2.0,
        )  # fmt: skip
        out["median_ms"] = med.summary()["median"]
        sample = prob.flatten_outputs(model(*prob.make_inputs(problem, shape, 1, "cuda")))
        fixed = [t.clone() for t in sample]
        try:
            graph, static = _capture(lambda: _round(problem, shape, cand, calls))
        except Exception as exc:  # what capture says is the finding
            torch.cuda.synchronize()
            out["captured"] = False
            out["error"] = f"{type(exc).__name__}: {exc}"[:400]
            return out
        own, own_static = _capture(lambda: _round(problem, shape, lambda *a: fixed, calls))
        out["captured"] = True
        worst = 0.0
        for s in (1234, 99):
            _seed(s)
            graph.replay()
            got = static.clone()
            _seed(s)
            want = _round(problem, shape, model, calls)
            worst = max(worst, float(((got - want).abs() / (want.abs() + 1e-6)).max()))
        out["max_rel_diff_against_eager_reference"] = worst

        def timed(run: Callable[[int], None]) -> dict[str, float]:
            run(0)  # warm
            walls, devs = _per_call(run, calls, rounds)
            return {"wall": min(walls), "device": min(devs)}

        def replay(g: Any, st: Any) -> Callable[[int], None]:
            def run(s: int) -> None:
                _seed(s)
                g.replay()
                st.cpu()

            return run

        def eager(fn: Callable[..., Any]) -> Callable[[int], None]:
            def run(s: int) -> None:
                _seed(s)
                _round(problem, shape, fn, calls).cpu()

            return run

        t = {"graph": timed(replay(graph, static)), "own_graph": timed(replay(own, own_static)),
             "eager": timed(eager(cand)), "own_eager": timed(eager(lambda *a: fixed))}  # fmt: skip
        out["per_call_ms"] = {k: {a: round(b, 4) for a, b in v.items()} for k, v in t.items()}
        out["graph_less_own_wall_ms"] = t["graph"]["wall"] - t["own_graph"]["device"]
        out["eager_less_own_wall_ms"] = t["eager"]["wall"] - t["own_eager"]["device"]
        out["graph_slack_ms"] = out["graph_less_own_wall_ms"] - out["median_ms"]
    return out


def selected(key: str, only: list[str]) -> bool:
    """`--tasks` names a task by its key (level1/01_gelu) or its file's stem (01_gelu)."""
    return key in only or key.split("/")[-1] in only


def suite(calls: int, only: list[str] | None) -> dict[str, Any]:
    import torch

    found: dict[str, Any] = {}
    for key, task, solution in pairs():
        if only and not selected(key, only):
            continue
        try:
            found[key] = suite_task(task, solution, calls)
        except Exception:  # one task failing is a finding; the others still run
            torch.cuda.synchronize()
            found[key] = {"error": traceback.format_exc()[-1200:]}
        print(f"  {key}: {found[key]}", flush=True)
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m repro.bench.graphprobe", description=__doc__.splitlines()[0])
    p.add_argument("--extension", action="store_true", help="also build a load_inline kernel (about 45 s)")
    p.add_argument(
        "--suite", action="store_true", help="also the suite's tasks with their reference solutions"
    )
    p.add_argument(
        "--tasks", default="", help="with --suite: comma-separated task keys (e.g. level1/01_gelu)"
    )
    p.add_argument("--calls", type=int, default=42, help="with --suite: calls per graph (default 42)")
    p.add_argument(
        "--out", type=Path, default=None, help="JSON (default repro/results/bench/graphprobe-<device>.json)"
    )
    args = p.parse_args(argv)
    only = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in only if not any(selected(key, [t]) for key, _, _ in pairs())]
    if unknown:
        p.error(f"--tasks: {unknown} not among the suite's tasks with a solution "
                f"({', '.join(key for key, _, _ in pairs())})")  # fmt: skip
    import torch

    if not torch.cuda.is_available():
        print("python -m repro.bench.graphprobe: needs a CUDA GPU (CUDA graphs); none here", file=sys.stderr)
        return 2
    torch.cuda.init()
    from repro.harness.peaks import device_slug
    from repro.records.files import write_json_atomic
    from repro.records.provenance import provenance

    found: dict[str, Any] = {}
    parts: list[tuple[str, Callable[[], Any]]] = [("rng", rng), ("capture", lambda: capture(args.extension)),
                                                  ("timing", timing)]  # fmt: skip
    if args.suite:
        parts.append(("suite", lambda: suite(args.calls, only)))
    for name, part in parts:
        try:
            found[name] = part()
        except Exception:  # one part failing is a finding; the others still run
            found[name] = {"error": traceback.format_exc()[-1500:]}
        print(f"{name}: {found[name]}", flush=True)
    out = args.out or OUT_DIR / f"graphprobe-{device_slug(torch.cuda.get_device_name())}.json"
    write_json_atomic(out, {**found, "provenance": provenance("cuda")})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
