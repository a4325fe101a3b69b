"""One timer for baselines and candidates: fresh inputs every iteration, L2 flushed, device-wide sync.

Every iteration gets inputs generated anew (outside the timed region) so caching on input values
gains nothing; a few iterations, chosen at run time, are fed the inputs of a correctness trial,
written into the previous iteration's buffers (so caching on addresses returns a stale output),
and their outputs are kept so the parent can check them.

On CUDA each iteration starts from an idle, flushed device; a short GPU spin (the pre-roll) is
queued before the start event so that the Python work of launching `fn` overlaps it instead of
being counted: what is measured is the device time of the kernels, as in production where launch
cost is hidden by queued work or CUDA graphs (host work that outlasts the pre-roll, or a host
sync inside `fn`, still shows). Each iteration is timed with events on the current stream, and
also on the host clock around a device-wide synchronize. Events are precise and are what counts; but work left on a side
stream or a host thread escapes them and not the host clock, so when the host clock (less the
calibrated synchronize cost) runs clearly longer, the larger of the two counts and this is reported.
"""

from __future__ import annotations

import ctypes
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

# Host time may exceed event time by launch overhead; beyond this, work escaped the events.
SIDE_WORK_MIN_MS = 0.05
SIDE_WORK_FRACTION = 0.10
# GPU time queued ahead of each timed call; launch overhead up to this long is hidden.
PREROLL_MS = 0.2

# Captured at import, before any candidate code runs in this process.
_perf_counter_ns = time.perf_counter_ns
_Event = torch.cuda.Event
_event_record = torch.cuda.Event.record
_event_elapsed = torch.cuda.Event.elapsed_time
_synchronize = torch.cuda.synchronize
_gpu_sleep = torch.cuda._sleep


@dataclass
class TimingResult:
    samples_ms: list[float]
    event_ms: list[float] = field(default_factory=list)
    host_ms: list[float] = field(default_factory=list)
    side_work_ms: float = 0.0
    method: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            **summarize(self.samples_ms),
            "method": self.method,
            "side_work_ms": round(self.side_work_ms, 6),
        }


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """Median with spread: p10/p90, IQR, min/max and the 95% interval of the median."""
    xs = sorted(samples)
    n = len(xs)
    if n == 0:
        return {"median": None, "n": 0}

    def q(p: float) -> float:
        return xs[min(n - 1, max(0, round(p * (n - 1))))]

    lo, hi = median_interval(xs)
    return {
        "median": statistics.median(xs),
        "mean": statistics.fmean(xs),
        "p10": q(0.10),
        "p25": q(0.25),
        "p75": q(0.75),
        "p90": q(0.90),
        "min": xs[0],
        "max": xs[-1],
        "ci95": [lo, hi],
        "n": n,
    }


def median_interval(sorted_xs: Sequence[float]) -> tuple[float, float]:
    """Distribution-free 95% interval of the median from order statistics."""
    n = len(sorted_xs)
    half = 1.96 * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half))
    hi = min(n - 1, math.ceil(n / 2 + half) - 1)
    return sorted_xs[lo], sorted_xs[hi]


