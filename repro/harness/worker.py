"""Worker process: `python -m repro.harness.worker PLAN.json` (or `--standby`, reading the plan path from stdin).

Two roles. The *reference* role builds the task's Model, computes the reference outputs for
every (shape, trial), records the ops it calls, and times the baselines. The *candidate* role
imports the candidate file (only after the tamper snapshot is taken), runs the correctness
trials and the timing, and sends its outputs and raw timings to the parent over `channel` as they
are produced: it never sees the reference outputs, and what it sends cannot be rewritten later. The
reference role writes `report.json` (atomically) and `outputs.pt` into its job folder. Both append
each phase they enter to `progress.jsonl`, so a crash or a hang can be located.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from repro.harness import channel as chan_mod
from repro.harness import clockcheck, compare, graphbatch, guards, isolation, opcheck, timing
from repro.harness import problem as prob

_perf_counter_ns = time.perf_counter_ns
_urandom = os.urandom
# The worker reads a candidate's outputs (and compares its inputs) with torch function handling off: a
# TorchFunctionMode the candidate left active, or a tensor subclass, must not see or answer those calls.
_NoTorchFunction = torch._C.DisableTorchFunction
_exit = os._exit

TIMED_FULL_MAX, TIMED_POSITIONS, TIMED_EDGE = (
    compare.TIMED_FULL_MAX,
    compare.TIMED_POSITIONS,
    compare.TIMED_EDGE,
)


class Failure(Exception):
    """A verdict decided inside the worker (compile_error, runtime_error, rejected)."""

    def __init__(self, verdict: str, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.verdict, self.reason, self.detail = verdict, reason, detail


class Job:
    def __init__(self, plan_path: Path, channel: chan_mod.Channel | None = None) -> None:
        self.channel = channel
        self.positions: dict[str, list[torch.Tensor]] = {}
        self.plan = json.loads(plan_path.read_text())
        self.dir = Path(self.plan["job_dir"])
        self.device = self.plan["device"]
        self.settings = self.plan["settings"]
        self.phase = "start"
        self.report: dict[str, Any] = {"role": self.plan["role"], "status": "incomplete"}
        self.outputs: dict[str, list[torch.Tensor]] = {}
        self.strict_stopped = False

    def enter(self, phase: str) -> None:
        self.phase = phase
        with open(self.dir / "progress.jsonl", "a") as f:
            f.write(json.dumps({"phase": phase, "t": time.time()}) + "\n")

    def sync(self) -> None:
        if self.device == "cuda":
            timing._synchronize()

    def finish(self) -> None:
        torch.save(self.outputs, self.dir / "outputs.tmp")
        os.replace(self.dir / "outputs.tmp", self.dir / "outputs.pt")
        tmp = self.dir / "report.tmp"
        tmp.write_text(json.dumps(self.report, default=str))
        os.replace(tmp, self.dir / "report.json")


def _classify(exc: BaseException, phase: str) -> Failure:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    if isinstance(exc, SystemExit):
        return Failure("runtime_error", f"the candidate called sys.exit({exc.code!r}) during {phase}")
    if phase == "import" or "CompilationError" in name:
        return Failure("compile_error", f"{name} during {phase}: {text}", traceback.format_exc())
    if isinstance(exc, torch.OutOfMemoryError | MemoryError) or any(
        w in text.lower() for w in ("out of memory", "can't allocate memory", "cannot allocate memory")
    ):
        return Failure("runtime_error", f"out of memory during {phase}: {text}", traceback.format_exc())
    return Failure("runtime_error", f"{name} during {phase}: {text}", traceback.format_exc())


def _cpu_copy(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return [t.detach().to("cpu", copy=True) for t in tensors]


def _store(job: Job, key: str, outs: list[torch.Tensor], also_at: str | None = None) -> None:
    with _NoTorchFunction():
        _store_values(job, key, outs, also_at)


def _store_values(job: Job, key: str, outs: list[torch.Tensor], also_at: str | None) -> None:
    """Send outputs to the parent: in full, or (large ones) at sampled positions (see `compare`).

    The positions are drawn here, after forward returned and the device was synchronised, from
    os.urandom: the candidate cannot know them in advance. They travel as int32 where they fit.
    With `also_at`, the sampled positions of that earlier run come first, so the parent can compare
    the two runs value for value (the determinism check). A candidate's outputs leave at once over
    the channel; the reference's are kept for `outputs.pt`.
    """
    values, positions = [], []
    earlier = job.positions.get(also_at) if also_at else None
    for k, t in enumerate(outs):
        n = t.numel()
        if n <= compare.FULL_COMPARE_MAX:
            values.append(t.detach().to("cpu", copy=True))
            positions.append(torch.empty(0, dtype=torch.int64))
            continue
        pos = sample_positions(n, t.device, compare.SAMPLED_POSITIONS, compare.EDGE_POSITIONS)
        if earlier is not None and k < len(earlier) and earlier[k].numel():
            pos = torch.cat([earlier[k].to(device=t.device, dtype=pos.dtype), pos])
        values.append(t.detach().reshape(-1)[pos].cpu())
        positions.append(pos.cpu())
    job.positions[key] = positions
    shapes = [list(t.shape) for t in outs]
    if job.channel is not None:
        vmeta, vraw = chan_mod.pack_tensors(values)
        pmeta, praw = chan_mod.pack_tensors(positions)
        job.channel.send("output", {"key": key, "values": vmeta, "positions": pmeta, "shapes": shapes},
                         vraw + praw)  # fmt: skip
        return
    job.outputs[key] = values
    if any(p.numel() for p in positions):
        job.outputs[f"{key}@positions"] = positions
    job.report.setdefault("output_shapes", {})[key] = shapes


def sample_positions(n: int, device: Any, count: int, edge: int) -> torch.Tensor:
    """The first and last `edge` flat positions and `count` random ones, from os.urandom."""
    gen = torch.Generator(device=device).manual_seed(int.from_bytes(_urandom(8), "little") >> 1)
    index = torch.int32 if n < 2**31 else torch.int64
    edge = min(edge, n)
    return torch.cat([
        torch.arange(0, edge, device=device, dtype=index),
        torch.arange(n - edge, n, device=device, dtype=index),
        torch.randint(0, n, (count,), device=device, generator=gen, dtype=index),
    ])  # fmt: skip


def _poison_allocator(nbytes: int, device: str) -> None:
    """Leave NaN in freed memory so an output element the kernel never writes shows up as NaN."""
    n = min(max(nbytes, 1 << 20), 1 << 30) // 4
    buf = torch.empty(n, dtype=torch.float32, device=device)
    buf.fill_(float("nan"))
    del buf


def _nbytes(items: list[Any]) -> int:
    return sum(x.numel() * x.element_size() for x in items if isinstance(x, torch.Tensor))


def _record_tolerance(job: Job, problem: Any, key: str, outs: list[torch.Tensor]) -> None:
    job.report.setdefault("tolerance", {})[key] = [list(prob.tolerance(problem, o.dtype)) for o in outs]


def run_reference(job: Job) -> None:
    s = job.settings
    job.enter("load problem")
    problem = prob.load_module(Path(job.plan["problem"]), "kernelatlas_problem")
    shapes = prob.shapes_for(problem, job.device)
    job.report["shapes"] = shapes
    job.report["dtype"] = str(getattr(problem, "DTYPE", ""))
    for si, shape in enumerate(shapes):
        job.enter(f"reference shape {si}")
        model = prob.build_model(problem.Model, problem, shape, s["seed"], job.device)
        # A second model, built alike, for the determinism check: called once per trial like `model`,
        # so at every trial both have the same history (built once per shape: large models build slowly).
        again_model = prob.build_model(problem.Model, problem, shape, s["seed"], job.device)
        for t in range(s["correctness_trials"]):
            seed = prob.trial_seed(s["seed"], si, t)
            inputs = prob.make_inputs(problem, shape, seed, job.device)
            with torch.no_grad():
                if si == 0 and t == 0:
                    with opcheck.OpRecorder() as rec:
                        out = model(*inputs)
                    job.report["ops"] = dict(rec.counts)
                else:
                    out = model(*inputs)
            job.sync()
            outs = prob.flatten_outputs(out)
            if si == 0 and t == 0 and all(o.numel() == 0 for o in outs):
                raise Failure(
                    "reference_error",
                    f"the timed shape (shape 0, {shape}) has an empty output: a candidate's time there is "
                    "launch cost or nothing, and a speedup over it would collapse a suite's geomean; "
                    "put a shape with a non-empty output first in SHAPES (and CPU_SHAPES)",
                )
            key = f"s{si}/t{t}"
            job.outputs[key] = _cpu_copy(outs)
            _record_tolerance(job, problem, key, outs)
            _check_reference_determinism(job, problem, again_model, shape, si, t, seed, outs)
        del again_model
        if si == 0:
            _reference_pool(job, problem, shape, model)
            job.enter("reference batch pool")
            _reference_batch(job, problem, shape, model)
        del model
    task = prob.task_settings(problem, job.device)
    job.report["flops"] = task.flops(shapes[0])
    job.report["bytes_moved"] = task.bytes_moved(shapes[0])
    job.report["allowed_ops"] = list(task.allowed_ops)
    job.report["baselines"] = {}
    for kind in s["baselines"]:
        job.enter(f"baseline {kind}")
        job.report["baselines"][kind] = _time_baseline(job, problem, shapes[0], kind)
    if job.device == "cuda":  # build Triton's driver module into the trusted seed cache (see sandbox)
        with contextlib.suppress(Exception):
            import triton

            triton.runtime.driver.active.utils  # noqa: B018
    if job.plan.get("peaks_path"):
        job.enter("peaks")
        from repro.harness import peaks

        peaks.measure_and_store(Path(job.plan["peaks_path"]), job.device)
    from repro.records.provenance import provenance

    job.enter("provenance")
    job.report["provenance"] = provenance(job.device)
    if job.device == "cuda":
        from repro.harness import peaks

        job.report["provenance"]["clocks_after_baselines"] = peaks.device_clocks()
    job.report["status"] = "done"


def _check_reference_determinism(job: Job, problem: Any, again_model: Any, shape: dict, si: int, t: int,
                                 seed: int, outs: list[torch.Tensor]) -> None:  # fmt: skip
    """Run the reference again with the same seed (a second model built alike, fresh inputs): a reference
    that is not deterministic within tolerance would blame honest candidates, so it is refused and
    nothing cached."""
    inputs = prob.make_inputs(problem, shape, seed, job.device)
    torch.manual_seed(int.from_bytes(_urandom(8), "little") >> 1)  # forward must not depend on the RNG
    with torch.no_grad():
        again = prob.flatten_outputs(again_model(*inputs))
    job.sync()
    tols = job.report["tolerance"][f"s{si}/t{t}"]
    mismatch, _ = compare.compare_one(
        _cpu_copy(again), _cpu_copy(outs), tols, f"shape {si} {shape}, trial {t}"
    )
    if mismatch:
        raise Failure(
            "reference_error",
            "the reference model is not deterministic: two runs with the same seed differ ("
            + mismatch.reason
            + "); make Model.forward a function of its inputs and parameters "
            "(no torch.rand/randn/dropout in forward)",
        )


def _reference_pool(job: Job, problem: Any, shape: dict, model: Any) -> None:
    """Reference outputs for POOL_SIZE unseen seeds (drawn by the parent), in full or at positions drawn
    here, for the parent to check timed iterations against."""
    for j, seed in enumerate(job.plan.get("pool_seeds") or []):
        with torch.no_grad():
            outs = prob.flatten_outputs(model(*prob.make_inputs(problem, shape, int(seed), job.device)))
        job.sync()
        values, positions = [], []
        for t in outs:
            if t.numel() <= TIMED_FULL_MAX:
                values.append(t.detach().to("cpu", copy=True))
                positions.append(torch.empty(0, dtype=torch.int64))
            else:
                pos = sample_positions(t.numel(), t.device, TIMED_POSITIONS, TIMED_EDGE)
                values.append(t.detach().reshape(-1)[pos].cpu())
                positions.append(pos.cpu().long())
        job.outputs[f"pool/{j}"] = values
        job.outputs[f"pool/{j}@positions"] = positions
        job.report.setdefault("pool_shapes", []).append([list(t.shape) for t in outs])


def _reference_batch(job: Job, problem: Any, shape: dict, model: Any) -> None:
    """The parent-clocked batch's pool (see `clockcheck`): per unseen seed (drawn by the parent), the
    projections of the reference's outputs and the terms of their tolerance; then the batch's cost
    besides the call (inputs and projections), timed on this device (on CUDA its device time apart too)."""
    seeds = [int(x) for x in job.plan.get("batch_seeds") or []]
    if not seeds:
        return
    pool: list[dict[str, list[float]]] = []
    t0 = _perf_counter_ns()
    outs: list[torch.Tensor] = []
    for seed in seeds:
        with torch.no_grad():
            outs = prob.flatten_outputs(model(*prob.make_inputs(problem, shape, seed, job.device)))
        job.sync()
        pool.append(clockcheck.reference_terms(outs, seed))
        elapsed_s = (_perf_counter_ns() - t0) / 1e9
        if len(pool) >= clockcheck.POOL_MIN and elapsed_s > clockcheck.POOL_BUDGET_S:
            break
    used = seeds[: len(pool)]
    cost = clockcheck.overhead(
        lambda seed: prob.make_inputs(problem, shape, seed, job.device),
        outs,
        used[: min(len(used), 16)],
        job.sync,
        count_cpu=job.device != "cuda",
        device=job.device,
    )
    job.report["batch"] = {"seeds": used, "pool": pool, **cost}
    graph_seeds = [int(x) for x in job.plan.get("graph_seeds") or []]
    if job.device == "cuda" and graph_seeds:
        try:
            with torch.no_grad():
                job.report["batch"]["graph"] = _reference_graph(problem, shape, model, outs, graph_seeds)
        except Exception as exc:  # the task's own inputs cannot be drawn in a graph: eager rounds only
            torch.cuda.synchronize()
            graphbatch.reset_generator()
            job.report["batch"]["graph_error"] = f"{type(exc).__name__}: {exc}"[:400]


def _reference_graph(problem: Any, shape: dict, model: Any, outs: list[torch.Tensor],
                     seeds: list[int]) -> dict[str, Any]:  # fmt: skip
    """The graph rounds' pool (`graphbatch`): K calls per round seed in sequence, K sized on the
    reference's device time (and cut to what POOL_BUDGET_S computes; a round's first calls are the same
    whatever K), and the own work's device time D of such a round."""
    inputs = prob.make_inputs(problem, shape, seeds[0], "cuda")
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    model(*inputs)
    torch.cuda.synchronize()
    start.record()
    for _ in range(3):
        model(*inputs)
    end.record()
    torch.cuda.synchronize()
    call_ms = start.elapsed_time(end) / 3
    del inputs
    probe = graphbatch.own_device_ms(problem, shape, outs, graphbatch.K_MIN)
    calls = graphbatch.calls_for(call_ms, probe)
    t0 = _perf_counter_ns()
    pool = graphbatch.reference_round(problem, shape, model, prob.flatten_outputs, seeds[0], calls)
    took_s = (_perf_counter_ns() - t0) / 1e9
    if took_s * len(seeds) > graphbatch.POOL_BUDGET_S:
        calls = max(graphbatch.K_MIN, int(calls * graphbatch.POOL_BUDGET_S / (took_s * len(seeds))))
        pool = pool[:calls]
    for seed in seeds[1:]:
        pool += graphbatch.reference_round(problem, shape, model, prob.flatten_outputs, seed, calls)
    dev_ms = graphbatch.own_device_ms(problem, shape, outs, calls)
    return {"seeds": seeds, "calls": calls, "pool": pool, "dev_ms": dev_ms, "ref_call_ms": call_ms}


