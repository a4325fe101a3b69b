"""KernelBench as a suite: baselines and speed-of-light for every problem of a user's checkout.

For each problem file (`<root>/KernelBench/level<N>/<id>_<name>.py`, never copied here) one worker
process measures, with the harness's timer (fresh inputs every iteration, L2 flushed, CUDA events):

* `eager` — the reference `Model` as written;
* `cuda-graph` — one CUDA graph of the eager forward, replayed (fresh inputs copied into its static
  buffers outside the timed region): eager without launch overhead;
* `compile` — `torch.compile(model)` with the default mode;
* `max-autotune` — `torch.compile(model, mode="max-autotune-no-cudagraphs")`.

Speed-of-light: FLOPs counted by `torch.utils.flop_counter.FlopCounterMode` over one forward, and
the fewest bytes the forward must move (every input and parameter read once, every output written once),
against the device's measured peaks (`repro.harness.peaks`: copy bandwidth, dense matmul rate for the
problem's dtype). SOL time = max(flops / rate, bytes / bandwidth); each baseline's SOL fraction is SOL
time over its median. FLOPs cover what the counter knows (matrix products, convolutions, attention);
element-wise work counts as zero, so such problems are bounded by their bytes, as they are in practice.

Results go to one versioned JSON file (`kernelatlas-kernelbench-baselines`), rewritten atomically after
every problem; a rerun skips problems already measured with the same settings and source.
"""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from repro.records.files import write_json_atomic
from repro.records.kernelbench_results import FORMAT, FORMAT_VERSION, SuiteError, load_results, sol
from repro.records.provenance import checkout_commit, utc_now

BASELINES = ("eager", "cuda-graph", "compile", "max-autotune")
MAX_AUTOTUNE: dict[str, Any] = {"mode": "max-autotune-no-cudagraphs"}  # torch.compile's options for it
# How the workers sharing a GPU use it, stored with each run.
DEVICE_LOCK = (
    "one lock per GPU for the machine: timed regions alone; other device work shared; max-autotune "
    "benchmarks alone, its host work unlocked"
)
_PROBLEM = re.compile(r"^(\d+)_.*\.py$")


def discover(root: Path, levels: list[int]) -> list[tuple[str, Path]]:
    """(task key, path) of every problem of `levels`, in numeric order: key 'level1/19_ReLU'."""
    out = []
    for level in levels:
        folder = next(
            (d for d in (root / "KernelBench" / f"level{level}", root / f"level{level}") if d.is_dir()), None
        )
        if folder is None:
            raise SuiteError(
                f"{root}: no KernelBench/level{level} folder; give --root the top of a KernelBench checkout"
            )
        files = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _PROBLEM.match(p.name)))
        if not files:
            raise SuiteError(f"{folder}: no problem files (<id>_<name>.py)")
        out += [(f"level{level}/{p.stem}", p) for _, p in files]
    return out


# ------------------------------------------------------------------ inside the worker process


def _tensors(x: Any) -> list[Any]:
    import torch

    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, list | tuple):
        return [t for item in x for t in _tensors(item)]
    if isinstance(x, dict):
        return [t for item in x.values() for t in _tensors(item)]
    return []


def _nbytes(ts: list[Any]) -> int:
    return sum(t.numel() * t.element_size() for t in ts)


