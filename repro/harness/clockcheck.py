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
(each process's CPU-time clock and `/proc`, outside the process too), and counts the smaller of the
two: the CPU time is what a loaded machine's scheduler does not inflate (the worker runs one intra-op
thread there, so it is the work done), the wall time what parallel work does not.

What a forged time gains at most: on the CPU path the tolerance and the fixed allowance over K calls.
On CUDA the rounds are replayed CUDA graphs (`graphbatch`: paced by the device, judged by
`graph_allowance`, no host term); what follows is the rule of the eager rounds, which run on the CPU
path and, on CUDA, where a candidate's calls cannot be captured. There the parent subtracts the own work's *device* time, which does not depend on the speed of the
host that queued it, and accepts a batch whose time either the device explains (that device time, a
small share of it for its error, and the call at most (1 + tolerance) times the reported median) or
the host explains (queuing the own work on a host up to HOST_SPEED_SPREAD times slower than the
reference worker's, plus the candidate's own launches, which the timed loop's pre-roll bounds):
`cuda_allowance`. A forged median is refused once the kernel's real time exceeds the device bound and
the batch is longer than the host bound, i.e. once the own work's device time plus the kernel outlasts
the slowest host's queuing; the own host work per call is therefore kept to the seeding (no device
work), the task's `get_inputs` and one dot per output chunk.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import torch

from repro.harness import procfs, timing

_perf_counter_ns = timing._perf_counter_ns
_NoTorchFunction = (
    torch._C.DisableTorchFunction
)  # projections are the harness's: no mode or subclass sees them

# Seeds in the reference's batch pool: at most POOL_MAX, computed until POOL_BUDGET_S has passed and at
# least POOL_MIN (the smallest batch, ROUNDS times).
POOL_MAX = {"cuda": 128, "cpu": 64}
POOL_MIN = 6
POOL_BUDGET_S = 1.0
# A batch is sized to take about TARGET_MS (the reported median plus overhead, per call), with at least
# K_MIN calls; further rounds (ROUNDS in all), on other seeds, only while each contradicts the report.
# On CUDA the fixed allowance and the first call's queuing are spread over the K calls: 40 ms and a pool
# of 128 give up to 42 calls a round (the CPU path's 64 and 150 ms: up to 21).
TARGET_MS = {"cuda": 40.0, "cpu": 150.0}
K_MIN = 2
ROUNDS = 3
# The parent-clocked time per call may exceed the reported median by this fraction ...
TOLERANCE = {"cuda": 0.10, "cpu": 0.5}
# ... on CUDA, or by this much if more (a short kernel's call in a back-to-back batch on fresh buffers
# against its median in the timed loop: batch less D less m was +0.005 ... +0.029 ms a call for 12 honest
# kernels of 0.06-0.5 ms on an H200, commits 0e5f1ed and a551ff5; 25% of the median was allowed before,
# which let a half-time forger of a 0.25 ms kernel through by 0.003 ms a call) ...
CALL_SLACK_MS = 0.035
# ... plus this much per batch on the parent's wall clock (pipe wake-ups on both sides, the final
# synchronize). On the CPU path a busy machine's scheduler delays are left to the CPU-time reading below,
# which counts where it is the smaller: 30 ms here (harness version 12 and before) let the wall time
# count on a quiet machine with 1.4 ms a call to spare at K = 21, and a half-time forger of a 5.5 ms
# kernel through (t <= 1.5 m + FIXED_MS / K passes m = t / 2 up to t = 4 FIXED_MS / K); 15 ms refuses it
# from t = 2.9 ms, and honest rounds here took 2-7 ms beyond their calls on the wall clock ...
FIXED_MS = {"cuda": 1.0, "cpu": 15.0}
# ... or, on the CPU path where the process tree's CPU time is the smaller, this much: what the worker
# spends on a round besides its calls and own work (the messages, the guard check it starts as the
# parent reads its CPU time). The CPU time is read to the nanosecond and the worker runs one intra-op
# thread (`worker._one_thread_on_cpu`), so it is the work done, whatever the load. Before both (10 ms
# ticks; an OpenMP pool of two threads whose CPU time ran to 1.6-2x the work under load) 30 ms was
# allowed here as on the wall clock, and the half-time forger's batch came within 0.2 ms a call of
# what that allowed (BENCHMARKS.md).
FIXED_CPU_MS = 10.0
# On the CPU path, a round that confirms a contradiction starts this long times its index after the one
# before: a burst of load on the machine has time to pass, and the fastest round counts.
CONFIRM_PAUSE_S = {"cuda": 0.0, "cpu": 0.25}
# On CUDA, the share of the own work's device time allowed for the error of subtracting it (the same
# kernels on the same device, timed in another process). Subtracting the wall time of the own work
# instead was off by up to 0.24 ms a call on an H200 (a 1.2 ms own cost that was mostly host time);
# within one process the batch less its own wall time less the median stayed within -0.025 ... +0.065
# ms. The device time alone varies by at most 1% between fresh processes on an H200 (commit 0e5f1ed,
# `python -m repro.bench.hostspread`); twice that is allowed (5% before: 0.022 ms a call of slack on the
# 64M-element scale-add, where D is 0.45 ms).
OWN_COST_SHARE = 0.02
# On CUDA, how much slower the candidate's process may queue the same own work than the reference worker
# did: on an H200 host (commit 8210fae) the same inputs and projections cost 0.29 ms a call in one
# process and up to 0.65 ms in another (2.3x). It bounds only the host's explanation of a batch's time.
HOST_SPEED_SPREAD = 2.5
# A graph round (`graphbatch`, CUDA): the call may exceed the reported median by this fraction, or by
# this much if more. Measured on an H200 (`python -m repro.bench.graphprobe --suite`, 1d4f883): a replay
# less the own work's graph less the timed loop's median was -0.002 ... +0.0093 ms a call for 15 reference solutions of
# 0.06-0.2 ms, +0.032 ms for a 0.90 ms bf16 GEMM with GELU and +0.163 ms (10.8%) for a 1.50 ms bf16
# matmul (42 back-to-back calls run at a lower clock than the timed loop's, which pauses between calls).
# With 2% of D besides (0.0032 ms for that 0.06 ms row sum), 0.0122 ms a call is allowed there; in the
# harness (8514ecc) the honest 0.06 ms scale-add ran 0.0017 ms a call over its median, 127 calls a round.
GRAPH_TOLERANCE = 0.15
GRAPH_CALL_SLACK_MS = 0.009
# Projections may differ from the reference's by this many standard deviations of the sum of
# errors within the output tolerance.
SIGMAS = 6.0
_W_SALT = 0x5DEECE66D


_TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


def _process_clock(pid: int) -> int:
    """The POSIX CPU-time clock of process `pid` (all its threads, those that exited included; what
    `clock_getcpuclockid` returns): (~pid << 3) | CPUCLOCK_SCHED."""
    return ((~pid) << 3) | 2


# A process tree's CPU time as read at one moment: per process, its own time (ms, to the nanosecond) and
# its reaped children's user and system time (clock ticks).
CpuReading = dict[int, tuple[float, int, int]]


def tree_cpu(root: int | None) -> CpuReading | None:
    """The CPU time of process `root` and every descendant (their reaped children's included): the
    kernel's accounting, which no process can rewrite. None where /proc cannot tell.

    A live process's own time is read from its CPU-time clock, to the nanosecond; `/proc/<pid>/stat`
    gives it only in clock ticks (10 ms), which left 20 ms of uncertainty on a 150 ms batch. Reaped
    children's time exists in ticks only (`cpu_between` rounds it up)."""
    if root is None:
        return None
    table = procfs.stat_table()
    if root not in table:
        return None
    reading: CpuReading = {}
    try:  # utime stime cutime cstime
        for p in [root, *procfs.descendants(root, table)]:
            utime, stime, cutime, cstime = (int(x) for x in table[p][11:15])
            try:
                own = time.clock_gettime_ns(_process_clock(p)) / 1e6
            except OSError:  # gone since the table was read: its ticks
                own = (utime + stime) * _TICK_MS
            reading[p] = (own, cutime, cstime)
    except ValueError:
        return None
    return reading