def _time_baseline(job: Job, problem: Any, shape: dict, kind: str) -> dict[str, Any]:
    s = job.settings
    if kind == "cuda-graph" and job.device != "cuda":
        return {"error": "CUDA graphs need a GPU: this baseline is timed on --device cuda only"}
    model = prob.build_model(problem.Model, problem, shape, s["seed"], job.device)
    fn = model
    compile_ms = None
    try:
        if kind == "cuda-graph":
            from repro.harness.replay import graph_replay

            sample = prob.make_inputs(problem, shape, prob.timing_seed(s["seed"], -1), job.device)
            replay, load = graph_replay(model, sample)

            def into_graph(i: int) -> list[Any]:
                return load(prob.make_inputs(problem, shape, prob.timing_seed(s["seed"], i), job.device))

            return {**_timed(job, problem, shape, replay, into_graph).summary(), "compile_ms": None}
        if kind == "compile":
            fn = torch.compile(model)
            inputs = prob.make_inputs(problem, shape, prob.timing_seed(s["seed"], -1), job.device)
            t0 = _perf_counter_ns()
            with torch.no_grad():
                fn(*inputs)
            job.sync()
            compile_ms = (_perf_counter_ns() - t0) / 1e6
        with torch.no_grad():
            res = _timed(job, problem, shape, fn)
    except Exception as exc:  # a baseline that fails is reported, not fatal
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return {**res.summary(), "compile_ms": compile_ms}