def count_work(model: Any, inputs: list[Any]) -> dict[str, Any]:
    """FLOPs of one forward (FlopCounterMode) and the fewest bytes it must move; the output dtype."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = model(*inputs)
    outs = _tensors(out)
    params = list(model.parameters()) + list(model.buffers()) if isinstance(model, torch.nn.Module) else []
    read = _nbytes(_tensors(inputs)) + _nbytes(params)
    written = _nbytes(outs)
    by_op = {str(k): int(v) for k, v in counter.get_flop_counts().get("Global", {}).items()}
    dtype = str(outs[0].dtype).removeprefix("torch.") if outs else "float32"
    tf32 = {
        "cudnn": bool(torch.backends.cudnn.allow_tf32),
        "matmul": bool(torch.backends.cuda.matmul.allow_tf32),
    }
    return {"flops": int(counter.get_total_flops()), "flops_by_op": by_op, "bytes_read": read,
            "bytes_written": written, "bytes": read + written, "dtype": dtype, "tf32": tf32}  # fmt: skip


# Told each wait for the device's lock (ms), in a worker process: the parent does not count that time
# against the problem's timeout (the wait is the other workers' turns, not the problem's work).
_on_wait: Callable[[float], None] | None = None
WAIT_REPORTED_MS = 100.0  # shorter waits are not worth a line


@contextlib.contextmanager
def gpu_lock(path: str | None, *, shared: bool = False) -> Iterator[float]:
    """Hold the device's lock (`flock` on `path`; nothing when None); yields the wait in ms.

    A timed region takes it exclusively; every other stretch of device work (building a model and its
    inputs, counting FLOPs, a compiled model's first call) takes it shared. So no worker's device work
    ever overlaps another's timed region: two processes' kernels time-slice one GPU, and a timed region
    beside another worker's compilation measured up to 2.5x its own time. A turnstile (`path`.turn)
    gives a waiting timer priority: once one waits, new shared holders queue behind it instead of
    keeping the lock shared for ever."""
    if path is None:
        yield 0.0
        return
    import fcntl

    t0 = time.perf_counter()
    with open(path + ".turn", "a") as turn, open(path, "a") as f:
        fcntl.flock(turn, fcntl.LOCK_EX)
        try:
            fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)
        waited_ms = (time.perf_counter() - t0) * 1e3
        if _on_wait is not None and waited_ms >= WAIT_REPORTED_MS:
            _on_wait(waited_ms)
        try:
            yield waited_ms
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _model_and_sample(module: Any, seed: int, device: str) -> tuple[Any, list[Any]]:
    """A problem's model and the inputs its compiled baselines are first called on (KernelBench's
    problems take no shape arguments)."""
    from repro.harness import problem as prob

    model = prob.build_model(module.Model, module, {}, seed, device)
    return model, prob.make_inputs(module, {}, prob.trial_seed(seed, 0, 0), device)


STACK_FRAMES = 14  # the innermost frames kept of a slow turn's stack


class CompileTurns:
    """A max-autotune compile's share of the device lock: nothing while the host works, the lock shared
    while the compiled graph runs or autotuning's example inputs are made, and the lock alone for each
    on-device benchmark (converting a shared hold and taking it back after), with counts and times.

    Why: a compile is minutes of host work (tracing, lowering, building kernels) with a little device
    work inside. Held shared throughout (as the default-mode compile is), it keeps every timer waiting
    until it ends, and a timer's turn waits for the longest compile running beside it; held alone (as
    before), the workers compile one at a time. With `active` off (any other compile), it does nothing."""

    def __init__(self, device_lock: str, sync: Callable[[], None] = lambda: None) -> None:
        self.path = device_lock
        self.sync = sync
        self.active = False
        self.benchmarks = 0
        self.held_ms = 0.0
        self.waited_ms = 0.0
        self.shared_turns = 0
        self.turn_ms: list[float] = []  # each benchmark's time holding the device alone
        self.slow: list[dict[str, Any]] = []  # turns longer than `slow_turn_s`, with where they were
        self._shared: Any = None  # the open lock file while this process holds it shared
        self._benchmarking = False
        self._turn: tuple[float, int] | None = None  # (start, thread) of the turn held now
        self._caught: dict[str, Any] | None = None  # the stack caught in the turn held now
        self._watch: threading.Thread | None = None
        self._holder: int | None = None  # the thread holding this process's turn, shared or alone
        self._alone: Any = None  # the open lock file while a benchmark holds it alone
        self._let_go = False  # a kernel build inside the turn: the lock let go until it ends
        self._paused = 0.0  # seconds of the benchmark turn held now spent let go
        self.host_breaks = 0
        self.host_ms = 0.0

    slow_turn_s = 2.0  # a benchmark runs ~0.1 s: a turn this long has other work inside it

    def _watchdog(self) -> None:
        """Catch the stack of a turn held past `slow_turn_s` while it is still held: every other worker
        waits for such a turn, and its stack says what work (a build, a compile) sits inside it."""
        while True:
            time.sleep(min(0.25, self.slow_turn_s / 4))
            turn = self._turn
            if turn is None or self._caught is not None or time.perf_counter() - turn[0] < self.slow_turn_s:
                continue
            frame = sys._current_frames().get(turn[1])
            if frame is not None and self._turn is turn:
                where = [
                    f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in traceback.extract_stack(frame)
                ]
                self._caught = {"turn": len(self.turn_ms), "stack": where[-STACK_FRAMES:]}

    def _take(self, f: Any, mode: int) -> float:
        """flock `f` through the turnstile (as `gpu_lock`), reporting a long wait; returns it in ms."""
        import fcntl

        t0 = time.perf_counter()
        with open(self.path + ".turn", "a") as turn:
            fcntl.flock(turn, fcntl.LOCK_EX)
            try:
                fcntl.flock(f, mode)
            finally:
                fcntl.flock(turn, fcntl.LOCK_UN)
        waited = (time.perf_counter() - t0) * 1e3
        if _on_wait is not None and waited >= WAIT_REPORTED_MS:
            _on_wait(waited)
        return waited

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        import fcntl

        if not self.active or self._shared is not None or self._benchmarking:
            yield  # inactive, or already inside a turn of this process
            return
        with open(self.path, "a") as f:
            self.waited_ms += self._take(f, fcntl.LOCK_SH)
            self._shared, self._holder = f, threading.get_ident()
            self.shared_turns += 1
            try:
                yield
            finally:
                self.sync()  # its kernels are done before a timer can start
                self._shared = self._holder = None
                fcntl.flock(f, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def benchmark(self) -> Iterator[None]:
        import fcntl

        if not self.active or self._benchmarking:
            yield  # inactive, or a benchmark helper called by another
            return
        held = self._shared
        if held is not None:  # converting: let go first, or two holders converting would wait on each other
            self.sync()
            fcntl.flock(held, fcntl.LOCK_UN)
        try:
            with open(self.path, "a") as f:
                self.waited_ms += self._take(f, fcntl.LOCK_EX)
                t1 = time.perf_counter()
                self._benchmarking = True
                if self._watch is None:
                    self._watch = threading.Thread(target=self._watchdog, daemon=True)
                    self._watch.start()
                self._caught = None
                self._paused = 0.0
                self._alone, self._holder = f, threading.get_ident()
                self._turn = (t1, self._holder)
                try:
                    yield
                finally:
                    self._benchmarking = False
                    self.sync()
                    self._turn = None
                    self._alone, self._holder = None, (self._holder if held is not None else None)
                    caught, self._caught = self._caught, None
                    took = (time.perf_counter() - t1 - self._paused) * 1e3
                    if caught is not None and caught["turn"] == len(self.turn_ms):  # this turn's own
                        self.slow.append({"held_ms": round(took, 1), **caught})
                    self.benchmarks += 1
                    self.held_ms += took
                    self.turn_ms.append(took)
                    fcntl.flock(f, fcntl.LOCK_UN)
        finally:  # a failed candidate is caught by inductor, which goes on inside the shared turn
            if held is not None:
                self.waited_ms += self._take(held, fcntl.LOCK_SH)

    @contextlib.contextmanager
    def host_work(self) -> Iterator[None]:
        """A kernel built inside a turn lets the device go until it is built. Inductor builds a template's
        kernels in its compile-worker processes, but its own process loads them lazily at their first
        run, which is inside the benchmark that times them: where that load misses the cache, `ptxas`
        runs inside the benchmark's turn, and every other worker waits for it. A build in another thread
        (inductor's precompile pool) touches no lock: only the turn's own thread holds it."""
        import fcntl

        me = threading.get_ident()
        alone = self._benchmarking
        f = self._alone if alone else self._shared
        if not self.active or f is None or self._holder != me or self._let_go:
            yield
            return
        self.sync()
        self._let_go, self._turn = True, None
        t0 = time.perf_counter()
        fcntl.flock(f, fcntl.LOCK_UN)
        try:
            yield
        finally:
            self.host_ms += (time.perf_counter() - t0) * 1e3
            self.host_breaks += 1
            self.waited_ms += self._take(f, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
            self._let_go = False
            if alone:
                self._paused += time.perf_counter() - t0
                self._turn = (time.perf_counter(), me)

    def stats(self) -> dict[str, float]:
        return {"benchmarks": self.benchmarks, "held_ms": round(self.held_ms, 1),
                "wait_ms": round(self.waited_ms, 1), "shared_turns": self.shared_turns,
                "host_breaks": self.host_breaks, "host_ms": round(self.host_ms, 1)}  # fmt: skip

    def since(self, before: dict[str, float]) -> dict[str, Any]:
        """What one compile did with the device since `before` (a `stats()`): counts and times, its longest
        turn, and its slowest turns (the three longest past `slow_turn_s`) with their stacks."""
        now = self.stats()
        first = int(before["benchmarks"])
        mine = self.turn_ms[first:]
        slow = sorted((t for t in self.slow if t["turn"] >= first), key=lambda t: -t["held_ms"])
        return {**{k: round(now[k] - before[k], 1) for k in now},
                "held_max_ms": round(max(mine), 1) if mine else 0.0,
                "slow_turns": [{k: v for k, v in t.items() if k != "turn"} for t in slow[:3]]}  # fmt: skip


_WRAPPED = "__wrapped_by_kernelatlas__"


def _wrap(owner: Any, name: str, context: Callable[[], Any], *, static: bool = False) -> bool:
    """Replace `owner.name` by a function that runs the original inside `context()`; installing again
    replaces the wrapper instead of stacking a second one. False where `owner` has no such attribute."""
    raw = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if raw is None:
        return False
    fn = raw.__func__ if isinstance(raw, staticmethod) else raw
    inner = getattr(fn, _WRAPPED, fn)

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with context():
            return inner(*args, **kwargs)

    setattr(wrapper, _WRAPPED, inner)
    setattr(owner, name, staticmethod(wrapper) if static or isinstance(raw, staticmethod) else wrapper)
    return True


def install_compile_turns(turns: CompileTurns, *, use_hook: bool = True) -> str | None:
    """Route inductor's device work during a compile through `turns`: every GPU benchmark (torch's own
    `set_gpu_benchmark_lock_context` where it has one, "hook"; else each benchmarker class's
    `benchmark_gpu` and `benchmark_gpu_with_cuda_graph` and `do_bench_using_profiling`, "wrapped") takes
    the device alone; a compiled graph's run and autotuning's example inputs take it shared; a Triton
    kernel's build (`CachingAutotuner.precompile`) inside either lets it go. Returns None where torch
    lacks the pieces: the caller then compiles holding the device lock, as before."""
    from torch._inductor import output_code, select_algorithm
    from torch._inductor import utils as inductor_utils
    from torch._inductor.runtime import benchmarking as bm

    graph = getattr(output_code, "CompiledFxGraph", None)
    selector = getattr(select_algorithm, "AlgorithmSelectorCache", None)
    if graph is None or selector is None or "__call__" not in vars(graph):
        return None
    if use_hook and hasattr(bm, "set_gpu_benchmark_lock_context"):
        bm.set_gpu_benchmark_lock_context(turns.benchmark)
        how = "hook"
    else:
        wrapped = [
            _wrap(cls, name, turns.benchmark)
            for cls in list(vars(bm).values())
            if isinstance(cls, type) and issubclass(cls, bm.Benchmarker)
            for name in ("benchmark_gpu", "benchmark_gpu_with_cuda_graph")
            if name in vars(cls)
        ]
        if not any(wrapped):
            return None
        profiling = getattr(inductor_utils, "do_bench_using_profiling", None)
        if profiling is not None:
            original = getattr(profiling, _WRAPPED, profiling)
            for mod in list(
                sys.modules.values()
            ):  # modules that imported it by name hold their own reference
                if getattr(mod, "__name__", "").startswith("torch._inductor") and getattr(
                    mod, "do_bench_using_profiling", None
                ) in (original, profiling):
                    _wrap(mod, "do_bench_using_profiling", turns.benchmark)
        how = "wrapped"
    _wrap(graph, "__call__", turns.shared)
    _wrap(selector, "benchmark_example_value", turns.shared)
    from torch._inductor.runtime import triton_heuristics

    autotuner = getattr(triton_heuristics, "CachingAutotuner", None)
    if autotuner is not None:
        _wrap(autotuner, "precompile", turns.host_work)
    return how


_turns: dict[str, tuple[CompileTurns, str | None]] = {}  # per device lock, installed once a process


def _compile_turns_for(lock: str, sync: Callable[[], None]) -> tuple[CompileTurns, str | None]:
    if lock not in _turns:
        turns = CompileTurns(lock, sync)
        _turns[lock] = (turns, install_compile_turns(turns))
    return _turns[lock]


def measure_problem(path: Path, device: str, baselines: tuple[str, ...], timing: dict[str, Any],
                    seed: int = 42, lock: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything the result file holds for one problem (run inside a worker process).

    With `lock`, the timed regions and CUDA-graph capture hold it exclusively; building, counting and
    default-mode compilation hold it shared and finish their device work before letting go (`gpu_lock`).
    max-autotune compiles taking the lock piece by piece (`CompileTurns`), so its exclusive turn only
    times (where torch lacks the pieces to hook, it compiles inside the exclusive turn, as before)."""
    import torch

    from repro.harness import problem as prob
    from repro.harness import timing as harness_timing

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    module = prob.load_module(path, "kernelatlas_kb_problem")
    shape: dict[str, Any] = {}
    with gpu_lock(lock, shared=True):
        model, sample = _model_and_sample(module, seed, device)
        rec: dict[str, Any] = count_work(model, sample)
        sync()
    rec["baselines"] = {}

    def fresh(i: int) -> list[Any]:
        return prob.make_inputs(module, shape, prob.timing_seed(seed, i), device)

    for kind in baselines:
        t0 = time.perf_counter()
        extra: dict[str, Any] = {}
        try:
            fn: Callable[..., Any] = model
            inputs_for: Callable[..., Any] = fresh
            if kind == "cuda-graph" and device != "cuda":
                rec["baselines"][kind] = {"error": "CUDA graphs need a GPU"}
                continue
            turns, how = _compile_turns_for(lock, sync) if kind == "max-autotune" and lock else (None, None)
            before = turns.stats() if turns else None
            compile_wait_ms = 0.0
            if kind == "compile":  # compiles beside other workers' device work, never beside a timing
                fn = torch.compile(model)
                with gpu_lock(lock, shared=True) as compile_wait_ms, torch.no_grad():
                    fn(*sample)
                    sync()
            elif (
                kind == "max-autotune" and turns and how
            ):  # the host's work beside anything, the device's in turns
                fn = torch.compile(model, **MAX_AUTOTUNE)
                turns.active = True
                try:
                    with torch.no_grad():
                        fn(*sample)
                    sync()
                finally:
                    turns.active = False
            with gpu_lock(lock) as waited_ms:
                t_locked = time.perf_counter()
                if kind == "cuda-graph":
                    from repro.harness.replay import graph_replay  # the harness package imports torch

                    replay, load = graph_replay(model, sample)
                    fn, inputs_for = replay, (lambda i, load=load: load(fresh(i)))
                elif kind == "max-autotune" and fn is model:  # autotunes alone: inside the exclusive turn
                    fn = torch.compile(model, **MAX_AUTOTUNE)
                    with torch.no_grad():
                        fn(*sample)
                    sync()
                after = turns.stats() if turns else None
                tuned_wait = (after["wait_ms"] - before["wait_ms"]) if after and before else 0.0
                setup_ms = (time.perf_counter() - t0) * 1e3 - waited_ms - compile_wait_ms - tuned_wait
                started = time.time()
                with torch.no_grad():
                    res = harness_timing.measure(fn, inputs_for, device, **timing)
                timed_at = [round(started, 3), round(time.time(), 3)]
                held_ms = (time.perf_counter() - t_locked) * 1e3
            if kind == "max-autotune" and lock:
                extra["device_turns"] = (
                    {"how": how, **turns.since(before)}
                    if how and turns and before else {"how": "compiled inside the exclusive turn"}
                )  # fmt: skip
            rec["baselines"][kind] = {**res.summary(), "setup_ms": round(setup_ms, 1), "timed_at": timed_at,
                                      "lock_wait_ms": round(waited_ms, 1), "lock_held_ms": round(held_ms, 1),
                                      **extra}  # fmt: skip
        except Exception as exc:  # one baseline failing is recorded, the others still run
            rec["baselines"][kind] = {"error": f"{type(exc).__name__}: {str(exc).strip()[:300]}"}
        finally:
            if kind in ("compile", "max-autotune"):
                torch._dynamo.reset()
    return rec