class _L2Flusher:
    """Evicts the L2 before an iteration by reading a buffer twice its size; resets persisting lines.

    A read, not a write: writing the buffer (as `triton.testing.do_bench` does) leaves the L2 full of
    dirty lines, and writing them back to memory then lands inside the next timed call. On an H200
    that added 8.6 us (12%) to every read of 256 MB and capped read-only kernels near 90% of the copy
    bandwidth (`python -m repro.bench_flush`). Reading evicts every line (dirty ones are written back
    here, outside the timed region) and leaves clean lines of a buffer no candidate touches.
    """

    def __init__(self, device: str, write: bool = False) -> None:
        self.write = write  # the do_bench way, kept for `repro.bench_flush` to measure against
        self.buffer = self.sink = None
        self._reset = None
        if device != "cuda":
            return
        l2 = int(getattr(torch.cuda.get_device_properties(torch.cuda.current_device()), "L2_cache_size", 0))
        self.buffer = torch.ones(max(2 * l2, 8 << 20) // 4, dtype=torch.int32, device="cuda")
        self.sink = torch.empty((), dtype=torch.int64, device="cuda")
        self._reset = _persisting_l2_reset()

    def __call__(self) -> None:
        if self._reset is not None:
            self._reset()
        if self.buffer is None:
            return
        if self.write:
            self.buffer.fill_(0x5A5A5A5A)
        else:
            torch.sum(self.buffer, dim=0, out=self.sink)


def _persisting_l2_reset() -> Callable[[], None] | None:
    """cudaCtxResetPersistingL2Cache, and a zero persisting-L2 limit, where the CUDA runtime is found."""
    for name in ("libcudart.so", "libcudart.so.13", "libcudart.so.12"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            lib.cudaDeviceSetLimit(ctypes.c_int(0x06), ctypes.c_size_t(0))  # cudaLimitPersistingL2CacheSize
            return lambda: lib.cudaCtxResetPersistingL2Cache()
        except AttributeError:
            return None
    return None


def sync_calibration_ms(device: str, iters: int = 20) -> float:
    """Host-clock cost of an empty timed region on this device (subtracted from host times)."""
    if device != "cuda":
        return 0.0
    costs = []
    for _ in range(iters):
        _synchronize()
        t0 = _perf_counter_ns()
        _synchronize()
        costs.append((_perf_counter_ns() - t0) / 1e6)
    return statistics.median(costs)


def preroll_cycles(ms: float = PREROLL_MS, iters: int = 5) -> int:
    """Cycles for `torch.cuda._sleep` to spin about `ms` on this device (calibrated, not assumed)."""
    probe = 1_000_000
    start, end = _Event(enable_timing=True), _Event(enable_timing=True)
    rates = []
    for _ in range(iters):
        _synchronize()
        _event_record(start)
        _gpu_sleep(probe)
        _event_record(end)
        _synchronize()
        rates.append(probe / max(_event_elapsed(start, end), 1e-6))
    return max(1, int(ms * statistics.median(rates)))


def _into_previous_buffers(new: list[Any], old: list[Any]) -> list[Any]:
    """Write an iteration's fresh inputs into the previous iteration's buffers.

    Done for every iteration after the first, so every timed call sees the same addresses holding
    new values: nothing about the buffers tells a checked iteration from another, and a cache keyed
    on `data_ptr` returns a stale output everywhere.
    """
    out = []
    for a, b in zip(new, old, strict=True):
        same = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
        if same and a.dtype == b.dtype and a.stride() == b.stride() and a.device == b.device:
            b.copy_(a)
            out.append(b)
        else:
            out.append(a)
    return out


class Clock(Protocol):
    """What the timing loop reads time from. Built from references captured before any candidate code
    runs (`cuda_clock`, `host_clock`); tests pass a fake one, so the loop's logic runs on any machine."""

    method: str
    device_wide: bool

    def now_ns(self) -> int: ...

    def begin(self) -> None:
        """Just before the timed call: flush, synchronise, queue the pre-roll and the start mark."""

    def end(self) -> tuple[float, float]:
        """Just after it: synchronise; (current-stream event ms, host ms of the whole device)."""
        ...


class HostClock:
    """The CPU path: the host clock around the call (the Triton interpreter: a mechanism test only)."""

    method = "cpu-interpreter (mechanism test only)"
    device_wide = False

    def __init__(self) -> None:
        self._t0 = 0

    def now_ns(self) -> int:
        return _perf_counter_ns()

    def begin(self) -> None:
        self._t0 = _perf_counter_ns()

    def end(self) -> tuple[float, float]:
        ms = (_perf_counter_ns() - self._t0) / 1e6
        return ms, ms


class CudaClock:
    """CUDA events on the current stream, and the host clock around a device-wide synchronize."""

    method = f"cuda-events+device-sync, L2 flushed by a read, {PREROLL_MS} ms GPU pre-roll"
    device_wide = True  # the host clock spans a device-wide synchronize: side work shows there

    def __init__(self, flush: Callable[[], None] | None = None) -> None:
        self.flush = flush or _L2Flusher("cuda")
        self.calib = sync_calibration_ms("cuda")
        self.cycles = preroll_cycles()
        self._marks: tuple[Any, Any, Any] | None = None
        self._t0 = 0

    def now_ns(self) -> int:
        return _perf_counter_ns()

    def begin(self) -> None:
        self.flush()
        _synchronize()
        pre, start, end = (_Event(enable_timing=True) for _ in range(3))
        self._marks = (pre, start, end)
        self._t0 = _perf_counter_ns()
        _event_record(pre)
        _gpu_sleep(self.cycles)
        _event_record(start)

    def end(self) -> tuple[float, float]:
        assert self._marks is not None
        pre, start, end = self._marks
        _event_record(end)
        _synchronize()
        # Host clock over the whole region against the device's own span of it (pre-roll included).
        host = (_perf_counter_ns() - self._t0) / 1e6 - self.calib - _event_elapsed(pre, start)
        return _event_elapsed(start, end), host


def clock_for(device: str, flush: Callable[[], None] | None = None) -> Clock:
    return CudaClock(flush) if device == "cuda" else HostClock()


@dataclass(frozen=True)
class StopRule:
    """When to stop timing: at `max_iters`; or from `min_iters` on, once the 95% interval of the median
    is within `target_rel_ci` of it or `max_time_s` has passed."""

    min_iters: int
    max_iters: int
    target_rel_ci: float
    max_time_s: float

    def done(self, samples: Sequence[float], elapsed_s: float) -> bool:
        n = len(samples)
        if n >= self.max_iters:
            return True
        if n < self.min_iters:
            return False
        xs = sorted(samples)
        lo, hi = median_interval(xs)
        med = statistics.median(xs)
        return med <= 0 or (hi - lo) / (2 * med) <= self.target_rel_ci or elapsed_s > self.max_time_s


def side_work(event_ms: Sequence[float], host_ms: Sequence[float]) -> tuple[float, bool]:
    """(host median less event median, whether work escaped the current stream's events).

    When the host clock (less the calibrated synchronize) runs clearly longer than the events, work
    ran on a side stream or a host thread and the host clock is what counts."""
    if not event_ms:
        return 0.0, False
    gap = statistics.median(host_ms) - statistics.median(event_ms)
    return max(0.0, gap), gap > max(SIDE_WORK_MIN_MS, SIDE_WORK_FRACTION * statistics.median(event_ms))


def finish(result: TimingResult, device_wide: bool) -> TimingResult:
    """Apply the side-work rule to raw samples (the parent does this again from what it received)."""
    gap, escaped = side_work(result.event_ms, result.host_ms)
    result.side_work_ms = gap if device_wide else 0.0
    result.samples_ms = list(result.event_ms)
    if device_wide and escaped:
        result.samples_ms = [max(e, h) for e, h in zip(result.event_ms, result.host_ms, strict=True)]
        result.method += SIDE_WORK_NOTE
    return result


SIDE_WORK_NOTE = "; work outside the current stream detected, timed by the host clock"


def measure(
    fn: Callable[..., Any],
    inputs_for: Callable[[int], list[Any]],
    clock: Clock | str,
    *,
    warmup: int,
    min_iters: int,
    max_iters: int,
    target_rel_ci: float,
    max_time_s: float,
    flush: Callable[[], None] | None = None,
    after: Callable[[int, Any, float, float], bool | None] | None = None,
) -> TimingResult:
    """Time `fn(*inputs)` with fresh inputs each iteration until the median is stable.

    `inputs_for(i)` gives iteration i's fresh inputs; from the second iteration on they are written
    into the previous iteration's buffers (the same policy for every timed call). `clock` is a
    `Clock` or a device name ('cuda', 'cpu'); `flush` replaces the L2 flush of a device's clock
    (benchmarks of the flush itself). `after(timed_index, output, event_ms, host_ms)` sees each timed
    call's output (the candidate's worker sends it to the parent there) and may decide when to stop
    (True/False); None leaves it to the stopping rule.
    """
    clk = clock_for(clock, flush) if isinstance(clock, str) else clock
    rule = StopRule(min_iters, max_iters, target_rel_ci, max_time_s)
    result = TimingResult(samples_ms=[], method=clk.method)
    start_ns = clk.now_ns()
    prev_inputs = None
    i = 0
    while True:
        inputs = inputs_for(i)
        if prev_inputs is not None:
            inputs = _into_previous_buffers(inputs, prev_inputs)
        clk.begin()
        out = fn(*inputs)
        ev, host = clk.end()
        timed = i - warmup
        stop: bool | None = None
        if timed >= 0:
            result.event_ms.append(ev)
            result.host_ms.append(host)
            result.samples_ms.append(ev)
            if after is not None:
                stop = after(timed, out, ev, host)
        prev_inputs = inputs
        del out, inputs
        i += 1
        if stop is None:
            stop = timed >= 0 and rule.done(result.event_ms, (clk.now_ns() - start_ns) / 1e9)
        if stop:
            break
    return finish(result, device_wide=bool(getattr(clk, "device_wide", False)))