def _timed(
    job: Job, problem: Any, shape: dict, fn: Any, inputs_for: Callable[[int], list[Any]] | None = None
) -> timing.TimingResult:
    """The baselines' timing: unseen inputs every iteration (seeds disjoint from the trials');
    `inputs_for` where they must go somewhere first (a CUDA graph's static buffers)."""
    s = job.settings
    return timing.measure(
        fn,
        inputs_for
        or (lambda i: prob.make_inputs(problem, shape, prob.timing_seed(s["seed"], i), job.device)),
        job.device,
        warmup=s["warmup"],
        min_iters=s["min_timing_iters"],
        max_iters=s["timing_iters"],
        target_rel_ci=s["target_rel_ci"],
        max_time_s=s["max_timing_s"],
    )


def _timed_candidate(job: Job, problem: Any, shape: dict, fn: Any, snapshot: guards.Snapshot) -> list[int]:
    """Time the candidate with the parent in charge: it names each iteration's (unseen) seed, receives
    each call's times and names the positions to sample once the call has returned, and says when to stop.
    Some seeds are from the reference pool; which ones, only the parent knows."""
    s = job.settings
    ch = job.channel
    assert ch is not None

    def inputs_for(i: int) -> list[Any]:
        ch.send("seed", {"i": i})
        header, _ = ch.expect("seed")
        return prob.make_inputs(problem, shape, int(header["seed"]), job.device)

    numels: list[int] = []

    def after(ti: int, out: Any, event_ms: float, host_ms: float) -> bool:
        _check_reads(snapshot, f"timed iteration {ti}")
        try:
            outs = prob.flatten_outputs(out)
        except TypeError as exc:
            raise Failure("rejected", f"ModelNew.forward returned an unusable value: {exc}") from None
        numels[:] = [o.numel() * (2 if o.is_complex() else 1) for o in outs]
        ch.send("sample", {"i": ti, "event_ms": float(event_ms), "host_ms": float(host_ms),
                           "shapes": [list(o.shape) for o in outs]})  # fmt: skip
        header, payload = ch.expect("positions")
        positions = chan_mod.unpack_tensors(header["meta"], payload)
        with _NoTorchFunction():
            values = [
                o.detach().reshape(-1)[p.to(o.device)] if p.numel() else o.detach()
                for o, p in zip(outs, positions, strict=True)
            ]
        with torch.enable_grad():  # the snapshot was taken with grad on; timing runs under no_grad
            _check_guards(job, snapshot, f"timed iteration {ti}")
        meta, raw = chan_mod.pack_tensors(values)
        ch.send("values", {"meta": meta}, raw)
        header, _ = ch.expect("next")
        return bool(header["stop"])

    # The parent gives this process the device to itself (other candidates sharing it are held back)
    # before the timer is built: its calibration is timed too.
    ch.send("timing", {})
    ch.expect("timing")
    timing.measure(
        fn, inputs_for, job.device, warmup=s["warmup"], min_iters=s["min_timing_iters"],
        max_iters=s["timing_iters"], target_rel_ci=s["target_rel_ci"], max_time_s=s["max_timing_s"],
        after=after,
    )  # fmt: skip
    return numels