PARENT_POLL_S = 0.5  # how often a worker checks that the run that started it is still there


def _exit_with_parent(parent: int) -> None:
    """Kill this worker's process group (itself, inductor's compile pool, `ptxas`) once the run that
    started it is gone. A run stopped from outside (`timeout`, SIGKILL, a closed terminal) otherwise left
    its workers compiling and timing on the GPU for minutes, under a lock the next run does not share:
    on the H200 they were still at work through the whole of the next run."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _worker_main(plan_path: str) -> int:
    """Measure problems taken from the run's queue (`planned_problems`), appending one JSON line per
    problem to the plan's results file."""
    plan = json.loads(Path(plan_path).read_text())
    if plan.get("parent"):
        _exit_with_parent(int(plan["parent"]))
    device = plan["device"]
    # `kill -USR1 <worker>` writes every thread's stack to the worker's log (kept beside the plan):
    # where a problem that runs for minutes spends them.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    warm_up(device, plan.get("lock"))

    out = Path(plan["results"])

    def tell_wait(ms: float) -> None:
        with open(out, "a") as f:
            f.write(json.dumps({"waited_ms": round(ms, 1)}) + "\n")

    global _on_wait
    _on_wait = tell_wait
    for key, path, baselines in planned_problems(plan):
        t0 = time.perf_counter()
        cache = problem_compile_cache(plan["compile_cache"], key) if plan.get("compile_cache") else None
        tuned_before = autotuned_shapes(cache) if cache else 0
        try:
            with compile_cache_at(cache):
                rec = measure_problem(Path(path), device, tuple(baselines), plan["timing"], plan["seed"],
                                      plan.get("lock"))  # fmt: skip
        except Exception as exc:
            rec = {"error": f"{type(exc).__name__}: {str(exc).strip()[:300]}"}
        tuned = (rec.get("baselines") or {}).get("max-autotune")
        if cache and tuned is not None:
            tuned["autotune_cache"] = {"shapes_before": tuned_before, "shapes_after": autotuned_shapes(cache)}
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        with open(out, "a") as f:
            f.write(json.dumps({"done": key, "record": rec}) + "\n")
    return 0


