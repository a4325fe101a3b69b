"""The parent-clocked batch: the reported time checked on a clock outside the candidate's process.

Every time of the timed loop is measured inside the candidate's process, so a candidate that replaces
the worker's side of the channel can report times of its choosing (the physical floor refuses only the
impossible ones). After the timed loop, the parent therefore sends K seeds the candidate has never
seen (the reference worker's *batch pool*: their inputs cannot have been precomputed) and notes the
time on its own clock; the worker generates their inputs (fresh buffers: see `run`), runs the K calls
back to back and sends one
projection per output on a random vector drawn from the seed (a projection depends on every element,
so no work can be deferred past the message or done at a few positions only); the parent notes when
they arrive. The reference worker computed the same projections from its outputs, and timed the same
batch with the call left out (input generation and projections, on the same device): the parent
subtracts that, and refuses a reported median its own clock contradicts beyond `TOLERANCE`. On the
CPU path it also reads the CPU time the kernel accounted to the candidate's process tree over the batch
(`/proc`, outside the process too), and counts the smaller of the two: the CPU time is what a loaded
machine's scheduler does not inflate, the wall time what parallel work does not.

What a forged time gains at most: the tolerance, the fixed allowance over K calls, and on CUDA the
launch cost the timed loop's pre-roll hides and the batch cannot (`launch_allowance_ms`; zero where
the batch's own device work already outlasts its launches), a share of the batch's own cost
(`OWN_COST_SHARE`, the error of subtracting it as measured on an H200) and a multiple of its host part
(`HOST_SPEED_SPREAD`: the candidate's process may get a slower CPU than the reference worker's did). On
CUDA the check therefore resolves kernels whose time is large against the batch's own cost, which the
projection vectors (windows of one base: `weights`) keep to input generation and one multiply-and-sum
per output.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from repro.harness import procfs, timing

_perf_counter_ns = timing._perf_counter_ns

# Seeds in the reference's batch pool: at most POOL_MAX, computed until POOL_BUDGET_S has passed and at
# least POOL_MIN (the smallest batch, ROUNDS times).
POOL_MAX = 64
POOL_MIN = 6
POOL_BUDGET_S = 1.0
# A batch is sized to take about TARGET_MS (the reported median plus overhead, per call), with at least
# K_MIN calls; further rounds (ROUNDS in all), on other seeds, only while each contradicts the report.
TARGET_MS = {"cuda": 20.0, "cpu": 150.0}
K_MIN = 2
ROUNDS = 3
# The parent-clocked time per call may exceed the reported median by this fraction ...
TOLERANCE = {"cuda": 0.25, "cpu": 0.5}
# ... plus this much per batch (pipe wake-ups on both sides, the final synchronize, the scheduler of a
# busy machine). On the CPU path, a 2-core machine under a test suite's load refused honest candidates
# by 0.12 and 0.46 ms a call over 21-call batches (their processes' CPU time ran up to 1.55x the timed
# loop's); 30 ms a batch covers that, and the half-time forger stays refused by about 2 ms a call ...
FIXED_MS = {"cuda": 1.0, "cpu": 30.0}
# ... plus, on CUDA, this fraction of the batch's own cost per call (inputs and projections, timed by
# the reference worker and subtracted): on an H200 the subtraction was off by +0.035 ms a call for the
# honest softmax solution (own cost 1.18 ms, median 0.128 ms: refused by 0.0004 ms without it) and by
# -0.09 to -0.24 ms for others, so the parent's clock resolves the time of kernels no shorter than about
# this share of their inputs' generation ...
OWN_COST_SHARE = {"cuda": 0.1, "cpu": 0.0}
# On CUDA, the host's part of the own cost (the time spent launching it) runs at the speed of the CPU the
# process happens to get, which is not the reference worker's: on an H200 host (commit 8210fae) the same
# inputs and projections cost 0.29 ms a call in one process and up to 0.65 ms in another, and a batch
# whose calls are shorter than their launching is timed at the host's speed. Honest 0.06 ms row
# reductions were refused by up to 0.31 ms a call (0.9 of that host part). The rule therefore allows
# this many times the host part besides, on CUDA: a forged time gains at most that much more.
HOST_SPEED_SPREAD = {"cuda": 1.5, "cpu": 0.0}
# ... and projections may differ from the reference's by this many standard deviations of the sum of
# errors within the output tolerance.
SIGMAS = 6.0
_W_SALT = 0x5DEECE66D


_TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


def tree_cpu_ms(root: int | None) -> float | None:
    """CPU time (user + system, its reaped children's included) of process `root` and every descendant,
    from /proc: the kernel's accounting, which no process can rewrite. None where /proc cannot tell."""
    if root is None:
        return None
    table = procfs.stat_table()
    if root not in table:
        return None
    try:  # utime stime cutime cstime
        return (
            sum(sum(int(x) for x in table[p][11:15]) for p in [root, *procfs.descendants(root, table)])
            * _TICK_MS
        )
    except ValueError:
        return None


# Outputs are projected in chunks of this many elements (a vector per chunk: `weights`), so a projection
# needs at most two chunks' worth of memory beside the output.
CHUNK = 1 << 24


# The random vectors are windows of one standard-normal base per (device, length), at an offset drawn from
# (seed, output, chunk) on the host: generating a fresh vector per call cost more than the projection's
# arithmetic (on an H200, 0.87 ms of a 1.2 ms own cost per call for a 64M-element output), and the
# subtracted own cost carries an error proportional to its size. Knowing the base gains a forger nothing:
# the projection still needs every element of the output.
WINDOW_SPAN = 1 << 16
_BASES_MAX = 8
_bases: dict[tuple[str, int], torch.Tensor] = {}


def _base(n: int, device: Any) -> torch.Tensor:
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    key = (str(dev), n)
    base = _bases.get(key)
    if base is None:
        if len(_bases) >= _BASES_MAX:
            _bases.pop(next(iter(_bases)))
        gen = torch.Generator(device=dev).manual_seed((_W_SALT * 31 + n) % (1 << 62))
        base = torch.randn(n + WINDOW_SPAN, generator=gen, device=dev, dtype=torch.float32)
        _bases[key] = base
    return base


def weights(seed: int, k: int, chunk: int, n: int, device: Any) -> torch.Tensor:
    """The random vector chunk `chunk` of output `k` of the call with `seed` is projected on: a window of
    the base (the global RNG state after forward does not matter; no device work once the base exists)."""
    key = (seed * 1_000_003 + k * 65_537 + chunk + _W_SALT) % (1 << 62)
    offset = random.Random(key).randrange(WINDOW_SPAN)
    return _base(n, device)[offset : offset + n]


def warm(numels: Sequence[int], device: Any) -> None:
    """Build the bases for outputs of these sizes before a batch is timed (the reference worker builds
    them while computing its pool's projections)."""
    for n in numels:
        for start in range(0, n, CHUNK):
            _base(min(CHUNK, n - start), device)


def _flat(out: torch.Tensor) -> torch.Tensor:
    flat = out.detach().reshape(-1)
    if flat.is_complex():
        flat = torch.view_as_real(flat.resolve_conj()).reshape(-1)
    return flat


def _chunks(out: torch.Tensor, seed: int, k: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(part of the flattened output, its random vector), chunk by chunk."""
    flat = _flat(out)
    for c, start in enumerate(range(0, flat.numel(), CHUNK)):
        part = flat[start : start + CHUNK]
        yield part, weights(seed, k, c, part.numel(), part.device)


def project(outs: Sequence[torch.Tensor], seed: int) -> torch.Tensor:
    """One float64 projection per output, left on the device (no synchronisation)."""
    ps = []
    for k, out in enumerate(outs):
        total = torch.zeros((), dtype=torch.float64, device=out.device)
        for part, w in _chunks(out, seed, k):
            if part.dtype == torch.float64:
                total = total + torch.dot(part, w.double())
            else:
                total = total + (part.to(torch.float32) * w).sum(dtype=torch.float64)
        ps.append(total)
    if not ps:
        return torch.zeros(0, dtype=torch.float64)
    return torch.stack(ps)


def reference_terms(outs: Sequence[torch.Tensor], seed: int) -> dict[str, list[float]]:
    """The reference's projections, and what the allowed difference is computed from for any (atol,
    rtol): per output, the element count, sum |r|, sum r^2 and sum |w r| (float32 products round)."""
    terms: dict[str, list[float]] = {"p": [], "n": [], "s1": [], "s2": [], "wr": []}
    for k, out in enumerate(outs):
        s1 = s2 = wr = 0.0
        for part, w in _chunks(out, seed, k):
            r = part if part.dtype == torch.float64 else part.to(torch.float32)
            s1 += float(r.abs().sum(dtype=torch.float64))
            s2 += float((r * r).sum(dtype=torch.float64))
            wr += float((r * w.to(r.dtype)).abs().sum(dtype=torch.float64))
        terms["n"].append(float(_flat(out).numel()))
        terms["s1"].append(s1)
        terms["s2"].append(s2)
        terms["wr"].append(wr)
    terms["p"] = [float(p) for p in project(outs, seed).cpu()]
    return terms


def allowed_difference(terms: dict[str, list[float]], k: int, atol: float, rtol: float) -> float:
    """|candidate projection - reference projection| allowed for output `k`: SIGMAS standard deviations
    of sum w_i e_i for errors |e_i| <= atol + rtol |r_i| (w standard normal), plus float rounding."""
    var = terms["n"][k] * atol * atol + 2 * atol * rtol * terms["s1"][k] + rtol * rtol * terms["s2"][k]
    return SIGMAS * math.sqrt(max(var, 0.0)) + 2.4e-7 * terms["wr"][k] + 1e-9


def run(fn: Callable[..., Any], inputs_for: Callable[[int], list[Any]], flatten: Callable[[Any], list],
        seeds: Sequence[int], sync: Callable[[], None]) -> tuple[list[list[float]], float]:  # fmt: skip
    """The batch as the worker runs it: per seed, fresh inputs (allocated while the previous call's are
    still held, so never at their addresses; at most two sets alive, as in the timed loop), one call,
    the projections queued; one synchronisation at the end. Returns the projections and the host time
    spent launching (ms).

    Fresh buffers, unlike the timed loop's: writing each call's inputs into the previous call's buffers
    costs a copy that a forger would skip and the parent would have subtracted (for an elementwise
    kernel as long as the kernel itself). Every call here is checked, so behaving differently on these
    buffers gains nothing; a kernel fast only on reused addresses shows its speed on fresh ones."""
    projs = []
    held: list[Any] = []
    t0 = _perf_counter_ns()
    for seed in seeds:
        inputs = inputs_for(seed)
        out = fn(*inputs)
        projs.append(project(flatten(out), seed))
        del out
        held = inputs  # the previous call's inputs are released only now
    del held
    launched = (_perf_counter_ns() - t0) / 1e6
    sync()
    values = torch.stack(projs).cpu().tolist() if projs else []
    return values, launched


def overhead(inputs_for: Callable[[int], list[Any]], outs: list[torch.Tensor], seeds: Sequence[int],
             sync: Callable[[], None], repeats: int = 3, count_cpu: bool = False) -> dict[str, float]:  # fmt: skip
    """What the batch costs per call besides the call, timed in the reference worker: inputs generated
    and an output (the reference's own, always the same) projected, per seed. `gen_ms` with the final
    synchronisation, `launch_ms` the host time of launching it (medians of `repeats`). With `count_cpu`
    (the CPU path) a repeat counts the smaller of its wall time and this process's CPU time, as the
    parent counts the candidate's rounds: a busy machine would otherwise inflate the subtracted cost by
    its scheduling delays and let a forged time through."""
    gen, launch = [], []
    for _ in range(repeats):
        sync()
        t0, c0 = _perf_counter_ns(), time.process_time_ns()
        _, launched = run(lambda *a: outs, inputs_for, lambda o: o, seeds, sync)
        wall_ms = (_perf_counter_ns() - t0) / 1e6
        if count_cpu:
            wall_ms = min(wall_ms, (time.process_time_ns() - c0) / 1e6)
        gen.append(wall_ms / max(1, len(seeds)))
        launch.append(launched / max(1, len(seeds)))
    return {"gen_ms": sorted(gen)[len(gen) // 2], "launch_ms": sorted(launch)[len(launch) // 2]}


def calls_for(median_ms: float, gen_ms: float, pool: int, device: str) -> int:
    """K: enough calls for the batch to take about TARGET_MS, within what the pool holds for ROUNDS."""
    per_call = max(median_ms + gen_ms, 1e-3)
    k = math.ceil(TARGET_MS.get(device, TARGET_MS["cpu"]) / per_call)
    return max(min(k, pool // ROUNDS), min(K_MIN, pool // ROUNDS))


def launch_allowance_ms(device: str, gen_ms: float, launch_ms: float) -> float:
    """Launch cost per call that the timed loop hides (its GPU pre-roll) and a back-to-back batch cannot:
    an honest kernel whose launches outlast its device time shows them on the parent's clock. The batch's
    own device work (inputs, projections) hides launches for as long as it outlasts their launching."""
    if device != "cuda":
        return 0.0
    return max(0.0, timing.PREROLL_MS - max(0.0, gen_ms - launch_ms))


@dataclass(frozen=True)
class Verdict:
    per_call_ms: float  # parent-clocked, less the reference-timed overhead (the best round)
    allowed_ms: float
    rounds_ms: list[float]
    calls: int
    cpu_counted: bool = False  # the process tree's CPU time was the smaller, and counted

    @property
    def contradicts(self) -> bool:
        return self.per_call_ms > self.allowed_ms


def judge_time(rounds_ms: Sequence[float], calls: int, median_ms: float, gen_ms: float, launch_ms: float,
               device: str, rounds_cpu_ms: Sequence[float | None] = ()) -> Verdict:  # fmt: skip
    """The parent's clock against the reported median; the fastest round counts (noise only adds). On
    the CPU path a round's time is the smaller of its wall time and its process tree's CPU time."""
    fixed = FIXED_MS.get(device, FIXED_MS["cpu"])
    per_call, cpu_counted = math.inf, False
    for r, ms in enumerate(rounds_ms):
        cpu = rounds_cpu_ms[r] if device != "cuda" and r < len(rounds_cpu_ms) else None
        counted = min(ms, cpu) if cpu is not None else ms
        est = (counted - fixed) / calls - gen_ms
        if est < per_call:
            per_call, cpu_counted = est, cpu is not None and cpu < ms
    tol = TOLERANCE.get(device, TOLERANCE["cpu"])
    share = OWN_COST_SHARE.get(device, OWN_COST_SHARE["cpu"])
    spread = HOST_SPEED_SPREAD.get(device, HOST_SPEED_SPREAD["cpu"])
    allowed = (median_ms * (1 + tol) + launch_allowance_ms(device, gen_ms, launch_ms) + share * gen_ms
               + spread * min(launch_ms, gen_ms))  # fmt: skip
    return Verdict(per_call, allowed, list(rounds_ms), calls, cpu_counted)