def _batch_candidate(job: Job, problem: Any, shape: dict, fn: Any, snapshot: guards.Snapshot,
                     numels: list[int]) -> None:  # fmt: skip
    """The parent-clocked batch (see `clockcheck`): the parent names K unseen seeds and times, on its own
    clock, until their calls' projections arrive; it says when there is no further round. The projection
    vectors for outputs of the timed loop's sizes are built first, off the parent's clock."""
    ch = job.channel
    assert ch is not None
    graph = _graph_round(job, problem, shape, fn)
    clockcheck.warm(numels, job.device)
    job.sync()
    r = 0
    while True:
        ch.send("batch", {"r": r, "graph": graph is not None})
        header, _ = ch.expect("batch")
        if graph is not None and "seed" in header:
            projections = graph.replay(int(header["seed"]))
            ch.send("batch_done", {"r": r, "projections": projections, "orders": graph.orders, "call_ms": []})
            with torch.enable_grad():
                _check_guards(job, snapshot, f"the parent-clocked batch (graph round {r})")
            r += 1
            continue
        seeds = [int(x) for x in header["seeds"]]
        if not seeds:
            return
        orders: list[list[str]] = []
        # On the CPU path a call runs to its end: the round's own per-call times (`clockcheck.judge_time`).
        call_ms: list[float] | None = [] if job.device != "cuda" else None
        projections, _ = clockcheck.run(
            fn,
            lambda seed: prob.make_inputs(problem, shape, seed, job.device),
            _flatten_or_reject,
            seeds,
            job.sync,
            orders,
            call_ms,
        )
        ch.send(
            "batch_done", {"r": r, "projections": projections, "orders": orders, "call_ms": call_ms or []}
        )
        with torch.enable_grad():
            _check_guards(job, snapshot, f"the parent-clocked batch (round {r})")
        r += 1