def cpu_between(before: CpuReading, after: CpuReading) -> float:
    """CPU ms the tree spent between two readings, never less than it spent: each reaped-children
    counter that moved counts one tick more (the kernel truncates it to whole ticks at each reading)."""

    def total(r: CpuReading) -> float:
        return sum(own + (cu + cs) * _TICK_MS for own, cu, cs in r.values())

    moved = sum(
        (cu != was[1]) + (cs != was[2])
        for p, (_, cu, cs) in after.items()
        for was in [before.get(p, (0.0, 0, 0))]
    )
    return total(after) - total(before) + moved * _TICK_MS


def tree_cpu_ms(root: int | None) -> float | None:
    """The CPU time of process `root` and every descendant, reaped children included (ms)."""
    reading = tree_cpu(root)
    return None if reading is None else cpu_between({}, reading)


# Outputs are projected in chunks of this many elements (a vector per chunk: `weights`), one dot each:
# outputs of up to 64M elements take one dot, and a base (below) of at most 256 MB per length.
CHUNK = 1 << 26


# The random vectors are windows of one standard-normal base per (device, length), at an offset drawn from
# (seed, output, chunk) on the host: generating a fresh vector per call cost more than the projection's
# arithmetic (on an H200, 0.87 ms of a 1.2 ms own cost per call for a 64M-element output), and the
# subtracted own cost carries an error proportional to its size. Knowing the base gains a forger nothing:
# the projection still needs every element of the output.
WINDOW_SPAN = 1 << 16
_BASES_MAX = 8
_bases: dict[tuple[torch.device, int], torch.Tensor] = {}
_M64 = (1 << 64) - 1


def _device(device: Any) -> torch.device:
    dev = device if isinstance(device, torch.device) else torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


def _base(n: int, device: Any) -> torch.Tensor:
    key = (_device(device), n)
    base = _bases.get(key)
    if base is None:
        if len(_bases) >= _BASES_MAX:
            _bases.pop(next(iter(_bases)))
        gen = torch.Generator(device=key[0]).manual_seed((_W_SALT * 31 + n) % (1 << 62))
        base = torch.randn(n + WINDOW_SPAN, generator=gen, device=key[0], dtype=torch.float32)
        _bases[key] = base
    return base