def problem_compile_cache(root: str | Path, key: str) -> Path:
    """One problem's inductor cache under `--compile-cache`: one folder per problem, so workers compiling
    at once never rewrite one another's autotune file (inductor rewrites it whole after every op)."""
    return Path(root) / key.replace("/", "-")


def autotuned_shapes(cache: Path) -> int:
    """How many (op, input shapes) inductor's autotune file under `cache` holds timings for: what a
    compile cut short left for the next one, which then benchmarks only the rest."""
    n = 0
    for f in (cache / "cache").glob("*"):
        try:
            ops = json.loads(f.read_text()).get("cache", {})
        except (OSError, ValueError, AttributeError):
            continue  # a file inductor is rewriting, or not its own
        n += sum(len(by_inputs) for by_inputs in ops.values() if isinstance(by_inputs, dict))
    return n


@contextlib.contextmanager
def compile_cache_at(cache: Path | None) -> Iterator[None]:
    """Inductor's caches (autotune timings, compiled graphs, Triton kernels) in `cache` while one problem
    compiles; the worker's own temporary ones before and after. None: nothing changes."""
    if cache is None:
        yield
        return
    from torch._inductor import utils as inductor_utils

    cache.mkdir(parents=True, exist_ok=True)
    names = ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")
    before = {k: os.environ.get(k) for k in names}
    os.environ.update(TORCHINDUCTOR_CACHE_DIR=str(cache), TRITON_CACHE_DIR=str(cache / "triton"))
    clear = getattr(inductor_utils, "clear_caches", None) or inductor_utils.clear_inductor_caches
    clear()  # inductor remembers its cache paths per process
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        clear()