def _graph_round(job: Job, problem: Any, shape: dict, fn: Any) -> graphbatch.Round | None:
    """The batch's round captured as one CUDA graph, before any seed is known (`graphbatch`), where the
    harness offers graph rounds; None where the candidate's calls cannot be captured or a trial replay
    differs from the same calls run eagerly (the batch then runs eager rounds; the reason is reported)."""
    calls = job.plan.get("graph_calls")
    if job.device != "cuda" or type(calls) is not int or calls <= 0:
        return None
    why: str | None = None
    rnd: graphbatch.Round | None = None
    try:
        rnd = graphbatch.capture(problem, shape, fn, _flatten_or_reject, calls)
        why = graphbatch.matches_eager(rnd, problem, shape, fn, _flatten_or_reject,
                                       int.from_bytes(os.urandom(8), "little") >> 1)  # fmt: skip
    except Failure:
        raise
    except Exception as exc:  # what capture says is the reason; the eager rounds still judge the time
        why = f"{type(exc).__name__}: {exc}"[:400]
        with contextlib.suppress(Exception):
            torch.cuda.synchronize()
        graphbatch.reset_generator()
    job.report["batch_graph"] = {"calls": calls, "captured": why is None, "why_not": why}
    return rnd if why is None else None


def _flatten_or_reject(out: Any) -> list[torch.Tensor]:
    try:
        return prob.flatten_outputs(out)
    except TypeError as exc:
        raise Failure("rejected", f"ModelNew.forward returned an unusable value: {exc}") from None