def _offset(seed: int, k: int, chunk: int) -> int:
    """A window's offset: a SplitMix64 hash of (seed, output, chunk), cheap on the host (no generator)."""
    z = (seed * 1_000_003 + k * 65_537 + chunk + _W_SALT + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return (z ^ (z >> 31)) % WINDOW_SPAN


def weights(seed: int, k: int, chunk: int, n: int, device: Any) -> torch.Tensor:
    """The random vector chunk `chunk` of output `k` of the call with `seed` is projected on: a window of
    the base (the global RNG state after forward does not matter; no device work once the base exists)."""
    offset = _offset(seed, k, chunk)
    return _base(n, device)[offset : offset + n]


def warm(numels: Sequence[int], device: Any) -> None:
    """Build the bases for outputs of these sizes before a batch is timed (the reference worker builds
    them while computing its pool's projections), and run each dot once: the first BLAS call of a
    process (its handle, its kernels loaded) must not land on the parent's clock."""
    for n in numels:
        for start in range(0, n, CHUNK):
            w = weights(0, 0, 0, min(CHUNK, n - start), device)
            torch.dot(w, w)
            torch.dot(w[:4096].double(), w[:4096].double())  # float64 outputs' dot
            torch.dot(w[:4096].half().float(), w[:4096])  # other dtypes' conversion


# The element orders an output is projected in: its logical order ("c"), or, for an output laid out
# otherwise, its memory order when that is channels-last ("cl": an NCHW/NCDHW tensor stored NHWC/NDHWC,
# as a convolution or a permuted matmul returns it) or its last two dimensions swapped ("t": a transposed
# matrix). Flattening such an output in logical order copies it, and that copy, on the candidate's side
# of the batch only (the reference's outputs are contiguous), cost an honest 1x1 convolution written as a
# matmul 0.35 ms a call on an H200 and got it refused. The reference's pool projects each output in all
# three orders; any other layout is still copied.
ORDERS = ("c", "cl", "t")


def _perm(order: str, ndim: int) -> tuple[int, ...] | None:
    """The permutation that puts an output in `order`'s memory order (None: logical order, or the order
    does not apply to this rank)."""
    if order == "cl" and ndim in (4, 5):
        return (0, *range(2, ndim), 1)
    if order == "t" and ndim >= 2:
        return (*range(ndim - 2), ndim - 1, ndim - 2)
    return None


def applies(order: str, ndim: int) -> bool:
    return order == "c" or _perm(order, ndim) is not None


def layout(out: torch.Tensor) -> str:
    """The order in which an output's elements lie in memory, of ORDERS ("c" for any other layout)."""
    t = out.detach()
    if t.is_contiguous():
        return "c"
    for order in ORDERS[1:]:
        perm = _perm(order, t.dim())
        if perm is not None and t.permute(perm).is_contiguous():
            return order
    return "c"


def _flat(out: torch.Tensor, order: str = "c") -> torch.Tensor:
    """The output's elements in `order` (a view, no copy, when the output lies in memory that way)."""
    t = out.detach()
    perm = _perm(order, t.dim())
    flat = (t.permute(perm) if perm is not None else t).reshape(-1)
    if flat.is_complex():
        flat = torch.view_as_real(flat.resolve_conj()).reshape(-1)
    return flat


def _chunks(
    out: torch.Tensor, seed: int, k: int, order: str = "c"
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(part of the output flattened in `order`, its random vector), chunk by chunk."""
    flat = _flat(out, order)
    if 0 < flat.numel() <= CHUNK:  # one chunk, no slicing (host time per call is what the rule allows)
        yield flat, weights(seed, k, 0, flat.numel(), flat.device)
        return
    for c, start in enumerate(range(0, flat.numel(), CHUNK)):
        part = flat[start : start + CHUNK]
        yield part, weights(seed, k, c, part.numel(), part.device)


def _dot(part: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """One chunk's projection, left on the device: one fused multiply-and-sum (a BLAS dot) for float32
    and float64 chunks, a conversion first for others. The dot accumulates in the chunk's precision:
    its rounding (about eps * sqrt(n * block) * rms, for products of random sign) stays far below
    the 2 eps * sum |w r| that `allowed_difference` grants rounding."""
    if part.dtype == torch.float64:
        return torch.dot(part, w.double())
    if part.dtype != torch.float32:
        part = part.to(torch.float32)
    return torch.dot(part, w)


def _queue_projections(outs: Sequence[torch.Tensor], seed: int, dots: list[torch.Tensor],
                       orders: list[str] | None = None) -> list[int]:  # fmt: skip
    """Queue one dot per chunk of each output onto `dots`; returns the number of chunks per output. Each
    output is projected in its memory order (`layout`), appended to `orders`, or in logical order when
    `orders` is None."""
    counts = []
    for k, out in enumerate(outs):
        order = "c"
        if orders is not None:
            order = layout(out)
            orders.append(order)
        before = len(dots)
        dots.extend(_dot(part, w) for part, w in _chunks(out, seed, k, order))
        counts.append(len(dots) - before)
    return counts


def _sums(dots: list[torch.Tensor], chunks: Sequence[Sequence[int]]) -> list[list[float]]:
    """One transfer for every queued dot, then each output's chunks summed on the host (float64)."""
    flat = torch.stack(dots).cpu().tolist() if dots else []  # float32 values convert exactly
    values, i = [], 0
    for counts in chunks:
        row = []
        for n in counts:
            row.append(math.fsum(flat[i : i + n]))
            i += n
        values.append(row)
    return values


def project(outs: Sequence[torch.Tensor], seed: int) -> torch.Tensor:
    """One float64 projection per output, in logical order (on the host: this synchronises)."""
    dots: list[torch.Tensor] = []
    counts = _queue_projections(outs, seed, dots)
    return torch.tensor(_sums(dots, [counts])[0], dtype=torch.float64)


def _project_in(out: torch.Tensor, seed: int, k: int, order: str) -> tuple[float, float]:
    """Output `k`'s projection in `order`, and its sum |w r| (float32 products)."""
    p = wr = 0.0
    for part, w in _chunks(out, seed, k, order):
        r = part if part.dtype == torch.float64 else part.to(torch.float32)
        p += float(_dot(part, w))
        wr += float((r * w.to(r.dtype)).abs().sum(dtype=torch.float64))
    return p, wr


def reference_terms(outs: Sequence[torch.Tensor], seed: int) -> dict[str, list[float]]:
    """The reference's projections, and what the allowed difference is computed from for any (atol,
    rtol): per output, the element count, sum |r|, sum r^2 and sum |w r| (float32 products round)."""
    terms: dict[str, list[Any]] = {"p": [], "n": [], "s1": [], "s2": [], "wr": []}
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
    for order in ORDERS[1:]:  # the other memory orders a candidate's output may lie in (`layout`)
        alt = [
            _project_in(out, seed, k, order) if applies(order, out.dim()) else None
            for k, out in enumerate(outs)
        ]
        terms[f"p_{order}"] = [a[0] if a else None for a in alt]
        terms[f"wr_{order}"] = [a[1] if a else None for a in alt]
    return terms


def reference_projection(terms: Mapping[str, Any], k: int, order: str) -> tuple[float, float] | None:
    """The reference's projection of output `k` in `order` and its sum |w r|; None where the pool has
    none (the order does not apply to the output's rank, or a bundle from before orders)."""
    if order == "c":
        return terms["p"][k], terms["wr"][k]
    ps, wrs = terms.get(f"p_{order}"), terms.get(f"wr_{order}")
    if not isinstance(ps, list) or not isinstance(wrs, list) or k >= min(len(ps), len(wrs)):
        return None
    if ps[k] is None or wrs[k] is None:
        return None
    return ps[k], wrs[k]


def allowed_difference(
    terms: Mapping[str, Any], k: int, atol: float, rtol: float, wr: float | None = None
) -> float:
    """|candidate projection - reference projection| allowed for output `k`: SIGMAS standard deviations
    of sum w_i e_i for errors |e_i| <= atol + rtol |r_i| (w standard normal), plus float rounding (of
    sum |w r| in the order projected: `wr`, logical order's by default)."""
    var = terms["n"][k] * atol * atol + 2 * atol * rtol * terms["s1"][k] + rtol * rtol * terms["s2"][k]
    return SIGMAS * math.sqrt(max(var, 0.0)) + 2.4e-7 * (terms["wr"][k] if wr is None else wr) + 1e-9


def _queue(fn: Callable[..., Any], inputs_for: Callable[[int], list[Any]], flatten: Callable[[Any], list],
           seeds: Sequence[int], orders: list[list[str]] | None = None, call_ms: list[float] | None = None,
           ) -> tuple[list[torch.Tensor], list[list[int]], float]:  # fmt: skip
    """The batch's calls and projections, queued without synchronising: (the dots, chunks per output
    per call, host ms spent queuing). Per call the harness's own host work is the seeding (no device
    work), the task's `get_inputs`, and one dot per output chunk. With `orders`, each output is projected
    in its memory order, noted there per call; with `call_ms`, each call's host time is noted there (on
    the CPU path, where a call runs to its end, the call's time)."""
    dots: list[torch.Tensor] = []
    chunks: list[list[int]] = []
    held: list[Any] = []
    t0 = _perf_counter_ns()
    for seed in seeds:
        inputs = inputs_for(seed)
        c0 = _perf_counter_ns()
        out = fn(*inputs)
        if call_ms is not None:
            call_ms.append((_perf_counter_ns() - c0) / 1e6)
        noted: list[str] | None = None if orders is None else []
        with _NoTorchFunction():
            chunks.append(_queue_projections(flatten(out), seed, dots, noted))
        if orders is not None and noted is not None:
            orders.append(noted)
        del out
        held = inputs  # the previous call's inputs are released only now
    del held
    return dots, chunks, (_perf_counter_ns() - t0) / 1e6


def run(fn: Callable[..., Any], inputs_for: Callable[[int], list[Any]], flatten: Callable[[Any], list],
        seeds: Sequence[int], sync: Callable[[], None], orders: list[list[str]] | None = None,
        call_ms: list[float] | None = None) -> tuple[list[list[float]], float]:  # fmt: skip
    """The batch as the worker runs it: per seed, fresh inputs (allocated while the previous call's are
    still held, so never at their addresses; at most two sets alive, as in the timed loop), one call,
    its projections queued (with `orders`: each output in its memory order, noted there, so that no
    output is copied to be projected; with `call_ms`: each call's host time, noted there); one
    synchronisation and one transfer at the end. Returns the projections and the host time spent
    queuing (ms).

    Fresh buffers, unlike the timed loop's: writing each call's inputs into the previous call's buffers
    costs a copy that a forger would skip and the parent would have subtracted (for an elementwise
    kernel as long as the kernel itself). Every call here is checked, so behaving differently on these
    buffers gains nothing; a kernel fast only on reused addresses shows its speed on fresh ones."""
    dots, chunks, launched = _queue(fn, inputs_for, flatten, seeds, orders, call_ms)
    sync()
    return _sums(dots, chunks), launched


# The own work's device time is timed behind a GPU spin this many times as long as queuing it took (and
# at least SPIN_MIN_MS; once more 4x as long if the host outlasted it), so the host has queued all of it
# before the device starts: the events then time the device alone, whatever the host's speed.
SPIN_FACTOR, SPIN_MIN_MS = 2.0, 1.0


def _device_ms(inputs_for: Callable[[int], list[Any]], outs: list[torch.Tensor], seeds: Sequence[int],
               sync: Callable[[], None], cycles_per_ms: int, spin_ms: float) -> tuple[float, float] | None:  # fmt: skip
    """(device ms, host ms) of queuing the own work of `seeds` behind a spin of `spin_ms`; None when the
    host had not queued it all before the spin ended (the events would then time the host's gaps)."""
    start, end = timing._Event(enable_timing=True), timing._Event(enable_timing=True)
    sync()
    timing._gpu_sleep(max(1, int(spin_ms * cycles_per_ms)))
    timing._event_record(start)
    dots, _, launched = _queue(lambda *a: outs, inputs_for, lambda o: o, seeds)
    timing._event_record(end)
    hidden = not start.query()  # the device was still spinning when the host was done
    sync()
    del dots
    return (timing._event_elapsed(start, end), launched) if hidden else None


class Cost(TypedDict):
    """The batch's own cost per call, as the reference worker timed it (`overhead`)."""

    gen_ms: float  # wall time, the final synchronisation included
    launch_ms: float  # host time queuing it
    dev_ms: float | None  # CUDA: device time alone


def overhead(inputs_for: Callable[[int], list[Any]], outs: list[torch.Tensor], seeds: Sequence[int],
             sync: Callable[[], None], repeats: int = 3, count_cpu: bool = False,
             device: str = "cpu") -> Cost:  # fmt: skip
    """What the batch costs per call besides the call, timed in the reference worker: inputs generated
    and an output (the reference's own, always the same) projected, per seed; medians of `repeats`.
    `gen_ms` is its wall time with the final synchronisation, `launch_ms` the host time of queuing it.
    With `count_cpu` (the CPU path) a repeat counts the smaller of its wall time and this process's CPU
    time, as the parent counts the candidate's rounds: a busy machine would otherwise inflate the
    subtracted cost by its scheduling delays and let a forged time through.

    On CUDA also `dev_ms`, the device time alone (`_device_ms`), which does not depend on how fast the
    host that queued it was; `launch_ms` is then the host time of queuing it with the device held back
    (no wait on the device can hide in it). What the CUDA rule subtracts and allows is built from these
    two (`judge_time`)."""
    per = max(1, len(seeds))
    gen, launch, dev = [], [], []
    cycles = timing.preroll_cycles(1.0) if device == "cuda" else 0
    for _ in range(repeats):
        sync()
        t0, c0 = _perf_counter_ns(), time.process_time_ns()
        _, launched = run(lambda *a: outs, inputs_for, lambda o: o, seeds, sync)
        wall_ms = (_perf_counter_ns() - t0) / 1e6
        if count_cpu:
            wall_ms = min(wall_ms, (time.process_time_ns() - c0) / 1e6)
        gen.append(wall_ms / per)
        if device == "cuda":
            spin = max(SPIN_MIN_MS, SPIN_FACTOR * launched)
            timed = _device_ms(inputs_for, outs, seeds, sync, cycles, spin)
            if timed is None:  # the host outlasted the spin: once more, four times as long
                timed = _device_ms(inputs_for, outs, seeds, sync, cycles, 4 * spin)
            # Still not hidden: the host waits for the device (a synchronisation in `get_inputs`), and the
            # wall time, which the device's time cannot exceed, stands for it (looser, never tighter).
            if timed is not None:
                dev.append(timed[0] / per)
                launched = timed[1]
            else:
                dev.append(wall_ms / per)
        launch.append(launched / per)

    def med(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    return Cost(gen_ms=med(gen), launch_ms=med(launch), dev_ms=med(dev) if dev else None)


def pool_max(device: str) -> int:
    return POOL_MAX.get(device, POOL_MAX["cpu"])


def calls_for(median_ms: float, gen_ms: float, pool: int, device: str) -> int:
    """K: enough calls for the batch to take about TARGET_MS, within what the pool holds for ROUNDS."""
    per_call = max(median_ms + gen_ms, 1e-3)
    k = math.ceil(TARGET_MS.get(device, TARGET_MS["cpu"]) / per_call)
    return max(min(k, pool // ROUNDS), min(K_MIN, pool // ROUNDS))


@dataclass(frozen=True)
class Verdict:
    per_call_ms: float  # parent-clocked, less the batch's own cost (CUDA: its device time; the best round)
    allowed_ms: float
    rounds_ms: list[float]
    calls: int
    cpu_counted: bool = False  # the process tree's CPU time was the smaller, and counted
    bound: str = "device"  # CUDA: which explanation of the batch's time allows more ("device" or "host")
    rounds_per_call_ms: tuple[float, ...] = ()  # each round's per-call time as counted (the smallest wins)
    # CPU path: the median the report was raised to, the round's own per-call time (see `judge_time`)
    raised_ms: float | None = None

    @property
    def contradicts(self) -> bool:
        return self.per_call_ms > self.allowed_ms


def call_max(median_ms: float) -> float:
    """On CUDA, the most an honest call of median m takes in the batch: (1 + TOLERANCE) m, or m plus
    CALL_SLACK_MS where that is more."""
    return max((1 + TOLERANCE["cuda"]) * median_ms, median_ms + CALL_SLACK_MS)


def cuda_allowance(median_ms: float, dev_ms: float, launch_ms: float, calls: int) -> tuple[float, str]:
    """The most an honest batch can take per call on CUDA, less the own device time D (`dev_ms`), and
    which bound gave it. The host queues each call (own work H = `launch_ms`, slower by up to
    HOST_SPEED_SPREAD in the candidate's process, and the candidate's launches: at most the timed loop's
    pre-roll P plus the median m, or the timed loop would have shown them) while the device runs it (D
    plus the call, at most `call_max(m)`, plus OWN_COST_SHARE of D for the error of D). The host
    never waits for the device, so K calls whose host work is at most Hc and device work at most Dc each
    take at most max(K Dc + Hc, K Hc + Dc): per call, the device bound and the host bound below."""
    d_max, h_max = _bounds(median_ms, dev_ms, launch_ms)
    by_device, by_host = d_max + h_max / calls, h_max + d_max / calls
    return (by_device - dev_ms, "device") if by_device >= by_host else (by_host - dev_ms, "host")


def _bounds(median_ms: float, dev_ms: float, launch_ms: float) -> tuple[float, float]:
    """(Dc, Hc): the most device and host time an honest eager call takes (`cuda_allowance`)."""
    d_max = (1 + OWN_COST_SHARE) * dev_ms + call_max(median_ms)
    return d_max, HOST_SPEED_SPREAD * launch_ms + timing.PREROLL_MS + median_ms


def device_allowance(median_ms: float, dev_ms: float, launch_ms: float, calls: int) -> float:
    """The device's bound of `cuda_allowance` alone, less D."""
    d_max, h_max = _bounds(median_ms, dev_ms, launch_ms)
    return d_max + h_max / calls - dev_ms


def graph_allowance(median_ms: float, dev_ms: float) -> float:
    """The most a graph round's call takes per call less the own device time D (`graphbatch`): no host
    term (the round is one replay), the call at most GRAPH_TOLERANCE or GRAPH_CALL_SLACK_MS over the
    median, and OWN_COST_SHARE of D for the error of subtracting a time measured in another process."""
    return max((1 + GRAPH_TOLERANCE) * median_ms, median_ms + GRAPH_CALL_SLACK_MS) + OWN_COST_SHARE * dev_ms


def judge_time(rounds_ms: Sequence[float], calls: int, median_ms: float, cost: Mapping[str, Any], device: str,
               rounds_cpu_ms: Sequence[float | None] = (),
               rounds_call_ms: Sequence[float | None] = (), mode: str = "eager") -> Verdict:  # fmt: skip
    """The parent's clock against the reported median; the fastest round counts (load only ever slows a
    round down). On the CPU path a round's time is the smaller of its wall time less FIXED_MS and its
    process tree's CPU time less FIXED_CPU_MS, less the own cost (`gen_ms`), against (1 + TOLERANCE) m.
    On CUDA, less the own device time (`dev_ms`), against `cuda_allowance`. `cost` is the reference
    worker's `overhead`.

    On the CPU path a round may also be judged against its own calls' median as the worker timed them
    in the round (`rounds_call_ms`): the speed of a shared CPU varies by 1.4x from one moment to the next,
    which refused honest candidates whose timed loop ran at a fast moment and whose batch at a slow
    one. A round that contradicts the timed loop's median but not its own is accepted, and the report
    is raised to that median (`raised_ms`): a forger that times its round honestly is then reported at
    its honest time, and one that halves both is refused as before.

    On CUDA, `mode` says how the rounds ran: "graph" (each round one replay of a captured graph,
    `graphbatch`: the own device time is the graph's, `cost["graph"]["dev_ms"]`, and only the device
    explains the time, `graph_allowance`); "eager" (the rule above); "fallback" (eager rounds where the
    harness offered graph rounds and the candidate's worker declined them, its kernel not capturable): a
    round the device's bound contradicts but the host's explains is accepted with the report raised to
    its per-call time, the parent's upper bound on the call, so a forger gains nothing by declining."""
    fixed = FIXED_MS.get(device, FIXED_MS["cpu"])
    own = cost["dev_ms"] if device == "cuda" else cost["gen_ms"]
    if device == "cuda" and mode == "graph":
        own = cost["graph"]["dev_ms"]
    per_call, cpu_counted, each, counted = math.inf, False, [], []
    for r, ms in enumerate(rounds_ms):
        cpu = rounds_cpu_ms[r] if device != "cuda" and r < len(rounds_cpu_ms) else None
        by_cpu = cpu is not None and cpu - FIXED_CPU_MS < ms - fixed
        est = ((cpu - FIXED_CPU_MS) if by_cpu and cpu is not None else (ms - fixed)) / calls - own
        each.append(est)
        counted.append(by_cpu)
        if est < per_call:
            per_call, cpu_counted = est, by_cpu
    if device == "cuda" and mode == "graph":
        return Verdict(per_call, graph_allowance(median_ms, own), list(rounds_ms), calls, bound="graph",
                       rounds_per_call_ms=tuple(each))  # fmt: skip
    if device == "cuda":
        allowed, bound = cuda_allowance(median_ms, cost["dev_ms"], cost["launch_ms"], calls)
        verdict = Verdict(
            per_call, allowed, list(rounds_ms), calls, bound=bound, rounds_per_call_ms=tuple(each)
        )
        if (mode == "fallback" and not verdict.contradicts
                and per_call > device_allowance(median_ms, cost["dev_ms"], cost["launch_ms"], calls)):  # fmt: skip
            return Verdict(per_call, allowed, list(rounds_ms), calls, bound=bound, rounds_per_call_ms=tuple(each),
                           raised_ms=per_call)  # fmt: skip
        return verdict
    factor = 1 + TOLERANCE.get(device, TOLERANCE["cpu"])
    verdict = Verdict(per_call, median_ms * factor, list(rounds_ms), calls, cpu_counted,
                      rounds_per_call_ms=tuple(each))  # fmt: skip
    if not verdict.contradicts:
        return verdict
    # Rounds that agree with their own calls' median, the smallest such median first (the least raise).
    agree = [
        (own, r)
        for r, own in enumerate(rounds_call_ms)
        if r < len(each)
        and own is not None
        and math.isfinite(own)
        and own > median_ms
        and each[r] <= own * factor
    ]
    if not agree:
        return verdict
    own, r = min(agree)
    return Verdict(each[r], own * factor, list(rounds_ms), calls, counted[r], rounds_per_call_ms=tuple(each),
                   raised_ms=own)  # fmt: skip