def warm_up(device: str, lock: str | None) -> None:
    """A worker's first use of torch, the FLOP counter (which imports torch._dynamo) and the timer:
    seconds on a busy host, paid before the first problem so that its timeout covers the problem."""
    import torch

    from repro.harness import timing as harness_timing

    if device == "cuda":
        torch.cuda.set_device(0)
    with gpu_lock(lock, shared=True):
        count_work(torch.nn.Linear(4, 4).to(device), [torch.randn(2, 4, device=device)])
        harness_timing.measure(lambda: None, lambda i: [], device, warmup=0, min_iters=1, max_iters=1,
                               target_rel_ci=1.0, max_time_s=1.0)  # fmt: skip


def write_queue(folder: Path, problems: list[tuple[str, Path, tuple[str, ...]]]) -> None:
    """A run's problems as one file each, named in the order they are to be taken (`take_next`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (key, path, baselines) in enumerate(problems):
        (folder / f"{i:05d}.json").write_text(json.dumps([key, str(path), list(baselines)]))


def queued(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*.json"))


def take_next(queue: Path, mine: Path) -> tuple[str, str, list[str]] | None:
    """Claim the first problem still queued: moving its file into `mine` succeeds for one worker only."""
    mine.mkdir(parents=True, exist_ok=True)
    for name in sorted(os.listdir(queue)):
        try:
            os.rename(queue / name, mine / name)
        except FileNotFoundError:  # another worker took it first
            continue
        key, path, baselines = json.loads((mine / name).read_text())
        return key, path, baselines
    return None


def planned_problems(plan: dict[str, Any]) -> Iterator[tuple[str, str, list[str]]]:
    """The problems a worker measures, taken one at a time from the run's queue, each announced to the
    parent ("start") before it is measured. A worker free takes the next, so one slow network holds up
    nothing queued behind it (fixed shards once left two workers idle for 700 s while SqueezeNet and
    Swin-MLP waited behind GoogLeNet). None is taken after the run's deadline but the first: the parent
    started this worker before the deadline, and a deadline shorter than the worker's start-up would
    otherwise leave it nothing to do."""
    out, stop_at = Path(plan["results"]), plan.get("stop_at")
    first = True
    while True:
        if not first and stop_at is not None and time.time() > stop_at:
            with open(out, "a") as f:
                f.write(json.dumps({"deadline": True}) + "\n")
            return
        item = take_next(Path(plan["queue"]), Path(plan["claimed"]))
        if item is None:
            return
        first = False
        with open(out, "a") as f:
            f.write(json.dumps({"start": item[0], "t": round(time.time(), 3)}) + "\n")
        yield item


# ------------------------------------------------------------------ the parent: scheduling and the file


def compile_threads(workers: int) -> int | None:
    """Inductor's compile processes per worker: the host's cores shared out among the workers (each
    worker's inductor would otherwise start one per core, and six workers' pools and their `ptxas` runs
    left a benchmark's turn, which every other worker waits for, short of CPU). None: one worker, or
    TORCHINDUCTOR_COMPILE_THREADS set by the user (theirs is used)."""
    if workers <= 1 or "TORCHINDUCTOR_COMPILE_THREADS" in os.environ:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // workers)


def baseline_settings_hash(device: str, timing: dict[str, Any], seed: int) -> str:
    """What makes two measurements of one baseline comparable: device, timer settings, seed (not which
    other baselines were measured in the same run)."""
    blob = json.dumps({"device": device, "timing": timing, "seed": seed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _upgrade(data: dict[str, Any]) -> None:
    """Files written before per-baseline bookkeeping: each stored baseline inherits the file's settings."""
    old = data.get("settings") or {}
    if not old or "runs" in data:
        return
    h = baseline_settings_hash(old.get("device", ""), old.get("timing", {}), old.get("seed", 42))
    data["runs"] = [{"settings": old, "provenance": data.get("provenance"), "workers": 1}]
    for rec in data["tasks"].values():
        if rec.get("settings_hash") != data.get("settings_hash"):
            continue
        for b in (rec.get("baselines") or {}).values():
            b.setdefault("settings_hash", h)
            b.setdefault("run", 0)


def _missing(
    rec: dict[str, Any] | None,
    problem_sha: str,
    wanted: tuple[str, ...],
    h: str,
    runs: list[dict[str, Any]] | None = None,
    workers: int = 1,
) -> tuple[str, ...]:
    """The baselines of `wanted` a stored record lacks: not measured with settings `h` on this source, or
    lost to a crash or timeout of the whole problem (tried again). A baseline's own error (e.g. a model
    that cannot be captured in a CUDA graph) is a result and stays, unless it ran out of device memory
    beside other workers (tried again: alone it may fit). A run of one worker also measures again what
    a run of several timed by the host clock (`_host_clock_beside_others`)."""
    if not rec or rec.get("problem_sha256") != problem_sha or rec.get("error"):
        return wanted
    have = rec.get("baselines") or {}

    def stale(b: dict[str, Any]) -> bool:
        if b.get("settings_hash") != h or b.get("retry"):
            return True
        return workers == 1 and _host_clock_beside_others(b, runs or [])

    return tuple(k for k in wanted if k not in have or stale(have[k]))


def _timeout_error(timeout_s: float) -> str:
    return f"the measurement did not finish within {round(timeout_s, 1):g} s"


STOPPED = " (the run was stopped while it ran)"  # ends the error of a problem a stopped run was measuring


_TIMED_OUT = re.compile(r"did not finish within ([0-9.]+) s")  # reads `_timeout_error`'s message


def _unfinished(results: Path, now: float | None = None) -> tuple[str, float] | None:
    """The problem a worker has announced in its results lines and not finished: its key and the seconds
    it has run by `now` (wall clock), less its waits for the other workers' turns on the device, as the
    timeout counts them. A line being written as this reads is skipped."""
    key, started, waited = None, 0.0, 0.0
    for line in results.read_text().splitlines() if results.is_file() else []:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "start" in msg:
            key, started, waited = msg["start"], float(msg.get("t") or time.time()), 0.0
        elif "waited_ms" in msg:
            waited += msg["waited_ms"] / 1e3
        elif "done" in msg:
            key = None
    if key is None:
        return None
    return key, max(0.0, (time.time() if now is None else now) - started - waited)


def _count_timeouts(new: dict[str, Any], before: dict[str, Any]) -> None:
    """A baseline that ran out of time again records how often and how long it has been tried in all
    (`attempts`, `seconds_tried`): a network that needs more than one run's timeout is told apart from
    one that was given too little once, and the next run can be sized from it."""
    now = _TIMED_OUT.search(str(new.get("error", "")))
    if now is None:
        return
    prev = _TIMED_OUT.search(str(before.get("error", "")))
    attempts = int(before.get("attempts") or 1) if prev else 0
    tried = float(before.get("seconds_tried") or float(prev.group(1))) if prev else 0.0
    new.update(attempts=attempts + 1, seconds_tried=round(tried + float(now.group(1)), 1))


def _expected_cost(rec: dict[str, Any] | None, need: tuple[str, ...]) -> tuple[int, float]:
    """Sort key that puts a run's cheap problems first: those measured before, by their last time (or
    their baselines' set-up time); then those never measured; last those whose measurement ran out of
    time. Workers take problems from the queue in this order, so a run stopped by its deadline has
    finished as many problems as it could and leaves the slow ones to the next run."""
    if not rec:
        return (1, 0.0)
    have = rec.get("baselines") or {}
    errors = [rec.get("error"), *((have.get(k) or {}).get("error") for k in need)]
    if any(_TIMED_OUT.search(str(e or "")) for e in errors):
        return (2, 0.0)
    seconds = rec.get("seconds")
    if not isinstance(seconds, (int, float)):  # older records: the set-up of the baselines they hold
        setups = [b["setup_ms"] / 1e3 for b in have.values() if isinstance(b, dict) and "setup_ms" in b]
        if not setups:
            return (1, 0.0)
        seconds = sum(setups)
    return (0, float(seconds))


def _host_clock_beside_others(b: dict[str, Any], runs: list[dict[str, Any]]) -> bool:
    """Whether `b` was timed by the host clock in a run of several workers. The harness times by the
    host clock when it runs clearly longer than the stream's events (work on another stream or a host
    thread); beside other workers' compiles that clock may also count their load on the CPU (a timer
    descheduled while its GPU work is done): on the H200, 9 of 227 max-autotune baselines fell back to
    it, 8 of them among the 15 where max-autotune came out over 20% slower than the default compile,
    their iterations bimodal (2.7 against 6.8 ms)."""
    from repro.harness.timing import SIDE_WORK_NOTE

    run = b.get("run")
    if SIDE_WORK_NOTE not in str(b.get("method", "")) or not isinstance(run, int) or not 0 <= run < len(runs):
        return False
    return int(runs[run].get("workers") or 1) > 1


def gpu_processes(exclude: set[int]) -> list[dict[str, Any]] | None:
    """Processes holding a CUDA context on this machine's GPUs, by `nvidia-smi` (None where it cannot
    tell), leaving out `exclude`. A run that starts beside them would time its baselines while their
    kernels share the GPU."""
    try:
        r = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,process_name,used_memory",
                            "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    found = []
    for line in r.stdout.splitlines():
        parts = [x.strip() for x in line.split(",")]
        if len(parts) >= 3 and parts[0].isdigit() and int(parts[0]) not in exclude:
            found.append({"pid": int(parts[0]), "name": parts[1], "mib": parts[2]})
    return found


def lock_dir() -> Path:
    """Where the device locks live: one per GPU for the whole machine (`KERNELATLAS_LOCK_DIR`, by default
    the system's temporary folder), so that two runs of this command, or a run and the workers a killed
    run left behind, take turns on a GPU instead of timing on it at once."""
    return Path(os.environ.get("KERNELATLAS_LOCK_DIR") or tempfile.gettempdir())


def device_lock_path(device: str, gpu: int | None, workers: int) -> str | None:
    """The lock a worker's device work takes: a GPU's machine-wide lock, even for one worker (another run
    may share the GPU); none for one worker on the CPU, where timings are not the product."""
    if device == "cpu" and workers <= 1:
        return None
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"kernelatlas-{device}-{gpu if gpu is not None else 0}.lock")