def run_candidate(job: Job) -> None:
    s = job.settings
    job.enter("load problem")
    problem = prob.load_module(Path(job.plan["problem"]), "kernelatlas_problem")
    shapes = prob.shapes_for(problem, job.device)
    if job.plan.get("build_replay"):
        # Installed here, before the candidate and the snapshot (which then covers the hook's module): its
        # builds that its prebuild saw fail at the compiler fail again at once (see `buildreplay`).
        from repro.harness import buildreplay

        replayer = buildreplay.install(job.plan["build_replay"])
        none = {r["name"]: ["this torch has no build step to gate"] for r in job.plan["build_replay"]}
        job.report["build_replay"] = replayer.report if replayer is not None else {"missed": none}
    tripwire = guards.Tripwire()
    snapshot = guards.Snapshot()
    job.report["isolation"] = isolation.sandbox_candidate(
        job.dir, [Path(d) for d in job.plan.get("writable") or []]
    )
    if job.device == "cuda":  # the context, created here so that its cost is a phase of its own
        job.enter("cuda init")
        torch.empty(1, device="cuda")
        job.sync()
    job.enter("import")
    try:
        candidate = prob.load_module(Path(job.plan["candidate"]), "kernelatlas_candidate")
    except BaseException as exc:
        raise _classify(exc, "import") from None
    model_cls = getattr(candidate, "ModelNew", None)
    if not isinstance(model_cls, type):
        raise Failure("compile_error", "the candidate defines no class ModelNew")
    _check_guards(job, snapshot, "import")
    ops: dict[str, int] = {}
    compile_ms = 0.0
    ch = job.channel

    def on_op(name: str) -> None:  # each op reaches the parent as it happens
        if ch is not None:
            ch.send("op", {"name": name})

    for si, shape in enumerate(shapes):
        call_ms: list[float] = []
        job.enter(f"construct shape {si}")
        try:
            model = prob.build_model(model_cls, problem, shape, s["seed"], job.device)
        except BaseException as exc:
            raise _classify(exc, f"ModelNew construction (shape {si})") from None
        reference_model = None
        for t in range(s["correctness_trials"]):
            # The process's first call is a phase of its own: it pays the first use of CUDA's libraries
            # and kernels (and a JIT's compilation), which the later calls do not.
            job.enter(
                "forward, first call (shape 0)" if si == 0 and t == 0 else f"forward shape {si} trial {t}"
            )
            seed = prob.trial_seed(s["seed"], si, t)
            runs = ["first"] + (["repeat", "after_ref"] if t == 0 else [])
            for tag in runs:
                if tag == "after_ref":
                    # Run the reference in this process between two candidate runs: a kernel that
                    # reads uninitialised memory would find the reference's freed output there.
                    reference_model = reference_model or prob.build_model(
                        problem.Model, problem, shape, s["seed"], job.device
                    )
                    with torch.no_grad():
                        ref_out = reference_model(*prob.make_inputs(problem, shape, seed, job.device))
                    job.sync()
                    del ref_out
                inputs = prob.make_inputs(problem, shape, seed, job.device)
                before = [x.clone() if isinstance(x, torch.Tensor) else x for x in inputs]
                _poison_allocator(2 * _nbytes(inputs), job.device)
                t0 = _perf_counter_ns()
                try:
                    with torch.no_grad(), opcheck.OpRecorder(on_op) as rec:
                        tripwire.armed = True
                        try:
                            out = model(*inputs)
                        finally:
                            tripwire.armed = False
                    job.sync()
                except BaseException as exc:
                    raise _classify(exc, f"forward (shape {si}, trial {t})") from None
                if tripwire.tripped and s.get("ops_policy", "kernels") == "kernels":
                    raise Failure("rejected", opcheck.tripwire_reason(tripwire.tripped[0]))
                if tripwire.tripped:
                    _strict_stop(job, {"kind": "tripwire", "op": tripwire.tripped[0]})
                call_ms.append((_perf_counter_ns() - t0) / 1e6)
                _check_reads(snapshot, f"forward (shape {si}, trial {t})")
                for op, n in rec.counts.items():
                    ops[op] = ops.get(op, 0) + n
                try:
                    outs = prob.flatten_outputs(out)
                except TypeError as exc:
                    raise Failure("rejected", f"ModelNew.forward returned an unusable value: {exc}") from None
                for k, (a, b) in enumerate(zip(before, inputs, strict=True)):
                    with _NoTorchFunction():
                        same = not isinstance(a, torch.Tensor) or torch.equal(a, b)
                    if not same:
                        raise Failure(
                            "rejected", f"ModelNew.forward modified input {k} in place (shape {si})"
                        )
                _store(
                    job, f"s{si}/t{t}/{tag}", outs, also_at=f"s{si}/t{t}/first" if tag == "repeat" else None
                )
                _check_guards(job, snapshot, f"forward (shape {si}, trial {t})")
                del out, outs, inputs, before
                if si == 0 and t == 0 and tag == "first":
                    job.enter(f"forward shape {si} trial {t}")
            _check_guards(job, snapshot, f"forward (shape {si}, trial {t})")
        del reference_model
        # The first call of each shape includes JIT compilation (a new specialisation per shape).
        typical = sorted(call_ms[1:])[len(call_ms[1:]) // 2] if len(call_ms) > 1 else 0.0
        compile_ms += max(0.0, call_ms[0] - typical)
        if si == 0:
            job.report["ops"] = ops
            forbidden = opcheck.forbidden_ops(ops, list(prob.task_settings(problem, job.device).allowed_ops))
            if forbidden and s.get("ops_policy", "kernels") == "kernels":
                job.report["forbidden_ops"] = forbidden
                job.report["status"] = "done"
                return
            if forbidden:
                _strict_stop(job, {"kind": "forbidden"})
            job.enter("timing")
            try:
                with torch.no_grad():
                    numels = _timed_candidate(job, problem, shape, model, snapshot)
            except (Failure, chan_mod.ChannelError):
                raise
            except BaseException as exc:
                raise _classify(exc, "timing") from None
            _check_guards(job, snapshot, "timing")
            job.enter("parent-clocked batch")
            try:
                with torch.no_grad():
                    _batch_candidate(job, problem, shape, model, snapshot, numels)
            except (Failure, chan_mod.ChannelError):
                raise
            except BaseException as exc:
                raise _classify(exc, "the parent-clocked batch") from None
        del model
    job.report["ops"] = ops
    job.report["compile_ms"] = compile_ms
    job.report["status"] = "done"


def _strict_stop(job: Job, what: dict[str, Any]) -> None:
    """Under `ops_policy="any"` with `strict_stops` in the plan (one run judged under both op rules), tell
    the parent, once, where a run under "kernels" would have stopped: at the first call that stepped
    outside the op tracer, or after shape 0's trials when they called ops the task does not allow."""
    if job.plan.get("strict_stops") and job.channel is not None and not job.strict_stopped:
        job.strict_stopped = True
        job.channel.send("strict_stop", what)


def _check_reads(snapshot: guards.Snapshot, phase: str) -> None:
    """Before the worker reads a call's outputs: nothing may stand between them and the harness."""
    found = snapshot.reads_intact()
    if found:
        raise Failure("rejected", f"the candidate {found[0]} (seen after {phase})")


def _check_guards(job: Job, snapshot: guards.Snapshot, phase: str) -> None:
    found = snapshot.violations()
    if found:
        raise Failure(
            "rejected",
            f"the candidate {found[0]} (seen after {phase})"
            + (f"; also: {'; '.join(found[1:3])}" if len(found) > 1 else ""),
        )


def _standby() -> Path | None:
    """Get ready (imports done) and wait for the plan's path on stdin.

    The parent starts the next candidate's process while the current one runs, which hides the
    start-up cost; each process still runs exactly one candidate. CUDA is initialised only once
    the plan arrives, so a waiting process never touches the GPU while another one is timed.
    """
    with contextlib.suppress(ImportError):
        import triton  # noqa: F401  (candidates import it; TRITON_INTERPRET is already set)
    # torch._dynamo is not imported: the op recorder needs it only once something compiles (see opcheck).

    line = sys.stdin.readline().strip()
    if not line and Path.cwd().name.startswith("kernelatlas-cand-"):
        shutil.rmtree(Path.cwd(), ignore_errors=True)  # the parent is gone: leave nothing behind
    return Path(line) if line else None


def _die_with_parent() -> None:
    """Kill this process group when the process that started it dies (a Ray worker killed mid-evaluation,
    a driver that crashed): an orphaned candidate would otherwise keep its GPU busy, and its timeout
    died with the parent. Polling getppid works whichever thread of the parent started us."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="kernelatlas-parent-watch", daemon=True).start()


def plain(value: Any) -> Any:
    """Builtins only (what the channel carries): dicts, lists, str, int, float, bool, None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, bool | int | float | str):
        return type(value).__mro__[-2](value)
    return str(value)


