"""`python -m repro.bench.flush`: what the harness's L2 flush costs the call timed after it.

The harness empties the L2 before every timed iteration. A flush that writes a buffer (as
`triton.testing.do_bench` does) leaves the L2 full of dirty lines, whose write-back then happens
inside the timed call; a flush that reads a buffer leaves clean lines. This times the same
memory-bound calls on 8192 x 8192 fp32 under the harness's own timer with each flush, and reports
each as a fraction of the device's copy bandwidth (measured here as in `repro.harness.peaks`).
Writes JSON with provenance to repro/results/bench/flush-<gpu>.json. Needs a CUDA GPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "repro" / "results" / "bench"
SOLUTION = REPO / "repro" / "solutions" / "level1" / "07_row_sum.py"


def workloads(n: int) -> dict[str, tuple[Callable[[], Any], float]]:
    """name -> (call, bytes it must move)."""
    import torch

    from repro.harness import problem as prob

    x = torch.randn(n, n, device="cuda")
    y = torch.empty_like(x)
    row_sum = prob.load_module(SOLUTION, "row_sum_solution").ModelNew().cuda()
    read = 4.0 * (n * n + n)
    return {
        "row sum (Triton, repro/solutions/level1/07_row_sum.py)": (lambda: row_sum(x), read),
        "row sum (torch eager)": (lambda: x.sum(1), read),
        "column sum (torch eager)": (lambda: x.sum(0), read),
        "copy (torch eager)": (lambda: y.copy_(x), 8.0 * n * n),
        "softmax over rows (torch eager)": (lambda: torch.softmax(x, dim=1), 8.0 * n * n),
    }


def measure(n: int, rounds: int) -> dict[str, Any]:
    from repro.harness import peaks, timing
    from repro.records.provenance import provenance

    calls = workloads(n)
    flushes = {"write": timing._L2Flusher("cuda", write=True), "read": timing._L2Flusher("cuda")}
    rows: list[dict[str, Any]] = []
    for r in range(rounds):
        for flush_name, flush in flushes.items():
            for name, (fn, nbytes) in calls.items():
                res = timing.measure(
                    fn, lambda i: [], "cuda", warmup=5, min_iters=40, max_iters=200, target_rel_ci=0.003,
                    max_time_s=5.0, flush=flush,
                )  # fmt: skip
                rows.append({"round": r, "flush": flush_name, "workload": name, "bytes": nbytes,
                             "median_ms": statistics.median(res.samples_ms)})  # fmt: skip
    copy_bw = peaks.copy_bandwidth("cuda")
    for row in rows:
        row["fraction_of_copy"] = row["bytes"] / (row["median_ms"] / 1e3) / copy_bw
    return {"n": n, "copy_bytes_per_s": copy_bw, "rows": rows, "provenance": provenance("cuda")}


def table(data: dict[str, Any]) -> str:
    by: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in data["rows"]:
        by.setdefault(row["workload"], {}).setdefault(row["flush"], []).append(row)
    lines = [
        "| workload | write flush ms | read flush ms | write: % of copy | read: % of copy |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, flushes in by.items():
        w = statistics.median(r["median_ms"] for r in flushes["write"])
        rd = statistics.median(r["median_ms"] for r in flushes["read"])
        wf = statistics.median(r["fraction_of_copy"] for r in flushes["write"])
        rf = statistics.median(r["fraction_of_copy"] for r in flushes["read"])
        lines.append(f"| {name} | {w:.4f} | {rd:.4f} | {wf:.1%} | {rf:.1%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m repro.bench.flush", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=8192, help="square fp32 matrix side (default 8192: 256 MiB)")
    p.add_argument("--rounds", type=int, default=2, help="alternations of the two flushes (default 2)")
    p.add_argument(
        "--out", type=Path, default=None, help="JSON output (default repro/results/bench/flush-<gpu>.json)"
    )
    args = p.parse_args(argv)
    if args.n < 1 or args.rounds < 1:
        p.error(f"--n and --rounds must be at least 1 (got --n {args.n}, --rounds {args.rounds})")
    import torch

    if not torch.cuda.is_available():
        print(
            "bench.flush needs a CUDA GPU: the two flushes differ only in what the L2 holds", file=sys.stderr
        )
        return 2
    from repro.harness.peaks import device_slug
    from repro.records.files import write_json_atomic

    data = measure(args.n, args.rounds)
    out = args.out or OUT_DIR / f"flush-{device_slug(torch.cuda.get_device_name())}.json"
    write_json_atomic(out, data)
    print(
        f"copy bandwidth {data['copy_bytes_per_s'] / 1e12:.3f} TB/s; {args.n}^2 fp32\n{table(data)}\nwrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