def run_suite(root: Path, levels: list[int], out: Path, *, device: str, baselines: tuple[str, ...],
              timing: dict[str, Any], timeout_s: float, deadline_s: float | None = None, force: bool = False,
              kernelbench_commit: str | None = None, tasks: list[str] | None = None, seed: int = 42,
              workers: int = 1, gpus: list[int] | None = None, allow_busy_gpu: bool = False,
              compile_cache: Path | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:  # fmt: skip
    """Measure every (problem, baseline) not yet in `out` with the same settings and source.

    `workers` processes run at once (spread over `gpus`, one lock per GPU for the whole machine,
    `device_lock_path`; each worker dies with the run, `_exit_with_parent`): model building, input
    generation, FLOP counting and `torch.compile`'s compilation overlap one another on the host's cores
    and the device (sharing the GPU's lock), while a timed region holds that lock alone, so nothing else
    runs on its device while it is timed; max-autotune's compile takes the lock piece by piece (`CompileTurns`).
    A problem that
    crashes or outlasts `timeout_s` (its waits for the lock not counted) is recorded as such and
    its worker replaced; baselines measured earlier for a problem are kept when others are added.

    `compile_cache`: inductor's caches kept there, one folder per problem (`problem_compile_cache`), so
    a max-autotune compile cut short continues on the next run, on this machine or on another of the same
    GPU model given the folder, benchmarking only the shapes it had not reached. The run records the
    folder; each max-autotune reading, how many shapes were timed before it started, and an attempt lost
    to a timeout or a stop, how many its folder holds for the next run."""
    from repro.harness import peaks as peaks_mod
    from repro.records.provenance import device_name, provenance

    if workers < 1:
        raise SuiteError(f"--workers {workers}: give at least 1")
    if compile_cache is not None:  # made here, not in each worker: a folder it cannot make fails the run once
        if compile_cache.exists() and not compile_cache.is_dir():
            raise SuiteError(f"--compile-cache {compile_cache}: a file, not a folder; give a folder (it is "
                             "created if missing)")  # fmt: skip
        try:
            compile_cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SuiteError(f"--compile-cache {compile_cache}: the folder cannot be made ({exc.strerror}); "
                             "give a folder you can write to") from exc  # fmt: skip
    problems = discover(root, levels)
    if tasks:
        known = {k for k, _ in problems}
        missing = [t for t in tasks if t not in known]
        if missing:
            raise SuiteError(f"--tasks: {missing} not found under {root} (keys look like {problems[0][0]})")
        problems = [(k, p) for k, p in problems if k in set(tasks)]
    settings = {"device": device, "baselines": list(baselines), "timing": timing, "seed": seed}
    h = baseline_settings_hash(device, timing, seed)
    data = load_results(out) or {"format": FORMAT, "format_version": FORMAT_VERSION, "tasks": {}}
    _upgrade(data)
    # Before this process makes a CUDA context of its own: in a container `nvidia-smi` may name
    # processes by the host's pids, so every process it lists then is another's.
    others = gpu_processes({os.getpid()}) if device == "cuda" else []
    if others and not allow_busy_gpu:
        named = ", ".join(f"pid {o['pid']} ({o['name']}, {o['mib']} MiB)" for o in others)
        raise SuiteError(f"the GPU is in use by {named}: its kernels would share the GPU with the timed "
                         "regions. Stop it (a killed earlier run's workers?), or pass --allow-busy-gpu")  # fmt: skip
    prov = provenance(device)
    dev = device_name(device)
    peaks = peaks_mod.load(dev)
    if peaks is None:
        peaks = peaks_mod.measure_and_store(peaks_mod.peaks_path(dev), device)
    gpu_list = (gpus or [0]) if device == "cuda" else [None]
    pool = compile_threads(workers)
    data.setdefault("runs", []).append({"id": uuid.uuid4().hex[:16], "settings": settings, "provenance": prov,
                                        "workers": workers, "device_lock": DEVICE_LOCK, "compile_threads": pool,
                                        "gpus": gpu_list if device == "cuda" else None,
                                        "other_gpu_processes": others,
                                        **({"compile_cache": str(compile_cache)} if compile_cache else {})})  # fmt: skip
    run_index = len(data["runs"]) - 1
    data.update(
        kernelbench={"root": str(root), "commit": kernelbench_commit or checkout_commit(root)},
        settings=settings, settings_hash=h, provenance=prov,
        peaks={k: peaks.get(k) for k in ("copy_bytes_per_s", "flops_per_s", "method")},
    )  # fmt: skip

    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    todo: list[tuple[str, Path, tuple[str, ...]]] = []
    for k, p in problems:
        need = (
            baselines
            if force
            else _missing(data["tasks"].get(k), sha(p), baselines, h, data["runs"], workers)
        )
        if need:
            todo.append((k, p, need))
    todo.sort(key=lambda t: _expected_cost(data["tasks"].get(t[0]), t[2]))
    counts: dict[str, float] = {"skipped": len(problems) - len(todo), "measured": 0, "failed": 0, "left": 0}
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="kernelatlas-kb-"))
    keep_logs = threading.Event()
    lock = threading.RLock()  # guards `data`, `counts`, `live`, `results_of` and the file
    live: set[subprocess.Popen[bytes]] = set()  # the workers running now
    stored: list[str] = []  # the problems this run wrote to the file
    results_of: dict[int, Path] = {}  # per worker running now: its results lines
    stopping = threading.Event()  # the run was stopped: its own killing of workers is no crash
    everything = {k: (p, b) for k, p, b in todo}

    def store(key: str, path: Path, rec: dict[str, Any], need: tuple[str, ...]) -> None:
        """Merge one problem's new measurements into its record: baselines measured before on the same
        source stay; a problem-level failure then becomes the failure of the baselines asked for that
        hold no reading."""
        with lock:
            failed_problem = bool(rec.get("error"))
            # A lost max-autotune attempt under --compile-cache: the shapes it timed, which the next run keeps.
            kept_tuning = (
                {"shapes_after": autotuned_shapes(problem_compile_cache(compile_cache, key))}
                if compile_cache and failed_problem and "max-autotune" in need
                else None
            )
            old = data["tasks"].get(key) or {}
            problem_sha = sha(path)
            same_source = old.get("problem_sha256") == problem_sha and not old.get("error")
            kept = (old.get("baselines") or {}) if same_source else {}
            if kept and rec.get("error"):
                # A lost attempt (a crash, a timeout, a stopped run) is no result: a reading already held
                # (`--force`, a host-clock reading measured again) stays, and only the others fail.
                need = tuple(k for k in need if "error" in kept.get(k, {"error": None}))
                failed = {k: {"error": rec["error"], "retry": True} for k in need}
                fields = {k: v for k, v in old.items() if k not in ("baselines", "seconds", "date")}
                rec = {**fields, "seconds": rec.get("seconds"), "baselines": {**kept, **failed}}
            elif kept:
                rec = {**rec, "baselines": {**kept, **rec.get("baselines", {})}}
            elif rec.get("error"):  # the whole problem failed, nothing of it kept: counted on the problem
                _count_timeouts(rec, old if old.get("problem_sha256") == problem_sha else {})
                if kept_tuning:
                    rec["autotune_cache"] = kept_tuning
            for k in need:
                got = rec.get("baselines", {}).get(k)
                if got is not None:
                    got.update(settings_hash=h, run=run_index)
                    before = (old.get("baselines") or {}).get(k, {}) if same_source else {}
                    if before.get("set_aside") is not None:  # a withdrawn reading stays beside its successor
                        got.setdefault("set_aside", before["set_aside"])
                    _count_timeouts(got, before)
                    if workers > 1 and str(got.get("error", "")).startswith("OutOfMemoryError"):
                        got["retry"] = True  # the other workers' memory, not the problem's: tried again
                    if k == "max-autotune" and kept_tuning and "error" in got:
                        got["autotune_cache"] = kept_tuning
            _store(data, key, path, rec, h, problem_sha, peaks)
            stored.append(key)
            write_json_atomic(out, {**data, "updated": utc_now()})
            counts["failed" if failed_problem else "measured"] += 1
        log(_line(key, rec, data["tasks"][key]))

    queue = work / "queue"
    write_queue(queue, todo)

    def worker_loop(slot: int) -> None:
        """Keep one worker process taking problems from the queue: a new one after a crash or a
        timeout, none after the deadline."""
        gpu = gpu_list[slot % len(gpu_list)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KERNELATLAS_GIT")}
        if pool is not None:
            env["TORCHINDUCTOR_COMPILE_THREADS"] = str(pool)
        if device == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""
        elif gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(gpu)
        lock_path = device_lock_path(device, gpu, workers)
        n = 0
        stopped = False
        while queued(queue):
            if stopped or (deadline_s is not None and time.monotonic() - t0 > deadline_s):
                break
            n += 1
            results = work / f"results-{slot}-{n}.jsonl"
            stop_at = None if deadline_s is None else time.time() + deadline_s - (time.monotonic() - t0)
            plan = {"device": device, "timing": timing, "seed": seed, "results": str(results),
                    "lock": lock_path, "parent": os.getpid(), "stop_at": stop_at,
                    "queue": str(queue), "claimed": str(work / f"claimed-{slot}"),
                    "compile_cache": str(compile_cache.resolve()) if compile_cache else None}  # fmt: skip
            plan_path = work / f"plan-{slot}.json"
            plan_path.write_text(json.dumps(plan))
            with open(work / f"worker-{slot}.log", "ab") as errlog:
                proc = subprocess.Popen(
                    [sys.executable, "-c", _WORKER, str(plan_path)], env=env, start_new_session=True,
                    stdout=subprocess.DEVNULL, stderr=errlog,
                )  # fmt: skip
            with lock:
                live.add(proc)
                results_of[slot] = results
            seen = 0
            started_at = time.monotonic()
            current = None
            over = False
            while True:
                lines = results.read_text().splitlines() if results.is_file() else []
                for line in lines[seen:]:
                    msg = json.loads(line)
                    if "start" in msg:
                        current, started_at = msg["start"], time.monotonic()
                    elif "waited_ms" in msg:  # the other workers' turns: not the problem's time
                        started_at += msg["waited_ms"] / 1e3
                    elif "deadline" in msg:  # the worker reached the run's deadline between problems
                        stopped = True
                    else:
                        key = msg["done"]
                        store(key, everything[key][0], msg["record"], everything[key][1])
                        current = None
                seen = len(lines)
                if proc.poll() is not None and seen == len(
                    results.read_text().splitlines() if results.is_file() else []
                ):
                    break
                over = current is not None and time.monotonic() - started_at > timeout_s
                late = deadline_s is not None and time.monotonic() - t0 > deadline_s + timeout_s
                if over or late:
                    break
                time.sleep(0.2)
            killed_here = proc.poll() is None
            if killed_here:
                os.killpg(proc.pid, 9)
                proc.wait()
            with lock:
                live.discard(proc)
                results_of.pop(slot, None)
            if stopping.is_set():  # killed by the run's own stop, which records the problem itself
                return
            if current is not None:  # crashed or hung on this problem
                if killed_here:
                    why = _timeout_error(timeout_s if over else time.monotonic() - started_at)
                elif proc.returncode == -9:
                    why = ("the worker process was killed (SIGKILL from outside, most often the out-of-memory "
                           "killer: measure this problem alone, or with fewer --workers)")  # fmt: skip
                else:
                    why = f"the worker process exited with status {proc.returncode}"
                store(current, everything[current][0], {"error": why}, everything[current][1])
                log(f"{current}: {why}")
            elif proc.returncode not in (0, None) and seen == 0:
                keep_logs.set()
                log(
                    f"worker {slot} exited with status {proc.returncode} before its first problem; see {errlog.name}"
                )
                break

    threads = [
        threading.Thread(target=worker_loop, args=(i,), daemon=True) for i in range(min(workers, len(todo)))
    ]
    ended = "interrupted"
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        left = queued(queue)
        if left and keep_logs.is_set():  # no worker got as far as its first problem
            counts["failed"] += left
        elif left:
            counts["left"] += left
            why = "" if deadline_s is None else f"deadline of {deadline_s:g} s reached: "
            log(f"{why}{left} problem(s) left for the next run")
        ended = "deadline" if counts["left"] else "complete"
    finally:  # Ctrl-C or SIGTERM: no worker outlives the run (each also watches for its parent)
        if ended == "interrupted":  # the time given to the problems being measured is an attempt too
            with lock:  # held throughout: a result arriving meanwhile is stored after, over this
                stopping.set()
                for results in list(results_of.values()):  # read now: the loops poll every 0.2 s
                    unfinished = _unfinished(results)
                    if unfinished is None:
                        continue
                    key, seconds = unfinished
                    why = _timeout_error(seconds) + STOPPED
                    store(key, everything[key][0], {"error": why}, everything[key][1])
        with lock:
            for proc in list(live):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            if stored:  # a run that stored nothing is not recorded at all
                data["runs"][run_index].update(ended=ended, ended_at=utc_now())
                write_json_atomic(out, {**data, "updated": utc_now()})
    if (
        not keep_logs.is_set()
    ):  # the plans, results lines and worker logs; kept when a worker's log is referred to
        shutil.rmtree(work, ignore_errors=True)
    counts["seconds"] = round(time.monotonic() - t0, 1)
    return counts


_WORKER = (
    "import sys; from repro.published.kernelbench import _worker_main; sys.exit(_worker_main(sys.argv[1]))"
)


def _store(data: dict, key: str, path: Path, rec: dict, settings_hash: str, problem_sha: str,
           peaks: dict | None) -> None:  # fmt: skip
    level = int(key.split("/")[0].removeprefix("level"))
    data["tasks"][key] = {"level": level, "file": path.name, "problem_sha256": problem_sha,
                          "settings_hash": settings_hash, "date": utc_now(), **rec, **sol(rec, peaks)}  # fmt: skip


def _line(key: str, rec: dict, stored: dict) -> str:
    if rec.get("error"):
        return f"{key}: error {rec['error']}"
    parts = []
    for k, b in rec.get("baselines", {}).items():
        frac = (stored.get("sol_fraction") or {}).get(k)
        parts.append(
            f"{k} {b['median']:.4f} ms" + (f" ({frac:.0%} SOL)" if frac else "")
            if b.get("median")
            else f"{k} error"
        )
    return f"{key}: " + ", ".join(parts) + f"  [{rec.get('seconds')} s]"