def _one_thread_on_cpu(device: str) -> None:
    """On the CPU path, one intra-op thread (before the tamper snapshot, which then holds it).

    The parent-clocked batch counts the smaller of its wall time and the CPU time of the worker's
    process tree (`clockcheck`). With torch's OpenMP pool of one thread per core, a process's CPU time
    runs up to twice its quiet wall time (both threads working, or spinning at a barrier), and on a
    loaded machine, where the wall time is inflated too, an honest kernel was counted 1.6x the median
    its timed loop had measured in a quieter moment. With one thread the CPU time is the work done,
    whatever the load. The reference worker runs the same way, so what it subtracts matches."""
    if device == "cpu":
        torch.set_num_threads(1)


def _run_job(job: Job) -> None:
    """Run the job's role; a failure becomes the report's verdict and reason."""
    _one_thread_on_cpu(job.device)
    if job.device == "cuda":
        torch.cuda.set_device(0)
    torch.set_grad_enabled(True)
    try:
        (run_reference if job.plan["role"] == "reference" else run_candidate)(job)
    except Failure as f:
        job.report.update(status="failed", verdict=f.verdict, reason=f.reason, detail=f.detail[-4000:])
    except BaseException as exc:  # the harness's own code failing on this problem
        f = _classify(exc, job.phase)
        job.report.update(
            status="failed", verdict=f.verdict, reason=f.reason, detail=traceback.format_exc()[-4000:]
        )
    job.report["phase"] = job.phase


