"""`python -m repro.bench.devicebusy`: how well the GPU's activity counters time short kernels.

The parent-clocked batch can read how long the device was busy over a batch (`harness.devicebusy`, NVML
GPU performance monitoring). Whether that reading can judge a reported time depends on its error over a
window of tens of milliseconds holding a few hundred kernels of 5-100 us, queued by a slow host (the
case the wall clock cannot resolve). This measures, per workload, the busy time the counters give over
the window against the sum of every kernel's CUDA-event time, `--repeats` times; the cost of taking a
sample; and an idle window. Writes JSON with provenance to repro/results/bench/devicebusy-<gpu>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from repro.bench import gpm
from repro.harness import timing
from repro.records.provenance import provenance

REPO = Path(__file__).resolve().parents[2]


def _host_busy(us: float) -> None:
    end = time.perf_counter_ns() + int(us * 1000)
    while time.perf_counter_ns() < end:
        pass


def _window(dev: gpm.DeviceBusy, work: Any, calls: int, host_us: float, tail_ms: float) -> dict[str, float]:
    """One window: mark, `calls` launches of `work` (each event-timed, `host_us` of host work after each),
    synchronise, wait `tail_ms`, mark. Returns the counters' busy time and the events' sum."""
    events = [
        (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(calls)
    ]
    torch.cuda.synchronize()
    a = dev.mark()
    for s, e in events:
        s.record()
        work()
        e.record()
        if host_us:
            _host_busy(host_us)
    torch.cuda.synchronize()
    if tail_ms:
        time.sleep(tail_ms / 1000)
    b = dev.mark()
    busy = dev.busy_ms(a, b)
    dev.release(a, b)
    kernels = sum(s.elapsed_time(e) for s, e in events)
    return {"window_ms": (b.at_ns - a.at_ns) / 1e6, "busy_ms": busy, "events_ms": kernels,
            "error_ms": busy - kernels}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m repro.bench.devicebusy", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--repeats", type=int, default=7, help="windows per workload (default 7)")
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON (default repro/results/bench/devicebusy-nvidia-h200.json)",
    )
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1 (got {args.repeats})")
    if not torch.cuda.is_available():
        print("devicebusy: needs a CUDA GPU (none is visible here); nothing to measure", file=sys.stderr)
        return 2
    uuid = str(torch.cuda.get_device_properties(0).uuid)
    dev = gpm.open_device(uuid)
    if dev is None:
        print(
            f"devicebusy: NVML GPU performance monitoring is not available for GPU-{uuid} (it needs the "
            "NVIDIA driver's libnvidia-ml and a Hopper or newer GPU)",
            file=sys.stderr,
        )
        return 2
    marks = [dev.mark() for _ in range(21)]
    sample_us = statistics.median(m.took_ns for m in marks) / 1e3
    dev.release(*marks)

    x = torch.randn(1 << 24, device="cuda")
    y = torch.randn(1 << 24, device="cuda")
    small = torch.randn(1 << 18, device="cuda")
    m = torch.randn(2048, 2048, device="cuda")
    cycles_per_ms = timing.preroll_cycles(1.0)
    workloads = {
        # name: (work, calls, host us after each, tail ms)
        "scale_add_16M_hostbound": (lambda: x.mul(2.0).add_(y), 42, 300.0, 0.0),
        "scale_add_16M_backtoback": (lambda: x.mul(2.0).add_(y), 42, 0.0, 0.0),
        "tiny_256K_hostbound": (lambda: small.mul(2.0), 200, 100.0, 0.0),
        "matmul_2048_hostbound": (lambda: m @ m, 42, 300.0, 0.0),
        "scale_add_16M_idle_tail_50ms": (lambda: x.mul(2.0).add_(y), 42, 300.0, 50.0),
        "spin_5ms": (lambda: torch.cuda._sleep(5 * cycles_per_ms), 1, 0.0, 0.0),
        "spin_20ms": (lambda: torch.cuda._sleep(20 * cycles_per_ms), 1, 0.0, 0.0),
        "idle_40ms": (lambda: None, 1, 40000.0, 0.0),
    }
    for work, *_ in workloads.values():  # load every kernel once
        work()
    torch.cuda.synchronize()
    rows: dict[str, Any] = {}
    for name, (work, calls, host_us, tail_ms) in workloads.items():
        runs = [_window(dev, work, calls, host_us, tail_ms) for _ in range(args.repeats)]
        errs = [r["error_ms"] for r in runs]
        rows[name] = {"calls": calls, "host_us_per_call": host_us, "runs": runs,
                      "error_ms_min": min(errs), "error_ms_max": max(errs),
                      "events_ms_median": statistics.median(r["events_ms"] for r in runs),
                      "busy_ms_median": statistics.median(r["busy_ms"] for r in runs)}  # fmt: skip
        print(
            f"{name:32s} events {rows[name]['events_ms_median']:8.3f} ms  busy {rows[name]['busy_ms_median']:8.3f}"
            f" ms  error {min(errs):+.3f} .. {max(errs):+.3f} ms  window {runs[0]['window_ms']:.1f} ms",
            flush=True,
        )
    doc = {"bench": "devicebusy", "device": dev.name, "sample_us_median": sample_us, "workloads": rows,
           "provenance": provenance("cuda", {"repeats": args.repeats})}  # fmt: skip
    out = args.out or REPO / "repro" / "results" / "bench" / "devicebusy-nvidia-h200.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out)
    print(f"sample {sample_us:.1f} us; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