# A reference server retires (exits after its report) after this many jobs, bounding what one
# process accumulates (host memory, compiled code, allocator state).
SERVE_MAX_JOBS = 64


def serve_references() -> int:
    """Reference jobs one after another in this process (`--serve`; plan paths on stdin, one a line).

    The reference role runs only the task's own code and ours, so one warm process (torch imported,
    CUDA initialised once, cuBLAS loaded) can serve every task of a run, instead of one process per
    task. Between jobs the problem module and the allocator's cache are dropped; a job after which
    the process no longer looks as it did before the first (a global flag changed, a harness or timer
    function replaced, a thread left running, torch.compile used) ends the server: its report says
    why, and the parent starts a fresh one for the next task. Candidates never run here."""
    import gc

    before: guards.Snapshot | None = None
    for served in range(1, SERVE_MAX_JOBS + 1):
        line = sys.stdin.readline().strip()
        if not line:
            return 0  # the parent closed our stdin: done
        job = Job(Path(line))
        if job.plan["role"] != "reference":
            job.report.update(
                status="failed", verdict="crash", reason="a reference server runs reference jobs only"
            )
            job.finish()
            continue
        if before is None:
            _one_thread_on_cpu(job.device)
            torch.set_grad_enabled(True)
            before = guards.Snapshot()
        _run_job(job)
        sys.modules.pop("kernelatlas_problem", None)
        gc.collect()
        if job.device == "cuda" and torch.cuda.is_initialized():
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        torch.set_grad_enabled(True)
        changed = before.violations()
        retire = changed[0] if changed else ("served its last job" if served == SERVE_MAX_JOBS else None)
        job.report["server"] = {"pid": os.getpid(), "job": served, "retire": retire}
        job.finish()
        if retire:
            return 0
    return 0


def main(argv: list[str]) -> int:
    _die_with_parent()
    if argv[0] == "--serve":
        return serve_references()
    channel = None
    if "--channel" in argv:
        i = argv.index("--channel")
        rfd, wfd = (int(x) for x in argv[i + 1].split(","))
        channel = chan_mod.Channel(rfd, wfd)
        argv = argv[:i] + argv[i + 2 :]
    plan = _standby() if argv[0] == "--standby" else Path(argv[0])
    if plan is None:  # the parent went away before sending work
        return 0
    job = Job(plan, channel if plan and json.loads(plan.read_text())["role"] == "candidate" else None)
    _run_job(job)
    if job.channel is None:
        job.finish()
        return 0
    job.channel.send("report", {"report": plain(job.report)})
    sys.stdout.flush()
    sys.stderr.flush()
    _exit(0)  # no atexit handlers or finalisers: nothing of the candidate's runs after the report
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything the parent reads is written (atomically) by now; the interpreter's shutdown with torch
    # and Triton loaded would cost half a CPU-second of every worker for nothing.
    _exit(code)
